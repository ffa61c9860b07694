/*
 * rtos_internal.h - what task.c, sched.c and time.c share. Not for guests.
 */
#ifndef FERRY_RTOS_INTERNAL_H
#define FERRY_RTOS_INTERNAL_H

#include "rtos.h"

struct rtos_tcb {
    struct rtos_task cfg;
    uint64_t period;          /* ticks */
    uint64_t deadline;        /* ticks, relative */
    uint64_t next_release;    /* ticks: release of the next job not yet released */
    uint64_t oldest_release;  /* ticks: release of the oldest unfinished job */
    uint32_t next_job;        /* number k of the oldest unfinished job */
    uint32_t pending;         /* released, not finished */
    int      prio;            /* 0 = highest */
    struct rtos_stats stats;
};

extern struct rtos_tcb rtos_tcbs[RTOS_MAX_TASKS];
extern int rtos_ntasks;
extern struct rtos_tcb *rtos_by_prio[RTOS_MAX_TASKS];
extern int rtos_hv_tasks;     /* 1: Ferry recorded the task set, report job_done */

/* time.c */
void rtos_time_init(void);      /* idempotent */
/* task.c */
void rtos_prepare_tasks(void);
void rtos_print_tasks(void);
void rtos_report_task_set(void);
void rtos_print_report(void);

#endif /* FERRY_RTOS_INTERNAL_H */
