/*
 * fixed.c - printing fixed-point values.
 */
#include "console.h"
#include "fixed.h"

char *fx_format(char buf[16], fx_t v)
{
    uint32_t mag = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
    uint32_t milli = (uint32_t)(((uint64_t)mag * 1000u + (FX_ONE / 2)) >> 16);
    snprintf(buf, 16, "%s%u.%03u", (v < 0 && milli) ? "-" : "",
             (unsigned)(milli / 1000u), (unsigned)(milli % 1000u));
    return buf;
}
