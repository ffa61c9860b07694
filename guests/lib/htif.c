/*
 * htif.c - the tohost/fromhost words (section .tohost, 64-byte aligned).
 */
#include "htif.h"
#include "riscv.h"

/* Section .tohost (guests/lib/link.ld places it); a linker script without one,
 * like picolibc's for the gcc guest, gets -DHTIF_SECTION='".bss.tohost"'. */
#ifndef HTIF_SECTION
#define HTIF_SECTION ".tohost"
#endif

__attribute__((section(HTIF_SECTION), aligned(64), used)) volatile uint64_t tohost;
__attribute__((section(HTIF_SECTION), aligned(64), used)) volatile uint64_t fromhost;

__attribute__((noreturn)) void htif_exit(unsigned failed_test)
{
    uint32_t v = failed_test == 0 ? 1u : ((failed_test << 1) | 1u);
    /* One 32-bit store of the low word ends the VM on Ferry; the high word is
     * written first so 64-bit HTIF hosts see a complete value. */
    volatile uint32_t *words = (volatile uint32_t *)(uintptr_t)&tohost;
    words[1] = 0;
    words[0] = v;
    for (;;) wfi();
}
