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

/* Writes v as "[-]I.DDD" (rounded to 1/1000) into buf; returns buf. */
char *fx_format(char buf[16], fx_t v);

#endif /* FERRY_CONTROL_FIXED_H */
