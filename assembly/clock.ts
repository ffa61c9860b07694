// Virtual time of this processor. Every instruction costs one cycle at the board's clock
// rate; the timer ticks at TIMEBASE_HZ. Nothing here ever looks at wall time.
import { TIMEBASE_HZ } from "./config";

let clockHz: u64 = 100_000_000;
let processorId: u32 = 0;
/** Cycles since the processor was reset. */
let nowCycles: u64 = 0;

export function setClockHz(hz: u64): void {
  clockHz = hz;
}

export function setProcessorId(id: u32): void {
  processorId = id;
}

export function getProcessorId(): u32 {
  return processorId;
}

export function getClockHz(): u64 {
  return clockHz;
}

export function now(): u64 {
  return nowCycles;
}

/** Board time: nanoseconds of virtual time since the board started, the one time base all processors share. */
export function nowNs(): u64 {
  return cyclesToNs(nowCycles);
}

export function advance(cycles: u64): void {
  nowCycles += cycles;
}

/** Timer ticks at a cycle count (rounded down). */
export function cyclesToTicks(cycles: u64): u64 {
  return (cycles / clockHz) * TIMEBASE_HZ + ((cycles % clockHz) * TIMEBASE_HZ) / clockHz;
}

/** The first cycle at which the timer reads at least `ticks`; u64.MAX_VALUE if never. */
export function ticksToCycles(ticks: u64): u64 {
  const whole = ticks / TIMEBASE_HZ;
  if (whole > u64.MAX_VALUE / clockHz - 1) return u64.MAX_VALUE;
  const part = ticks % TIMEBASE_HZ;
  return whole * clockHz + (part * clockHz + TIMEBASE_HZ - 1) / TIMEBASE_HZ;
}

const NS_PER_S: u64 = 1_000_000_000;

/** Cycles of this processor in `ns` nanoseconds (rounded down). */
export function nsToCycles(ns: u64): u64 {
  return nsToCyclesAt(ns, clockHz);
}

/** Nanoseconds in `cycles` of this processor (rounded down). */
export function cyclesToNs(cycles: u64): u64 {
  return cyclesToNsAt(cycles, clockHz);
}

/** Cycles of a clock of `hz` in `ns` nanoseconds (rounded down): for another processor's time. */
export function nsToCyclesAt(ns: u64, hz: u64): u64 {
  return (ns / NS_PER_S) * hz + ((ns % NS_PER_S) * hz) / NS_PER_S;
}

/** Nanoseconds in `cycles` of a clock of `hz` (rounded down). */
export function cyclesToNsAt(cycles: u64, hz: u64): u64 {
  return (cycles / hz) * NS_PER_S + ((cycles % hz) * NS_PER_S) / hz;
}

/** Nanoseconds that `cycles` of work take on a clock of `hz`, rounded up (a bound's term). */
export function workNsAt(cycles: u64, hz: u64): u64 {
  return (cycles / hz) * NS_PER_S + ((cycles % hz) * NS_PER_S + hz - 1) / hz;
}
