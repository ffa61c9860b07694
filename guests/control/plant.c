/*
 * plant.c - a DC motor, simulated with the forward-Euler method:
 *
 *   L di/dt = V - R i - K w          (armature circuit)
 *   J dw/dt = K i - b w - T_load     (shaft)
 *
 * with R = 2 ohm, L = 10 mH, K = 0.05 V·s/rad (= N·m/A), J = 1e-4 kg·m²,
 * b = 1e-4 N·m·s/rad and a 1 ms step. Time constants: about 5 ms
 * (electrical) and 69 ms (mechanical); steady-state speed 18.5 rad/s per
 * volt. The step is short enough for Euler to be stable (the discrete
 * poles are 0.81 and 0.986).
 */
#include "plant.h"

#define MOTOR_R_MOHM  2000          /* R, milliohm */
#define MOTOR_L_UH    10000         /* L, microhenry */
#define MOTOR_K_UVS   50000         /* K, microvolt·s/rad */
#define MOTOR_J_U     100           /* J, 1e-6 kg·m² */
#define MOTOR_B_U     100           /* b, 1e-6 N·m·s/rad */

static const coef_t DT_L = COEF(PLANT_DT_US, MOTOR_L_UH);   /* dt / L = 0.1 */
static const coef_t R    = COEF(MOTOR_R_MOHM, 1000);         /* 2 */
static const coef_t K    = COEF(MOTOR_K_UVS, 1000000);       /* 0.05 */
static const coef_t DT_J = COEF(PLANT_DT_US, MOTOR_J_U);     /* dt / J = 10 */
static const coef_t B    = COEF(MOTOR_B_U, 1000000);         /* 1e-4 */

void motor_step(struct motor *m, fx_t volts, fx_t load, unsigned steps)
{
    fx_t v = fx_clamp(volts, -MOTOR_V_MAX, MOTOR_V_MAX);
    fx_t i = m->current, w = m->speed;
    while (steps--) {
        fx_t di = cmul(DT_L, v - cmul(R, i) - cmul(K, w));
        fx_t dw = cmul(DT_J, cmul(K, i) - cmul(B, w) - load);
        i += di;
        w += dw;
    }
    m->current = i;
    m->speed = w;
}
