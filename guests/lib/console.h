/*
 * console.h - a tiny console for Ferry guests.
 *
 * printf understands %d %i %u %x %X %p %s %c %% with an optional '0' flag,
 * a width, and the length modifiers l (32-bit on RV32) and ll (64-bit).
 * The bytes go to console_write(), which the kind's runtime provides:
 * SBI DBCN (or legacy putchar) for paravirtual guests, the ns16550 UART for
 * machine guests.
 */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

/* Provided by the runtime of the guest kind. */
void console_write(const char *buf, size_t len);
/* Ends the guest: 0 = success, anything else = failure. Never returns. */
__attribute__((noreturn)) void guest_exit(int code);

void console_putc(char c);
void console_puts(const char *s);          /* no newline added */
int  printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int  vprintf(const char *fmt, va_list ap);
int  snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int  vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif /* FERRY_CONSOLE_H */
