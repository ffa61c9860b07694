// Channels: ports between VMs on the same or on other processors (ARINC 653 style).
// A queuing channel delivers every message in order into a queue of `depth` messages at
// the destination; the source holds one credit per free slot there, so a send either
// has a place waiting for it or fails with "full" — nothing is dropped for lack of room.
// A sampling channel keeps only the latest message. Messages between processors travel
// in frames (communication.ts); a receive hands the credit back the same way.
//
// A VM's ports move with it when it migrates (docs/migration.md, "Channels"): the old
// processor holds what arrives for them during the blackout, hands it on after the
// commit, and relays whatever still comes its way; it tells the senders where the
// destination went, and a source switches to the new route once none of its messages is
// still on the old one (all its credits are back), so nothing is lost or reordered.
import {
  acceptFrame, dropUnrouted, FRAME_CHANNEL_CREDIT, FRAME_CHANNEL_MESSAGE, FRAME_HEADER_BYTES,
  frameChannel, maxPayloadTo, selfId, sendFrame,
} from "./communication";
import { SBI_ERR_BAD_RANGE, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM } from "./config";
import { receiveMigrationFrame } from "./migration";
import { FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE } from "./transport";
import { NO_VM } from "./trace";
import { Vm, vmById } from "./vm";

export const KIND_QUEUING: u32 = 0;
export const KIND_SAMPLING: u32 = 1;
const MAX_PORTS: i32 = 64;
const MAX_MESSAGE_BYTES: u32 = 4096;
const MAX_DEPTH: u32 = 64;

/** One end of a channel on this processor. Destination queues hold u32 length + maxMessageBytes per slot. */
@unmanaged class Port {
  channel: u32;
  vm: u32;
  port: u32;
  kind: u32;
  isSource: bool;
  maxMessageBytes: u32;
  depth: u32;
  /**
   * Where frames go. Source: the processor its messages are sent to (the destination's,
   * or the one that relays to it). Destination: where the last message came from (its
   * credits go back that way).
   */
  peer: u32;
  /** Source: the destination's processor; `peer` becomes it once no message is outstanding. */
  target: u32;
  /** Its VM is migrating and this port's state has been captured: what arrives for it is held. */
  departing: bool;
  /** Source of a queuing channel: free slots at the destination. */
  credits: u32;
  slots: usize;
  head: u32;
  count: u32;
}

const ports = new StaticArray<usize>(MAX_PORTS);
let portCount: i32 = 0;

function portAt(i: i32): Port {
  return changetype<Port>(unchecked(ports[i]));
}

function findPort(vm: u32, port: u32, isSource: bool): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm && p.port == port && p.isSource == isSource && !p.departing) return p;
  }
  return null;
}

function findDestination(channel: u32): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && !p.isSource && !p.departing) return p;
  }
  return null;
}

function findSource(channel: u32): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && p.isSource && !p.departing) return p;
  }
  return null;
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

/** Adds a port; SBI error if the parameters are unusable or the port exists. */
export function addPort(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32, isSource: bool, peer: u32): i32 {
  if (portCount == MAX_PORTS || vmById(vm) == null || kind > KIND_SAMPLING) return SBI_ERR_INVALID_PARAM;
  if (maxMessageBytes == 0 || maxMessageBytes > MAX_MESSAGE_BYTES) return SBI_ERR_INVALID_PARAM;
  if (kind == KIND_QUEUING && (depth == 0 || depth > MAX_DEPTH)) return SBI_ERR_INVALID_PARAM;
  if (findPort(vm, port, isSource) != null) return SBI_ERR_INVALID_PARAM;
  if (isSource && peer != selfId() && maxPayloadTo(peer) < maxMessageBytes) return SBI_ERR_BAD_RANGE;
  newPort(channel, vm, port, kind, maxMessageBytes, depth, isSource, peer);
  return 0;
}

function newPort(channel: u32, vm: u32, port: u32, kind: u32, maxMessageBytes: u32, depth: u32, isSource: bool, peer: u32): Port {
  const p = changetype<Port>(heap.alloc(offsetof<Port>()));
  p.channel = channel;
  p.vm = vm;
  p.port = port;
  p.kind = kind;
  p.isSource = isSource;
  p.maxMessageBytes = maxMessageBytes;
  p.depth = kind == KIND_SAMPLING ? 1 : depth;
  p.peer = peer;
  p.target = peer;
  p.departing = false;
  p.credits = p.depth;
  p.head = 0;
  p.count = 0;
  p.slots = isSource ? 0 : heap.alloc(<usize>p.depth * (4 + <usize>maxMessageBytes));
  unchecked(ports[portCount] = changetype<usize>(p));
  portCount++;
  return p;
}

// ---- The CHANNELS state record (docs/stream-format.md): a VM's ports and their state. ----

const PORT_RECORD_BYTES: u32 = 40;
const PORT_FLAG_SOURCE: u32 = 1;
/** checkChannels: the record is legal; the length is wrong. (A value >= 0 is the offset of a bad field.) */
export const CHANNELS_OK: i64 = -1;
export const CHANNELS_BAD_LENGTH: i64 = -2;

function slotBytes(isSource: bool, depth: u32, maxMessageBytes: u32): u32 {
  return isSource ? 0 : depth * (4 + maxMessageBytes);
}

export function channelsRecordBytes(vm: u32): u32 {
  let bytes: u32 = 8;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm) bytes += PORT_RECORD_BYTES + slotBytes(p.isSource, p.depth, p.maxMessageBytes);
  }
  return bytes;
}

export function saveChannels(vm: u32, body: usize): void {
  let count: u32 = 0;
  let at = body + 8;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    store<u32>(at, p.channel);
    store<u32>(at, p.port, 4);
    store<u32>(at, p.kind, 8);
    store<u32>(at, p.isSource ? PORT_FLAG_SOURCE : 0, 12);
    store<u32>(at, p.maxMessageBytes, 16);
    store<u32>(at, p.depth, 20);
    store<u32>(at, p.isSource ? p.target : p.peer, 24);
    store<u32>(at, p.isSource && p.kind == KIND_QUEUING ? p.credits : 0, 28);
    store<u32>(at, p.isSource ? 0 : p.head, 32);
    store<u32>(at, p.isSource ? 0 : p.count, 36);
    const slots = slotBytes(p.isSource, p.depth, p.maxMessageBytes);
    if (slots != 0) memory.copy(at + PORT_RECORD_BYTES, p.slots, slots);
    at += PORT_RECORD_BYTES + slots;
    count++;
  }
  store<u32>(body, count);
  store<u32>(body, 0, 4);
}

/** CHANNELS_OK, CHANNELS_BAD_LENGTH, or the offset of the first field whose value is not legal. */
export function checkChannels(body: usize, length: u32): i64 {
  if (length < 8) return CHANNELS_BAD_LENGTH;
  const count = load<u32>(body);
  if (count > <u32>MAX_PORTS) return 0;
  if (load<u32>(body, 4) != 0) return 4;
  let offset: u32 = 8;
  for (let i: u32 = 0; i < count; i++) {
    if (length - offset < PORT_RECORD_BYTES) return CHANNELS_BAD_LENGTH;
    const at = body + offset;
    const kind = load<u32>(at, 8), flags = load<u32>(at, 12), max = load<u32>(at, 16), depth = load<u32>(at, 20);
    const isSource = (flags & PORT_FLAG_SOURCE) != 0;
    if (kind > KIND_SAMPLING) return offset + 8;
    if (flags > PORT_FLAG_SOURCE) return offset + 12;
    if (max == 0 || max > MAX_MESSAGE_BYTES) return offset + 16;
    if (depth == 0 || depth > MAX_DEPTH || (kind == KIND_SAMPLING && depth != 1)) return offset + 20;
    if (load<u32>(at, 28) > depth) return offset + 28;
    if (load<u32>(at, 32) >= depth) return offset + 32;
    if (load<u32>(at, 36) > depth) return offset + 36;
    const slots = slotBytes(isSource, depth, max);
    if (length - offset - PORT_RECORD_BYTES < slots) return CHANNELS_BAD_LENGTH;
    const slotCount: u32 = isSource ? 0 : depth;
    for (let slot: u32 = 0; slot < slotCount; slot++) {
      const slotOffset = offset + PORT_RECORD_BYTES + slot * (4 + max);
      if (load<u32>(body + slotOffset) > max) return slotOffset;
    }
    offset += PORT_RECORD_BYTES + slots;
  }
  return offset == length ? CHANNELS_OK : CHANNELS_BAD_LENGTH;
}

/** Replaces `vm`'s ports on this processor with those of a checked CHANNELS record. */
export function applyChannels(vm: u32, body: usize): void {
  removePortsOf(vm);
  const count = load<u32>(body);
  let at = body + 8;
  for (let i: u32 = 0; i < count; i++) {
    const isSource = (load<u32>(at, 12) & PORT_FLAG_SOURCE) != 0;
    const max = load<u32>(at, 16), depth = load<u32>(at, 20);
    const p = newPort(load<u32>(at), vm, load<u32>(at, 4), load<u32>(at, 8), max, depth, isSource, load<u32>(at, 24));
    if (isSource) {
      if (p.kind == KIND_QUEUING) p.credits = load<u32>(at, 28);
    } else {
      p.head = load<u32>(at, 32);
      p.count = load<u32>(at, 36);
      memory.copy(p.slots, at + PORT_RECORD_BYTES, slotBytes(false, depth, max));
    }
    at += PORT_RECORD_BYTES + slotBytes(isSource, depth, max);
  }
}

function removePortsOf(vm: u32): void {
  let kept = 0;
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm == vm) {
      if (p.slots != 0) heap.free(p.slots);
      heap.free(changetype<usize>(p));
      continue;
    }
    unchecked(ports[kept] = changetype<usize>(p));
    kept++;
  }
  portCount = kept;
}

function slotAt(p: Port, index: u32): usize {
  return p.slots + <usize>(index % p.depth) * (4 + <usize>p.maxMessageBytes);
}

/** Puts a message into a destination port: the queue tail, or the one sampling slot. */
function deliver(p: Port, data: usize, bytes: u32, from: u32): bool {
  if (bytes > p.maxMessageBytes) return false;
  p.peer = from;
  if (p.kind == KIND_SAMPLING) {
    p.head = 0;
    p.count = 1;
  } else if (p.count == p.depth) {
    return false; // cannot happen while credits are honoured: the sender owned a slot
  } else {
    p.count++;
  }
  const slot = p.kind == KIND_SAMPLING ? p.slots : slotAt(p, p.head + p.count - 1);
  store<u32>(slot, bytes);
  memory.copy(slot + 4, data, bytes);
  const vm = vmById(p.vm);
  if (vm != null) vm.framesReceived++;
  return true;
}

/** channel_send from `vm`: the message is at `data` (in guest RAM, already range-checked). */
export function channelSend(vm: Vm, port: u32, data: usize, bytes: u32): i32 {
  const p = findPort(vm.id, port, true);
  if (p == null) return SBI_ERR_INVALID_PARAM;
  if (bytes > p.maxMessageBytes) return SBI_ERR_BAD_RANGE;
  takeNewRoute(p);
  if (p.kind == KIND_QUEUING) {
    if (p.credits == 0) return SBI_ERR_FAILED;
    p.credits--;
  }
  vm.framesSent++;
  if (p.peer == selfId()) route(FRAME_CHANNEL_MESSAGE, p.channel, data, bytes, p.peer);
  else sendFrame(p.peer, FRAME_CHANNEL_MESSAGE, p.channel, data, bytes, vm.id);
  return 0;
}

/**
 * A source whose destination moved sends the new way once none of its messages is still
 * on the old one — all credits back (a sampling source: at once) — so that no message
 * overtakes an earlier one; and only where a link carries its messages.
 */
function takeNewRoute(p: Port): void {
  if (p.target == p.peer) return;
  if (p.kind == KIND_QUEUING && p.credits != p.depth) return;
  if (p.target != selfId() && maxPayloadTo(p.target) < p.maxMessageBytes) return;
  p.peer = p.target;
}

/** A queuing destination gives its sender back the credit of a slot it freed. */
function returnCredit(p: Port): void {
  if (p.peer == selfId()) route(FRAME_CHANNEL_CREDIT, p.channel, 0, 0, p.peer);
  else sendFrame(p.peer, FRAME_CHANNEL_CREDIT, p.channel, 0, 0, p.vm);
}

/**
 * channel_receive into `buffer` (guest RAM, `capacity` bytes, range-checked). Returns the
 * message length, or an SBI error (as a negative value).
 */
export function channelReceive(vm: Vm, port: u32, buffer: usize, capacity: u32): i64 {
  const p = findPort(vm.id, port, false);
  if (p == null) return SBI_ERR_INVALID_PARAM;
  if (p.count == 0) return SBI_ERR_FAILED;
  const slot = p.kind == KIND_SAMPLING ? p.slots : slotAt(p, p.head);
  const bytes = load<u32>(slot);
  if (bytes > capacity) return SBI_ERR_BAD_RANGE;
  memory.copy(buffer, slot + 4, bytes);
  if (p.kind == KIND_QUEUING) {
    p.head = (p.head + 1) % p.depth;
    p.count--;
    returnCredit(p);
  }
  return bytes;
}

/** A frame from the board's link: a message for a destination port, a credit for a source, or news of a move. */
export function receiveFrame(peer: u32, ptr: usize, len: u32): void {
  const type = acceptFrame(peer, ptr, len);
  if (type == 0) return;
  const channel = frameChannel(ptr);
  const payload = ptr + FRAME_HEADER_BYTES;
  const payloadBytes = len - FRAME_HEADER_BYTES;
  if (type == FRAME_MIGRATION_MESSAGE || type == FRAME_MIGRATION_ACK) {
    receiveMigrationFrame(peer, type, channel, payload, payloadBytes);
  } else if (type == FRAME_CHANNEL_MESSAGE || type == FRAME_CHANNEL_CREDIT) {
    if (!route(type, channel, payload, payloadBytes, peer)) dropUnrouted(peer);
  } else if (type == FRAME_CHANNEL_MOVED && payloadBytes == 4) {
    destinationMoved(channel, load<u32>(payload));
  } else {
    dropUnrouted(peer);
  }
}

/**
 * Where a message or credit for `channel` goes on this processor: to its port here; held,
 * if that port's VM is migrating; relayed, if the port has moved on; false if nowhere.
 * `from` is the processor it came from (this one, for a local send).
 */
function route(type: u32, channel: u32, data: usize, bytes: u32, from: u32): bool {
  if (type == FRAME_CHANNEL_MESSAGE) {
    const destination = findDestination(channel);
    if (destination != null) return deliver(destination, data, bytes, from);
  } else {
    const source = findSource(channel);
    if (source != null) {
      if (source.kind != KIND_QUEUING || source.credits == source.depth) return false;
      source.credits++;
      return true;
    }
  }
  if (isDeparting(channel, type == FRAME_CHANNEL_CREDIT)) { hold(type, channel, data, bytes, from); return true; }
  return relay(type, channel, data, bytes, from);
}

// ---- Moving a VM's ports with it (docs/migration.md, "Channels") ----

const FRAME_CHANNEL_MOVED: u32 = 3;

/** A channel end that left this processor: where its messages and its credits go now. */
@unmanaged class Relay {
  channel: u32;
  /** Where messages go: the destination's processor (or the next relay). */
  destinationAt: u32;
  /** Where credits go: the source's processor, as the last relayed message showed. */
  sourceAt: u32;
  /** The destination end moved: senders are told where it went. */
  destinationLeft: bool;
}

const relays = new StaticArray<usize>(MAX_PORTS);
let relayCount: i32 = 0;

function relayFor(channel: u32): Relay | null {
  for (let i = 0; i < relayCount; i++) {
    const r = changetype<Relay>(unchecked(relays[i]));
    if (r.channel == channel) return r;
  }
  return null;
}

function relay(type: u32, channel: u32, data: usize, bytes: u32, from: u32): bool {
  const r = relayFor(channel);
  if (r == null) return false;
  if (type == FRAME_CHANNEL_MESSAGE) {
    r.sourceAt = from;
    if (r.destinationAt == selfId()) return false; // nowhere to go: this processor no longer has it
    sendFrame(r.destinationAt, type, channel, data, bytes, NO_VM);
    if (r.destinationLeft && from != selfId()) tellMoved(from, channel, r.destinationAt);
  } else {
    if (r.sourceAt == selfId()) return false;
    sendFrame(r.sourceAt, type, channel, 0, 0, NO_VM);
  }
  return true;
}

function tellMoved(to: u32, channel: u32, where: u32): void {
  store<u32>(movedPayload, where);
  sendFrame(to, FRAME_CHANNEL_MOVED, channel, movedPayload, 4, NO_VM);
}

const movedPayload = heap.alloc(4);

/** News that `channel`'s destination is now on `where`: a source here takes that route when it may; a relay passes it on. */
function destinationMoved(channel: u32, where: u32): void {
  const source = findSource(channel);
  if (source != null) source.target = where;
  const r = relayFor(channel);
  if (r != null && r.destinationLeft) r.destinationAt = where;
}

function setRelay(channel: u32, destinationAt: u32, sourceAt: u32, destinationLeft: bool): void {
  let r = relayFor(channel);
  if (r == null) {
    if (relayCount == MAX_PORTS) return;
    r = changetype<Relay>(heap.alloc(offsetof<Relay>()));
    unchecked(relays[relayCount] = changetype<usize>(r));
    relayCount++;
  }
  r.channel = channel;
  r.destinationAt = destinationAt;
  r.sourceAt = sourceAt;
  r.destinationLeft = destinationLeft;
}

function dropRelay(channel: u32): void {
  for (let i = 0; i < relayCount; i++) {
    if (changetype<Relay>(unchecked(relays[i])).channel != channel) continue;
    heap.free(unchecked(relays[i]));
    relayCount--;
    unchecked(relays[i] = unchecked(relays[relayCount]));
    return;
  }
}

// Frames for departing ports, in arrival order: u32 type, channel, from, bytes, then the bytes (padded to 4).
let held: usize = 0;
let heldCapacity: usize = 0;
let heldBytes: usize = 0;

function isDeparting(channel: u32, isSource: bool): bool {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && p.isSource == isSource && p.departing) return true;
  }
  return false;
}

function hold(type: u32, channel: u32, data: usize, bytes: u32, from: u32): void {
  const needed = heldBytes + 16 + ((<usize>bytes + 3) & ~3);
  if (needed > heldCapacity) {
    const capacity = needed < 4096 ? <usize>4096 : needed * 2;
    held = held == 0 ? heap.alloc(capacity) : heap.realloc(held, capacity);
    heldCapacity = capacity;
  }
  const at = held + heldBytes;
  store<u32>(at, type);
  store<u32>(at, channel, 4);
  store<u32>(at, from, 8);
  store<u32>(at, bytes, 12);
  memory.copy(at + 16, data, bytes);
  heldBytes = needed;
}

/** Hands every held frame to route() again, in order (the ports are here or gone by now). */
function releaseHeld(): void {
  const end = heldBytes;
  heldBytes = 0;
  for (let at: usize = 0; at < end;) {
    const frame = held + at;
    const bytes = load<u32>(frame, 12);
    route(load<u32>(frame), load<u32>(frame, 4), frame + 16, bytes, load<u32>(frame, 8));
    at += 16 + ((<usize>bytes + 3) & ~3);
  }
}

/**
 * `vm` is migrating and the stream now carries its ports' state: from here on, what
 * arrives for them waits (the record must stay the truth) until the migration ends.
 */
export function portsDepart(vm: u32): void {
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) portAt(i).departing = true;
}

/** The migration failed or was given up: `vm` runs here again, and gets what was held. */
export function portsStay(vm: u32): void {
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) portAt(i).departing = false;
  releaseHeld();
}

/**
 * `vm` now runs on processor `to`: its ports here go, each channel they served gets a
 * relay to `to`, sources here whose destination left learn where it went, and what was
 * held follows the relays.
 */
export function portsLeft(vm: u32, to: u32): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    if (p.isSource) setRelay(p.channel, p.target, to, false);
    else setRelay(p.channel, to, p.peer, true);
  }
  removePortsOf(vm);
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    const r = relayFor(p.channel);
    if (p.isSource && r != null && r.destinationLeft) p.target = r.destinationAt;
  }
  releaseHeld();
}

/**
 * `vm` arrived from processor `from` with its ports (the CHANNELS record): until their
 * other ends learn of the move everything goes through `from`, which relays it.
 */
export function portsArrived(vm: u32, from: u32): void {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    dropRelay(p.channel); // back here: its own port serves it again
    p.peer = from;
  }
}

/** Would the ports of a CHANNELS record with `count` ports fit beside those already here (replacing `vm`'s)? */
export function channelsFit(vm: u32, count: u32): bool {
  let others: u32 = 0;
  for (let i = 0; i < portCount; i++) if (portAt(i).vm != vm) others++;
  return others + count <= <u32>MAX_PORTS;
}
