/*
 * cpu - Ferry's CPU-bound benchmark guest (paravirtual).
 *
 * Runs the workload ITERATIONS times (set by build.sh: cpu.elf for
 * benchmarking, cpu-small.elf for tests), prints the same two lines as the
 * native build (native.c), then shuts down via SRST.
 */
#include "console.h"
#include "workload.h"

int main(void)
{
    uint32_t sum = workload_run(ITERATIONS);
    printf("iterations: %u\n", (unsigned)ITERATIONS);
    printf("checksum: 0x%08x\n", (unsigned)sum);
    return 0;
}
