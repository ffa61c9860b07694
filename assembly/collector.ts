// The collector: captures a VM's state as checkpoints of a Ferry stream (full: every page
// the guest touched; incremental: the pages written since the previous checkpoint).
// docs/stream-format.md is the format; stream-check.ts checks a stream's meaning and
// restore.ts applies one.
import { PAGE_BYTES, PAGE_SHIFT, SBI_ERR_INVALID_STATE, SBI_ERR_NOT_SUPPORTED } from "./config";
import { CHAIN_HOST, chainIdOf, chainSequenceOf, hasChain, setChain } from "./checkpoint-chain";
import { DIRTY_COLLECTOR, DIRTY_REPLICA, DIRTY_TOUCHED } from "./dirty-tracking";
import {
  beginGroup, beginRecord, CHECKPOINT_END_BYTES, CHECKPOINT_INCREMENTAL, END_BYTES, endRecord, groupDigest, groupRecords,
  PAGE_RECORD_HEADER_BYTES, pageDataBytes, REC_CHECKPOINT_END, REC_END, REC_PAGE_DATA, REC_PRODUCER, REC_VM_CONFIG, REC_ZERO_PAGES,
  currentWriter, recordBytes, streamDigest, VM_CONFIG_BYTES, writeHeader, PAGE_COMPRESSED_HEADER_BYTES, REC_PAGE_COMPRESSED,
} from "./stream";
import { crc32c } from "./crc32c";
import {
  CLASS_RAW, CLASS_ZERO, compressPage, ENCODE_CAPACITY_BYTES, lastClass, lastCodec, PAGE_CLASSES,
} from "./page-compression";
import { Vm } from "./vm";
import {
  captureSupported, OPTIONAL_STATE_RECORDS, optionalStateWanted, saveStateRecord, STATE_RECORDS, stateRecordBodyBytes,
} from "./vm-state-records";

/** Pages per PAGE_DATA record the collector writes (128 KiB of contents). */
const DATA_PAGES_PER_RECORD: i32 = 32;
/** Page numbers per ZERO_PAGES record the collector writes. */
const ZERO_PAGES_PER_RECORD: i32 = 1024;

// =====================================================================================
// Capture — the pieces are exported: migration (migration-stream.ts) builds its
// pre-copy rounds from them, producing records a few at a time.
// =====================================================================================

/** Bytes of the END record. */
export const END_RECORD_BYTES: u64 = recordBytes(END_BYTES);
/** Bytes of the records every checkpoint has besides pages and state: VM_CONFIG and CHECKPOINT_END. */
export const CHECKPOINT_FRAME_BYTES: u64 = recordBytes(VM_CONFIG_BYTES) + recordBytes(CHECKPOINT_END_BYTES);

const dataBatch = new StaticArray<u32>(DATA_PAGES_PER_RECORD);
const zeroBatch = new StaticArray<u32>(ZERO_PAGES_PER_RECORD);
let dataCount: i32 = 0;
let zeroCount: i32 = 0;
let recordsWritten: u32 = 0;
let pagesWritten: u32 = 0;
/** "ferry collector": what wrote the stream (the optional PRODUCER record). */
const PRODUCER_TEXT: StaticArray<u8> = [0x66, 0x65, 0x72, 0x72, 0x79, 0x20, 0x63, 0x6F, 0x6C, 0x6C, 0x65, 0x63, 0x74, 0x6F, 0x72];

/** Starts a stream in the output buffer (dropping whatever was not drained). */
export function openStream(): void {
  writeHeader();
  currentWriter().open = true;
  currentWriter().checkpoints = 0;
}

/** Ends the open stream with END; SBI_ERR_INVALID_STATE if none is open. */
export function closeStream(): i32 {
  const w = currentWriter();
  if (!w.open) return SBI_ERR_INVALID_STATE;
  const body = beginRecord(REC_END, END_BYTES);
  store<u32>(body, w.checkpoints);
  store<u32>(body, streamDigest(), 4);
  endRecord();
  w.open = false;
  return 0;
}

/** The stream can carry all of this VM's state (not yet: a reported task set). */
export function supportsCapture(vm: Vm): bool {
  return captureSupported(vm);
}

/**
 * Appends a checkpoint of `vm` to the stream open in the writer in use. `consumer` is who
 * takes it — the host's checkpoints (CHAIN_HOST) or replication (CHAIN_REPLICA) — each
 * with its own dirty bit and its own chain, so an incremental checkpoint carries the
 * pages written since *that consumer's* previous one. 0, or SBI_ERR_INVALID_STATE (no
 * open stream; an incremental checkpoint with no earlier one), SBI_ERR_NOT_SUPPORTED
 * (the VM holds state the stream cannot carry yet).
 */
export function captureCheckpoint(vm: Vm, incremental: bool, captureCycles: u64, clockHz: u32, consumer: u32 = CHAIN_HOST): i32 {
  const w = currentWriter();
  if (!w.open) return SBI_ERR_INVALID_STATE;
  if (incremental && !hasChain(vm, consumer)) return SBI_ERR_INVALID_STATE;
  if (!captureSupported(vm)) return SBI_ERR_NOT_SUPPORTED;
  const bit = consumer == CHAIN_HOST ? DIRTY_COLLECTOR : DIRTY_REPLICA;
  beginGroup();
  writeVmConfig(vm);
  if (w.checkpoints == 0) writeProducer();
  writeStateRecords(vm);
  // A page with the consumer's bit is always touched too (stores set every bit), so
  // clearing the bit on the pages written leaves it clear everywhere.
  writePagesFrom(vm, incremental ? bit : DIRTY_TOUCHED, bit, 0, u32.MAX_VALUE);
  const sequence = incremental ? chainSequenceOf(vm, consumer) + 1 : 0;
  const chainId = incremental ? chainIdOf(vm, consumer) : groupDigest();
  writeCheckpointEnd(incremental ? CHECKPOINT_INCREMENTAL : 0, sequence, captureCycles, clockHz, chainId);
  setChain(vm, chainId, sequence, consumer);
  w.checkpoints++;
  return 0;
}

export function writeVmConfig(vm: Vm): void {
  const body = beginRecord(REC_VM_CONFIG, VM_CONFIG_BYTES);
  store<u32>(body, vm.kind);
  store<u32>(body, vm.ramBytes, 4);
  store<u32>(body, PAGE_BYTES, 8);
  store<u32>(body, vm.id, 12);
  store<u32>(body, vm.tohost, 16);
  store<u32>(body, 0, 20);
  endRecord();
}

function writeProducer(): void {
  const bytes = <u32>PRODUCER_TEXT.length;
  const body = beginRecord(REC_PRODUCER, bytes);
  memory.copy(body, changetype<usize>(PRODUCER_TEXT), bytes);
  endRecord();
}

/** Every state record (STATE_RECORDS), as a complete checkpoint needs them, and the optional ones the VM needs. */
export function writeStateRecords(vm: Vm): void {
  for (let i = 0; i < STATE_RECORDS.length; i++) saveStateRecord(unchecked(STATE_RECORDS[i]), vm);
  for (let i = 0; i < OPTIONAL_STATE_RECORDS.length; i++) {
    const type = unchecked(OPTIONAL_STATE_RECORDS[i]);
    if (optionalStateWanted(type, vm)) saveStateRecord(type, vm);
  }
}

/** Bytes the state records of `vm` take in a stream now. */
export function stateRecordsBytes(vm: Vm): u64 {
  let bytes: u64 = 0;
  for (let i = 0; i < STATE_RECORDS.length; i++) bytes += recordBytes(stateRecordBodyBytes(unchecked(STATE_RECORDS[i]), vm));
  for (let i = 0; i < OPTIONAL_STATE_RECORDS.length; i++) {
    const type = unchecked(OPTIONAL_STATE_RECORDS[i]);
    if (optionalStateWanted(type, vm)) bytes += recordBytes(stateRecordBodyBytes(type, vm));
  }
  return bytes;
}

/** The CHECKPOINT_END record: it seals the checkpoint begun with beginGroup (its count and digest). */
export function writeCheckpointEnd(flags: u32, sequence: u32, captureCycles: u64, clockHz: u32, chainId: u32): void {
  const records = groupRecords();
  const digest = groupDigest();
  const body = beginRecord(REC_CHECKPOINT_END, CHECKPOINT_END_BYTES);
  store<u32>(body, flags);
  store<u32>(body, sequence, 4);
  store<u64>(body, captureCycles, 8);
  store<u32>(body, clockHz, 16);
  store<u32>(body, records, 20);
  store<u32>(body, chainId, 24);
  store<u32>(body, digest, 28);
  endRecord();
}

function isZeroPage(page: usize): bool {
  for (let at = page; at < page + PAGE_BYTES; at += 8) if (load<u64>(at) != 0) return false;
  return true;
}

/**
 * Writes the pages from `fromPage` on whose dirty byte has `bit` — contents as PAGE_DATA,
 * all-zero pages as ZERO_PAGES — and clears `clearBit` on each page written. Stops after
 * about `maxRecords` records (a producer that paces itself) and returns the page to go on
 * from; the number of pages of RAM when it got to the end. pagesWrittenLast() tells how
 * many pages it wrote.
 */
/**
 * What compressing page writers did, per page class (page-compression.ts CLASS_*): pages,
 * and the stream bytes they cost (a zero page its 4-byte entry, a raw page its 4096 bytes
 * and page number, a compressed one its whole PAGE_COMPRESSED record).
 */
export class CompressionStats {
  pages: StaticArray<u64> = new StaticArray<u64>(PAGE_CLASSES);
  bytes: StaticArray<u64> = new StaticArray<u64>(PAGE_CLASSES);
  /** Non-zero pages classified (each costs the compression's cycles). */
  examined: u64 = 0;
  /** Pages sent compressed (each costs the decompression's cycles on the destination). */
  compressed: u64 = 0;

  clear(): void {
    for (let i: u32 = 0; i < PAGE_CLASSES; i++) { unchecked(this.pages[i] = 0); unchecked(this.bytes[i] = 0); }
    this.examined = 0;
    this.compressed = 0;
  }

  add(pageClass: u32, bytes: u64): void {
    unchecked(this.pages[pageClass] += 1);
    unchecked(this.bytes[pageClass] += bytes);
  }
}

/** Where a page is encoded before it goes into the stream. */
const encodedPage = heap.alloc(ENCODE_CAPACITY_BYTES);

/** Encodes the non-zero page `page` if a codec wins: its PAGE_COMPRESSED record's bytes, or 0 (send it raw). */
function encodeForStream(vm: Vm, page: u32, stats: CompressionStats): u32 {
  stats.examined++;
  const encoded = compressPage(vm.ram + (<usize>page << PAGE_SHIFT), encodedPage);
  if (encoded == 0) { stats.add(CLASS_RAW, PAGE_BYTES + 4); return 0; }
  stats.compressed++;
  stats.add(lastClass, recordBytes(PAGE_COMPRESSED_HEADER_BYTES + encoded));
  return encoded;
}

function writeCompressedPage(vm: Vm, page: u32, encoded: u32): void {
  const body = beginRecord(REC_PAGE_COMPRESSED, PAGE_COMPRESSED_HEADER_BYTES + encoded);
  store<u32>(body, page);
  store<u32>(body, <u32>lastCodec, 4);
  store<u32>(body, encoded, 8);
  store<u32>(body, crc32c(vm.ram + (<usize>page << PAGE_SHIFT), PAGE_BYTES), 12);
  memory.copy(body + PAGE_COMPRESSED_HEADER_BYTES, encodedPage, encoded);
  endRecord();
  recordsWritten++;
}

/**
 * Stream bytes the page records of the pages with `bit` set would cost if compressed (each
 * page encoded now; a zero page counted as a ZERO_PAGES record of its own and a raw page as
 * a PAGE_DATA record of its own: an upper bound on what writePagesFrom writes for them).
 * `stats` gets what the encoding found.
 */
export function compressedPageRecordsBytes(vm: Vm, bit: u8, stats: CompressionStats): u64 {
  const pages = vm.ramBytes >> PAGE_SHIFT;
  let bytes: u64 = 0;
  for (let page: u32 = 0; page < pages; page++) {
    if ((load<u8>(vm.dirty + page) & bit) == 0) continue;
    if (isZeroPage(vm.ram + (<usize>page << PAGE_SHIFT))) { bytes += recordBytes(PAGE_RECORD_HEADER_BYTES + 4); stats.add(CLASS_ZERO, 4); continue; }
    const encoded = encodeForStream(vm, page, stats);
    bytes += encoded == 0 ? <u64>recordBytes(<u32>pageDataBytes(1)) : <u64>recordBytes(PAGE_COMPRESSED_HEADER_BYTES + encoded);
  }
  return bytes;
}

/**
 * As writePagesFrom below, compressing each non-zero page whose codec wins into a
 * PAGE_COMPRESSED record of its own (version-3 streams only); `stats` counts the classes.
 */
export function writeCompressedPagesFrom(vm: Vm, bit: u8, clearBit: u8, fromPage: u32, maxRecords: u32, stats: CompressionStats): u32 {
  compressing = stats;
  const next = writePagesFrom(vm, bit, clearBit, fromPage, maxRecords);
  compressing = null;
  return next;
}

let compressing: CompressionStats | null = null;
/** A filter on the pages writePagesFrom takes: one byte per page, only pages whose byte is filterValue (0: none). */
let filterOrder: usize = 0;
let filterValue: u8 = 0;

/**
 * As writePagesFrom (or writeCompressedPagesFrom, with `stats`), only over the pages whose
 * byte in `order` is `value`: one pass of a round in working-set order (working-set.ts).
 */
export function writeOrderedPagesFrom(vm: Vm, bit: u8, clearBit: u8, fromPage: u32, maxRecords: u32, order: usize, value: u8, stats: CompressionStats | null): u32 {
  filterOrder = order;
  filterValue = value;
  const next = stats != null ? writeCompressedPagesFrom(vm, bit, clearBit, fromPage, maxRecords, stats) : writePagesFrom(vm, bit, clearBit, fromPage, maxRecords);
  filterOrder = 0;
  return next;
}

export function writePagesFrom(vm: Vm, bit: u8, clearBit: u8, fromPage: u32, maxRecords: u32, maxPages: u32 = u32.MAX_VALUE): u32 {
  const pages = vm.ramBytes >> PAGE_SHIFT;
  dataCount = 0;
  zeroCount = 0;
  recordsWritten = 0;
  pagesWritten = 0;
  const keep: u8 = ~clearBit;
  for (let page = fromPage; page < pages; page++) {
    const dirty = load<u8>(vm.dirty + page);
    if ((dirty & bit) == 0) continue;
    if (filterOrder != 0 && load<u8>(filterOrder + page) != filterValue) continue;
    store<u8>(vm.dirty + page, dirty & keep);
    pagesWritten++;
    const stats = compressing;
    if (isZeroPage(vm.ram + (<usize>page << PAGE_SHIFT))) {
      if (stats != null) stats.add(CLASS_ZERO, 4);
      unchecked(zeroBatch[zeroCount++] = page);
      if (zeroCount == ZERO_PAGES_PER_RECORD) flushZeroPages();
    } else {
      const encoded = stats != null ? encodeForStream(vm, page, stats) : 0;
      if (encoded != 0) {
        writeCompressedPage(vm, page, encoded);
      } else {
        unchecked(dataBatch[dataCount++] = page);
        if (dataCount == DATA_PAGES_PER_RECORD) flushDataPages(vm);
      }
    }
    if (recordsWritten >= maxRecords || pagesWritten >= maxPages) { flushBatches(vm); return page + 1; }
  }
  flushBatches(vm);
  return pages;
}

/** Pages the last writePagesFrom wrote (data and zero). */
export function pagesWrittenLast(): u32 {
  return pagesWritten;
}

/** Stream bytes of page records for `pages` pages, all sent as data (the worst case). */
export function pageRecordsBytes(pages: u64): u64 {
  const perRecord = <u64>DATA_PAGES_PER_RECORD;
  const fullRecords = pages / perRecord;
  const rest = <u32>(pages % perRecord);
  const restBytes: u64 = rest == 0 ? 0 : <u64>recordBytes(<u32>pageDataBytes(rest));
  return fullRecords * <u64>recordBytes(<u32>pageDataBytes(DATA_PAGES_PER_RECORD)) + restBytes;
}

function flushBatches(vm: Vm): void {
  if (dataCount > 0) flushDataPages(vm);
  if (zeroCount > 0) flushZeroPages();
}

function flushDataPages(vm: Vm): void {
  const count = <u32>dataCount;
  const body = beginRecord(REC_PAGE_DATA, <u32>pageDataBytes(count));
  store<u32>(body, count);
  store<u32>(body, 0, 4);
  const numbers = body + PAGE_RECORD_HEADER_BYTES;
  for (let i: u32 = 0; i < count; i++) store<u32>(numbers + (<usize>i << 2), unchecked(dataBatch[i]));
  if ((count & 1) != 0) store<u32>(numbers + (<usize>count << 2), 0);
  const contents = numbers + (<usize>((count + 1) & ~1) << 2);
  for (let i: u32 = 0; i < count; i++) {
    memory.copy(contents + (<usize>i << PAGE_SHIFT), vm.ram + (<usize>unchecked(dataBatch[i]) << PAGE_SHIFT), PAGE_BYTES);
  }
  endRecord();
  dataCount = 0;
  recordsWritten++;
}

function flushZeroPages(): void {
  const count = <u32>zeroCount;
  const body = beginRecord(REC_ZERO_PAGES, PAGE_RECORD_HEADER_BYTES + (count << 2));
  store<u32>(body, count);
  store<u32>(body, 0, 4);
  for (let i: u32 = 0; i < count; i++) store<u32>(body + PAGE_RECORD_HEADER_BYTES + (<usize>i << 2), unchecked(zeroBatch[i]));
  endRecord();
  zeroCount = 0;
  recordsWritten++;
}
