// Channels: ports between VMs on the same or on other processors (ARINC 653 style), and
// how their messages cross an unreliable link.
//
// A queuing channel delivers every message exactly once and in order into a queue of
// `depth` messages at the destination, or reports its link dead (it never drops one):
//   - every message carries a sequence number, its send time and the sender's delivery
//     bound (frame type channelMessage);
//   - the destination takes only the next message in order and answers every message
//     with a cumulative acknowledgement, "delivered up to n, consumed up to m"
//     (channelAck) — so any later acknowledgement repairs a lost one;
//   - the source keeps each message until it is acknowledged (at most `depth`: it may
//     have at most `depth` messages not yet consumed, its credit) and, when the oldest
//     has waited a retransmission timeout, sends them all again (go-back-N); with no
//     credit and nothing to resend it probes (channelProbe) for a lost credit;
//   - after CHANNEL_GIVE_UP_TIMEOUTS timeouts in a row it reports the link dead (event
//     channelLinkDead), keeps trying, and reports it recovered when an answer comes.
// A sampling channel keeps only the newest message: its messages carry sequence numbers
// too, so a stale sample (reordered, relayed) never replaces a newer one; nobody
// acknowledges them.
//
// Each source publishes a delivery bound (deliveryBoundNs): the time a message takes
// when at most CHANNEL_RETRANSMISSIONS of its frames are lost, behind the most other
// traffic the link can carry; the destination measures every delivery against it.
//
// Ports that move with their VM, and the relays that forward what still comes their way,
// are channel-relay.ts; the CHANNELS state record is channel-record.ts.
import { now, nowNs, nsToCycles } from "./clock";
import {
  CHANNEL_GIVE_UP_TIMEOUTS, CHANNEL_HEADER_BYTES, CHANNEL_QUEUING, CHANNEL_RETRANSMISSIONS, CHANNEL_SAMPLING,
  CHANNEL_STAT_ACKNOWLEDGED, CHANNEL_STAT_BOUND_NS, CHANNEL_STAT_CONSUMED, CHANNEL_STAT_COUNT, CHANNEL_STAT_DELIVERED,
  CHANNEL_STAT_DUPLICATES, CHANNEL_STAT_LATE_DELIVERIES, CHANNEL_STAT_LINK_DEAD, CHANNEL_STAT_LINK_DEAD_EVENTS,
  CHANNEL_STAT_MOVED_DELIVERIES, CHANNEL_STAT_OUT_OF_ORDER, CHANNEL_STAT_PROBES, CHANNEL_STAT_RETRANSMISSIONS,
  CHANNEL_STAT_SENT, CHANNEL_STAT_STALE_SAMPLES, CHANNEL_STAT_TOTAL_DELIVERY_NS, CHANNEL_STAT_WORST_DELIVERY_NS,
  CHANNEL_STAT_WORST_MOVED_DELIVERY_NS, DROP_DEPARTING, DROP_DUPLICATE, DROP_MALFORMED, DROP_NO_PORT, DROP_OUT_OF_ORDER,
  EVENT_CHANNEL_LINK_DEAD, EVENT_CHANNEL_LINK_RECOVERED, FRAME_CHANNEL_ACK, FRAME_CHANNEL_MESSAGE, FRAME_CHANNEL_PROBE,
  FRAME_HEADER_BYTES, MAX_CHANNEL_DEPTH, MAX_MESSAGE_BYTES, MAX_PORTS, SBI_ERR_BAD_RANGE, SBI_ERR_FAILED,
  SBI_ERR_INVALID_PARAM,
} from "./config";
import { dropFrame, linkBandwidth, linkGranularityNs, linkLatencyNs, linkMtu, maxPayloadTo, selfId, sendFrame } from "./communication";
import { report } from "./events";
import { linkTimeoutNs, sessionBacklogBytes, wireNs } from "./transport";
import { Vm, vmById } from "./vm";

/** Message flag: a relay forwarded it (its route was longer than the bound assumes). */
export const MESSAGE_RELAYED: u32 = 1;
/** Message flag: sent again by a source that moved after first sending it. */
export const MESSAGE_FROM_BEFORE_A_MOVE: u32 = 2;
/** The flags' top 16 bits: the source's restart term (failover.ts: a restarted VM numbers its messages afresh). */
const MESSAGE_TERM_SHIFT: u32 = 16;
const MESSAGE_FLAG_BITS: u32 = 0xFFFF;
/** Bytes of a queuing source's slot: u32 length, u32 flags, u64 send time ns, the message. */
export const SOURCE_SLOT_HEADER_BYTES: u32 = 16;
/**
 * Bytes of an acknowledgement's payload: u32 next expected, u32 consumed, u32 received.
 * "Received" runs ahead of "next expected" only while a protected destination holds its
 * acknowledgements for their epoch (output commit): the source keeps those messages, but
 * stops resending them.
 */
export const ACK_BYTES: u32 = 12;

/** One end of a channel on this processor. */
@unmanaged export class Port {
  channel: u32;
  vm: u32;
  port: u32;
  kind: u32;
  isSource: bool;
  maxMessageBytes: u32;
  depth: u32;
  /** Source: where its messages go (the destination's processor, or a relay). Destination: where its acknowledgements go. */
  peer: u32;
  /** Its VM is moving and the port's state has been captured: what arrives for it is refused (the sender resends). */
  departing: bool;
  /** Board time its VM arrived here by a move (0: never moved). */
  arrivedNs: u64;
  /** Its VM is a protection's held copy: the port sleeps (routing ignores it) until the copy takes over. */
  dormant: bool;
  /** Source: the restart term its messages carry. Destination: the newest restart term seen from its source. */
  term: u32;
  /** Destination of a restarted VM: the first message that comes is where its numbering starts. */
  resync: bool;
  // Source: the next sequence number, the first one not yet acknowledged, the first not yet consumed.
  // Destination: the next sequence number expected, the first not yet consumed (queuing).
  nextSeq: u32;
  ackedSeq: u32;
  consumedSeq: u32;
  /** Source: when its oldest outstanding frame was last sent (the retransmission timer). */
  timerCycles: u64;
  /** Source: retransmission timeouts since the destination last answered. */
  timeouts: u32;
  /** Source: the first message the destination has not taken yet, acknowledged or not (resends start here). */
  receivedSeq: u32;
  linkDead: bool;
  /** Destination queue: head index and messages queued. */
  head: u32;
  count: u32;
  // Output commit (replication.ts): a protected VM's messages leave only once the backup
  // holds the state that sent them.
  /** Its VM is a protected primary: what it sends waits for its epoch. */
  holdOutput: bool;
  /** Source: messages before this sequence number may go on the wire. Destination: acknowledged up to here. */
  releasedSeq: u32;
  /** The sequence number at the epoch being replicated: released when the backup applied it. */
  epochSeq: u32;
  /** Destination: messages consumed, as acknowledged (releasedConsumed) and at the epoch (epochConsumed). */
  releasedConsumed: u32;
  epochConsumed: u32;
  /** Sampling source holding output: 1 + the sequence number of the sample waiting in `slots`, 0 if none. */
  heldSample: u32;
  /** Source holding output: the longest a message waits for its epoch (failover.ts: interval + an epoch of the whole VM). */
  holdBoundNs: u64;
  /** Source (queuing): unacknowledged messages by sequence % depth. Destination: the queue (u32 length + message per slot). */
  slots: usize;
  /** CHANNEL_STAT_COUNT u64 counters (ChannelStat). */
  stats: usize;
}

const ports = new StaticArray<usize>(MAX_PORTS);
let portCount: i32 = 0;
const scratch = heap.alloc(FRAME_HEADER_BYTES + CHANNEL_HEADER_BYTES + MAX_MESSAGE_BYTES);

export function portAt(i: i32): Port {
  return changetype<Port>(unchecked(ports[i]));
}

export function portsHere(): i32 {
  return portCount;
}

/** A port of `vm` here, moving or not. */
export function findPort(vm: u32, port: u32, isSource: bool): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm && p.port == port && p.isSource == isSource) return p;
  }
  return null;
}

/** The end of `channel` on this processor (isSource: the sending end), moving or not. */
export function findEnd(channel: u32, isSource: bool): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && p.isSource == isSource && !p.dormant) return p;
  }
  return null;
}

@inline function stat(p: Port, key: u32): u64 {
  return load<u64>(p.stats + (<usize>key << 3));
}

@inline function count(p: Port, key: u32, by: u64 = 1): void {
  store<u64>(p.stats + (<usize>key << 3), stat(p, key) + by);
}

@inline function atLeast(p: Port, key: u32, value: u64): void {
  if (value > stat(p, key)) store<u64>(p.stats + (<usize>key << 3), value);
}

/** channelStat: counter `key` of `channel`'s end on this processor (the source's first if both ends are here). */
export function channelStat(channel: u32, key: u32): u64 {
  if (key >= CHANNEL_STAT_COUNT) return 0;
  const source = findEnd(channel, true);
  const destination = findEnd(channel, false);
  if (key == CHANNEL_STAT_BOUND_NS && source != null) return deliveryBoundNs(source);
  const p = source != null && (destination == null || isSourceStat(key)) ? source : destination;
  if (p == null) return 0;
  if (key == CHANNEL_STAT_LINK_DEAD) return p.linkDead ? 1 : 0;
  return stat(p, key);
}

function isSourceStat(key: u32): bool {
  return key == CHANNEL_STAT_SENT || key == CHANNEL_STAT_RETRANSMISSIONS || key == CHANNEL_STAT_ACKNOWLEDGED
    || key == CHANNEL_STAT_LINK_DEAD_EVENTS || key == CHANNEL_STAT_LINK_DEAD || key == CHANNEL_STAT_PROBES;
}

export function sourceSlotBytes(maxMessageBytes: u32): u32 {
  return SOURCE_SLOT_HEADER_BYTES + maxMessageBytes;
}

export function destinationSlotBytes(maxMessageBytes: u32): u32 {
  return 4 + maxMessageBytes;
}

/** Bytes of a port's slots: a queuing source keeps its unacknowledged messages, a destination its queue. */
export function slotsBytes(isSource: bool, kind: u32, depth: u32, maxMessageBytes: u32): u32 {
  if (isSource) return kind == CHANNEL_QUEUING ? depth * sourceSlotBytes(maxMessageBytes) : 0;
  return depth * destinationSlotBytes(maxMessageBytes);
}

/** The largest message that fits a frame on the link to `peer` (0: no link). */
export function largestMessageTo(peer: u32): u32 {
  const payload = maxPayloadTo(peer);
  return payload > CHANNEL_HEADER_BYTES ? payload - CHANNEL_HEADER_BYTES : 0;
}

/** Adds a port; SBI error if the parameters are unusable or the port exists. */
export function addPort(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32, isSource: bool, peer: u32): i32 {
  if (portCount == MAX_PORTS || vmById(vm) == null || kind > CHANNEL_SAMPLING) return SBI_ERR_INVALID_PARAM;
  if (maxMessageBytes == 0 || maxMessageBytes > MAX_MESSAGE_BYTES) return SBI_ERR_INVALID_PARAM;
  if (kind == CHANNEL_QUEUING && (depth == 0 || depth > MAX_CHANNEL_DEPTH)) return SBI_ERR_INVALID_PARAM;
  if (findPort(vm, port, isSource) != null || findEnd(channel, isSource) != null) return SBI_ERR_INVALID_PARAM;
  if (isSource && peer != selfId() && largestMessageTo(peer) < maxMessageBytes) return SBI_ERR_BAD_RANGE;
  newPort(channel, vm, port, kind, maxMessageBytes, depth, isSource, peer);
  return 0;
}

export function newPort(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32, isSource: bool, peer: u32): Port {
  const p = changetype<Port>(heap.alloc(offsetof<Port>()));
  memory.fill(changetype<usize>(p), 0, offsetof<Port>());
  const owner = vmById(vm);
  p.dormant = owner != null && owner.copy;
  p.channel = channel;
  p.vm = vm;
  p.port = port;
  p.kind = kind;
  p.isSource = isSource;
  p.maxMessageBytes = maxMessageBytes;
  p.depth = kind == CHANNEL_SAMPLING ? 1 : depth;
  p.peer = peer;
  const slots = slotsBytes(isSource, kind, p.depth, maxMessageBytes);
  p.slots = slots == 0 ? 0 : heap.alloc(slots);
  p.stats = heap.alloc(<usize>CHANNEL_STAT_COUNT << 3);
  memory.fill(p.stats, 0, <usize>CHANNEL_STAT_COUNT << 3);
  unchecked(ports[portCount] = changetype<usize>(p));
  portCount++;
  return p;
}

/** Removes every port of `vm` here. */
export function removePortsOf(vm: u32): void {
  let kept = 0;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm) {
      if (p.slots != 0) heap.free(p.slots);
      heap.free(p.stats);
      heap.free(changetype<usize>(p));
      continue;
    }
    unchecked(ports[kept] = changetype<usize>(p));
    kept++;
  }
  portCount = kept;
}

/** The largest message of any of `vm`'s ports (0: it has none). */
export function largestMessageOf(vm: u32): u32 {
  let largest: u32 = 0;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm && p.maxMessageBytes > largest) largest = p.maxMessageBytes;
  }
  return largest;
}

export function portCountOf(vm: u32): u32 {
  let n: u32 = 0;
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) n++;
  return n;
}

// ---- the delivery bound -----------------------------------------------------------------

function messageFrameBytes(p: Port): u64 {
  return FRAME_HEADER_BYTES + CHANNEL_HEADER_BYTES + p.maxMessageBytes;
}

/**
 * The most bytes that can be on the wire to `peer` ahead of a frame: a full window of
 * every session the link may carry (a migration's, the replications'), and every message
 * and acknowledgement the channels here may have outstanding on that link.
 */
export function backlogBytes(peer: u32): u64 {
  let bytes = sessionBacklogBytes(peer);
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.peer != peer) continue;
    bytes += p.isSource ? <u64>p.depth * messageFrameBytes(p) : FRAME_HEADER_BYTES + ACK_BYTES;
  }
  return bytes;
}

/**
 * A source's delivery bound: sent now behind the whole backlog, lost at most k times
 * (each loss costs a retransmission timeout and one board quantum until the run loop
 * notices), the last copy's trip, and up to one quantum until the board hands it over.
 * 0 for a channel on one processor (delivered at once).
 */
export function deliveryBoundNs(p: Port): u64 {
  const held = p.holdOutput ? p.holdBoundNs : 0; // output commit: it leaves once its epoch is applied
  const peer = p.peer;
  if (peer == selfId() || linkBandwidth(peer) == 0) return held;
  const quantumNs = linkGranularityNs(peer);
  return held + <u64>CHANNEL_RETRANSMISSIONS * (linkTimeoutNs(peer) + quantumNs)
    + wireNs(peer, backlogBytes(peer)) + linkLatencyNs(peer) + quantumNs;
}

// ---- sending ------------------------------------------------------------------------------

/** Frames for ports that are not here (the relays of channel-relay.ts fill this in). */
export class ChannelElsewhere {
  /** A frame for `channel` whose end is not here: relay it, or false if nobody here relays it. */
  forward: (from: u32, type: u32, channel: u32, payload: usize, bytes: u32) => bool = nobody;
}

function nobody(from: u32, type: u32, channel: u32, payload: usize, bytes: u32): bool {
  return false;
}

export const elsewhere = new ChannelElsewhere();

/** Sends a channel frame to `to`; to this processor it is taken at once. */
export function sendChannelFrame(to: u32, type: u32, channel: u32, payload: usize, bytes: u32, vm: u32): void {
  if (to == selfId()) receiveChannelFrame(to, type, channel, payload, bytes);
  else sendFrame(to, type, channel, payload, bytes, vm);
}

function sendMessage(p: Port, seq: u32, flags: u32, sentNs: u64, data: usize, bytes: u32): void {
  const payload = scratch;
  store<u32>(payload, seq);
  store<u32>(payload, flags | (p.term << MESSAGE_TERM_SHIFT), 4);
  store<u64>(payload, sentNs, 8);
  store<u64>(payload, deliveryBoundNs(p), 16);
  memory.copy(payload + CHANNEL_HEADER_BYTES, data, bytes);
  sendChannelFrame(p.peer, FRAME_CHANNEL_MESSAGE, p.channel, payload, CHANNEL_HEADER_BYTES + bytes, p.vm);
}

@inline function sourceSlot(p: Port, seq: u32): usize {
  return p.slots + <usize>(seq % p.depth) * sourceSlotBytes(p.maxMessageBytes);
}

/** A queuing source's credit: messages it may still send before the destination consumes one. */
export function credits(p: Port): u32 {
  return p.depth - (p.nextSeq - p.consumedSeq);
}

/** Messages before this sequence number may be on the wire (all but those waiting for their epoch). */
@inline function sendable(p: Port): u32 {
  return p.holdOutput ? p.releasedSeq : p.nextSeq;
}

/** channel_send from `vm`: the message is at `data` (in guest RAM, already range-checked). */
export function channelSend(vm: Vm, port: u32, data: usize, bytes: u32): i32 {
  const p = findPort(vm.id, port, true);
  if (p == null || p.departing) return SBI_ERR_INVALID_PARAM;
  if (bytes > p.maxMessageBytes) return SBI_ERR_BAD_RANGE;
  const seq = p.nextSeq;
  const sentNs = nowNs();
  if (p.kind == CHANNEL_QUEUING) {
    if (credits(p) == 0) return SBI_ERR_FAILED;
    storeInSlot(sourceSlot(p, seq), sentNs, data, bytes);
    if (sendable(p) == p.ackedSeq && !p.holdOutput) startTimer(p); // the timer was idle: nothing outstanding, credit left
  } else if (p.holdOutput) {
    storeInSlot(p.slots, sentNs, data, bytes); // only the newest sample waits for its epoch
    p.heldSample = seq + 1;
  }
  p.nextSeq = seq + 1;
  vm.framesSent++;
  count(p, CHANNEL_STAT_SENT);
  if (!p.holdOutput) sendMessage(p, seq, 0, sentNs, data, bytes);
  return 0;
}

function storeInSlot(slot: usize, sentNs: u64, data: usize, bytes: u32): void {
  store<u32>(slot, bytes);
  store<u32>(slot, 0, 4);
  store<u64>(slot, sentNs, 8);
  memory.copy(slot + SOURCE_SLOT_HEADER_BYTES, data, bytes);
}

// ---- output commit (replication.ts drives it) ------------------------------------------
// A protected VM's messages, and its acknowledgements of what it received, wait until its
// backup applied the epoch that contains them: a peer never acts on what a copy taking
// over would not send again, nor forgets what the copy has not seen.

/** From now on `vm`'s output waits for its epoch (`on`), or goes at once, and everything waiting goes now. */
export function holdOutputOf(vm: u32, on: bool): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm || p.holdOutput == on) continue;
    if (on) {
      if (p.isSource && p.kind == CHANNEL_SAMPLING && p.slots == 0) p.slots = heap.alloc(sourceSlotBytes(p.maxMessageBytes));
      p.releasedSeq = p.nextSeq;
      p.epochSeq = p.nextSeq;
      p.releasedConsumed = p.consumedSeq;
      p.epochConsumed = p.consumedSeq;
      p.holdOutput = true;
    } else {
      if (p.isSource) release(p, p.nextSeq);
      p.holdOutput = false;
      if (!p.isSource && p.kind == CHANNEL_QUEUING) sendAck(p, p.peer);
    }
  }
}

/** The longest one of `vm`'s messages may wait for its epoch: part of its channels' delivery bounds. */
export function setOutputHoldBoundNs(vm: u32, ns: u64): void {
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) portAt(i).holdBoundNs = ns;
}

/** The epoch being captured now contains everything `vm` sent and received so far. */
export function markEpoch(vm: u32): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm || !p.holdOutput) continue;
    p.epochSeq = p.nextSeq;
    p.epochConsumed = p.consumedSeq;
  }
}

/** The backup holds the epoch last marked: the output it contains goes now. */
export function commitEpoch(vm: u32): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm || !p.holdOutput) continue;
    if (p.isSource) release(p, p.epochSeq);
    else if (p.epochSeq != p.releasedSeq || p.epochConsumed != p.releasedConsumed) {
      p.releasedSeq = p.epochSeq;
      p.releasedConsumed = p.epochConsumed;
      if (p.kind == CHANNEL_QUEUING) sendAck(p, p.peer);
    }
  }
}

/** Messages (and acknowledgements) waiting for their epoch, over `vm`'s ports. */
export function heldMessagesOf(vm: u32): u32 {
  let held: u32 = 0;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm || !p.holdOutput) continue;
    if (!p.isSource) held += p.nextSeq - p.releasedSeq;
    else held += p.kind == CHANNEL_QUEUING ? p.nextSeq - p.releasedSeq : (p.heldSample != 0 ? 1 : 0);
  }
  return held;
}

// ---- a protection's copy (failover.ts) -----------------------------------------------------

/** `vm` became a held copy: its ports sleep. */
export function sleepPortsOf(vm: u32): void {
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) portAt(i).dormant = true;
}

/**
 * `vm`'s copy took over: its ports serve it. A restart (`restartTerm` != 0) numbers its
 * messages afresh under that term, and its destinations start from whatever comes first.
 */
export function wakePortsOf(vm: u32, restartTerm: u32): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    p.dormant = false;
    p.timerCycles = now();
    if (restartTerm == 0) continue;
    if (p.isSource) p.term = restartTerm & MESSAGE_FLAG_BITS;
    else p.resync = true;
  }
}

function release(p: Port, upTo: u32): void {
  if (p.kind == CHANNEL_QUEUING) {
    if (p.releasedSeq == p.ackedSeq && upTo != p.releasedSeq) startTimer(p);
    for (let seq = p.releasedSeq; seq != upTo; seq++) {
      const slot = sourceSlot(p, seq);
      sendMessage(p, seq, 0, load<u64>(slot, 8), slot + SOURCE_SLOT_HEADER_BYTES, load<u32>(slot));
    }
  } else if (p.heldSample != 0 && <i32>(p.heldSample - 1 - upTo) < 0) { // the sample was sent before upTo: it may go
    sendMessage(p, p.heldSample - 1, 0, load<u64>(p.slots, 8), p.slots + SOURCE_SLOT_HEADER_BYTES, load<u32>(p.slots));
    p.heldSample = 0;
  }
  p.releasedSeq = upTo;
}

function startTimer(p: Port): void {
  p.timerCycles = now();
}

/** The first message to resend: the first the destination has not taken (never before the first unacknowledged). */
function resendFrom(p: Port): u32 {
  const end = sendable(p);
  return p.receivedSeq - p.ackedSeq <= end - p.ackedSeq ? p.receivedSeq : p.ackedSeq;
}

/** A source's messages go another way now (its destination moved, or took over elsewhere): resend all it has not had acknowledged, at once. */
export function rerouted(p: Port): void {
  p.receivedSeq = p.ackedSeq;
  p.timerCycles = 0;
}

/** Resends every message of a queuing source the destination has not taken, in order. */
function resendWindow(p: Port): void {
  for (let seq = resendFrom(p); seq != sendable(p); seq++) {
    const slot = sourceSlot(p, seq);
    const sentNs = load<u64>(slot, 8);
    const flags = load<u32>(slot, 4) | (p.arrivedNs != 0 && sentNs < p.arrivedNs ? MESSAGE_FROM_BEFORE_A_MOVE : 0);
    sendMessage(p, seq, flags, sentNs, slot + SOURCE_SLOT_HEADER_BYTES, load<u32>(slot));
    count(p, CHANNEL_STAT_RETRANSMISSIONS);
  }
}

/** Retransmission timers: the run loop calls this at every quantum and slot boundary. */
export function serviceChannels(): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.isSource && p.kind == CHANNEL_QUEUING && !p.departing && !p.dormant && p.peer != selfId()) serviceSource(p);
  }
}

function serviceSource(p: Port): void {
  const outstanding = sendable(p) != resendFrom(p);
  const waiting = sendable(p) != p.ackedSeq; // taken but held for the destination's epoch: only its answer is missing
  if (!outstanding && !waiting && credits(p) != 0) return; // nothing to resend, no credit missing
  if (now() - p.timerCycles < nsToCycles(linkTimeoutNs(p.peer))) return;
  p.timeouts++;
  if (p.timeouts == CHANNEL_GIVE_UP_TIMEOUTS && !p.linkDead) {
    p.linkDead = true;
    count(p, CHANNEL_STAT_LINK_DEAD_EVENTS);
    report(EVENT_CHANNEL_LINK_DEAD, p.channel, p.vm, p.peer, 0);
  }
  if (outstanding) resendWindow(p);
  else {
    count(p, CHANNEL_STAT_PROBES);
    sendChannelFrame(p.peer, FRAME_CHANNEL_PROBE, p.channel, scratch, 0, p.vm);
  }
  p.timerCycles = now();
}

// ---- receiving ----------------------------------------------------------------------------

@inline function destinationSlot(p: Port, index: u32): usize {
  return p.slots + <usize>(index % p.depth) * destinationSlotBytes(p.maxMessageBytes);
}

/**
 * channel_receive into `buffer` (guest RAM, `capacity` bytes, range-checked). Returns the
 * message length, or an SBI error (as a negative value).
 */
export function channelReceive(vm: Vm, port: u32, buffer: usize, capacity: u32): i64 {
  const p = findPort(vm.id, port, false);
  if (p == null || p.departing) return SBI_ERR_INVALID_PARAM;
  if (p.count == 0) return SBI_ERR_FAILED;
  const slot = p.kind == CHANNEL_SAMPLING ? p.slots : destinationSlot(p, p.head);
  const bytes = load<u32>(slot);
  if (bytes > capacity) return SBI_ERR_BAD_RANGE;
  memory.copy(buffer, slot + 4, bytes);
  count(p, CHANNEL_STAT_CONSUMED);
  if (p.kind == CHANNEL_QUEUING) {
    p.head = (p.head + 1) % p.depth;
    p.count--;
    p.consumedSeq++;
    sendAck(p, p.peer); // the credit goes back
  }
  return bytes;
}

function sendAck(p: Port, to: u32): void {
  const payload = scratch;
  store<u32>(payload, p.holdOutput ? p.releasedSeq : p.nextSeq);
  store<u32>(payload, p.holdOutput ? p.releasedConsumed : p.consumedSeq, 4);
  store<u32>(payload, p.nextSeq, 8);
  sendChannelFrame(to, FRAME_CHANNEL_ACK, p.channel, payload, ACK_BYTES, p.vm);
}

/** A channel message, acknowledgement or probe from `from` (this processor, for a local send). */
export function receiveChannelFrame(from: u32, type: u32, channel: u32, payload: usize, bytes: u32): void {
  // Messages and probes go from the source to the destination, acknowledgements back.
  takeForEnd(from, type, channel, payload, bytes, type == FRAME_CHANNEL_ACK);
}

/** Hands a frame to the end it is for (`forSource`), or to a relay if that end is not here. */
function takeForEnd(from: u32, type: u32, channel: u32, payload: usize, bytes: u32, forSource: bool): void {
  const end = findEnd(channel, forSource);
  if (end == null) {
    if (!elsewhere.forward(from, type, channel, payload, bytes)) dropFrame(from, DROP_NO_PORT);
  } else if (end.departing) {
    dropFrame(from, DROP_DEPARTING); // its state is in a stream now; the sender resends where it goes
  } else if (type == FRAME_CHANNEL_MESSAGE) {
    takeMessage(end, from, payload, bytes);
  } else if (type == FRAME_CHANNEL_ACK) {
    if (bytes == ACK_BYTES) takeAck(end, load<u32>(payload), load<u32>(payload, 4), load<u32>(payload, 8));
    else dropFrame(from, DROP_MALFORMED);
  } else {
    sendAck(end, from); // a probe: the current acknowledgement, to whoever asked
  }
}

function takeMessage(p: Port, from: u32, payload: usize, bytes: u32): void {
  if (bytes < CHANNEL_HEADER_BYTES || bytes - CHANNEL_HEADER_BYTES > p.maxMessageBytes) { dropFrame(from, DROP_MALFORMED); return; }
  const seq = load<u32>(payload);
  const term = load<u32>(payload, 4) >> MESSAGE_TERM_SHIFT;
  if (p.resync || term > p.term) restartFrom(p, seq, term); // a restarted source: its numbering starts here
  const ahead = <i32>(seq - p.nextSeq);
  if (p.kind == CHANNEL_SAMPLING) {
    if (ahead < 0) { count(p, CHANNEL_STAT_STALE_SAMPLES); dropFrame(from, DROP_DUPLICATE); return; }
    p.head = 0;
    p.count = 1;
    deliver(p, from, payload, bytes, p.slots);
    return;
  }
  if (ahead < 0) { // already delivered: its acknowledgement was lost
    count(p, CHANNEL_STAT_DUPLICATES);
    dropFrame(from, DROP_DUPLICATE);
    sendAck(p, from);
    return;
  }
  if (ahead > 0 || p.count == p.depth) { // an earlier one is missing (or a sender ignoring its credit)
    count(p, CHANNEL_STAT_OUT_OF_ORDER);
    dropFrame(from, DROP_OUT_OF_ORDER);
    sendAck(p, from);
    return;
  }
  p.count++;
  deliver(p, from, payload, bytes, destinationSlot(p, p.head + p.count - 1));
  sendAck(p, p.peer);
}

/** The source (or this end) restarted: take its numbering from sequence `seq` on, keeping what is queued. */
function restartFrom(p: Port, seq: u32, term: u32): void {
  p.resync = false;
  p.term = term;
  p.nextSeq = seq;
  p.consumedSeq = seq - p.count;
  p.releasedSeq = seq;
  p.releasedConsumed = p.consumedSeq;
  p.epochSeq = seq;
  p.epochConsumed = p.consumedSeq;
}

/** Puts an in-order message into `slot`, measures its delivery, and learns the way back. */
function deliver(p: Port, from: u32, payload: usize, bytes: u32, slot: usize): void {
  const length = bytes - CHANNEL_HEADER_BYTES;
  store<u32>(slot, length);
  memory.copy(slot + 4, payload + CHANNEL_HEADER_BYTES, length);
  p.nextSeq = load<u32>(payload) + 1;
  p.peer = from;
  count(p, CHANNEL_STAT_DELIVERED);
  const vm = vmById(p.vm);
  if (vm != null) vm.framesReceived++;
  measureDelivery(p, load<u32>(payload, 4) & MESSAGE_FLAG_BITS, load<u64>(payload, 8), load<u64>(payload, 16));
}

function measureDelivery(p: Port, flags: u32, sentNs: u64, boundNs: u64): void {
  const tookNs = nowNs() - sentNs;
  if (flags != 0 || sentNs < p.arrivedNs) { // it crossed a move: a migration's bound covers the extra time
    count(p, CHANNEL_STAT_MOVED_DELIVERIES);
    atLeast(p, CHANNEL_STAT_WORST_MOVED_DELIVERY_NS, tookNs);
    return;
  }
  count(p, CHANNEL_STAT_TOTAL_DELIVERY_NS, tookNs);
  atLeast(p, CHANNEL_STAT_WORST_DELIVERY_NS, tookNs);
  store<u64>(p.stats + (<usize>CHANNEL_STAT_BOUND_NS << 3), boundNs);
  if (tookNs > boundNs) count(p, CHANNEL_STAT_LATE_DELIVERIES);
}

/**
 * A queuing source hears how far its destination got: delivered up to `expected`,
 * consumed up to `consumed`, taken (held for its epoch, not acknowledged yet) up to `received`.
 */
function takeAck(p: Port, expected: u32, consumed: u32, received: u32): void {
  if (p.kind != CHANNEL_QUEUING) return;
  // Only what this copy put on the wire can be acknowledged: a destination that counts
  // messages it never released heard them from another copy of the VM (one that ran on
  // while this one was stopped), and taking that word would put the resend window past
  // its end.
  const end = sendable(p);
  const sent = end - p.consumedSeq;
  if (expected - p.consumedSeq > sent || consumed - p.consumedSeq > expected - p.consumedSeq) return; // stale or bogus
  // The newest word on what it took, also backwards: a destination that took over from an
  // epoch has taken less than before, and the source resends from there.
  if (received - expected <= end - expected) {
    if (received != p.receivedSeq) p.timerCycles = now();
    p.receivedSeq = received;
  }
  const progress = expected - p.ackedSeq <= end - p.ackedSeq && expected != p.ackedSeq;
  if (progress) {
    count(p, CHANNEL_STAT_ACKNOWLEDGED, <u64>(expected - p.ackedSeq));
    p.ackedSeq = expected;
  }
  if (consumed != p.consumedSeq) {
    p.consumedSeq = consumed;
    if (!progress) p.timerCycles = now(); // a credit came back: the probe timer starts again
  }
  if (progress) p.timerCycles = now();
  p.timeouts = 0;
  if (p.linkDead) {
    p.linkDead = false;
    report(EVENT_CHANNEL_LINK_RECOVERED, p.channel, p.vm, p.peer, 0);
  }
}

