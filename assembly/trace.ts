// Trace events the core reports to the board, stamped with virtual time. The board
// writes them out (docs/trace.md); the core never formats anything.
@external("ferry:core/board", "trace")
declare function boardTrace(event: u32, vm: u32, atCycles: u64, a: u64, b: u64): void;

export const TRACE_VM_SWITCH: u32 = 1;
export const TRACE_INTERRUPT: u32 = 2;
export const TRACE_HYPERCALL: u32 = 3;
export const TRACE_DEADLINE_MISS: u32 = 4;
export const TRACE_FRAME_SENT: u32 = 5;
export const TRACE_FRAME_RECEIVED: u32 = 6;
export const TRACE_FRAME_DROPPED: u32 = 7;
export const TRACE_VM_EXIT: u32 = 8;

/** No VM: the processor idles. */
export const NO_VM: u32 = 0xFFFF_FFFF;

let enabled = false;

export function setTraceEnabled(on: bool): void {
  enabled = on;
}

export function trace(event: u32, vm: u32, atCycles: u64, a: u64, b: u64): void {
  if (enabled) boardTrace(event, vm, atCycles, a, b);
}
