/*
 * sched.c - releases, dispatch, the timer interrupt and the idle loop.
 *
 * Preemption on one stack: jobs run inside the supervisor timer interrupt
 * handler with sstatus.SIE set again. A release during a job interrupts it;
 * the nested handler runs every ready job of higher priority than the one
 * it interrupted and returns into it. `running` is the priority of the job
 * the processor is in (IDLE outside jobs); it, the release state and the
 * statistics are only touched with interrupts masked.
 */
#include "console.h"
#include "ferry.h"
#include "riscv.h"
#include "rtos_internal.h"

#define IDLE RTOS_MAX_TASKS

static int running = IDLE;
static uint64_t t0;

uint64_t rtos_t0(void) { return t0; }

unsigned long rtos_lock(void)
{
    unsigned long old;
    __asm__ volatile("csrrci %0, sstatus, %1" : "=r"(old) : "i"(SSTATUS_SIE) : "memory");
    return old & SSTATUS_SIE;
}

void rtos_unlock(unsigned long state)
{
    if (state) csr_set(sstatus, SSTATUS_SIE);
}

/* Releases every job due by `now` and arms the timer for the next release. */
static void release_jobs(uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < rtos_ntasks; i++) {
        struct rtos_tcb *t = &rtos_tcbs[i];
        while (t->next_release <= now) {
            t->next_release += t->period;
            t->pending++;
            t->stats.released++;
        }
        if (t->next_release < next) next = t->next_release;
    }
    sbi_set_timer(next);        /* also clears the pending timer interrupt */
}

/* Called with interrupts masked after a job's function returned. */
static void job_finished(struct rtos_tcb *t, uint32_t instret)
{
    uint64_t end = rdtime64();
    uint64_t response = end - t->oldest_release;
    if (response > t->deadline) t->stats.misses++;
    if (response > t->stats.max_response) t->stats.max_response = response;
    if (instret > t->stats.max_instret) t->stats.max_instret = instret;
    if (rtos_hv_tasks) {
        struct sbiret r = ferry_job_done((unsigned long)(t - rtos_tcbs));
        if (r.error == SBI_SUCCESS && r.value != 0) t->stats.hv_misses++;
    }
    t->stats.done++;
    t->pending--;
    t->next_job++;
    t->oldest_release += t->period;
}

/* Runs ready jobs of higher priority than the interrupted one, best first. */
static void dispatch(void)
{
    int interrupted = running;
    for (;;) {
        struct rtos_tcb *t = 0;
        for (int p = 0; p < interrupted && p < rtos_ntasks; p++) {
            if (rtos_by_prio[p]->pending) { t = rtos_by_prio[p]; break; }
        }
        if (!t) break;
        running = t->prio;
        uint32_t start = (uint32_t)csr_read(instret);
        csr_set(sstatus, SSTATUS_SIE);
        t->cfg.job(t->cfg.arg, t->next_job);
        csr_clear(sstatus, SSTATUS_SIE);
        job_finished(t, (uint32_t)csr_read(instret) - start);
    }
    running = interrupted;
}

__attribute__((noreturn)) static void unexpected_trap(unsigned long cause)
{
    printf("rtos: unexpected trap scause=0x%lx sepc=0x%lx stval=0x%lx\n",
           cause, csr_read(sepc), csr_read(stval));
    guest_exit(1);
}

__attribute__((interrupt("supervisor"), aligned(4)))
static void rtos_trap(void)
{
    unsigned long cause = csr_read(scause);
    if (cause != (CAUSE_INTERRUPT | IRQ_S_TIMER)) unexpected_trap(cause);
    /* A nested trap overwrites sepc and sstatus.SPP/SPIE: keep ours. */
    unsigned long epc = csr_read(sepc);
    unsigned long status = csr_read(sstatus);
    release_jobs(rdtime64());
    dispatch();
    csr_write(sepc, epc);
    csr_write(sstatus, status);
}

void rtos_start(unsigned flags)
{
    rtos_time_init();
    rtos_prepare_tasks();
    rtos_print_tasks();

    /* t0 is read just before the report, so every release the guest makes is
     * no later than the one Ferry counts from the time of the report. */
    t0 = rdtime64();
    rtos_report_task_set();
    for (int i = 0; i < rtos_ntasks; i++) {
        rtos_tcbs[i].next_release = t0;
        rtos_tcbs[i].oldest_release = t0;
    }
    csr_write(stvec, (uintptr_t)&rtos_trap);
    sbi_set_timer(t0);          /* due already: job 0 of every task runs at once */
    csr_set(sie, SIP_STIP);
    csr_set(sstatus, SSTATUS_SIE);

    int yield = (flags & RTOS_YIELD_WHEN_IDLE) != 0;
    int reported = 0;
    for (;;) {
        /* Here all released work is done. */
        if (!reported) {
            rtos_print_report();
            reported = 1;
        }
        if (yield && ferry_yield().error == SBI_ERR_NOT_SUPPORTED) yield = 0;
        wfi();
    }
}
