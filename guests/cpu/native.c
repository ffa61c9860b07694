/*
 * native.c - the host build of the cpu workload, for the differential test
 * and the benchmark baseline:  gcc -O2 -DITERATIONS=N workload.c native.c
 * Prints exactly the lines cpu.c prints in the guest.
 */
#include <stdio.h>
#include "workload.h"

int main(void)
{
    uint32_t sum = workload_run(ITERATIONS);
    printf("iterations: %u\n", (unsigned)ITERATIONS);
    printf("checksum: 0x%08x\n", (unsigned)sum);
    return 0;
}
