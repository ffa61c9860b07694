/*
 * board.c - what picolibc needs from the board, for a Ferry machine guest built
 * by gcc: stdout on the ns16550 UART (picolibc's stdio calls a putc hook), and
 * _exit through the HTIF tohost word (pass, or "test" n = the exit status).
 */
#include <stdio.h>
#include <stdlib.h>
#include "htif.h"
#include "virt.h"

static int uart_putc(char c, FILE *file)
{
    (void)file;
    while ((MMIO8(UART0_BASE + UART_LSR) & UART_LSR_THRE) == 0)
        ;
    MMIO8(UART0_BASE + UART_THR) = (uint8_t)c;
    return (unsigned char)c;
}

static FILE uart = FDEV_SETUP_STREAM(uart_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &uart;
FILE *const stderr = &uart;

__attribute__((noreturn)) void _exit(int status)
{
    htif_exit((unsigned)status);
}
