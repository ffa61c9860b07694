// Lifecycle events the core reports to the board as they happen (CoreEvent in
// wit/numbers.json), whether or not tracing is on: the host learns from these what
// became of a migration or a channel, instead of watching states and guessing.
// Times are board nanoseconds (clock.ts nowNs), the one time base every processor shares.
import { nowNs } from "./clock";

@external("ferry:core/board", "event")
declare function boardEvent(kind: u32, id: u32, vm: u32, atNs: u64, a: u64, b: u64): void;

/** Reports event `kind` about `id` (a migration or a channel) and VM handle `vm`, now. */
export function report(kind: u32, id: u32, vm: u32, a: u64, b: u64): void {
  boardEvent(kind, id, vm, nowNs(), a, b);
}
