/*
 * virt - a machine-mode guest written as for QEMU `virt`.
 *
 * Prints through the ns16550 UART, arms the CLINT timer (mtimecmp), takes
 * machine timer interrupts through mtvec while idling in wfi, prints how
 * many it saw, then writes "pass" to the test finisher.
 */
#include <stdint.h>
#include "console.h"
#include "riscv.h"
#include "virt.h"

#define TICKS        5
#define PERIOD       (TIMER_HZ / 1000)         /* 1 ms of mtime */
#define TICKS_PER_US (TIMER_HZ / 1000000)

static volatile unsigned ticks;
static volatile uint64_t deadline;
static volatile uint64_t tick_time[TICKS];

__attribute__((interrupt("machine"), aligned(4)))
static void mtrap(void)
{
    unsigned long cause = csr_read(mcause);
    if (cause != (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
        printf("virt: unexpected trap mcause=0x%lx mepc=0x%lx mtval=0x%lx\n",
               cause, csr_read(mepc), csr_read(mtval));
        finisher_exit(2);
    }
    unsigned n = ticks;
    if (n < TICKS) tick_time[n] = clint_mtime();
    ticks = n + 1;
    deadline += PERIOD;                        /* re-arm; clears MTIP */
    clint_set_mtimecmp(deadline);
}

int main(unsigned long hartid)
{
    printf("virt: machine-mode guest, hart %lu, misa 0x%08lx\n",
           hartid, csr_read(misa));

    csr_write(mtvec, (uintptr_t)&mtrap);       /* direct mode */
    uint64_t start = clint_mtime();
    deadline = start + PERIOD;
    clint_set_mtimecmp(deadline);
    csr_set(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);

    while (ticks < TICKS)
        wfi();

    csr_clear(mie, MIP_MTIP);
    csr_clear(mstatus, MSTATUS_MIE);
    clint_set_mtimecmp(UINT64_MAX);

    for (unsigned i = 0; i < TICKS; i++)
        printf("virt: tick %u at mtime=%llu\n", i + 1, (unsigned long long)tick_time[i]);
    uint64_t elapsed = tick_time[TICKS - 1] - start;
    printf("virt: saw %u timer interrupts in %llu us\n", (unsigned)ticks,
           (unsigned long long)(elapsed / TICKS_PER_US));
    if (elapsed < (uint64_t)TICKS * PERIOD) {
        printf("virt: FAILED: interrupts came too early\n");
        finisher_exit(3);
    }
    printf("virt: pass\n");
    finisher_exit(0);
}
