/*
 * fixed.c - printing fixed-point values.
 */
#include "console.h"
#include "fixed.h"

char *fx_format(char buf[16], fx_t v)
{
    int32_t m = fx_to_milli(v);
    uint32_t milli = m < 0 ? (uint32_t)0 - (uint32_t)m : (uint32_t)m;
    snprintf(buf, 16, "%s%u.%03u", m < 0 ? "-" : "",
             (unsigned)(milli / 1000u), (unsigned)(milli % 1000u));
    return buf;
}
