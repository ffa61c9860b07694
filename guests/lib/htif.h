/*
 * htif.h - the HTIF `tohost` / `fromhost` mailbox (machine guests).
 *
 * The host looks up the `tohost` symbol in the ELF symbol table and tells the
 * core where it is; a store of 1 means pass, (n << 1) | 1 means test n failed.
 * Images that use it must keep their symbol table (build.sh does not strip).
 */
#ifndef FERRY_HTIF_H
#define FERRY_HTIF_H

#include <stdint.h>

extern volatile uint64_t tohost;
extern volatile uint64_t fromhost;

/* 0 = pass, n > 0 = test n failed. Never returns. */
__attribute__((noreturn)) void htif_exit(unsigned failed_test);

#endif /* FERRY_HTIF_H */
