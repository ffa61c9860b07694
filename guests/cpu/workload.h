/*
 * workload.h - Ferry's CPU benchmark workload (CoreMark-like, integer only).
 *
 * The same source builds for the RV32IM guest (cpu.c) and natively with gcc
 * (native.c); both print the same "iterations:" and "checksum:" lines, which
 * the differential test compares. Only fixed-width types are used, so the
 * result does not depend on the size of long or on the host.
 */
#ifndef FERRY_WORKLOAD_H
#define FERRY_WORKLOAD_H

#include <stdint.h>

/* Set by the build (guests/cpu/iterations.sh); this default is cpu-small's. */
#ifndef ITERATIONS
#define ITERATIONS 33
#endif

/* Runs the workload `iterations` times and returns its checksum. */
uint32_t workload_run(uint32_t iterations);

#endif /* FERRY_WORKLOAD_H */
