/*
 * task.c - the task table: adding tasks, deadline-monotonic priorities,
 * reporting the set to Ferry (report_task_set) and the statistics.
 */
#include "console.h"
#include "ferry.h"
#include "rtos_internal.h"

struct rtos_tcb rtos_tcbs[RTOS_MAX_TASKS];
int rtos_ntasks;
struct rtos_tcb *rtos_by_prio[RTOS_MAX_TASKS];
int rtos_hv_tasks;

static struct ferry_task_desc reported[RTOS_MAX_TASKS];
static long report_error = SBI_ERR_NOT_SUPPORTED;
static long slack_us = RTOS_SLACK_UNKNOWN;

int rtos_task_add(const struct rtos_task *task)
{
    uint32_t deadline = task->deadline_us ? task->deadline_us : task->period_us;
    rtos_time_init();           /* the clock rate, for the WCET in microseconds */
    if (rtos_ntasks == RTOS_MAX_TASKS || task->job == 0 || task->period_us == 0 ||
        task->wcet_instr == 0 || rtos_instr_to_us(task->wcet_instr) > deadline ||
        deadline > task->period_us)
        return -1;
    struct rtos_tcb *t = &rtos_tcbs[rtos_ntasks];
    t->cfg = *task;
    t->cfg.deadline_us = deadline;
    return rtos_ntasks++;
}

/* Deadline-monotonic: shorter relative deadline first, ties by index. The
 * sort is an insertion sort by that key: stable, and n <= RTOS_MAX_TASKS.
 * Also converts the times to ticks and fills in the set to report, so that
 * nothing slow (64-bit division) is left to do between t0 and the report. */
void rtos_prepare_tasks(void)
{
    for (int i = 0; i < rtos_ntasks; i++) {
        struct rtos_tcb *t = &rtos_tcbs[i];
        int at = i;
        while (at > 0 && rtos_by_prio[at - 1]->cfg.deadline_us > t->cfg.deadline_us) {
            rtos_by_prio[at] = rtos_by_prio[at - 1];
            at--;
        }
        rtos_by_prio[at] = t;
    }
    for (int p = 0; p < rtos_ntasks; p++) rtos_by_prio[p]->prio = p;
    for (int i = 0; i < rtos_ntasks; i++) {
        struct rtos_tcb *t = &rtos_tcbs[i];
        t->period = rtos_us_to_ticks(t->cfg.period_us);
        t->deadline = rtos_us_to_ticks(t->cfg.deadline_us);
        reported[i].period_us = t->cfg.period_us;
        reported[i].wcet_us = rtos_instr_to_us(t->cfg.wcet_instr);
        reported[i].deadline_us = t->cfg.deadline_us;
    }
}

void rtos_print_tasks(void)
{
    printf("rtos: %d tasks, deadline-monotonic fixed-priority preemptive; clock %u Hz, timer %u Hz\n",
           rtos_ntasks, (unsigned)rtos_clock_hz(), (unsigned)rtos_timer_hz());
    for (int i = 0; i < rtos_ntasks; i++) {
        const struct rtos_tcb *t = &rtos_tcbs[i];
        printf("rtos: task %d %s: period %u us, deadline %u us, wcet %u us (%u instructions), priority %d\n",
               i, t->cfg.name, (unsigned)t->cfg.period_us, (unsigned)t->cfg.deadline_us,
               (unsigned)rtos_instr_to_us(t->cfg.wcet_instr), (unsigned)t->cfg.wcet_instr, t->prio);
    }
}

/* One hypercall, no printing: rtos_start() calls it right at t0. */
void rtos_report_task_set(void)
{
    struct sbiret r = ferry_report_task_set(reported, (unsigned long)rtos_ntasks);
    report_error = r.error;
    if (r.error == SBI_SUCCESS) {
        slack_us = r.value;
        rtos_hv_tasks = 1;
    } else if (r.error == SBI_ERR_FAILED) {      /* recorded, but not schedulable */
        slack_us = RTOS_SLACK_UNSCHEDULABLE;
        rtos_hv_tasks = 1;
    }
}

void rtos_print_report(void)
{
    if (report_error == SBI_SUCCESS)
        printf("rtos: task set reported to Ferry: slack %ld us\n", slack_us);
    else if (report_error == SBI_ERR_FAILED)
        printf("rtos: task set reported to Ferry: NOT schedulable in this VM's windows\n");
    else if (report_error == SBI_ERR_NOT_SUPPORTED)
        printf("rtos: report_task_set not supported: deadlines checked by the guest only\n");
    else
        printf("rtos: report_task_set failed (error %ld): deadlines checked by the guest only\n",
               report_error);
}

long rtos_slack_us(void) { return slack_us; }
long rtos_report_error(void) { return report_error; }
int rtos_task_count(void) { return rtos_ntasks; }

const char *rtos_task_name(int index)
{
    return index >= 0 && index < rtos_ntasks ? rtos_tcbs[index].cfg.name : "?";
}

void rtos_task_stats(int index, struct rtos_stats *out)
{
    unsigned long s = rtos_lock();
    *out = rtos_tcbs[index].stats;
    rtos_unlock(s);
}

void rtos_print_stats(void)
{
    for (int i = 0; i < rtos_ntasks; i++) {
        struct rtos_stats st;
        rtos_task_stats(i, &st);
        printf("rtos: %s: %u jobs, %u misses (Ferry: %u), worst response %u us, worst %u instructions\n",
               rtos_tcbs[i].cfg.name, (unsigned)st.done, (unsigned)st.misses,
               (unsigned)st.hv_misses, (unsigned)rtos_ticks_to_us(st.max_response),
               (unsigned)st.max_instret);
    }
}
