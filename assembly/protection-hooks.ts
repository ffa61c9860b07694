// What a move means for a protected VM, as a table of functions failover.ts fills in at
// start-up: the migration manager calls these without knowing about protections, so it
// sits below the health monitor in the core's import order (docs/core-interface.md).
// docs/health.md, "Policies": a protected VM moves only to the next processor of its
// protection, whose copy makes room for it, and it runs there once the lease followed it.
function notProtected(vm: u32, dest: u32): i64 { return 0; }
function nothing(vm: u32): void {}
function nothingEnded(vm: u32, committed: bool, to: u32): void {}
function roomMade(replaces: u32): bool { return true; }
function notKept(replaces: u32, vm: u32, from: u32): bool { return false; }
function noAgreement(vm: u32): u64 { return 0; }

export class ProtectionHooks {
  /** Source, at migrationStart: 0 not protected, 1 + the protection it moves with, -1 refused (not its next processor). */
  replacing: (vm: u32, dest: u32) => i64 = notProtected;
  /** Source: the move has begun (replication pauses). */
  moveStarted: (vm: u32) => void = nothing;
  /** Source: the move ended; committed: the VM is the destination's now (the lease follows it), else it stays. */
  moveEnded: (vm: u32, committed: bool, to: u32) => void = nothingEnded;
  /** Destination, at PREPARE of a VM that replaces protection `replaces - 1`'s copy: false refuses. */
  makeRoom: (replaces: u32) => bool = roomMade;
  /** Destination, at the commit: true if the health monitor keeps the VM held until the lease is here. */
  arrived: (replaces: u32, vm: u32, from: u32) => bool = notKept;
  /** The downtime bound's agreement term for `vm` (0 if it is not protected). */
  agreementNs: (vm: u32) => u64 = noAgreement;
}

export const protectionHooks = new ProtectionHooks();
