/*
 * virt.h - the QEMU `virt` devices a Ferry machine guest may use.
 */
#ifndef FERRY_VIRT_H
#define FERRY_VIRT_H

#include <stdint.h>

/* ns16550 UART */
#define UART0_BASE     0x10000000u
#define UART_THR       0           /* transmit holding register (write) */
#define UART_LSR       5           /* line status register */
#define UART_LSR_THRE  0x20        /* THR empty: ready for the next byte */

/* CLINT */
#define CLINT_BASE     0x02000000u
#define CLINT_MSIP     (CLINT_BASE + 0x0000)   /* hart 0 software interrupt */
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)   /* hart 0, 64-bit */
#define CLINT_MTIME    (CLINT_BASE + 0xBFF8)   /* 64-bit, 10 MHz */

/* SiFive test finisher */
#define FINISHER_BASE  0x00100000u
#define FINISHER_PASS  0x5555u
#define FINISHER_FAIL  0x3333u                 /* | code << 16 */

#define MMIO32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define MMIO8(addr)  (*(volatile uint8_t *)(uintptr_t)(addr))

static inline uint64_t clint_mtime(void)
{
    uint32_t hi, lo;
    do {
        hi = MMIO32(CLINT_MTIME + 4);
        lo = MMIO32(CLINT_MTIME);
    } while (hi != MMIO32(CLINT_MTIME + 4));
    return ((uint64_t)hi << 32) | lo;
}

/* Race-free 64-bit write on RV32: park the high word first. */
static inline void clint_set_mtimecmp(uint64_t when)
{
    MMIO32(CLINT_MTIMECMP + 4) = 0xFFFFFFFFu;
    MMIO32(CLINT_MTIMECMP)     = (uint32_t)when;
    MMIO32(CLINT_MTIMECMP + 4) = (uint32_t)(when >> 32);
}

/* Ends the VM through the finisher: code 0 = pass, else fail with code. */
__attribute__((noreturn)) void finisher_exit(unsigned code);

#endif /* FERRY_VIRT_H */
