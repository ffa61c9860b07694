/*
 * memwriter - a paravirtual guest that dirties a chosen share of its memory,
 * for the checkpoint benchmark (bench/checkpoint.ts) and collector tests.
 *
 * Its working set is every page from the end of the image to the end of RAM.
 * It first writes each page once (so a full checkpoint has all of them), then
 * in every period writes `pages_per_period` pages (`words_per_page` words in
 * each, spread over the page), moving on through the working set so that
 * successive periods dirty different pages (in address order, or `stride` pages
 * apart: a scattered order that still visits every page once per pass when the
 * stride and the page count are coprime). Between periods it sleeps in wfi
 * until the next period starts (SBI set_timer with interrupts masked: wfi
 * wakes on the pending bit, no handler needed); with period_ticks = 0 it
 * writes without pause.
 *
 * With `hot_pages` > 0 the first hot_pages pages of the working set are also
 * a hot region: each period additionally writes `hot_writes` of them, cycling
 * through it, so they are rewritten far more often than the rest (a working
 * set for the migration's working-set ordering, bench/migration.ts figure 5).
 *
 * The parameters are a .data struct the host patches before boot (symbol
 * memwriter_params); the defaults below make a small standalone demo.
 */
#include <stdint.h>
#include "console.h"
#include "riscv.h"
#include "sbi.h"

#define MEMWRITER_MAGIC 0x4D575250u /* "MWRP" */
#define PAGE_BYTES 4096u
#define WORDS_PER_PAGE (PAGE_BYTES / 4u)
#define RAM_BASE 0x80000000u

struct memwriter_params {
    uint32_t magic;            /* MEMWRITER_MAGIC: tells the host it found the struct */
    uint32_t ram_bytes;        /* the VM's RAM: the working set ends there */
    uint32_t pages_per_period; /* pages written in each period */
    uint32_t words_per_page;   /* words written in each of them, 1..1024 */
    uint32_t period_ticks;     /* timer ticks (10 MHz) per period; 0 = no pause */
    uint32_t periods;          /* periods before shutdown; 0 = until stopped */
    uint32_t fill;             /* non-zero: write every page of the working set once first */
    uint32_t stride;           /* pages between successive writes; 0 or 1 = in address order */
    uint32_t hot_pages;        /* pages of the hot region at the start of the working set; 0 = none */
    uint32_t hot_writes;       /* hot pages written in each period besides the others */
};

volatile struct memwriter_params memwriter_params = {
    MEMWRITER_MAGIC, 1024 * 1024, 16, 1, 10000, 10, 1, 1, 0, 0,
};

extern char _end[];

static void write_page(volatile uint32_t *page, uint32_t words, uint32_t value)
{
    uint32_t stride = WORDS_PER_PAGE / words;
    for (uint32_t w = 0; w < words; w++)
        page[w * stride] = value + w;
}

static void sleep_until(uint64_t deadline)
{
    sbi_set_timer(deadline);
    while (rdtime64() < deadline)
        wfi();
}

int main(void)
{
    struct memwriter_params p = memwriter_params;
    uintptr_t base = ((uintptr_t)_end + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1);
    uintptr_t end = RAM_BASE + p.ram_bytes;
    if (p.magic != MEMWRITER_MAGIC || end <= base || p.words_per_page == 0 || p.words_per_page > WORDS_PER_PAGE) {
        printf("memwriter: bad parameters\n");
        return 1;
    }
    uint32_t pages = (uint32_t)((end - base) / PAGE_BYTES);
    uint32_t stride = p.stride % pages;
    if (stride == 0)
        stride = 1;
    printf("memwriter: %u pages, %u per period, %u words each\n", pages, p.pages_per_period, p.words_per_page);

    if (p.fill) {
        for (uint32_t i = 0; i < pages; i++)
            write_page((volatile uint32_t *)(base + i * PAGE_BYTES), 1, 0xF0000000u | i);
        printf("memwriter: filled\n");
    }

    csr_set(sie, SIP_STIP); /* wfi wakes on the timer; sstatus.SIE stays clear: no trap */
    uint32_t hot = p.hot_pages < pages ? p.hot_pages : pages;
    uint32_t cursor = 0, hot_cursor = 0;
    uint64_t deadline = rdtime64() + p.period_ticks;
    for (uint32_t period = 1; p.periods == 0 || period <= p.periods; period++) {
        for (uint32_t i = 0; i < p.pages_per_period; i++) {
            write_page((volatile uint32_t *)(base + cursor * PAGE_BYTES), p.words_per_page, period << 16);
            cursor += stride;
            if (cursor >= pages)
                cursor -= pages;
        }
        for (uint32_t i = 0; hot != 0 && i < p.hot_writes; i++) {
            write_page((volatile uint32_t *)(base + hot_cursor * PAGE_BYTES), p.words_per_page, (period << 16) | 0x8000u);
            if (++hot_cursor == hot)
                hot_cursor = 0;
        }
        if (p.period_ticks) {
            sleep_until(deadline);
            deadline += p.period_ticks;
        }
    }
    sbi_set_timer(UINT64_MAX);
    printf("memwriter: done\n");
    return 0;
}
