// Channels: ports between VMs on the same or on other processors (ARINC 653 style).
// A queuing channel delivers every message in order into a queue of `depth` messages at
// the destination; the source holds one credit per free slot there, so a send either
// has a place waiting for it or fails with "full" — nothing is dropped for lack of room.
// A sampling channel keeps only the latest message. Messages between processors travel
// in frames (communication.ts); a receive hands the credit back the same way.
import {
  acceptFrame, dropUnrouted, FRAME_CHANNEL_CREDIT, FRAME_CHANNEL_MESSAGE, FRAME_HEADER_BYTES,
  frameChannel, maxPayloadTo, selfId, sendFrame,
} from "./communication";
import { SBI_ERR_BAD_RANGE, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM } from "./config";
import { receiveMigrationFrame } from "./migration";
import { FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE } from "./transport";
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
  /** Source: the destination's processor. Destination: where the last message came from. */
  peer: u32;
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
    if (p.vm == vm && p.port == port && p.isSource == isSource) return p;
  }
  return null;
}

function findDestination(channel: u32): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && !p.isSource) return p;
  }
  return null;
}

function findSource(channel: u32): Port | null {
  for (let i = 0; i < portCount; i++) {
    const p = portAt(i);
    if (p.channel == channel && p.isSource) return p;
  }
  return null;
}

/** Does `vm` own any channel port? (Their state has no stream record yet.) */
export function vmHasPorts(vm: u32): bool {
  for (let i = 0; i < portCount; i++) if (portAt(i).vm == vm) return true;
  return false;
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
    store<u32>(at, p.peer, 24);
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
  if (p.kind == KIND_QUEUING) {
    if (p.credits == 0) return SBI_ERR_FAILED;
    p.credits--;
  }
  vm.framesSent++;
  if (p.peer == selfId()) {
    const destination = findDestination(p.channel);
    if (destination != null) deliver(destination, data, bytes, p.peer);
  } else {
    sendFrame(p.peer, FRAME_CHANNEL_MESSAGE, p.channel, data, bytes, vm.id);
  }
  return 0;
}

/** A queuing destination gives its sender back the credit of a slot it freed. */
function returnCredit(p: Port): void {
  if (p.peer == selfId()) {
    const source = findSource(p.channel);
    if (source != null) source.credits++;
  } else {
    sendFrame(p.peer, FRAME_CHANNEL_CREDIT, p.channel, 0, 0, p.vm);
  }
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

/** A frame from the board's link: a message for a destination port, or a credit for a source. */
export function receiveFrame(peer: u32, ptr: usize, len: u32): void {
  const type = acceptFrame(peer, ptr, len);
  if (type == 0) return;
  const channel = frameChannel(ptr);
  if (type == FRAME_MIGRATION_MESSAGE || type == FRAME_MIGRATION_ACK) {
    receiveMigrationFrame(peer, type, channel, ptr + FRAME_HEADER_BYTES, len - FRAME_HEADER_BYTES);
  } else if (type == FRAME_CHANNEL_MESSAGE) {
    const destination = findDestination(channel);
    if (destination == null || !deliver(destination, ptr + FRAME_HEADER_BYTES, len - FRAME_HEADER_BYTES, peer)) dropUnrouted(peer);
  } else if (type == FRAME_CHANNEL_CREDIT) {
    const source = findSource(channel);
    if (source == null || source.kind != KIND_QUEUING || source.credits == source.depth) dropUnrouted(peer);
    else source.credits++;
  } else {
    dropUnrouted(peer);
  }
}
