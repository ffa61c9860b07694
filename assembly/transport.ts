// The acknowledged part of communication: a reliable, ordered message stream between
// two processors for one session — a migration's, or a replication's — go-back-N over
// the board's link frames. Each side sends messages (frame type MIGRATION_MESSAGE, or
// REPLICA_MESSAGE) and acknowledges what it received in order (MIGRATION_ACK or
// REPLICA_ACK, cumulative: the next sequence it expects). A
// message not acknowledged within the retransmission timeout is sent again, with
// everything after it. Loss, corruption (CRC), duplication and reordering on the link
// all end as "not acknowledged yet", so the migration protocol above never sees them.
//
// Message frame payload: u32 sequence, u8 message type, 3 reserved zero bytes, body.
// Ack frame payload: u32 next expected sequence.
import { nsToCycles, now } from "./clock";
import { DROP_DUPLICATE, DROP_MALFORMED, DROP_OUT_OF_ORDER, FRAME_HEADER_BYTES, FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE, MAX_PEERS } from "./config";
import { linkBandwidth, linkGranularityNs, linkLatencyNs, linkMtu, sendFrame } from "./communication";
import { NO_VM } from "./trace";

export const MESSAGE_HEADER_BYTES: u32 = 8;
const MAX_WINDOW: u32 = 64;
const ACK_PAYLOAD_BYTES: u32 = 4;

/** Wire time of `bytes` on the link to `peer`, in ns (rounded up). */
export function wireNs(peer: u32, bytes: u64): u64 {
  const bandwidth = linkBandwidth(peer);
  return (bytes * 1_000_000_000 + bandwidth - 1) / bandwidth;
}

/** Longest one-way trip of a frame of `bytes` once it is on the wire: latency, then up to one quantum until the board hands it over. */
export function tripNs(peer: u32, bytes: u64): u64 {
  return wireNs(peer, bytes) + linkLatencyNs(peer) + linkGranularityNs(peer);
}

/** One direction's sender and the other direction's receiver, as seen from this processor. */
export class Endpoint {
  peer: u32 = 0;
  session: u32 = 0;
  open: bool = false;
  /** Frame types of its messages and acknowledgements: a migration's, or a replication's. */
  messageFrame: u32 = FRAME_MIGRATION_MESSAGE;
  ackFrame: u32 = FRAME_MIGRATION_ACK;
  // Sender.
  window: u32 = 0;
  slotBytes: u32 = 0;
  slots: usize = 0;
  slotLength: StaticArray<u32> = new StaticArray<u32>(MAX_WINDOW);
  base: u32 = 0;
  next: u32 = 0;
  /** When the oldest unacknowledged message was (re)sent. */
  baseSentCycles: u64 = 0;
  timeoutCycles: u64 = 0;
  /** The timeout on a healthy link; each timeout in a row doubles it up to `backoffLimit` times this. */
  baseTimeoutCycles: u64 = 0;
  backoffLimit: u32 = 1;
  /** The window went out again and nothing new was acknowledged since. */
  resentWithoutProgress: bool = false;
  retransmissions: u64 = 0;
  /** Timeouts since the other side last acknowledged anything: how silent it has gone. */
  timeoutsInARow: u32 = 0;
  bytesSent: u64 = 0;
  // Receiver.
  expected: u32 = 0;
  /** Why the last receive returned 0 (DROP_*). */
  rejected: u64 = 0;

  /**
   * Opens the endpoint towards `peer` for `session`; false if the link cannot carry it.
   * `backoffLimit` > 1: a session that lives as long as its VM (replication) backs its
   * timeout off, doubling per timeout in a row up to that factor. Resending a whole window
   * every base timeout on a link slowed below what the timeout assumes queues more on the
   * wire than it carries, and the queue outlives the slowdown (a campaign's replication
   * stalled for good after a 30 ms slowdown). A migration keeps the base timeout its
   * downtime bound budgets for, and gives up after its timeouts in a row.
   */
  start(peer: u32, session: u32, messageFrame: u32 = FRAME_MIGRATION_MESSAGE, ackFrame: u32 = FRAME_MIGRATION_ACK, backoffLimit: u32 = 1): bool {
    const mtu = linkMtu(peer);
    if (mtu <= FRAME_HEADER_BYTES + MESSAGE_HEADER_BYTES || linkBandwidth(peer) == 0) return false;
    this.peer = peer;
    this.session = session;
    this.messageFrame = messageFrame;
    this.ackFrame = ackFrame;
    this.slotBytes = mtu - FRAME_HEADER_BYTES;
    this.window = windowFor(peer, mtu);
    if (this.slots != 0) heap.free(this.slots);
    this.slots = heap.alloc(<usize>this.window * this.slotBytes);
    this.base = 0;
    this.next = 0;
    this.expected = 0;
    this.retransmissions = 0;
    this.timeoutsInARow = 0;
    this.bytesSent = 0;
    this.baseTimeoutCycles = nsToCycles(retransmitTimeoutNs(peer, this.window, mtu));
    this.timeoutCycles = this.baseTimeoutCycles;
    this.backoffLimit = backoffLimit;
    this.resentWithoutProgress = false;
    this.open = true;
    return true;
  }

  close(): void {
    this.open = false;
    if (this.slots != 0) heap.free(this.slots);
    this.slots = 0;
  }

  /** Largest message body one message can carry. */
  maxBody(): u32 {
    return this.slotBytes - MESSAGE_HEADER_BYTES;
  }

  hasRoom(): bool {
    return this.open && this.next - this.base < this.window;
  }

  /** Everything sent has been acknowledged. */
  idle(): bool {
    return this.base == this.next;
  }

  /** Sends a message (caller checked hasRoom and the body size). */
  send(type: u32, body: usize, bodyBytes: u32): void {
    const slot = this.slotAddress(this.next);
    store<u32>(slot, this.next);
    store<u32>(slot, type & 0xFF, 4);
    memory.copy(slot + MESSAGE_HEADER_BYTES, body, bodyBytes);
    this.slotLength[this.next % this.window] = MESSAGE_HEADER_BYTES + bodyBytes;
    if (this.idle()) this.baseSentCycles = now();
    this.next++;
    this.transmit(this.next - 1);
  }

  /** Handles an ack frame's payload. */
  acknowledge(nextExpected: u32): void {
    if (nextExpected - this.base > this.next - this.base) return; // stale or bogus
    if (nextExpected != this.base) {
      this.base = nextExpected;
      this.baseSentCycles = now();
      this.timeoutCycles = this.baseTimeoutCycles; // progress: the link carries again
      this.resentWithoutProgress = false;
    }
    this.timeoutsInARow = 0;
  }

  /**
   * Retransmits everything unacknowledged once the oldest message has waited a timeout. A
   * backing-off endpoint whose last window resend brought nothing back resends only the
   * oldest: the receiver takes nothing after it before it has it, and a slowed link keeps
   * the rest of the window queued, not lost.
   */
  service(): void {
    if (!this.open || this.idle() || now() - this.baseSentCycles < this.timeoutCycles) return;
    if (this.backoffLimit > 1 && this.resentWithoutProgress) this.transmit(this.base);
    else for (let seq = this.base; seq != this.next; seq++) this.transmit(seq);
    this.resentWithoutProgress = true;
    this.retransmissions++;
    this.timeoutsInARow++;
    this.baseSentCycles = now();
    const limit = this.baseTimeoutCycles * this.backoffLimit;
    this.timeoutCycles = this.timeoutCycles * 2 < limit ? this.timeoutCycles * 2 : limit;
  }

  /**
   * A message frame's payload arrived; returns the body address if it is the next in
   * order (the caller consumes it before the next call), else 0. Acknowledges either way.
   */
  receive(payload: usize, payloadBytes: u32): usize {
    if (payloadBytes < MESSAGE_HEADER_BYTES || (load<u32>(payload, 4) >> 8) != 0) { this.rejected = DROP_MALFORMED; return 0; }
    const seq = load<u32>(payload);
    const inOrder = seq == this.expected;
    if (inOrder) this.expected++;
    else this.rejected = <i32>(seq - this.expected) < 0 ? DROP_DUPLICATE : DROP_OUT_OF_ORDER;
    this.sendAck();
    return inOrder ? payload : 0;
  }

  private sendAck(): void {
    const ack = memory.data(4);
    store<u32>(ack, this.expected);
    sendFrame(this.peer, this.ackFrame, this.session, ack, ACK_PAYLOAD_BYTES, NO_VM);
  }

  private slotAddress(seq: u32): usize {
    return this.slots + <usize>(seq % this.window) * this.slotBytes;
  }

  private transmit(seq: u32): void {
    const bytes = this.slotLength[seq % this.window];
    this.bytesSent += FRAME_HEADER_BYTES + bytes;
    sendFrame(this.peer, this.messageFrame, this.session, this.slotAddress(seq), bytes, NO_VM);
  }
}

/** Enough messages in flight to fill the link for a round trip, within MAX_WINDOW. */
export function windowFor(peer: u32, mtu: u32): u32 {
  const roundTripNs = 2 * (linkLatencyNs(peer) + linkGranularityNs(peer)) + wireNs(peer, mtu);
  const inFlightBytes = (linkBandwidth(peer) * roundTripNs) / 1_000_000_000;
  let window = <u32>(inFlightBytes / mtu) + 2;
  if (window < 4) window = 4;
  return window > MAX_WINDOW ? MAX_WINDOW : window;
}

/**
 * Longest a message can wait for its ack on a healthy link: behind a full window on the
 * wire, the trip there, and the ack's trip back.
 */
export function retransmitTimeoutNs(peer: u32, window: u32, mtu: u32): u64 {
  return wireNs(peer, <u64>window * mtu) + linkLatencyNs(peer) + linkGranularityNs(peer)
    + tripNs(peer, FRAME_HEADER_BYTES + ACK_PAYLOAD_BYTES) + linkGranularityNs(peer);
}

// Sessions a link may carry at once besides one migration's: the replication sessions the
// health monitor may open to that peer (it counts them when it learns the protections).
const replicationSessionsTo = new StaticArray<u32>(MAX_PEERS);

export function allowReplicationSessionTo(peer: u32): void {
  if (peer < MAX_PEERS) replicationSessionsTo[peer]++;
}

export function forgetReplicationSessions(): void {
  for (let peer: u32 = 0; peer < MAX_PEERS; peer++) replicationSessionsTo[peer] = 0;
}

/** The most bytes the replication sessions on the link to `peer` may have on the wire: a full window each. */
export function replicationBacklogBytes(peer: u32): u64 {
  const mtu = linkMtu(peer);
  if (mtu == 0 || peer >= MAX_PEERS) return 0;
  return <u64>replicationSessionsTo[peer] * windowFor(peer, mtu) * mtu;
}

/** A periodic frame every link carries besides the sessions (load-monitor.ts's load report), bytes; 0 none. */
let periodicFrameBytes: u64 = 0;

export function setPeriodicFrameBytes(bytes: u64): void {
  periodicFrameBytes = bytes;
}

/** The most bytes the sessions on the link to `peer` may have on the wire: a full window each, and a periodic frame. */
export function sessionBacklogBytes(peer: u32): u64 {
  const mtu = linkMtu(peer);
  if (mtu == 0) return 0;
  const sessions = <u64>1 + (peer < MAX_PEERS ? replicationSessionsTo[peer] : 0);
  return sessions * windowFor(peer, mtu) * mtu + periodicFrameBytes;
}

/**
 * The retransmission timeout of any acknowledged protocol on the link to `peer`: a
 * migration session's full window may be on the wire ahead of the frame.
 */
export function linkTimeoutNs(peer: u32): u64 {
  const mtu = linkMtu(peer);
  if (mtu == 0 || linkBandwidth(peer) == 0) return 0; // no link (this processor itself): nothing waits
  return retransmitTimeoutNs(peer, windowFor(peer, mtu), mtu);
}

export function ackFrameBytes(): u32 {
  return FRAME_HEADER_BYTES + ACK_PAYLOAD_BYTES;
}
