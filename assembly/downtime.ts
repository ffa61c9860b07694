// The downtime bound: before a migration starts, again once the destination has said
// what it is (PREPARE_REPLY: its clock, the longest wait for the VM's window there), and
// before the blackout, the migration manager asks how long the VM can be stopped at most,
// given what the blackout still has to send. Every term is a worst case on a healthy link,
// each on the clock of the processor that does the work:
//   transfer     sending the blackout's stream (wire time of every message at the link's
//                bandwidth, one frame of other traffic ahead of it, the link latency, up to
//                one board quantum until the last message is handed over);
//   handshake    the last acknowledgement's trip back, then the commit message's trip,
//                with one retransmission of it (after it nothing can be taken back);
//   retransmit   the retransmissions it budgets for (each: a timeout, then the window again);
//   restore      checking and applying records on the destination, on the destination's clock;
//   schedule     waiting for the VM's next window on the destination, in the destination's
//                schedule (its major frame; the whole default frame when it has none, since
//                the default table changes as VMs come and go);
//   prepare      warm moves only: the VM is suspended before PREPARE goes, so it waits out
//                PREPARE's and PREPARE_REPLY's trips, with one retransmission of each;
//   compression  a compressing migration only: classifying and compressing the blackout's
//                pages on the source's clock, decompressing them on the destination's;
//   agreement    a protected VM only: COMMIT_REPLY's trip back, then the lease moving to the
//                destination (docs/health.md, "Handover").
// Post-copy has no term for page faults of the first instruction: its blackout carries
// every page that instruction can touch (first-access.ts).
// docs/migration.md derives it; the migration bench and the property test check measured <= bound.
import { getClockHz, workNsAt } from "./clock";
import { COMPRESS_CYCLES_PER_BYTE, DECOMPRESS_CYCLES_PER_BYTE } from "./page-compression";
import { FRAME_HEADER_BYTES, PAGE_BYTES } from "./config";
import { linkMtu } from "./communication";
import { COMMIT_BODY_BYTES, COMMIT_REPLY_BYTES, PREPARE_HEADER_BYTES, PREPARE_REPLY_BYTES, PREPARE_WINDOW_BYTES } from "./migration-messages";
import { ackFrameBytes, MESSAGE_HEADER_BYTES, replicationBacklogBytes, retransmitTimeoutNs, tripNs, wireNs } from "./transport";

/** Restore work on the destination: validating and applying records. */
export const RESTORE_FIXED_CYCLES: u64 = 20_000;
/** Bytes the destination validates and applies per cycle (CRC, copy). */
export const RESTORE_BYTES_PER_CYCLE: u64 = 4;

/** What the destination said about itself in PREPARE_REPLY; until then the terms it decides are 0. */
export class DestinationFacts {
  known: bool = false;
  clockHz: u64 = 0;
  scheduleGapNs: u64 = 0;
  /** Trace-replay: the VM's share of the destination's processor, per mille (PREPARE_REPLY). */
  sharePermille: u64 = 0;
}

/** Trace-replay's digest of the VM at the switch: CRC32C over its touched pages, bytes per cycle on each processor. */
export const DIGEST_BYTES_PER_CYCLE: u64 = 8;

export function digestCycles(bytes: u64): u64 {
  return bytes / DIGEST_BYTES_PER_CYCLE + 1;
}

export class Bound {
  transferNs: u64 = 0;
  handshakeNs: u64 = 0;
  retransmitNs: u64 = 0;
  restoreNs: u64 = 0;
  scheduleNs: u64 = 0;
  agreementNs: u64 = 0;
  /** Compressing migrations: the codecs' work on both clocks (0 otherwise). */
  compressionNs: u64 = 0;
  /** Warm moves: the PREPARE exchange the suspended VM waits out (0 for every other strategy). */
  prepareNs: u64 = 0;
  /** Trace-replay: the log's tail replayed on the destination, and the digest of the VM on both processors. */
  replayNs: u64 = 0;
  /** What comes after COMMIT leaves the source: its trip, one retransmission of it, restore, schedule. */
  afterCommitNs: u64 = 0;

  totalNs(): u64 {
    return this.transferNs + this.handshakeNs + this.retransmitNs + this.restoreNs + this.scheduleNs + this.agreementNs + this.prepareNs + this.compressionNs + this.replayNs;
  }

  /** The latest a blackout may send COMMIT, as an offset from its start, and still keep the bound. */
  commitByNs(): u64 {
    const total = this.totalNs();
    return total > this.afterCommitNs ? total - this.afterCommitNs : 0;
  }
}

/** Decoding `pages` compressed pages on the destination (each checked against its CRC). */
export function decompressCycles(pages: u64): u64 {
  return pages * PAGE_BYTES * DECOMPRESS_CYCLES_PER_BYTE;
}

/**
 * The compression term: `examined` pages classified and compressed here, `compressed` of
 * them decoded on the destination (once its clock is known). The decoding comes after
 * COMMIT, so it joins what must still fit after it.
 */
export function addCompressionTerm(out: Bound, examined: u64, compressed: u64, destination: DestinationFacts): void {
  const compressNs = workNsAt(examined * PAGE_BYTES * COMPRESS_CYCLES_PER_BYTE, getClockHz());
  const decompressNs = destination.known ? workNsAt(decompressCycles(compressed), destination.clockHz) : 0;
  out.compressionNs = compressNs + decompressNs;
  out.afterCommitNs += decompressNs;
}

export function restoreCycles(streamBytes: u64): u64 {
  return RESTORE_FIXED_CYCLES + (streamBytes + RESTORE_BYTES_PER_CYCLE - 1) / RESTORE_BYTES_PER_CYCLE;
}

/** Wire bytes of `streamBytes` of stream cut into messages of at most `maxBody`. */
export function wireBytesOf(streamBytes: u64, maxBody: u32): u64 {
  const messages = (streamBytes + maxBody - 1) / maxBody;
  return streamBytes + messages * (FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES);
}

/**
 * A warm move's PREPARE exchange, which its suspended VM waits out: PREPARE (with the VM's
 * `windows`) there and PREPARE_REPLY back, each with one retransmission.
 */
export function prepareExchangeNs(peer: u32, window: u32, windows: u32): u64 {
  const mtu = linkMtu(peer);
  const prepareBytes = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + PREPARE_HEADER_BYTES + <u64>windows * PREPARE_WINDOW_BYTES;
  const replyBytes = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + PREPARE_REPLY_BYTES;
  const retryNs = retransmitTimeoutNs(peer, window, mtu);
  return tripNs(peer, prepareBytes) + retryNs + wireNs(peer, prepareBytes) + tripNs(peer, replyBytes) + retryNs + wireNs(peer, replyBytes);
}

/**
 * The bound for a blackout that sends `streamBytes` of stream to `peer`; `handoverNs`: a
 * protected VM's lease moving there once COMMIT_REPLY is back (0 for any other VM).
 */
export function computeBound(out: Bound, peer: u32, streamBytes: u64, window: u32, retransmissions: u32, destination: DestinationFacts, handoverNs: u64 = 0): void {
  const mtu = linkMtu(peer);
  const maxBody = mtu - FRAME_HEADER_BYTES - MESSAGE_HEADER_BYTES;
  // Bandwidth-limited: the stream on the wire behind one frame of other traffic and the
  // windows of the replication sessions the link may carry. Window-limited: per window of
  // messages, one round trip. Whichever is longer.
  const messages = (streamBytes + maxBody - 1) / maxBody;
  const bandwidthLimitedNs = wireNs(peer, mtu + replicationBacklogBytes(peer)) + tripNs(peer, wireBytesOf(streamBytes, maxBody));
  const windowLimitedNs = ((messages + window - 1) / window) * (tripNs(peer, <u64>window * mtu) + tripNs(peer, ackFrameBytes()));
  out.transferNs = bandwidthLimitedNs > windowLimitedNs ? bandwidthLimitedNs : windowLimitedNs;
  const commitBytes = FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + COMMIT_BODY_BYTES;
  const commitTripNs = tripNs(peer, commitBytes);
  const commitRetryNs = retransmitTimeoutNs(peer, window, mtu) + wireNs(peer, commitBytes);
  out.handshakeNs = tripNs(peer, ackFrameBytes()) + commitTripNs + commitRetryNs;
  out.retransmitNs = <u64>retransmissions * (retransmitTimeoutNs(peer, window, mtu) + wireNs(peer, <u64>window * mtu));
  out.restoreNs = destination.known ? workNsAt(restoreCycles(streamBytes), destination.clockHz) : 0;
  out.scheduleNs = destination.known ? destination.scheduleGapNs : 0;
  out.agreementNs = handoverNs == 0 ? 0 : tripNs(peer, FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES + COMMIT_REPLY_BYTES) + handoverNs;
  out.afterCommitNs = commitTripNs + commitRetryNs + out.restoreNs + out.scheduleNs + out.agreementNs;
}

/**
 * The replay term (trace-replay): the source digests the stopped VM's `digestBytes` before
 * its last records go (its clock); the destination replays the `lagInstructions` it had
 * not replayed yet (one cycle each) and digests the VM (its clock) before it runs it. The
 * destination's part comes after COMMIT.
 */
export function addReplayTerm(out: Bound, lagInstructions: u64, digestBytes: u64, destination: DestinationFacts): void {
  const sourceNs = workNsAt(digestCycles(digestBytes), getClockHz());
  const destinationNs = destination.known ? workNsAt(lagInstructions + digestCycles(digestBytes), destination.clockHz) : 0;
  out.replayNs = sourceNs + destinationNs;
  out.afterCommitNs += destinationNs;
}
