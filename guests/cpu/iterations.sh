# Iteration counts of the CPU benchmark guest: the single source for
# guests/build.sh, test/differential.test.ts and bench/cpu.ts.
# One iteration retires about 92,000 RV32IM instructions (measured); the
# start-up, printing and shutdown add about 8,000.
CPU_ITERATIONS=3260        # cpu.elf:       ~300 million instructions
CPU_SMALL_ITERATIONS=33    # cpu-small.elf: ~3 million instructions
