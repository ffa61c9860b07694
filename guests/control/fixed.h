/*
 * fixed.h - integer fixed-point arithmetic for the control application
 * (rv32im has no floating point).
 *
 *   fx_t    Q16.16: signals (volts, amperes, rad/s, N·m), range +-32768
 *   coef_t  Q8.24:  constant coefficients, range +-128
 *
 * Products go through 64 bits and are rounded (half up), so every result is
 * a deterministic function of the inputs.
 */
#ifndef FERRY_CONTROL_FIXED_H
#define FERRY_CONTROL_FIXED_H

#include <stdint.h>

typedef int32_t fx_t;
typedef int32_t coef_t;

#define FX_ONE (1 << 16)
/* num/den as Q16.16 and as Q8.24 (integer constant expressions). */
#define FX(num, den)   ((fx_t)(((int64_t)(num) * FX_ONE) / (den)))
#define COEF(num, den) ((coef_t)(((int64_t)(num) * (1 << 24)) / (den)))

static inline fx_t cmul(coef_t c, fx_t x)
{
    return (fx_t)(((int64_t)c * x + (1 << 23)) >> 24);
}

static inline fx_t fx_clamp(fx_t v, fx_t lo, fx_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* v in thousandths, rounded half away from zero. */
static inline int32_t fx_to_milli(fx_t v)
{
    uint32_t mag = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
    int32_t milli = (int32_t)(((uint64_t)mag * 1000u + (FX_ONE / 2)) >> 16);
    return v < 0 ? -milli : milli;
}

/* Writes v as "[-]I.DDD" (rounded to 1/1000) into buf; returns buf. */
char *fx_format(char buf[16], fx_t v);

#endif /* FERRY_CONTROL_FIXED_H */
