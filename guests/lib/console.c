/*
 * console.c - formatted output for Ferry guests (see console.h).
 */
#include <stdint.h>
#include "console.h"

/* A sink either fills a caller's buffer (snprintf) or batches into a local
 * buffer that is flushed to console_write() (printf), so one printf usually
 * becomes one hypercall / one burst of UART writes. */
struct sink {
    char  *buf;
    size_t size;     /* capacity of buf */
    size_t pos;      /* bytes in buf */
    size_t total;    /* bytes produced */
    int    flush;    /* 1: flush to console when full; 0: truncate */
};

static void sink_put(struct sink *s, char c)
{
    s->total++;
    if (s->pos + 1 >= s->size) {
        if (!s->flush) return;
        console_write(s->buf, s->pos);
        s->pos = 0;
    }
    s->buf[s->pos++] = c;
}

static void put_padded(struct sink *s, const char *digits, int n, int width, char pad, int neg)
{
    int len = n + neg;
    if (neg && pad == '0') sink_put(s, '-');
    for (; len < width; len++) sink_put(s, pad);
    if (neg && pad != '0') sink_put(s, '-');
    while (n-- > 0) sink_put(s, digits[n]);
}

/* Digits are produced least significant first; 64-bit values are split so
 * the common 32-bit case never needs 64-bit division. */
static int utoa_rev(char *out, uint64_t v, unsigned base, int upper)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    if (v == 0) out[n++] = '0';
    while (v >> 32) {                 /* rare: values above 4 Gi */
        out[n++] = dig[v % base];
        v /= base;
    }
    uint32_t w = (uint32_t)v;
    while (w) {
        out[n++] = dig[w % base];
        w /= base;
    }
    return n;
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    char tmp[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') { sink_put(s, *fmt); continue; }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') { lng++; fmt++; }
        switch (*fmt) {
        case 'd': case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : (int64_t)va_arg(ap, long);
            int neg = v < 0;
            uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            put_padded(s, tmp, utoa_rev(tmp, u, 10, 0), width, pad, neg);
            break;
        }
        case 'u': case 'x': case 'X': {
            uint64_t u = lng >= 2 ? va_arg(ap, unsigned long long) : (uint64_t)va_arg(ap, unsigned long);
            unsigned base = *fmt == 'u' ? 10 : 16;
            put_padded(s, tmp, utoa_rev(tmp, u, base, *fmt == 'X'), width, pad, 0);
            break;
        }
        case 'p': {
            uintptr_t p = (uintptr_t)va_arg(ap, void *);
            sink_put(s, '0'); sink_put(s, 'x');
            put_padded(s, tmp, utoa_rev(tmp, p, 16, 0), 8, '0', 0);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str) str = "(null)";
            int n = 0;
            while (str[n]) n++;
            for (int i = n; i < width; i++) sink_put(s, ' ');
            while (*str) sink_put(s, *str++);
            break;
        }
        case 'c':
            sink_put(s, (char)va_arg(ap, int));
            break;
        case '%':
            sink_put(s, '%');
            break;
        case '\0':
            return;
        default:
            sink_put(s, '%');
            sink_put(s, *fmt);
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    char buf[128];
    struct sink s = { buf, sizeof buf, 0, 0, 1 };
    format(&s, fmt, ap);
    if (s.pos) console_write(buf, s.pos);
    return (int)s.total;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    char dummy;
    struct sink s = { size ? buf : &dummy, size ? size : 1, 0, 0, 0 };
    format(&s, fmt, ap);
    s.buf[s.pos] = '\0';
    return (int)s.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void console_putc(char c) { console_write(&c, 1); }

void console_puts(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    console_write(s, n);
}
