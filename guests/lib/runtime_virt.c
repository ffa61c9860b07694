/*
 * runtime_virt.c - runtime for machine guests on the QEMU-virt devices.
 *
 * Console: ns16550 UART at 0x10000000, polled on LSR.THRE.
 * Exit: the test finisher at 0x00100000 (0x5555 pass, 0x3333 | code << 16).
 */
#include "console.h"
#include "riscv.h"
#include "virt.h"

static void uart_putc(char c)
{
    while ((MMIO8(UART0_BASE + UART_LSR) & UART_LSR_THRE) == 0)
        ;
    MMIO8(UART0_BASE + UART_THR) = (uint8_t)c;
}

void console_write(const char *buf, size_t len)
{
    while (len--) uart_putc(*buf++);
}

__attribute__((noreturn)) void finisher_exit(unsigned code)
{
    MMIO32(FINISHER_BASE) = code == 0 ? FINISHER_PASS : (FINISHER_FAIL | (code << 16));
    for (;;) wfi();
}

__attribute__((noreturn)) void guest_exit(int code)
{
    finisher_exit((unsigned)code);
}
