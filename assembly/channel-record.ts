// The CHANNELS state record (docs/stream-format.md, version 2): a VM's channel ports and
// everything channel.ts needs to go on with them elsewhere — sequence numbers, the
// source's unacknowledged messages, the destination's queue, the counters. A port is
// 240 bytes, then its slots:
//   0 u32 channel    4 u32 port      8 u32 kind      12 u32 flags (bit 0: source,
//                                                     bit 1: a restarted destination waiting for its first message)
//  16 u32 maxMessageBytes           20 u32 depth    24 u32 peer
//  28 u32 nextSeq   32 u32 ackedSeq (source; 0 for a destination)
//  36 u32 consumedSeq               40 u32 head (destination)   44 u32 count (destination)
//  48 23 u64 counters: ChannelStat's, in key order, the rest 0
// 232 u32 restart term (source: the one its messages carry; destination: the newest seen)
// 236 u32 0
// then a queuing source's depth slots (u32 length, u32 flags, u64 send ns, message), or a
// destination's depth slots (u32 length, message).
import { CHANNEL_QUEUING, CHANNEL_SAMPLING, CHANNEL_STAT_COUNT, MAX_CHANNEL_DEPTH, MAX_MESSAGE_BYTES, MAX_PORTS } from "./config";
import {
  destinationSlotBytes, newPort, portAt, portsHere, removePortsOf, slotsBytes, sourceSlotBytes,
} from "./channel";

const PORT_RECORD_BYTES: u32 = 240;
const STATS_OFFSET: u32 = 48;
/** Counters the record has room for; ChannelStat may grow up to this without a new record version. */
const RECORD_STATS: u32 = 23;
const TERM_OFFSET: u32 = 232;
// @ts-ignore: a compile-time check
if (CHANNEL_STAT_COUNT > RECORD_STATS) ERROR("ChannelStat outgrew the CHANNELS record: version the record");
const PORT_FLAG_SOURCE: u32 = 1;
const PORT_FLAG_RESYNC: u32 = 2;
/** checkChannels: the record is legal; the length is wrong. (A value >= 0 is the offset of a bad field.) */
export const CHANNELS_OK: i64 = -1;
export const CHANNELS_BAD_LENGTH: i64 = -2;

export function channelsRecordBytes(vm: u32): u32 {
  let bytes: u32 = 8;
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm == vm) bytes += PORT_RECORD_BYTES + slotsBytes(p.isSource, p.kind, p.depth, p.maxMessageBytes);
  }
  return bytes;
}

export function saveChannels(vm: u32, body: usize): void {
  let count: u32 = 0;
  let at = body + 8;
  for (let i = 0; i < portsHere(); i++) {
    const p = portAt(i);
    if (p.vm != vm) continue;
    memory.fill(at, 0, PORT_RECORD_BYTES);
    store<u32>(at, p.channel);
    store<u32>(at, p.port, 4);
    store<u32>(at, p.kind, 8);
    store<u32>(at, (p.isSource ? PORT_FLAG_SOURCE : 0) | (p.resync ? PORT_FLAG_RESYNC : 0), 12);
    store<u32>(at, p.maxMessageBytes, 16);
    store<u32>(at, p.depth, 20);
    store<u32>(at, p.peer, 24);
    store<u32>(at, p.nextSeq, 28);
    store<u32>(at, p.isSource ? p.ackedSeq : 0, 32);
    store<u32>(at, p.consumedSeq, 36);
    store<u32>(at, p.isSource ? 0 : p.head, 40);
    store<u32>(at, p.isSource ? 0 : p.count, 44);
    memory.copy(at + STATS_OFFSET, p.stats, <usize>CHANNEL_STAT_COUNT << 3);
    store<u32>(at, p.term, TERM_OFFSET);
    const slots = slotsBytes(p.isSource, p.kind, p.depth, p.maxMessageBytes);
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
    const bad = checkPort(body + offset);
    if (bad >= 0) return offset + <u32>bad;
    const at = body + offset;
    const isSource = (load<u32>(at, 12) & PORT_FLAG_SOURCE) != 0;
    const kind = load<u32>(at, 8), max = load<u32>(at, 16), depth = load<u32>(at, 20);
    const slots = slotsBytes(isSource, kind, depth, max);
    if (length - offset - PORT_RECORD_BYTES < slots) return CHANNELS_BAD_LENGTH;
    const badSlot = checkSlots(at + PORT_RECORD_BYTES, isSource, kind, depth, max);
    if (badSlot >= 0) return offset + PORT_RECORD_BYTES + <u32>badSlot;
    offset += PORT_RECORD_BYTES + slots;
  }
  return offset == length ? CHANNELS_OK : CHANNELS_BAD_LENGTH;
}

/** The offset of the first illegal field of one port's fixed part, or -1. */
function checkPort(at: usize): i64 {
  const kind = load<u32>(at, 8), flags = load<u32>(at, 12), max = load<u32>(at, 16), depth = load<u32>(at, 20);
  const isSource = (flags & PORT_FLAG_SOURCE) != 0;
  if (kind > CHANNEL_SAMPLING) return 8;
  if (flags > (PORT_FLAG_SOURCE | PORT_FLAG_RESYNC) || (isSource && (flags & PORT_FLAG_RESYNC) != 0)) return 12;
  if (max == 0 || max > MAX_MESSAGE_BYTES) return 16;
  if (depth == 0 || depth > MAX_CHANNEL_DEPTH || (kind == CHANNEL_SAMPLING && depth != 1)) return 20;
  const next = load<u32>(at, 28), acked = load<u32>(at, 32), consumed = load<u32>(at, 36);
  if (isSource) {
    // Queuing: consumed <= acked <= next, at most `depth` apart (its credit). Sampling: only next counts.
    if (kind == CHANNEL_QUEUING && (next - consumed > depth || acked - consumed > next - consumed)) return 32;
    if (kind == CHANNEL_SAMPLING && (acked != 0 || consumed != 0)) return 32;
    if (load<u32>(at, 40) != 0 || load<u32>(at, 44) != 0) return 40;
  } else {
    if (acked != 0) return 32;
    if (kind == CHANNEL_QUEUING && next - consumed != load<u32>(at, 44)) return 36; // queued = delivered - consumed
    if (load<u32>(at, 40) >= depth) return 40;
    if (load<u32>(at, 44) > depth) return 44;
  }
  for (let pad = STATS_OFFSET + (CHANNEL_STAT_COUNT << 3); pad < TERM_OFFSET; pad += 4) {
    if (load<u32>(at + pad) != 0) return pad;
  }
  if (load<u32>(at, TERM_OFFSET) > 0xFFFF) return TERM_OFFSET;
  if (load<u32>(at, TERM_OFFSET + 4) != 0) return TERM_OFFSET + 4;
  return -1;
}

/** The offset (from the first slot) of the first slot whose length is illegal, or -1. */
function checkSlots(slots: usize, isSource: bool, kind: u32, depth: u32, max: u32): i64 {
  if (isSource && kind != CHANNEL_QUEUING) return -1;
  const slotBytes = isSource ? sourceSlotBytes(max) : destinationSlotBytes(max);
  for (let slot: u32 = 0; slot < depth; slot++) {
    if (load<u32>(slots + <usize>slot * slotBytes) > max) return slot * slotBytes;
  }
  return -1;
}

/** Replaces `vm`'s ports on this processor with those of a checked CHANNELS record. */
export function applyChannels(vm: u32, body: usize): void {
  removePortsOf(vm);
  const count = load<u32>(body);
  let at = body + 8;
  for (let i: u32 = 0; i < count; i++) {
    const isSource = (load<u32>(at, 12) & PORT_FLAG_SOURCE) != 0;
    const kind = load<u32>(at, 8), max = load<u32>(at, 16), depth = load<u32>(at, 20);
    const p = newPort(load<u32>(at), vm, load<u32>(at, 4), kind, max, depth, isSource, load<u32>(at, 24));
    p.nextSeq = load<u32>(at, 28);
    p.ackedSeq = load<u32>(at, 32);
    p.receivedSeq = p.ackedSeq; // what the destination took beyond its acknowledgements is not known here
    p.consumedSeq = load<u32>(at, 36);
    p.head = load<u32>(at, 40);
    p.count = load<u32>(at, 44);
    p.resync = (load<u32>(at, 12) & PORT_FLAG_RESYNC) != 0;
    p.term = load<u32>(at, TERM_OFFSET);
    memory.copy(p.stats, at + STATS_OFFSET, <usize>CHANNEL_STAT_COUNT << 3);
    const slots = slotsBytes(isSource, kind, depth, max);
    if (slots != 0) memory.copy(p.slots, at + PORT_RECORD_BYTES, slots);
    at += PORT_RECORD_BYTES + slots;
  }
}

/** Would the ports of a CHANNELS record with `count` ports fit beside those already here (replacing `vm`'s)? */
export function channelsFit(vm: u32, count: u32): bool {
  let others: u32 = 0;
  for (let i = 0; i < portsHere(); i++) if (portAt(i).vm != vm) others++;
  return others + count <= <u32>MAX_PORTS;
}
