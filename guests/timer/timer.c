/*
 * timer - a paravirtual guest that takes supervisor timer interrupts.
 *
 * Sets stvec, enables sie.STIE and sstatus.SIE, arms the timer with SBI
 * set_timer every 1 ms (10,000 ticks of the 10 MHz `time` counter), idles in
 * wfi between interrupts, prints each tick with the `time` value it was taken
 * at, checks no interrupt came before its deadline, then shuts down.
 */
#include <stdint.h>
#include "console.h"
#include "riscv.h"
#include "sbi.h"

#define TICKS       10
#define PERIOD      (TIMER_HZ / 1000)          /* 1 ms in `time` units */
#define TICKS_PER_US (TIMER_HZ / 1000000)

static volatile unsigned ticks;                /* interrupts taken so far */
static volatile uint64_t deadline;             /* the armed deadline */
static volatile uint64_t tick_deadline[TICKS];
static volatile uint64_t tick_time[TICKS];

__attribute__((interrupt("supervisor"), aligned(4)))
static void strap(void)
{
    unsigned long cause = csr_read(scause);
    if (cause != (CAUSE_INTERRUPT | IRQ_S_TIMER)) {
        printf("timer: unexpected trap scause=0x%lx sepc=0x%lx stval=0x%lx\n",
               cause, csr_read(sepc), csr_read(stval));
        guest_exit(1);
    }
    unsigned n = ticks;
    if (n < TICKS) {
        tick_deadline[n] = deadline;
        tick_time[n] = rdtime64();
    }
    ticks = n + 1;
    /* Re-arm (this also clears the pending bit). The timer keeps running
     * until main() has seen all TICKS, so a wfi can never wait forever. */
    deadline += PERIOD;
    sbi_set_timer(deadline);
}

int main(void)
{
    printf("timer: %u ticks, one every %u us, via SBI set_timer\n",
           (unsigned)TICKS, (unsigned)(PERIOD / TICKS_PER_US));

    csr_write(stvec, (uintptr_t)&strap);       /* direct mode */
    uint64_t start = rdtime64();
    deadline = start + PERIOD;
    sbi_set_timer(deadline);
    csr_set(sie, SIP_STIP);
    csr_set(sstatus, SSTATUS_SIE);

    unsigned printed = 0, early = 0;
    while (printed < TICKS) {
        while (ticks == printed)
            wfi();
        unsigned seen = ticks;
        for (; printed < seen && printed < TICKS; printed++) {
            uint64_t t = tick_time[printed];
            uint64_t prev = printed ? tick_time[printed - 1] : start;
            if (t < tick_deadline[printed]) early++;
            printf("tick %u: time=%llu (+%llu us)\n", printed + 1,
                   (unsigned long long)t,
                   (unsigned long long)((t - prev) / TICKS_PER_US));
        }
    }

    csr_clear(sie, SIP_STIP);
    csr_clear(sstatus, SSTATUS_SIE);
    sbi_set_timer(UINT64_MAX);

    uint64_t elapsed = tick_time[TICKS - 1] - start;
    printf("timer: %u ticks in %llu us\n", (unsigned)TICKS,
           (unsigned long long)(elapsed / TICKS_PER_US));
    if (early) {
        printf("timer: FAILED: %u interrupts arrived before their deadline\n", early);
        return 1;
    }
    if (elapsed < (uint64_t)TICKS * PERIOD) {
        printf("timer: FAILED: %u ticks took less than %u us\n",
               (unsigned)TICKS, (unsigned)(TICKS * PERIOD / TICKS_PER_US));
        return 1;
    }
    printf("timer: done\n");
    return 0;
}
