/*
 * riscv.h - CSR access and a few privileged-architecture constants.
 */
#ifndef FERRY_RISCV_H
#define FERRY_RISCV_H

#include <stdint.h>

#define csr_read(csr) ({ unsigned long __v; \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrw " #csr ", %0" :: "rK"(__v) : "memory"); })
#define csr_set(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrs " #csr ", %0" :: "rK"(__v) : "memory"); })
#define csr_clear(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrc " #csr ", %0" :: "rK"(__v) : "memory"); })

static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

/* mstatus / sstatus bits */
#define SSTATUS_SIE   (1u << 1)
#define MSTATUS_MIE   (1u << 3)
#define SSTATUS_SPIE  (1u << 5)
#define MSTATUS_MPIE  (1u << 7)
#define SSTATUS_SPP   (1u << 8)
#define MSTATUS_MPP   (3u << 11)

/* interrupt enable / pending bits (mie/mip, sie/sip) */
#define IRQ_S_SOFT   1
#define IRQ_M_SOFT   3
#define IRQ_S_TIMER  5
#define IRQ_M_TIMER  7
#define IRQ_S_EXT    9
#define IRQ_M_EXT   11
#define MIP_MTIP (1u << IRQ_M_TIMER)
#define SIP_STIP (1u << IRQ_S_TIMER)

#define CAUSE_INTERRUPT 0x80000000u

/* The 64-bit `time` counter (10 MHz on Ferry) read on RV32: timeh, time, timeh. */
static inline uint64_t rdtime64(void)
{
    uint32_t hi, lo, hi2;
    do {
        hi  = (uint32_t)csr_read(timeh);
        lo  = (uint32_t)csr_read(time);
        hi2 = (uint32_t)csr_read(timeh);
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

#define TIMER_HZ 10000000u

#endif /* FERRY_RISCV_H */
