// The protections a board declares (docs/health.md): for each, its processors in order —
// the first runs the VM at the start, the others hold copies that can take over — its
// policies, and what this processor knows and holds of it. Every member of the health
// monitor knows every protection, whether or not it takes part: each one grants its lease
// (health-monitor.ts). failover.ts and replication.ts act on what is here.
import { MAX_MEMBERS, MAX_PROTECTIONS } from "./config";

/** No member (a grantee, a backup). */
export const NO_MEMBER: u32 = 0xFF;

// What this processor holds of a protection (ProtectionStat role).
export const ROLE_NONE: u32 = 0;
/** It holds the lease's term and runs the VM (or pauses it while the lease is out). */
export const ROLE_HOLDER: u32 = 1;
/** A copy fed by the holder's epochs. */
export const ROLE_REPLICA: u32 = 2;
/** A copy of the image, held until it takes over (a restart). */
export const ROLE_IMAGE: u32 = 3;
/** Its copy was stopped for good: another processor holds a newer term. */
export const ROLE_FENCED: u32 = 4;
/** A processor of the protection with no usable copy (yet). */
export const ROLE_NO_COPY: u32 = 5;
/** The VM arrived here by a move and waits for the lease (a handover). */
export const ROLE_ARRIVED: u32 = 6;
/** The VM moved away from here: members move the lease to `handoverTo`. */
export const ROLE_HANDED_OVER: u32 = 7;

export class Protection {
  id: u32 = 0;
  defined: bool = false;
  policies: u32 = 0;
  intervalNs: u64 = 0;
  /** Its processors as member indices, in order (the first is the primary). */
  order: StaticArray<u8> = new StaticArray<u8>(MAX_MEMBERS);
  orderLength: u32 = 0;

  // This member's lease grant (health-monitor.ts).
  grantee: u32 = NO_MEMBER;
  /** The grant goes out in this member's heartbeats (false: it lapsed, and is not renewed). */
  renewing: bool = false;
  grantTerm: u32 = 0;
  prevGrantTerm: u32 = 0;
  /** When the grant last went out in a heartbeat: it lasts until then + the lease time. */
  grantSentNs: u64 = 0;
  /** The highest term seen in any heartbeat for this protection. */
  highestTerm: u32 = 0;
  /** The backup and session the holder last named (echoed in heartbeats: output commit). */
  knownBackup: u32 = NO_MEMBER;
  knownSession: u32 = 0;
  /** The term of the holder that named them. */
  knownBackupTerm: u32 = 0;

  // What this processor holds (failover.ts).
  role: u32 = ROLE_NONE;
  /** The VM's handle here: the running VM, or the copy. */
  vm: u32 = 0;
  /** Holder: its term. Copy: the term it came from. */
  term: u32 = 0;
  /** Holder: its lease ran out and the VM waits. */
  paused: bool = false;
  leaseEndNs: u64 = 0;
  handoverTo: u32 = NO_MEMBER;
  /** Holder: the member its epochs go to, and the replication session (replication.ts). */
  backup: u32 = NO_MEMBER;
  session: u32 = 0;
  /** The copy is the board's image (a restart), or a replica (copyEpochs > 0). */
  hasImage: bool = false;
  copyEpochs: u64 = 0;
  copyCaptureNs: u64 = 0;
  /** The replication session the copy's epochs came from. */
  copySession: u32 = 0;

  // Statistics.
  activations: u64 = 0;
  pauses: u64 = 0;

  /** Position of member `m` in the order, or -1 if it is not one of its processors. */
  positionOf(m: u32): i32 {
    for (let i: u32 = 0; i < this.orderLength; i++) if (<u32>unchecked(this.order[i]) == m) return <i32>i;
    return -1;
  }

  /** The member `steps` places after position `from` in the order, cyclically. */
  memberAfter(from: i32, steps: u32): u32 {
    return <u32>unchecked(this.order[(<u32>(from < 0 ? 0 : from) + steps) % this.orderLength]);
  }

  has(policy: u32): bool {
    return (this.policies & policy) != 0;
  }

  /** It holds a copy that can take over. */
  capable(): bool {
    return this.role == ROLE_REPLICA || this.role == ROLE_IMAGE || this.role == ROLE_ARRIVED;
  }
}

const table = new StaticArray<Protection>(MAX_PROTECTIONS);
for (let i = 0; i < MAX_PROTECTIONS; i++) {
  table[i] = new Protection();
  table[i].id = <u32>i;
}
/** Protections of the board: ids 0 .. count - 1 travel in every heartbeat. */
let count: u32 = 0;

export function protectionAt(id: u32): Protection {
  return unchecked(table[id]);
}

export function protectionCount(): u32 {
  return count;
}

export function setProtectionCount(n: u32): void {
  count = n;
}

/** The protection whose VM (or copy) here is `vm`, or null. */
export function protectionOfVm(vm: u32): Protection | null {
  for (let i: u32 = 0; i < count; i++) {
    const p = protectionAt(i);
    if (p.defined && p.role != ROLE_NONE && p.role != ROLE_NO_COPY && p.role != ROLE_FENCED && p.vm == vm) return p;
  }
  return null;
}
