/*
 * pid.c - the PID step (see pid.h).
 */
#include "pid.h"

fx_t pid_step(struct pid *c, fx_t setpoint, fx_t y)
{
    fx_t e = setpoint - y;
    fx_t d = c->started ? -cmul(c->kd_t, y - c->last_y) : 0;
    fx_t integral = fx_clamp(c->integral + cmul(c->ki_t, e), -c->out_max, c->out_max);
    fx_t u = cmul(c->kp, e) + integral + d;
    c->last_y = y;
    c->started = 1;
    if (u > c->out_max) {
        u = c->out_max;
        if (e < 0) c->integral = integral;      /* only unwinding is allowed */
    } else if (u < -c->out_max) {
        u = -c->out_max;
        if (e > 0) c->integral = integral;
    } else {
        c->integral = integral;
    }
    return u;
}
