/*
 * link.c - sending and receiving samples over Ferry channel port 0.
 *
 * Works with either kind of port: a sampling port hands out its one
 * (newest) message on every read, a queuing port its oldest queued one, so
 * the receiver reads until the port is empty, repeats the sample it just
 * read, or LINK_MAX_READS messages were read.
 */
#include "ferry.h"
#include "link.h"

#define LINK_MAX_READS 4

static struct link_stats stats;
static int have_sample;
static uint32_t last_seq;
static fx_t last_value;

void link_send(uint32_t seq, fx_t value)
{
    struct link_sample s = { LINK_MAGIC, seq, value };
    struct sbiret r = ferry_channel_send(LINK_PORT, &s, sizeof s);
    if (r.error == SBI_SUCCESS) {
        stats.sent++;
    } else {
        stats.send_errors++;
        stats.last_error = r.error;
    }
}

int link_receive(fx_t *value)
{
    /* Room for a longer message than ours, so a stranger cannot jam a
     * queuing port with SBI_ERR_BAD_RANGE; it is read and rejected. */
    union { struct link_sample s; uint8_t bytes[64]; } buf;
    for (int n = 0; n < LINK_MAX_READS; n++) {
        struct sbiret r = ferry_channel_receive(LINK_PORT, &buf, sizeof buf);
        if (r.error != SBI_SUCCESS) {
            if (r.error != SBI_ERR_FAILED) stats.last_error = r.error;  /* -1: empty */
            break;
        }
        if ((unsigned long)r.value != sizeof buf.s || buf.s.magic != LINK_MAGIC) {
            stats.rejected++;
            continue;
        }
        if (have_sample && buf.s.seq == last_seq) break;   /* a sampling port's repeat */
        stats.received++;
        have_sample = 1;
        last_seq = buf.s.seq;
        last_value = buf.s.value;
    }
    if (have_sample) *value = last_value;
    return have_sample;
}

void link_get_stats(struct link_stats *out)
{
    *out = stats;
}
