/*
 * pid.h - a discrete PID controller in fixed point.
 *
 *   u[k] = Kp e[k] + I[k] - Kd (y[k] - y[k-1]) / T,   I[k] = I[k-1] + Ki T e[k]
 *
 * Derivative on the measurement (no kick when the setpoint jumps); the
 * output saturates at +-out_max and the integral stops growing while the
 * output is saturated in the direction of the error (anti-windup).
 */
#ifndef FERRY_CONTROL_PID_H
#define FERRY_CONTROL_PID_H

#include "fixed.h"

struct pid {
    coef_t kp;          /* Kp */
    coef_t ki_t;        /* Ki * T */
    coef_t kd_t;        /* Kd / T */
    fx_t   out_max;
    fx_t   integral;
    fx_t   last_y;
    int    started;
};

/* One controller step: the setpoint and the measurement in, the output out. */
fx_t pid_step(struct pid *c, fx_t setpoint, fx_t y);

#endif /* FERRY_CONTROL_PID_H */
