/*
 * control - Ferry's demo control application: a DC motor (plant.c) under
 * PID speed control (pid.c), as a periodic task of the guest RTOS.
 *
 * Tasks (deadline-monotonic, so "control" has the higher priority):
 *   0 control  every CTL_PERIOD_US (10 ms), deadline = period: samples the
 *              motor speed, computes the PID output, applies it for one
 *              period (the motor model advances 10 steps of 1 ms).
 *              Every period it also hands the control error (in 1/1000
 *              rad/s) to Ferry with report_metric, for the board summary.
 *   1 report   every CTL_REPORT_EVERY periods (100 ms): prints
 *              "ctl <name>: t=<ms> setpoint=<rad/s> y=<rad/s> err=<rad/s> u=<V>"
 *              for the control period at that release, and every
 *              CTL_STATS_EVERY reports the RTOS statistics.
 *
 * Setpoint 100 rad/s from t = 0; a load torque of 5 mN·m is applied from
 * t = 3 s (the error jumps, then the integral action removes it again).
 *
 * Variants (guests/build.sh):
 *   control     standalone
 *   control-tx  -DCTL_TX: also sends its measured speed on channel port 0
 *   control-rx  -DCTL_RX: uses the speed received on channel port 0 as its
 *               setpoint (it follows the sender's motor); until a sample has
 *               arrived it uses its own setpoint, 60 rad/s
 * Everything is integer arithmetic and depends only on the period number,
 * so a run is deterministic.
 */
#include "console.h"
#include "ferry.h"
#include "fixed.h"
#include "link.h"
#include "pid.h"
#include "plant.h"
#include "rtos.h"

#ifndef CTL_PERIOD_US
#define CTL_PERIOD_US    10000
#endif
#define CTL_REPORT_EVERY 10          /* periods per report */
#define CTL_STATS_EVERY  50          /* reports per statistics print (5 s) */
#define CTL_LOAD_AT_MS   3000
#define CTL_LOAD         FX(5, 1000) /* N·m */

#if defined(CTL_TX)
#define CTL_NAME     "control-tx"
#define CTL_SETPOINT FX(100, 1)
#elif defined(CTL_RX)
#define CTL_NAME     "control-rx"
#define CTL_SETPOINT FX(60, 1)
#else
#define CTL_NAME     "control"
#define CTL_SETPOINT FX(100, 1)
#endif

/* Declared WCETs in instructions (measured with --instret and the RTOS's
 * per-job counts, plus margin; see docs/guests.md). */
#define CTL_WCET_INSTR    2000
#define REPORT_WCET_INSTR 20000

#if CTL_PERIOD_US % PLANT_DT_US != 0
#error "CTL_PERIOD_US must be a multiple of PLANT_DT_US"
#endif

/* Gains for T = 10 ms: Kp = 0.15 V/(rad/s), Ki = 2 V/rad, Kd = 0.5 mV·s²/rad. */
static struct pid pid = {
    .kp = COEF(15, 100),
    .ki_t = COEF(2 * CTL_PERIOD_US, 1000000),
    .kd_t = COEF(1000000 / 2000, CTL_PERIOD_US),
    .out_max = MOTOR_V_MAX,
};
static struct motor motor;

/* What the report task prints: written by the control job of every
 * CTL_REPORT_EVERY-th period, read under rtos_lock(). */
struct snapshot {
    uint32_t period;
    fx_t setpoint, y, err, u;
    int remote;
};
static struct snapshot snap;

static void control_job(void *arg, uint32_t k)
{
    (void)arg;
    fx_t setpoint = CTL_SETPOINT;
    int remote = 0;
#ifdef CTL_RX
    remote = link_receive(&setpoint);
#endif
    fx_t y = motor.speed;                          /* sample */
    fx_t u = pid_step(&pid, setpoint, y);          /* control law */
#ifdef CTL_TX
    link_send(k, y);
#endif
    ferry_report_metric(fx_to_milli(setpoint - y));   /* Ferry's summary: ctl-err */
    uint32_t t_ms = k * (CTL_PERIOD_US / 1000);
    fx_t load = t_ms >= CTL_LOAD_AT_MS ? CTL_LOAD : 0;
    motor_step(&motor, u, load, CTL_PERIOD_US / PLANT_DT_US);   /* the world moves on */
    if (k % CTL_REPORT_EVERY == 0) {
        snap.period = k;
        snap.setpoint = setpoint;
        snap.y = y;
        snap.err = setpoint - y;
        snap.u = u;
        snap.remote = remote;
    }
}

static void report_job(void *arg, uint32_t k)
{
    (void)arg;
    unsigned long s = rtos_lock();
    struct snapshot v = snap;
    struct link_stats ls;
    link_get_stats(&ls);
    rtos_unlock(s);

    char sp[16], y[16], err[16], u[16];
    printf("ctl %s: t=%u setpoint=%s y=%s err=%s u=%s%s\n", CTL_NAME,
           (unsigned)(v.period * (CTL_PERIOD_US / 1000)), fx_format(sp, v.setpoint),
           fx_format(y, v.y), fx_format(err, v.err), fx_format(u, v.u),
#ifdef CTL_RX
           v.remote ? " (remote setpoint)" : " (own setpoint)"
#else
           ""
#endif
    );
    if (k % CTL_STATS_EVERY == CTL_STATS_EVERY - 1) {
        rtos_print_stats();
#if defined(CTL_TX)
        printf("ctl %s: channel port %d: %u sent, %u errors (last %ld)\n", CTL_NAME,
               LINK_PORT, (unsigned)ls.sent, (unsigned)ls.send_errors, ls.last_error);
#elif defined(CTL_RX)
        printf("ctl %s: channel port %d: %u samples, %u rejected (last error %ld)\n", CTL_NAME,
               LINK_PORT, (unsigned)ls.received, (unsigned)ls.rejected, ls.last_error);
#endif
    }
}

int main(void)
{
    printf("ctl %s: DC motor speed control, PID every %u us, setpoint %u rad/s%s\n",
           CTL_NAME, (unsigned)CTL_PERIOD_US, (unsigned)(CTL_SETPOINT / FX_ONE),
#if defined(CTL_TX)
           ", sending the speed on channel port 0"
#elif defined(CTL_RX)
           " until a setpoint arrives on channel port 0"
#else
           ""
#endif
    );
    static const struct rtos_task control = {
        .name = "control", .job = control_job,
        .period_us = CTL_PERIOD_US, .deadline_us = CTL_PERIOD_US,
        .wcet_instr = CTL_WCET_INSTR,
    };
    static const struct rtos_task report = {
        .name = "report", .job = report_job,
        .period_us = CTL_PERIOD_US * CTL_REPORT_EVERY,
        .deadline_us = CTL_PERIOD_US * CTL_REPORT_EVERY,
        .wcet_instr = REPORT_WCET_INSTR,
    };
    if (rtos_task_add(&control) < 0 || rtos_task_add(&report) < 0) {
        printf("ctl %s: bad task set\n", CTL_NAME);
        return 1;
    }
    rtos_start(0);
}
