/*
 * ferry.h - Ferry's own hypercalls (SBI extension 0x0A000000, in the
 * firmware-specific range). docs/hypercalls.md is the contract.
 *
 * A hypervisor without the extension answers every call with -2
 * (SBI_ERR_NOT_SUPPORTED); callers here are written to tolerate that.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stdint.h>
#include "sbi.h"

#define SBI_EXT_FERRY 0x0A000000u

#define FERRY_GET_INFO          0
#define FERRY_REPORT_TASK_SET   1
#define FERRY_JOB_DONE          2
#define FERRY_YIELD             3
#define FERRY_CHANNEL_SEND      4
#define FERRY_CHANNEL_RECEIVE   5
#define FERRY_REPORT_METRIC     6

/* get_info(what) */
#define FERRY_INFO_VM_ID        0
#define FERRY_INFO_PROCESSOR_ID 1
#define FERRY_INFO_CLOCK_HZ     2
#define FERRY_INFO_TIMER_HZ     3

/* Error codes of the SBI specification that sbi.h does not name. */
#ifndef SBI_ERR_BAD_RANGE
#define SBI_ERR_BAD_RANGE      -11
#endif

/* One task of report_task_set: three u32, all in microseconds. */
struct ferry_task_desc {
    uint32_t period_us;
    uint32_t wcet_us;
    uint32_t deadline_us;   /* relative to the release; <= period */
};

static inline struct sbiret ferry_call(unsigned long fid, unsigned long a0,
                                       unsigned long a1, unsigned long a2)
{
    return sbi_ecall(SBI_EXT_FERRY, fid, a0, a1, a2, 0, 0, 0);
}

/* value = the VM id, processor id, clock Hz or timer Hz. */
static inline struct sbiret ferry_get_info(unsigned long what)
{
    return ferry_call(FERRY_GET_INFO, what, 0, 0);
}

/* value = the VM's slack in us; error -1: not schedulable (still recorded). */
static inline struct sbiret ferry_report_task_set(const struct ferry_task_desc *tasks,
                                                  unsigned long count)
{
    return ferry_call(FERRY_REPORT_TASK_SET, (unsigned long)(uintptr_t)tasks, count, 0);
}

/* value = 1 if this job of task `index` missed its deadline, else 0. */
static inline struct sbiret ferry_job_done(unsigned long index)
{
    return ferry_call(FERRY_JOB_DONE, index, 0, 0);
}

/* Gives up the rest of the VM's current partition window. */
static inline struct sbiret ferry_yield(void)
{
    return ferry_call(FERRY_YIELD, 0, 0, 0);
}

/* error -1: queue full (not sent); -11: longer than the port's maximum. */
static inline struct sbiret ferry_channel_send(unsigned long port, const void *buf,
                                               unsigned long bytes)
{
    return ferry_call(FERRY_CHANNEL_SEND, port, (unsigned long)(uintptr_t)buf, bytes);
}

/* value = message length; error -1: nothing to receive; -11: buffer too short. */
static inline struct sbiret ferry_channel_receive(unsigned long port, void *buf,
                                                  unsigned long bytes)
{
    return ferry_call(FERRY_CHANNEL_RECEIVE, port, (unsigned long)(uintptr_t)buf, bytes);
}

/* The guest's figure of merit (e.g. a control error in milli-units): Ferry
 * keeps the last value and the largest magnitude for its summaries. */
static inline struct sbiret ferry_report_metric(int32_t value)
{
    return ferry_call(FERRY_REPORT_METRIC, (unsigned long)value, 0, 0);
}

#endif /* FERRY_FERRY_H */
