/*
 * plant.h - the controlled plant: a DC motor (armature current, shaft speed),
 * simulated in discrete time with integer arithmetic.
 */
#ifndef FERRY_CONTROL_PLANT_H
#define FERRY_CONTROL_PLANT_H

#include "fixed.h"

#define PLANT_DT_US   1000          /* integration step: 1 ms */
#define MOTOR_V_MAX   FX(12, 1)     /* supply: the drive saturates at +-12 V */

struct motor {
    fx_t current;                   /* armature current, A */
    fx_t speed;                     /* shaft speed, rad/s: the measured output */
};

/* Advances the motor by `steps` integration steps with the armature voltage
 * `volts` (clamped to the supply) and the load torque `load` (N·m) held. */
void motor_step(struct motor *m, fx_t volts, fx_t load, unsigned steps);

#endif /* FERRY_CONTROL_PLANT_H */
