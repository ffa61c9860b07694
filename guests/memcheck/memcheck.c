/*
 * memcheck - a memory-check guest (paravirtual) for migration and
 * checkpoint tests.
 *
 * It owns a region of MEMCHECK_KIB KiB (1 MiB by default) in .bss, aligned to
 * 4 KiB pages, and works through it in rounds. In round r it visits every
 * page p in order: first it verifies every byte of p against the pattern it
 * wrote there in round r - 1, then it overwrites p with the pattern of
 * round r. So every page is dirtied once per round, and whatever happens to
 * the VM between two rounds (a checkpoint and restore, a migration), every
 * byte it wrote is checked afterwards.
 *
 * The pattern of page p in round r: word w holds seed(p, r) + w * 0x9E3779B9,
 * seed(p, r) a hash of (p, r) - so no two pages and no two rounds look alike,
 * and a page copied to the wrong place or from the wrong round is caught.
 *
 * Output: one line per MEMCHECK_PRINT_EVERY rounds,
 *   "memcheck: round R ok: N pages verified; 10 rounds in T us"
 * On a mismatch: "memcheck: MISMATCH in round R: page P (0x...), offset O:
 * expected 0x.., found 0x.." for the first few bytes that differ in that
 * page, then SRST shutdown with reason system failure (exit 1).
 *
 * MEMCHECK_ROUNDS = 0 (memcheck.elf) runs forever; N > 0
 * (memcheck-finite.elf) verifies the last round and shuts down with exit 0.
 *
 * Fault injection, to show the check works: the initialised (so in the ELF
 * file) symbol `memcheck_fault` holds {round, page, offset, xor}; after
 * writing that page in that round, the guest XORs the byte at that offset
 * with `xor`, as a faulty copy would. The shipped images have round =
 * 0xFFFFFFFF (never); a test patches the ELF file to set it.
 */
#include <stdint.h>
#include "console.h"
#include "riscv.h"

#ifndef MEMCHECK_KIB
#define MEMCHECK_KIB 1024
#endif
#ifndef MEMCHECK_ROUNDS
#define MEMCHECK_ROUNDS 0
#endif
#ifndef MEMCHECK_PRINT_EVERY
#define MEMCHECK_PRINT_EVERY 10
#endif

#define PAGE_BYTES 4096u
#define PAGE_WORDS (PAGE_BYTES / 4)
#define PAGES      (MEMCHECK_KIB * 1024u / PAGE_BYTES)
#define WORD_STEP  0x9E3779B9u
#define MAX_REPORTED_BYTES 8

static uint32_t region[PAGES][PAGE_WORDS] __attribute__((aligned(PAGE_BYTES)));

struct memcheck_fault {
    uint32_t round, page, offset, xor;
};
__attribute__((used))
volatile struct memcheck_fault memcheck_fault = { 0xFFFFFFFFu, 0, 0, 0 };

static uint32_t seed(uint32_t page, uint32_t round)
{
    /* The finaliser of MurmurHash3 over a mix of both numbers. */
    uint32_t h = page * 0x85EBCA6Bu ^ (round + 1) * 0xC2B2AE35u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static void fill(uint32_t *w, uint32_t s)
{
    for (uint32_t i = 0; i < PAGE_WORDS; i++, s += WORD_STEP) w[i] = s;
}

/* Returns the index of the first word that differs, or PAGE_WORDS. */
static uint32_t check(const uint32_t *w, uint32_t s)
{
    for (uint32_t i = 0; i < PAGE_WORDS; i++, s += WORD_STEP)
        if (w[i] != s) return i;
    return PAGE_WORDS;
}

__attribute__((noreturn))
static void mismatch(uint32_t round, uint32_t page, uint32_t first_word)
{
    const uint8_t *bytes = (const uint8_t *)region[page];
    uint32_t s = seed(page, round - 1);
    unsigned reported = 0, differing = 0;
    for (uint32_t i = first_word; i < PAGE_WORDS; i++) {
        uint32_t expected = s + i * WORD_STEP;
        for (uint32_t b = 0; b < 4; b++) {
            uint8_t want = (uint8_t)(expected >> (8 * b));
            uint32_t offset = i * 4 + b;
            if (bytes[offset] == want) continue;
            differing++;
            if (reported++ < MAX_REPORTED_BYTES)
                printf("memcheck: MISMATCH in round %u: page %u (0x%08x), offset %u: "
                       "expected 0x%02x, found 0x%02x\n", (unsigned)round, (unsigned)page,
                       (unsigned)(uintptr_t)bytes, (unsigned)offset, want, bytes[offset]);
        }
    }
    printf("memcheck: FAILED: %u bytes of page %u differ from what round %u wrote\n",
           differing, (unsigned)page, (unsigned)(round - 1));
    guest_exit(1);
}

int main(void)
{
    printf("memcheck: %u KiB at 0x%08x (%u pages), ", (unsigned)MEMCHECK_KIB,
           (unsigned)(uintptr_t)region, (unsigned)PAGES);
    if (MEMCHECK_ROUNDS)
        printf("%u rounds\n", (unsigned)MEMCHECK_ROUNDS);
    else
        printf("rounds forever\n");
    uint64_t last = rdtime64();
    for (uint32_t round = 0; MEMCHECK_ROUNDS == 0 || round <= MEMCHECK_ROUNDS; round++) {
        for (uint32_t page = 0; page < PAGES; page++) {
            if (round > 0) {
                uint32_t bad = check(region[page], seed(page, round - 1));
                if (bad != PAGE_WORDS) mismatch(round, page, bad);
            }
            /* The last round of the finite variant only verifies. */
            if (MEMCHECK_ROUNDS == 0 || round < MEMCHECK_ROUNDS)
                fill(region[page], seed(page, round));
            if (round == memcheck_fault.round && page == memcheck_fault.page)
                ((volatile uint8_t *)region[page])[memcheck_fault.offset % PAGE_BYTES] ^=
                    (uint8_t)memcheck_fault.xor;
        }
        if (round > 0 && round % MEMCHECK_PRINT_EVERY == 0) {
            uint64_t now = rdtime64();
            printf("memcheck: round %u ok: %u pages verified; %u rounds in %u us\n",
                   (unsigned)round, (unsigned)PAGES, (unsigned)MEMCHECK_PRINT_EVERY,
                   (unsigned)((now - last) / (TIMER_HZ / 1000000)));
            last = now;
        }
    }
#if MEMCHECK_ROUNDS
    printf("memcheck: done: %u rounds, %u KiB verified each\n",
           (unsigned)MEMCHECK_ROUNDS, (unsigned)MEMCHECK_KIB);
#endif
    return 0;
}
