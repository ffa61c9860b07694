// Trace events the core reports to the board, stamped with virtual time. The board
// writes them out (docs/trace.md); the core never formats anything. The event numbers
// (TRACE_*) come from wit/numbers.json, through config.ts.
@external("ferry:core/board", "trace")
declare function boardTrace(event: u32, vm: u32, atCycles: u64, a: u64, b: u64): void;

/** No VM: the processor idles. */
export const NO_VM: u32 = 0xFFFF_FFFF;

let enabled = false;

export function setTraceEnabled(on: bool): void {
  enabled = on;
}

export function trace(event: u32, vm: u32, atCycles: u64, a: u64, b: u64): void {
  if (enabled) boardTrace(event, vm, atCycles, a, b);
}
