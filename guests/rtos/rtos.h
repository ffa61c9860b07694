/*
 * rtos.h - a small RTOS for Ferry's paravirtual guests: periodic tasks.
 *
 * Model. Each task releases a job at t0 + k * period (k = 0, 1, ...), where
 * t0 is one instant shared by all tasks (taken when rtos_start() reports the
 * task set to Ferry). A job must finish within its relative deadline
 * (<= period). Jobs run to completion: a job function is called once per job
 * and returns when the job's work is done. No job is ever skipped: if a job
 * is late, the next ones queue behind it and run back to back, so the jobs
 * the guest completes and the jobs Ferry counts stay in step.
 *
 * Scheduling: fixed-priority, preemptive, deadline-monotonic (the shorter the
 * relative deadline, the higher the priority; ties go to the lower task
 * index) - the policy Ferry's slack analysis assumes. Jobs run inside the
 * supervisor timer interrupt with interrupts enabled again, on the one stack
 * (run-to-completion tasks need no stacks of their own): a release of a
 * higher-priority job preempts a running lower-priority job at once, a
 * release of a lower-priority one waits until the higher ones are done.
 * When nothing is ready the guest sleeps in wfi.
 *
 * With Ferry (docs/hypercalls.md, EID 0x0A000000): rtos_start() reports the
 * task set (period, WCET, deadline per task, in microseconds) with
 * report_task_set, and every completed job is reported with job_done(task).
 * Without the extension (-2) the RTOS runs the same and only checks
 * deadlines against its own clock.
 *
 * Files: rtos.h (this API), task.c (task table, priorities, the report),
 * sched.c (releases, dispatch, the timer interrupt, idle), time.c (clock
 * rates and unit conversions), ferry.h (the Ferry hypercalls).
 */
#ifndef FERRY_RTOS_H
#define FERRY_RTOS_H

#include <stdint.h>

#define RTOS_MAX_TASKS 8

/* A job: `job` is its number k (released at t0 + k * period). */
typedef void (*rtos_job_fn)(void *arg, uint32_t job);

struct rtos_task {
    const char *name;
    rtos_job_fn job;
    void       *arg;
    uint32_t    period_us;
    uint32_t    deadline_us;  /* relative deadline; 0 means the period */
    /* Declared worst-case execution time, in instructions. Ferry charges one
     * cycle per instruction, so this is also cycles; the RTOS converts it to
     * microseconds at the board's clock rate for report_task_set. Include
     * the RTOS's own cost per job (about 240 instructions: interrupt entry,
     * release, dispatch, job_done). */
    uint32_t    wcet_instr;
};

struct rtos_stats {
    uint32_t released;        /* jobs released so far */
    uint32_t done;            /* jobs completed */
    uint32_t misses;          /* completed after release + deadline (guest's clock) */
    uint32_t hv_misses;       /* jobs Ferry's job_done reported as missed */
    uint32_t max_instret;     /* most instructions from a job's start to its end,
                                 including preemption by higher-priority jobs */
    uint64_t max_response;    /* longest release-to-completion, timer ticks */
};

/* rtos_start() flags. */
#define RTOS_YIELD_WHEN_IDLE 1u   /* call Ferry's yield whenever all work is done,
                                     giving the rest of the partition window away;
                                     only sound when no release falls later in the
                                     same window */

/* Adds a task before rtos_start(); returns its index (= its position in the
 * reported task set), or -1 if the table is full or the times are invalid
 * (need 0 < WCET <= deadline <= period). */
int rtos_task_add(const struct rtos_task *task);

/* Reports the task set, releases every task's job 0 at t0 = now and runs the
 * schedule forever. */
__attribute__((noreturn)) void rtos_start(unsigned flags);

/* The 64-bit timer (rdtime) and the common release origin, in timer ticks. */
uint64_t rtos_now(void);
uint64_t rtos_t0(void);
uint32_t rtos_timer_hz(void);      /* from Ferry's get_info, else 10 MHz */
uint32_t rtos_clock_hz(void);      /* from Ferry's get_info, else 100 MHz */
uint64_t rtos_us_to_ticks(uint32_t us);
uint64_t rtos_ticks_to_us(uint64_t ticks);
uint32_t rtos_instr_to_us(uint32_t instr);   /* rounded up */

/* The result of report_task_set: the VM's slack in microseconds (>= 0), or
 * RTOS_SLACK_UNSCHEDULABLE (Ferry says the set misses deadlines in this VM's
 * windows), or RTOS_SLACK_UNKNOWN (not reported: no Ferry extension, or an
 * error). */
#define RTOS_SLACK_UNSCHEDULABLE (-1L)
#define RTOS_SLACK_UNKNOWN       (-2L)
long rtos_slack_us(void);
long rtos_report_error(void);      /* report_task_set's error code (0 = ok) */

/* A consistent copy of a task's statistics. */
void rtos_task_stats(int index, struct rtos_stats *out);
int  rtos_task_count(void);
const char *rtos_task_name(int index);
/* Prints one line per task: jobs, misses, worst response and instructions. */
void rtos_print_stats(void);

/* Critical sections against preemption (they mask the timer interrupt). */
unsigned long rtos_lock(void);
void rtos_unlock(unsigned long state);

#endif /* FERRY_RTOS_H */
