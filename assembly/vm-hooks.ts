// What happens to a VM's ports when the VM moves, as a table of functions the channel
// layer fills in (channel-relay.ts, at start-up): the migration manager and the
// collector call these without knowing that channels exist, so they sit below channels
// in the core's import order (docs/core-interface.md, "The core's components").
function nothing(vm: u32): void {}
function nothingTo(vm: u32, processor: u32): void {}
function zero(vm: u32): u32 { return 0; }
function room(vm: u32, count: u32): bool { return true; }

export class VmHooks {
  /** The VM's state is being captured for a move: what arrives for its ports waits or is refused until the move ends. */
  depart: (vm: u32) => void = nothing;
  /** The move failed or was cancelled: the VM stays, and its ports serve it again. */
  stay: (vm: u32) => void = nothing;
  /** The VM now runs on processor `to`: its ports here go, and what they served is relayed there. */
  left: (vm: u32, to: u32) => void = nothingTo;
  /** The VM arrived from processor `from` with its ports (the CHANNELS record). */
  arrived: (vm: u32, from: u32) => void = nothingTo;
  /** The VM is released here: its ports go with it. */
  released: (vm: u32) => void = nothing;
  /** The largest message any of the VM's ports carries (0: it has none). */
  largestMessage: (vm: u32) => u32 = zero;
  /** How many ports the VM has. */
  portCount: (vm: u32) => u32 = zero;
  /** Could this processor relay `count` more channels once the VM leaves? */
  relayRoom: (vm: u32, count: u32) => bool = room;
  /** Could this processor hold `count` more ports (arriving with the VM)? */
  portRoom: (vm: u32, count: u32) => bool = room;
}

export const vmHooks = new VmHooks();
