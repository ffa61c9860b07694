/*
 * probe - the guest of Ferry's guarantee tests (test/guarantees*.test.ts): it checks
 * from the inside what the hypervisor promises, in one busy loop that never sleeps:
 *
 *   memory   it owns PROBE_KIB KiB in .bss and works through it 64 words at a time:
 *            verify what the previous pass wrote there, write this pass's pattern
 *            (as memcheck does, in smaller steps), so every byte it ever wrote is
 *            checked after whatever happened to the VM in between;
 *   time     it reads the `time` CSR every iteration; a gap of more than
 *            PROBE_GAP_US between two reads means it did not run (another VM's
 *            window, or a migration's downtime), and is printed as
 *              "probe: gap at 0xT ticks: 0xN ticks"
 *            (10 MHz ticks, in hex: the line is written in a few microseconds, so
 *            printing it is no gap of its own, and a stop in the middle of it still
 *            shows in the next one), so a test can hold every migration's measured
 *            downtime against the gap the guest saw;
 *   channels PROBE_TX sends numbered messages on port 0, one every PROBE_PERIOD_US
 *            (a full queue is tried again later: never skipped); PROBE_RX takes them
 *            from port 0 and checks their order: on a queuing port each must be the
 *            one after the last, on a sampling port none may be older than the last.
 *
 * With PROBE_NAP_US it sleeps in wfi (its timer armed, interrupts masked: the pending
 * timer only wakes it) for that long after every step, so a board of many probes costs
 * little to emulate; its gaps then include its naps (report only those over PROBE_GAP_US).
 *
 * A broken promise is printed as "probe: ERROR ..." and ends the VM with SRST failure.
 * Every PROBE_REPORT_EVERY passes over its memory it prints
 *   "probe: pass P ok: sent S received R"
 */
#include <stdint.h>
#include "console.h"
#include "ferry.h"
#include "riscv.h"
#include "sbi.h"

#ifndef PROBE_KIB
#define PROBE_KIB 64
#endif
#ifndef PROBE_GAP_US
#define PROBE_GAP_US 50
#endif
#ifndef PROBE_PERIOD_US
#define PROBE_PERIOD_US 1000
#endif
#ifndef PROBE_REPORT_EVERY
#define PROBE_REPORT_EVERY 50
#endif

#define WORDS       (PROBE_KIB * 256u)
#define STEP_WORDS  64u
#define WORD_STEP   0x9E3779B9u
#define PROBE_MAGIC 0x50524F42u /* "PROB" */
#define PORT        0

struct message {
    uint32_t magic;
    uint32_t seq;
    uint32_t check;   /* seq's complement: a damaged message is caught */
    uint32_t pad;
};

static uint32_t region[WORDS] __attribute__((aligned(4096)));
static uint32_t sent, received;

static uint32_t pattern(uint32_t word, uint32_t pass)
{
    uint32_t h = word * 0x85EBCA6Bu ^ (pass + 1) * 0xC2B2AE35u;
    h ^= h >> 15;
    return h * WORD_STEP;
}

static char *put_hex(char *at, uint64_t value)
{
    *at++ = '0';
    *at++ = 'x';
    for (int shift = 60; shift >= 0; shift -= 4) *at++ = "0123456789abcdef"[(value >> shift) & 15];
    return at;
}

static void report_gap(uint64_t at_ticks, uint64_t length_ticks)
{
    static const char head[] = "probe: gap at ", middle[] = " ticks: ", tail[] = " ticks\n";
    char line[80], *at = line;
    for (const char *c = head; *c; c++) *at++ = *c;
    at = put_hex(at, at_ticks);
    for (const char *c = middle; *c; c++) *at++ = *c;
    at = put_hex(at, length_ticks);
    for (const char *c = tail; *c; c++) *at++ = *c;
    console_write(line, (size_t)(at - line));
}

__attribute__((noreturn))
static void broken(const char *what, uint32_t a, uint32_t b)
{
    printf("probe: ERROR %s (%u, %u)\n", what, (unsigned)a, (unsigned)b);
    guest_exit(1);
}

/* One step over the region: verify the previous pass, write this one. */
static void memory_step(uint32_t pass, uint32_t at)
{
    for (uint32_t w = at; w < at + STEP_WORDS; w++) {
        if (pass > 0 && region[w] != pattern(w, pass - 1)) broken("memory: a word differs from what was written", w, pass);
        region[w] = pattern(w, pass);
    }
}

#ifdef PROBE_TX
static uint64_t next_send;

static void channel_step(uint64_t now)
{
    if (now < next_send) return;
    struct message m = { PROBE_MAGIC, sent, ~sent, 0 };
    struct sbiret r = ferry_channel_send(PORT, &m, sizeof m);
    if (r.error == SBI_SUCCESS) {
        sent++;
        next_send = now + PROBE_PERIOD_US * (TIMER_HZ / 1000000u);
    } else if (r.error != SBI_ERR_FAILED) {
        broken("channel send refused", (uint32_t)-r.error, sent);
    } /* -1: the queue is full; the same message goes again later */
}
#elif defined(PROBE_RX)
static uint32_t last_seq;
static int have_last;

static void channel_step(uint64_t now)
{
    (void)now;
    for (int n = 0; n < 8; n++) {
        struct message m;
        struct sbiret r = ferry_channel_receive(PORT, &m, sizeof m);
        if (r.error == SBI_ERR_FAILED) return; /* empty */
        if (r.error != SBI_SUCCESS) broken("channel receive refused", (uint32_t)-r.error, received);
        if ((unsigned long)r.value != sizeof m || m.magic != PROBE_MAGIC || m.check != ~m.seq) broken("a damaged message", m.seq, received);
#ifdef PROBE_SAMPLING
        if (have_last && m.seq == last_seq) return;            /* the same sample again */
        if (have_last && m.seq < last_seq) broken("a stale sample after a newer one", m.seq, last_seq);
#else
        if (m.seq != (have_last ? last_seq + 1 : 0)) broken("a message out of order, lost or twice", m.seq, have_last ? last_seq + 1 : 0);
#endif
        have_last = 1;
        last_seq = m.seq;
        received++;
    }
}
#else
static void channel_step(uint64_t now) { (void)now; }
#endif

static void nap(void)
{
#ifdef PROBE_NAP_US
    sbi_set_timer(rdtime64() + PROBE_NAP_US * (TIMER_HZ / 1000000u));
    wfi();
#endif
}

int main(void)
{
    printf("probe: %u KiB, gaps over %u us\n", (unsigned)PROBE_KIB, (unsigned)PROBE_GAP_US);
#ifdef PROBE_NAP_US
    csr_set(sie, SIP_STIP); /* a due timer ends wfi; sstatus.SIE stays clear: no trap */
#endif
    const uint64_t gap_ticks = PROBE_GAP_US * (TIMER_HZ / 1000000u);
    uint64_t last = rdtime64();
    for (uint32_t pass = 0;; pass++) {
        for (uint32_t at = 0; at < WORDS; at += STEP_WORDS) {
            uint64_t now = rdtime64();
            if (now - last > gap_ticks) report_gap(last, now - last);
            last = now;
            memory_step(pass, at);
            channel_step(now);
            nap();
        }
        if (pass % PROBE_REPORT_EVERY == 0)
            printf("probe: pass %u ok: sent %u received %u\n", (unsigned)pass, (unsigned)sent, (unsigned)received);
    }
}
