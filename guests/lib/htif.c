/*
 * htif.c - the tohost/fromhost words (section .tohost, 64-byte aligned).
 */
#include "htif.h"
#include "riscv.h"

__attribute__((section(".tohost"), aligned(64), used)) volatile uint64_t tohost;
__attribute__((section(".tohost"), aligned(64), used)) volatile uint64_t fromhost;

__attribute__((noreturn)) void htif_exit(unsigned failed_test)
{
    uint32_t v = failed_test == 0 ? 1u : ((failed_test << 1) | 1u);
    /* One 32-bit store of the low word ends the VM on Ferry; the high word is
     * written first so 64-bit HTIF hosts see a complete value. */
    ((volatile uint32_t *)&tohost)[1] = 0;
    ((volatile uint32_t *)&tohost)[0] = v;
    for (;;) wfi();
}
