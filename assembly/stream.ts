// The Ferry stream's framing (docs/stream-format.md): the header, records
// `type | length | body | crc | padding to 8`, and the digests over record CRCs. The writer
// appends to a growable buffer in core memory that the host drains in chunks; the reader
// walks a buffer the host filled, checking framing only — what records mean is the
// collector's business (collector.ts, vm-state-records.ts).
import { PAGE_SHIFT } from "./config";
import { crc32c, crc32cWord } from "./crc32c";

import { STREAM_VERSION, STREAM_VERSION_COMPRESSED, STREAM_VERSION_REPLAY } from "./numbers";
export { STREAM_VERSION, STREAM_VERSION_COMPRESSED, STREAM_VERSION_REPLAY };
export const HEADER_BYTES: u32 = 24;
/** Record type, length; the body follows. */
export const RECORD_HEADER_BYTES: u32 = 8;
/** Longest body a reader accepts: a flipped length bit must not make it read or allocate gigabytes. */
export const MAX_RECORD_BODY_BYTES: u32 = 1 << 20;
/** Written as 0x0A0B0C0D in the stream's byte order: little-endian streams start 0D 0C 0B 0A. */
const BYTE_ORDER_MARK: u32 = 0x0A0B_0C0D;
/** "\x89FERRY\r\n" as a little-endian u64. */
const MAGIC: u64 = 0x0A0D_5952_5245_4689;

/** Bit 31 of a record type: a reader that does not know the type may skip the record. */
export const RECORD_OPTIONAL: u32 = 0x8000_0000;

// Record types, version 1.
export const REC_END: u32 = 0x00;
export const REC_VM_CONFIG: u32 = 0x01;
export const REC_VCPU: u32 = 0x02;
export const REC_TIMER: u32 = 0x03;
export const REC_IRQ: u32 = 0x04;
export const REC_CONSOLE: u32 = 0x05;
/** Reserved: the reported task set and its job accounting (tasks.ts). */
export const REC_TASK_SET: u32 = 0x06;
/** Reserved: the VM's channel ports and queued messages (channel.ts). */
export const REC_CHANNELS: u32 = 0x07;
export const REC_SCHEDULE: u32 = 0x08;
export const REC_PAGE_DATA: u32 = 0x10;
export const REC_ZERO_PAGES: u32 = 0x11;
/** Version 3 only: one compressed page (docs/stream-format.md, "PAGE_COMPRESSED"). */
export const REC_PAGE_COMPRESSED: u32 = 0x12;
/** PAGE_COMPRESSED's body before the encoding: page, codec and 3 reserved bytes, encoded bytes, the page's CRC. */
export const PAGE_COMPRESSED_HEADER_BYTES: u32 = 16;
export const REC_CHECKPOINT_END: u32 = 0x20;
/** Trace-replay's log of a VM's inputs between two checkpoints (version 4; docs/stream-format.md, INPUT_LOG). */
export const REC_INPUT_LOG: u32 = 0x30;
export const INPUT_LOG_HEADER_BYTES: u32 = 32;
export const INPUT_LOG_FINAL: u32 = 1;
export const REC_PRODUCER: u32 = RECORD_OPTIONAL | 0x100;
/** Optional: the PMP CSRs, written only when one of them is not zero (vm-state-records.ts). */
export const REC_PMP: u32 = RECORD_OPTIONAL | 0x101;

// Fixed record bodies (bytes) and CHECKPOINT_END's flags.
export const VM_CONFIG_BYTES: u32 = 24;
export const CHECKPOINT_END_BYTES: u32 = 32;
export const END_BYTES: u32 = 8;
export const PRODUCER_MAX_BYTES: u32 = 256;
/** PAGE_DATA and ZERO_PAGES start with `u32 count, u32 0`; page numbers follow. */
export const PAGE_RECORD_HEADER_BYTES: u32 = 8;
export const CHECKPOINT_INCREMENTAL: u32 = 1;
export const CHECKPOINT_MEMORY_ONLY: u32 = 2;

/** Body bytes of a PAGE_DATA record of `count` pages: header, numbers (padded to an even count), contents. */
export function pageDataBytes(count: u32): u64 {
  return <u64>PAGE_RECORD_HEADER_BYTES + (<u64>((count + 1) & ~1) << 2) + (<u64>count << PAGE_SHIFT);
}

// Why a stream was refused (restoreError(0)); host/stream-errors.ts has the words.
export const ERR_NONE: u32 = 0;
export const ERR_TRUNCATED: u32 = 1;
export const ERR_BAD_MAGIC: u32 = 2;
export const ERR_BYTE_ORDER: u32 = 3;
export const ERR_VERSION: u32 = 4;
export const ERR_HEADER_FLAGS: u32 = 5;
export const ERR_HEADER_CRC: u32 = 6;
export const ERR_RECORD_TOO_LONG: u32 = 7;
export const ERR_RECORD_CRC: u32 = 8;
export const ERR_PADDING: u32 = 9;
export const ERR_UNKNOWN_MANDATORY: u32 = 10;
export const ERR_BAD_LENGTH: u32 = 11;
export const ERR_ORDER: u32 = 12;
export const ERR_DUPLICATE_RECORD: u32 = 13;
export const ERR_MISSING_RECORD: u32 = 14;
export const ERR_BAD_VALUE: u32 = 15;
export const ERR_PAGE_RANGE: u32 = 16;
export const ERR_DUPLICATE_PAGE: u32 = 17;
export const ERR_CONFIG_MISMATCH: u32 = 18;
export const ERR_RECORD_COUNT: u32 = 19;
export const ERR_DIGEST: u32 = 20;
export const ERR_CHAIN: u32 = 21;
export const ERR_TRAILING: u32 = 22;
export const ERR_NOT_RESUMABLE: u32 = 23;
export const ERR_TARGET: u32 = 24;
export const ERR_TOO_LARGE: u32 = 25;
/** A PAGE_COMPRESSED record that does not decode to one page, or whose page's CRC does not match. */
export const ERR_DECOMPRESS: u32 = 26;

/** The record index reported for a fault in the header. */
export const HEADER_INDEX: u32 = 0xFFFF_FFFF;

// ---- The last refusal: what, where, and two details (a value, a limit, a field offset). ----

let errorCode: u32 = ERR_NONE;
let errorOffset: u32 = 0;
let errorIndex: u32 = 0;
let errorType: u32 = 0;
let errorDetailA: u64 = 0;
let errorDetailB: u64 = 0;

/** Where the reader is: set before each record is checked, so any fault can name it. */
let currentOffset: u32 = 0;
let currentIndex: u32 = HEADER_INDEX;
let currentType: u32 = 0;

export function setCurrentRecord(offset: u32, index: u32, type: u32): void {
  currentOffset = offset;
  currentIndex = index;
  currentType = type;
}

/** Records a refusal at the current record and returns false, so checks can `return refuse(...)`. */
export function refuse(code: u32, detailA: u64 = 0, detailB: u64 = 0): bool {
  errorCode = code;
  errorOffset = currentOffset;
  errorIndex = currentIndex;
  errorType = currentType;
  errorDetailA = detailA;
  errorDetailB = detailB;
  return false;
}

export function clearError(): void {
  errorCode = ERR_NONE;
  errorOffset = 0;
  errorIndex = 0;
  errorType = 0;
  errorDetailA = 0;
  errorDetailB = 0;
}

/** 0 code, 1 byte offset, 2 record index, 3 record type, 4 detail a, 5 detail b. */
export function errorField(field: u32): u64 {
  switch (field) {
    case 0: return errorCode;
    case 1: return errorOffset;
    case 2: return errorIndex;
    case 3: return errorType;
    case 4: return errorDetailA;
    case 5: return errorDetailB;
  }
  return 0;
}

@inline export function roundUp8(bytes: u32): u32 {
  return (bytes + 7) & ~7;
}

/** Bytes a record with a `bodyBytes` body occupies: header, body, crc, padding. */
@inline export function recordBytes(bodyBytes: u32): u32 {
  return RECORD_HEADER_BYTES + roundUp8(bodyBytes + 4);
}

// ---- Writers: each appends to its own buffer, drained (drainOut) as it goes. ----
// The host's checkpoints, an outgoing migration and each replication session write
// streams of their own, interleaved in time: each selects its writer (useWriter) before
// it writes or drains, and the functions below act on the writer in use.

export class StreamWriter {
  out: usize = 0;
  outCapacity: usize = 0;
  /** Bytes written and bytes already handed on. */
  outEnd: usize = 0;
  outRead: usize = 0;
  /** Where the record being written starts, and its body length. */
  recordStart: usize = 0;
  recordBody: u32 = 0;
  /** CRC over the CRCs of every record since the stream began (for END). */
  streamDigest: u32 = 0;
  streamRecords: u32 = 0;
  /** CRC over the CRCs of the records of the checkpoint being written (for CHECKPOINT_END). */
  groupDigest: u32 = 0;
  groupRecords: u32 = 0;
  /** The collector's: a stream is open (openStream), and the checkpoints it holds so far. */
  open: bool = false;
  checkpoints: u32 = 0;
}

export function currentWriter(): StreamWriter {
  return writer;
}

/** The host's checkpoint streams (checkpoint-api.ts). */
export const hostWriter = new StreamWriter();
let writer: StreamWriter = hostWriter;

/** Makes `w` the writer the functions below write to and drain. */
export function useWriter(w: StreamWriter): void {
  writer = w;
}

export function streamDigest(): u32 {
  return writer.streamDigest;
}

export function groupDigest(): u32 {
  return writer.groupDigest;
}

export function groupRecords(): u32 {
  return writer.groupRecords;
}

function reserve(bytes: usize): usize {
  const w = writer;
  if (w.outEnd + bytes > w.outCapacity) {
    let capacity = w.outCapacity == 0 ? <usize>(1 << 16) : w.outCapacity;
    while (capacity < w.outEnd + bytes) capacity <<= 1;
    w.out = w.out == 0 ? heap.alloc(capacity) : heap.realloc(w.out, capacity);
    w.outCapacity = capacity;
  }
  const at = w.out + w.outEnd;
  w.outEnd += bytes;
  return at;
}

/** Starts a stream: the header. Any undrained bytes of an earlier stream are dropped. */
export function writeHeader(version: u32 = STREAM_VERSION): void {
  const w = writer;
  w.outEnd = 0;
  w.outRead = 0;
  w.streamDigest = 0;
  w.streamRecords = 0;
  const at = reserve(HEADER_BYTES);
  store<u64>(at, MAGIC);
  store<u32>(at, BYTE_ORDER_MARK, 8);
  store<u32>(at, version, 12);
  store<u32>(at, 0, 16);
  store<u32>(at, crc32c(at, 20), 20);
}

export function beginGroup(): void {
  writer.groupDigest = 0;
  writer.groupRecords = 0;
}

/** Reserves a whole record and returns where its body goes; finish it with endRecord. */
export function beginRecord(type: u32, bodyBytes: u32): usize {
  const at = reserve(recordBytes(bodyBytes));
  writer.recordStart = at - writer.out;
  writer.recordBody = bodyBytes;
  store<u32>(at, type);
  store<u32>(at, bodyBytes, 4);
  return at + RECORD_HEADER_BYTES;
}

/** Seals the record begun last: its crc, zero padding, and the digests. */
export function endRecord(): void {
  const w = writer;
  const at = w.out + w.recordStart;
  const crcAt = at + RECORD_HEADER_BYTES + w.recordBody;
  const crc = crc32c(at, RECORD_HEADER_BYTES + w.recordBody);
  store<u32>(crcAt, crc);
  const padBytes = roundUp8(w.recordBody + 4) - w.recordBody - 4;
  memory.fill(crcAt + 4, 0, padBytes);
  w.groupDigest = crc32cWord(w.groupDigest, crc);
  w.groupRecords++;
  w.streamDigest = crc32cWord(w.streamDigest, crc);
  w.streamRecords++;
}

export function outPending(): u32 {
  return <u32>(writer.outEnd - writer.outRead);
}

/** Copies up to `maxBytes` undrained bytes to `dest`; returns how many. */
export function drainOut(dest: usize, maxBytes: u32): u32 {
  const w = writer;
  const available = w.outEnd - w.outRead;
  const bytes = <usize>maxBytes < available ? <usize>maxBytes : available;
  memory.copy(dest, w.out + w.outRead, bytes);
  w.outRead += bytes;
  // Everything handed over: reuse the buffer from the start.
  if (w.outRead == w.outEnd) { w.outRead = 0; w.outEnd = 0; }
  return <u32>bytes;
}

// ---- Reader: framing checks over a buffer [base, base + size). ----

/** Checks the header; false (with the refusal recorded) if it is not a header of version 2 or 3. */
export function checkHeader(base: usize, size: u32): bool {
  setCurrentRecord(0, HEADER_INDEX, 0);
  if (size < 8) return refuse(ERR_TRUNCATED, size, HEADER_BYTES);
  if (load<u64>(base) != MAGIC) return refuse(ERR_BAD_MAGIC, load<u64>(base));
  if (size < HEADER_BYTES) return refuse(ERR_TRUNCATED, size, HEADER_BYTES);
  if (load<u32>(base, 8) != BYTE_ORDER_MARK) return refuse(ERR_BYTE_ORDER, load<u32>(base, 8));
  const version = load<u32>(base, 12);
  if (version != STREAM_VERSION && version != STREAM_VERSION_COMPRESSED && version != STREAM_VERSION_REPLAY) return refuse(ERR_VERSION, version, STREAM_VERSION_REPLAY);
  if (load<u32>(base, 16) != 0) return refuse(ERR_HEADER_FLAGS, load<u32>(base, 16));
  const crc = crc32c(base, 20);
  if (load<u32>(base, 20) != crc) return refuse(ERR_HEADER_CRC, load<u32>(base, 20), crc);
  return true;
}

/**
 * Checks the framing of the record at `offset` (index `index`): it fits, its length is
 * within the limit, its crc matches, its padding is zero. Returns its crc, or -1.
 */
export function checkRecordFrame(base: usize, size: u32, offset: u32, index: u32): i64 {
  const left = size - offset;
  setCurrentRecord(offset, index, left >= 4 ? load<u32>(base + offset) : 0);
  if (left < RECORD_HEADER_BYTES) { refuse(ERR_TRUNCATED, left, RECORD_HEADER_BYTES); return -1; }
  const at = base + offset;
  const length = load<u32>(at, 4);
  if (length > MAX_RECORD_BODY_BYTES) { refuse(ERR_RECORD_TOO_LONG, length, MAX_RECORD_BODY_BYTES); return -1; }
  const total = recordBytes(length);
  if (left < total) { refuse(ERR_TRUNCATED, left, total); return -1; }
  const crc = crc32c(at, RECORD_HEADER_BYTES + length);
  const crcAt = at + RECORD_HEADER_BYTES + length;
  if (load<u32>(crcAt) != crc) { refuse(ERR_RECORD_CRC, load<u32>(crcAt), crc); return -1; }
  for (let pad = crcAt + 4; pad < at + total; pad++) {
    if (load<u8>(pad) != 0) { refuse(ERR_PADDING, <u64>(pad - base)); return -1; }
  }
  return crc;
}

@inline export function recordType(base: usize, offset: u32): u32 {
  return load<u32>(base + offset);
}

@inline export function recordLength(base: usize, offset: u32): u32 {
  return load<u32>(base + offset, 4);
}

@inline export function recordBodyAt(base: usize, offset: u32): usize {
  return base + offset + RECORD_HEADER_BYTES;
}

/** Offset of the record after the one at `offset` (whose framing was checked). */
@inline export function nextRecordOffset(base: usize, offset: u32): u32 {
  return offset + recordBytes(recordLength(base, offset));
}
