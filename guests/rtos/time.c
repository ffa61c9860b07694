/*
 * time.c - the RTOS's clocks: the board's clock and timer rates (Ferry's
 * get_info, with the conventional 100 MHz / 10 MHz when the call is not
 * there) and conversions between microseconds, timer ticks and instructions.
 */
#include "ferry.h"
#include "riscv.h"
#include "rtos_internal.h"

#define DEFAULT_CLOCK_HZ 100000000u

static uint32_t clock_hz = DEFAULT_CLOCK_HZ;
static uint32_t timer_hz = TIMER_HZ;

static uint32_t info_or(unsigned long what, uint32_t fallback)
{
    struct sbiret r = ferry_get_info(what);
    return (r.error == SBI_SUCCESS && r.value != 0) ? (uint32_t)r.value : fallback;
}

void rtos_time_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    clock_hz = info_or(FERRY_INFO_CLOCK_HZ, DEFAULT_CLOCK_HZ);
    timer_hz = info_or(FERRY_INFO_TIMER_HZ, TIMER_HZ);
}

uint64_t rtos_now(void) { return rdtime64(); }
uint32_t rtos_timer_hz(void) { return timer_hz; }
uint32_t rtos_clock_hz(void) { return clock_hz; }

uint64_t rtos_us_to_ticks(uint32_t us)
{
    return (uint64_t)us * timer_hz / 1000000u;
}

uint64_t rtos_ticks_to_us(uint64_t ticks)
{
    return ticks / timer_hz * 1000000u + ticks % timer_hz * 1000000u / timer_hz;
}

uint32_t rtos_instr_to_us(uint32_t instr)
{
    return (uint32_t)(((uint64_t)instr * 1000000u + clock_hz - 1) / clock_hz);
}
