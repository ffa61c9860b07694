// The downtime bound: before a migration starts, and again before it enters the
// blackout, the migration manager asks how long the VM can be stopped at most, given
// what the blackout still has to send. Every term is a worst case on a healthy link:
//   sending the blackout's stream (wire time of every message at the link's bandwidth,
//     one frame of other traffic ahead of it, the link latency, up to one board quantum
//     until the last message is handed over),
//   the last acknowledgement's trip back, then the commit message's trip,
//   the retransmissions it budgets for (each: a timeout, then the window again), and one
//     more for the commit message itself (after it nothing can be taken back),
//   post-copy: the first instruction's demand faults (up to two pages: a data access may
//     straddle a page boundary), each a request's trip and a page behind a window of push,
//   restoring on the destination (a fixed cost plus a cost per byte applied),
//   waiting for the VM's next window on the destination (the longest gap between its windows).
// docs/migration.md derives it; the migration bench checks measured / bound <= 1.
import { cyclesToNs } from "./clock";
import { FRAME_HEADER_BYTES, linkMtu } from "./communication";
import { frameLengthCycles, windowsOf } from "./schedule";
import { ackFrameBytes, MESSAGE_HEADER_BYTES, retransmitTimeoutNs, tripNs, wireNs } from "./transport";

/** Restore work on the destination: validating and applying records. */
export const RESTORE_FIXED_CYCLES: u64 = 20_000;
/** Bytes the destination validates and applies per cycle (CRC, copy). */
export const RESTORE_BYTES_PER_CYCLE: u64 = 4;
/** Bytes of the commit message's body. */
export const COMMIT_BODY_BYTES: u32 = 24;

export class Bound {
  transferNs: u64 = 0;
  handshakeNs: u64 = 0;
  retransmitNs: u64 = 0;
  restoreNs: u64 = 0;
  scheduleNs: u64 = 0;
  firstFaultsNs: u64 = 0;
  /** What comes after COMMIT leaves the source: its trip, one retransmission of it, restore, schedule, first faults. */
  afterCommitNs: u64 = 0;

  totalNs(): u64 {
    return this.transferNs + this.handshakeNs + this.retransmitNs + this.restoreNs + this.scheduleNs + this.firstFaultsNs;
  }

  /** The latest a blackout may send COMMIT, as an offset from its start, and still keep the bound. */
  commitByNs(): u64 {
    const total = this.totalNs();
    return total > this.afterCommitNs ? total - this.afterCommitNs : 0;
  }
}

/** Bytes of a page request message and of a one-page record message. */
const PAGE_REQUEST_BYTES: u32 = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + 4;
const ONE_PAGE_RECORD_BYTES: u32 = 8 + 8 + 8 + 4096 + 8;

export function restoreCycles(streamBytes: u64): u64 {
  return RESTORE_FIXED_CYCLES + (streamBytes + RESTORE_BYTES_PER_CYCLE - 1) / RESTORE_BYTES_PER_CYCLE;
}

/** Wire bytes of `streamBytes` of stream cut into messages of at most `maxBody`. */
export function wireBytesOf(streamBytes: u64, maxBody: u32): u64 {
  const messages = (streamBytes + maxBody - 1) / maxBody;
  return streamBytes + messages * (FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES);
}

/** Longest stretch of the major frame in which `vm` has no window: its worst wait to run. */
export function longestGapNs(vm: u32): u64 {
  const starts = new StaticArray<u64>(64);
  const ends = new StaticArray<u64>(64);
  const n = windowsOf(vm, starts, ends);
  const frame = frameLengthCycles();
  if (n == 0) return cyclesToNs(frame);
  let gap: u64 = starts[0] + frame - ends[n - 1]; // wrapping from the last window to the first
  for (let i = 1; i < n; i++) {
    if (starts[i] - ends[i - 1] > gap) gap = starts[i] - ends[i - 1];
  }
  return cyclesToNs(gap);
}

/** The bound for a blackout that sends `streamBytes` of stream to `peer`. */
export function computeBound(out: Bound, peer: u32, streamBytes: u64, window: u32, retransmissions: u32, vm: u32, postCopy: bool): void {
  const mtu = linkMtu(peer);
  const maxBody = mtu - FRAME_HEADER_BYTES - MESSAGE_HEADER_BYTES;
  // Bandwidth-limited: the stream on the wire behind one frame of other traffic. Window-
  // limited: per window of messages, one round trip. Whichever is longer.
  const messages = (streamBytes + maxBody - 1) / maxBody;
  const bandwidthLimitedNs = wireNs(peer, mtu) + tripNs(peer, wireBytesOf(streamBytes, maxBody));
  const windowLimitedNs = ((messages + window - 1) / window) * (tripNs(peer, <u64>window * mtu) + tripNs(peer, ackFrameBytes()));
  out.transferNs = bandwidthLimitedNs > windowLimitedNs ? bandwidthLimitedNs : windowLimitedNs;
  const commitBytes = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + COMMIT_BODY_BYTES;
  const commitTripNs = tripNs(peer, commitBytes);
  const commitRetryNs = retransmitTimeoutNs(peer, window, mtu) + wireNs(peer, commitBytes);
  out.handshakeNs = tripNs(peer, ackFrameBytes()) + commitTripNs + commitRetryNs;
  out.retransmitNs = <u64>retransmissions * (retransmitTimeoutNs(peer, window, mtu) + wireNs(peer, <u64>window * mtu));
  out.restoreNs = cyclesToNs(restoreCycles(streamBytes));
  out.scheduleNs = longestGapNs(vm);
  const faultNs = tripNs(peer, PAGE_REQUEST_BYTES) + wireNs(peer, <u64>window * mtu)
    + tripNs(peer, wireBytesOf(ONE_PAGE_RECORD_BYTES, maxBody)) + retransmitTimeoutNs(peer, window, mtu);
  out.firstFaultsNs = postCopy ? 2 * faultNs : 0;
  out.afterCommitNs = commitTripNs + commitRetryNs + out.restoreNs + out.scheduleNs + out.firstFaultsNs;
}
