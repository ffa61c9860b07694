/*
 * link.h - the control application's channel messages (Ferry channel ports).
 *
 * control-tx sends every period, on port 0, one sample of its measured
 * output; control-rx reads port 0 and uses the newest sample as its
 * setpoint. A sample is 12 bytes, little-endian:
 *
 *   u32 magic  0x314C5443 ("CTL1")
 *   u32 seq    the sender's control period k
 *   i32 value  Q16.16, the sender's measured speed in rad/s
 */
#ifndef FERRY_CONTROL_LINK_H
#define FERRY_CONTROL_LINK_H

#include <stdint.h>
#include "fixed.h"

#define LINK_PORT   0
#define LINK_MAGIC  0x314C5443u

struct link_sample {
    uint32_t magic;
    uint32_t seq;
    int32_t  value;
};

struct link_stats {
    uint32_t sent, send_errors;       /* tx */
    uint32_t received, rejected;      /* rx: valid samples, other messages */
    long     last_error;              /* the last error code a call returned */
};

/* Sends one sample; a full queue or any other error is counted, not fatal. */
void link_send(uint32_t seq, fx_t value);
/* Reads what port 0 holds (at most a few messages, so the job's time stays
 * bounded) and stores the newest valid sample's value in *value. Returns 1
 * if *value holds a sample received now or earlier, 0 if none ever came. */
int link_receive(fx_t *value);
void link_get_stats(struct link_stats *out);

#endif /* FERRY_CONTROL_LINK_H */
