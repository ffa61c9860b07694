/*
 * gcc-hello - a machine guest built by the second toolchain: Debian's
 * riscv64-unknown-elf-gcc for rv32imac/ilp32 with picolibc. It uses what
 * firmware takes from a C library and a compiler: printf, malloc/realloc/free,
 * setjmp/longjmp, string functions, 64-bit arithmetic, and the atomics an RTOS
 * builds its locks from (amoswap/amoadd and an lr/sc compare-and-swap loop).
 * Each check prints one line; any failure ends with exit status = its number.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void check(int number, int ok, const char *what)
{
    printf("gcc-hello: %2d %s %s\n", number, ok ? "ok  " : "FAIL", what);
    if (!ok && failures == 0) failures = number;
}

struct node {
    struct node *next;
    uint32_t value;
};

static uint32_t list_sum(unsigned count)
{
    struct node *head = NULL;
    for (unsigned i = 0; i < count; i++) {
        struct node *n = malloc(sizeof *n);
        if (n == NULL) return 0;
        n->value = i * i;
        n->next = head;
        head = n;
    }
    uint32_t sum = 0;
    while (head != NULL) {
        struct node *next = head->next;
        sum += head->value;
        free(head);
        head = next;
    }
    return sum;
}

static jmp_buf unwind;

static volatile int unwinds = 1; /* volatile: the compiler must keep the path that returns */

static int dive(int depth)
{
    if (depth > 0) return 1 + dive(depth - 1);
    if (unwinds) longjmp(unwind, 42);
    return 0;
}

static int lock;
static volatile uint32_t shared_counter;

static void spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0)
        ;
}

static void spin_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static uint32_t cas_add(uint32_t *word, uint32_t delta)
{
    uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(word, &old, old + delta, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        ;
    return old;
}

int main(void)
{
    printf("gcc-hello: built by gcc %s with picolibc, rv32imac\n", __VERSION__);

    char text[64];
    snprintf(text, sizeof text, "%d %u %x %08X %s %c %lld", -42, 42u, 0xbeefu, 0xcafeu, "str", 'z',
             -1234567890123LL);
    check(1, strcmp(text, "-42 42 beef 0000CAFE str z -1234567890123") == 0, "printf formats");

    check(2, list_sum(1000) == 332833500u, "malloc/free of 1000 list nodes");

    uint8_t *block = malloc(64 * 1024);
    int ok = block != NULL;
    if (ok) {
        memset(block, 0x5a, 64 * 1024);
        block = realloc(block, 96 * 1024);
        ok = block != NULL && block[0] == 0x5a && block[64 * 1024 - 1] == 0x5a;
        free(block);
    }
    check(3, ok, "malloc 64 KiB, realloc to 96 KiB keeps the contents");

    int value = setjmp(unwind);
    if (value == 0) printf("gcc-hello: not reached: %d\n", dive(50));
    check(4, value == 42, "longjmp out of 50 nested calls");

    uint64_t a = 0x123456789ULL, b = 1000003;
    check(5, a * b / b == a && a % b == 0x123456789ULL % 1000003, "64-bit multiply, divide, remainder");

    for (int i = 0; i < 100; i++) {
        spin_lock(&lock);
        shared_counter = shared_counter + 1;
        spin_unlock(&lock);
    }
    check(6, shared_counter == 100 && lock == 0, "amoswap spin lock");

    uint32_t counter = 0;
    for (int i = 0; i < 10; i++) __atomic_fetch_add(&counter, 3, __ATOMIC_SEQ_CST);
    check(7, counter == 30, "amoadd.w");

    uint32_t word = 5;
    uint32_t old = cas_add(&word, 7);
    check(8, old == 5 && word == 12, "lr.w/sc.w compare-and-swap");

    printf("gcc-hello: %s\n", failures == 0 ? "all passed" : "FAILED");
    return failures;
}
