// Communication: framing over the board's message links. Every frame carries a CRC32C
// and a sequence number per peer and direction; a receiver drops what is malformed or
// fails the CRC. Loss, duplication and reordering are left to the protocols above, which
// have their own sequence numbers and acknowledgements (channel.ts per channel,
// transport.ts per migration session): the link-level number only counts frames that
// came out of order. Frame layout (little endian), docs/core-interface.md "Link frames":
//   0 u8  type (FRAME_*)    1 u8 reserved (0)    2 u16 payload bytes
//   4 u32 sequence number   8 u32 channel id (or migration session)
//  12 u32 CRC32C of bytes 0..11 and the payload
//  16     payload
import { getProcessorId, now } from "./clock";
import {
  DROP_CRC, DROP_MALFORMED, FRAME_HEADER_BYTES, MAX_PEERS, TRACE_FRAME_DROPPED, TRACE_FRAME_RECEIVED, TRACE_FRAME_SENT,
} from "./config";
import { crc32c, crc32cUpdate } from "./crc32c";
import { NO_VM, trace } from "./trace";

@external("ferry:core/board", "link-send")
declare function boardLinkSend(peer: u32, atCycles: u64, ptr: usize, len: u32): void;

const MAX_FRAME_BYTES: u32 = 65536;

const mtuBytes = new StaticArray<u32>(MAX_PEERS);
// What the board says about each link, for the migration manager's downtime bound.
const bandwidthBytesPerS = new StaticArray<u64>(MAX_PEERS);
const latencyNs = new StaticArray<u64>(MAX_PEERS);
/** Frames are handed over at the board's quantum boundaries: up to this much later than they arrive. */
const deliveryGranularityNs = new StaticArray<u64>(MAX_PEERS);
const nextSendSequence = new StaticArray<u32>(MAX_PEERS);
const nextReceiveSequence = new StaticArray<u32>(MAX_PEERS);
const frame = heap.alloc(MAX_FRAME_BYTES);

// Processor counters (processorStat).
export let framesSent: u64 = 0;
export let framesReceived: u64 = 0;
export let framesDropped: u64 = 0;
export let framesOutOfOrder: u64 = 0;

export function configureLink(peer: u32, mtu: u32): bool {
  if (peer >= MAX_PEERS || mtu < FRAME_HEADER_BYTES + 1 || mtu > MAX_FRAME_BYTES) return false;
  mtuBytes[peer] = mtu;
  return true;
}

export function setLinkTiming(peer: u32, bandwidth: u64, latency: u64, granularity: u64): bool {
  if (peer >= MAX_PEERS || bandwidth == 0) return false;
  bandwidthBytesPerS[peer] = bandwidth;
  latencyNs[peer] = latency;
  deliveryGranularityNs[peer] = granularity;
  return true;
}

export function linkBandwidth(peer: u32): u64 {
  return peer < MAX_PEERS ? bandwidthBytesPerS[peer] : 0;
}

export function linkLatencyNs(peer: u32): u64 {
  return peer < MAX_PEERS ? latencyNs[peer] : 0;
}

export function linkGranularityNs(peer: u32): u64 {
  return peer < MAX_PEERS ? deliveryGranularityNs[peer] : 0;
}

export function linkMtu(peer: u32): u32 {
  return peer < MAX_PEERS ? mtuBytes[peer] : 0;
}

/** Largest payload a frame to `peer` can carry; 0 if there is no link. */
export function maxPayloadTo(peer: u32): u32 {
  if (peer >= MAX_PEERS || mtuBytes[peer] == 0) return 0;
  return mtuBytes[peer] - FRAME_HEADER_BYTES;
}

/** Is there a link to `peer` whose frames carry `payloadBytes`? */
export function canReach(peer: u32, payloadBytes: u32): bool {
  return peer != getProcessorId() && maxPayloadTo(peer) >= payloadBytes && linkBandwidth(peer) != 0;
}

/** Sends one frame; the payload (already checked against maxPayloadTo) is copied from `payload`. */
export function sendFrame(peer: u32, type: u32, channel: u32, payload: usize, payloadBytes: u32, vm: u32): void {
  store<u8>(frame, <u8>type);
  store<u8>(frame, 0, 1);
  store<u16>(frame, <u16>payloadBytes, 2);
  store<u32>(frame, nextSendSequence[peer], 4);
  store<u32>(frame, channel, 8);
  memory.copy(frame + FRAME_HEADER_BYTES, payload, payloadBytes);
  const crc = crc32cUpdate(crc32c(frame, 12), frame + FRAME_HEADER_BYTES, payloadBytes);
  store<u32>(frame, crc, 12);
  nextSendSequence[peer]++;
  framesSent++;
  trace(TRACE_FRAME_SENT, vm, now(), peer, FRAME_HEADER_BYTES + payloadBytes);
  boardLinkSend(peer, now(), frame, FRAME_HEADER_BYTES + payloadBytes);
}

/** Counts and traces a frame nobody here takes (DROP_* reason). */
export function dropFrame(peer: u32, reason: u64): void {
  framesDropped++;
  trace(TRACE_FRAME_DROPPED, NO_VM, now(), peer, reason);
}

/**
 * Checks a received frame. Returns its type, or 0 if it was dropped (malformed, CRC).
 * A frame out of the link's sending order is taken all the same, and counted.
 */
export function acceptFrame(peer: u32, ptr: usize, len: u32): u32 {
  if (peer >= MAX_PEERS || len < FRAME_HEADER_BYTES) { dropFrame(peer, DROP_MALFORMED); return 0; }
  const payloadBytes = <u32>load<u16>(ptr, 2);
  if (payloadBytes != len - FRAME_HEADER_BYTES || load<u8>(ptr, 1) != 0) { dropFrame(peer, DROP_MALFORMED); return 0; }
  const crc = crc32cUpdate(crc32c(ptr, 12), ptr + FRAME_HEADER_BYTES, payloadBytes);
  if (crc != load<u32>(ptr, 12)) { dropFrame(peer, DROP_CRC); return 0; }
  const sequence = load<u32>(ptr, 4);
  if (sequence != nextReceiveSequence[peer]) framesOutOfOrder++;
  if (<i32>(sequence - nextReceiveSequence[peer]) >= 0) nextReceiveSequence[peer] = sequence + 1;
  framesReceived++;
  trace(TRACE_FRAME_RECEIVED, NO_VM, now(), peer, len);
  return load<u8>(ptr);
}

export function frameChannel(ptr: usize): u32 {
  return load<u32>(ptr, 8);
}

export function selfId(): u32 {
  return getProcessorId();
}
