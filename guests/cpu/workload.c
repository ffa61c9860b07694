/*
 * workload.c - a CoreMark-like integer workload: linked-list processing,
 * matrix arithmetic, a text-scanning state machine and CRCs, all seeded from
 * the iteration number. Uses multiply, divide and remainder, no floating
 * point, no libc, no 64-bit division. Deterministic on any host: every
 * intermediate value is a fixed-width type and no operation has undefined or
 * implementation-defined behaviour (signed values are only divided by
 * positive divisors that cannot overflow).
 */
#include "workload.h"

/* ------------------------------------------------------------------ CRCs */

static uint16_t crc16_byte(uint16_t crc, uint8_t data)
{
    for (int i = 0; i < 8; i++) {
        uint16_t mix = (uint16_t)((crc ^ data) & 1u);
        crc >>= 1;
        data >>= 1;
        if (mix) crc ^= 0xA001u;
    }
    return crc;
}

static uint16_t crc16_u32(uint16_t crc, uint32_t v)
{
    crc = crc16_byte(crc, (uint8_t)v);
    crc = crc16_byte(crc, (uint8_t)(v >> 8));
    crc = crc16_byte(crc, (uint8_t)(v >> 16));
    return crc16_byte(crc, (uint8_t)(v >> 24));
}

static uint32_t crc32_update(uint32_t crc, uint32_t v)
{
    crc = ~crc;
    for (int i = 0; i < 32; i++) {
        uint32_t bit = (crc ^ (v >> i)) & 1u;
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - bit));
    }
    return ~crc;
}

/* A small deterministic generator (xorshift32). */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* ------------------------------------------------------ linked lists */

#define LIST_NODES 96

struct node {
    struct node *next;
    int32_t data;
    int32_t idx;
};

static struct node pool[LIST_NODES];

static struct node *list_build(uint32_t *seed)
{
    struct node *head = 0;
    for (int i = LIST_NODES - 1; i >= 0; i--) {
        pool[i].idx = i;
        /* values in [-5000, 4999]: remainder of a positive number */
        pool[i].data = (int32_t)(rng_next(seed) % 10000u) - 5000;
        pool[i].next = head;
        head = &pool[i];
    }
    return head;
}

static struct node *list_reverse(struct node *head)
{
    struct node *prev = 0;
    while (head) {
        struct node *next = head->next;
        head->next = prev;
        prev = head;
        head = next;
    }
    return prev;
}

/* Stable bottom-up merge sort; by data (then idx) or by idx only. */
static int node_less(const struct node *a, const struct node *b, int by_idx)
{
    if (by_idx) return a->idx < b->idx;
    if (a->data != b->data) return a->data < b->data;
    return a->idx < b->idx;
}

static struct node *list_sort(struct node *list, int by_idx)
{
    int insize = 1;
    for (;;) {
        struct node *p = list, *tail = 0;
        int merges = 0;
        list = 0;
        while (p) {
            merges++;
            struct node *q = p;
            int psize = 0;
            for (int i = 0; i < insize && q; i++) { psize++; q = q->next; }
            int qsize = insize;
            while (psize > 0 || (qsize > 0 && q)) {
                struct node *e;
                if (psize == 0) { e = q; q = q->next; qsize--; }
                else if (qsize == 0 || !q) { e = p; p = p->next; psize--; }
                else if (!node_less(q, p, by_idx)) { e = p; p = p->next; psize--; }
                else { e = q; q = q->next; qsize--; }
                if (tail) tail->next = e; else list = e;
                tail = e;
            }
            p = q;
        }
        tail->next = 0;
        if (merges <= 1) return list;
        insize *= 2;
    }
}

static struct node *list_find(struct node *list, int32_t data)
{
    while (list && list->data != data) list = list->next;
    return list;
}

static uint16_t bench_list(uint32_t iter, uint16_t crc)
{
    uint32_t seed = 0x9E3779B9u ^ (iter * 2654435761u);
    if (seed == 0) seed = 1;
    struct node *list = list_build(&seed);

    /* Look up values, some present, some not. */
    int32_t found = 0, missing = 0;
    for (int i = 0; i < 16; i++) {
        int32_t want = (int32_t)(rng_next(&seed) % 10000u) - 5000;
        if (i & 1) want = pool[(uint32_t)(i * 7 + (int32_t)iter) % LIST_NODES].data;
        struct node *n = list_find(list, want);
        if (n) found += n->idx; else missing++;
    }

    list = list_sort(list, 0);
    int32_t prev = -100000;
    uint32_t sorted_ok = 1;
    for (struct node *n = list; n; n = n->next) {
        if (n->data < prev) sorted_ok = 0;
        prev = n->data;
        crc = crc16_u32(crc, (uint32_t)n->data);
    }

    list = list_reverse(list);
    /* Remove every third node, then put the list back in index order. */
    int k = 0;
    for (struct node *n = list; n && n->next; n = n->next, k++)
        if (k % 3 == 0) n->next = n->next->next;
    list = list_sort(list, 1);

    int32_t acc = 0;
    for (struct node *n = list; n; n = n->next)
        acc += n->data * (n->idx + 1) / 7 + n->data % 13;

    crc = crc16_u32(crc, (uint32_t)found);
    crc = crc16_u32(crc, (uint32_t)missing);
    crc = crc16_u32(crc, sorted_ok);
    return crc16_u32(crc, (uint32_t)acc);
}

/* ------------------------------------------------------------ matrices */

#define MAT_N 12

static int16_t mat_a[MAT_N][MAT_N];
static int16_t mat_b[MAT_N][MAT_N];
static int32_t mat_c[MAT_N][MAT_N];

static uint16_t bench_matrix(uint32_t iter, uint16_t crc)
{
    uint32_t seed = 0x1234567u + iter * 40503u;
    if (seed == 0) seed = 1;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            uint32_t r = rng_next(&seed);
            mat_a[i][j] = (int16_t)((int32_t)(r & 0x3ff) - 512);
            mat_b[i][j] = (int16_t)((int32_t)((r >> 10) & 0x3ff) - 512);
        }

    /* Add a constant, then multiply matrix by matrix. */
    int16_t k = (int16_t)(iter % 31u) - 15;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            mat_a[i][j] = (int16_t)(mat_a[i][j] + k);
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t sum = 0;
            for (int m = 0; m < MAT_N; m++)
                sum += (int32_t)mat_a[i][m] * (int32_t)mat_b[m][j];
            mat_c[i][j] = sum;
        }

    /* Matrix times vector, scaled with division and remainder. */
    int32_t vec[MAT_N];
    for (int i = 0; i < MAT_N; i++) {
        int32_t sum = 0;
        for (int j = 0; j < MAT_N; j++)
            sum += mat_c[i][j] / (j + 3) + mat_c[j][i] % (i + 5);
        vec[i] = sum;
    }

    /* Bit extraction and unsigned arithmetic on the product. */
    uint32_t bits = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            uint32_t u = (uint32_t)mat_c[i][j];
            bits += ((u >> 2) & 0xf) * ((u >> 5) & 0x7f);
            bits ^= u / (uint32_t)(i * MAT_N + j + 1);
        }

    for (int i = 0; i < MAT_N; i++) crc = crc16_u32(crc, (uint32_t)vec[i]);
    crc = crc16_u32(crc, (uint32_t)mat_c[iter % MAT_N][(iter / MAT_N) % MAT_N]);
    return crc16_u32(crc, bits);
}

/* ------------------------------------------------------- state machine */

enum state { S_START, S_INT, S_FRAC, S_EXP_MARK, S_EXP, S_INVALID, S_COUNT };

#define TEXT_LEN 240
static uint8_t text[TEXT_LEN];

static void text_build(uint32_t iter)
{
    static const char *const pieces[] = {
        "5012", "1234", "-874", "+122", "35.54", "-110.700", "1.2e-3", "-3.e+11",
        "6.6e+0", "x", "7-1", "..", "e9", "-", "0", "99999",
    };
    uint32_t seed = 0xC0FFEEu ^ (iter * 0x2545F491u);
    if (seed == 0) seed = 1;
    int pos = 0;
    while (pos < TEXT_LEN - 1) {
        const char *p = pieces[rng_next(&seed) % 16u];
        while (*p && pos < TEXT_LEN - 1) text[pos++] = (uint8_t)*p++;
        if (pos < TEXT_LEN - 1) text[pos++] = ',';
    }
    text[TEXT_LEN - 1] = 0;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Scans one comma-separated token; returns its final state and advances *pp. */
static enum state scan_token(const uint8_t **pp, uint32_t transitions[S_COUNT])
{
    const uint8_t *p = *pp;
    enum state st = S_START;
    for (; *p && *p != ','; p++) {
        uint8_t c = *p;
        enum state next = S_INVALID;
        switch (st) {
        case S_START:
            if (is_digit(c) || c == '+' || c == '-') next = S_INT;
            else if (c == '.') next = S_FRAC;
            break;
        case S_INT:
            if (is_digit(c)) next = S_INT;
            else if (c == '.') next = S_FRAC;
            else if (c == 'e' || c == 'E') next = S_EXP_MARK;
            break;
        case S_FRAC:
            if (is_digit(c)) next = S_FRAC;
            else if (c == 'e' || c == 'E') next = S_EXP_MARK;
            break;
        case S_EXP_MARK:
            if (is_digit(c) || c == '+' || c == '-') next = S_EXP;
            break;
        case S_EXP:
            if (is_digit(c)) next = S_EXP;
            break;
        default:
            break;
        }
        if (next != st) transitions[next]++;
        st = next;
    }
    if (*p == ',') p++;
    *pp = p;
    return st;
}

static uint16_t bench_state(uint32_t iter, uint16_t crc)
{
    text_build(iter);
    uint32_t finals[S_COUNT] = {0}, transitions[S_COUNT] = {0};
    const uint8_t *p = text;
    while (*p) finals[scan_token(&p, transitions)]++;

    /* Corrupt every k-th character and scan again, like CoreMark does. */
    uint32_t k = 3 + iter % 5u;
    for (uint32_t i = 0; i < TEXT_LEN - 1; i += k)
        if (text[i] != ',') text[i] ^= 0x01;
    p = text;
    while (*p) finals[scan_token(&p, transitions)]++;

    for (int s = 0; s < S_COUNT; s++) {
        crc = crc16_u32(crc, finals[s]);
        crc = crc16_u32(crc, transitions[s]);
    }
    return crc;
}

/* ---------------------------------------------------------------- driver */

uint32_t workload_run(uint32_t iterations)
{
    uint32_t checksum = 0;
    for (uint32_t iter = 0; iter < iterations; iter++) {
        uint16_t crc = (uint16_t)iter;
        crc = bench_list(iter, crc);
        crc = bench_matrix(iter, crc);
        crc = bench_state(iter, crc);
        checksum = crc32_update(checksum, crc);
    }
    return checksum;
}
