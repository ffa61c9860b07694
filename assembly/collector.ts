// The collector: captures a VM's state as checkpoints of a Ferry stream (full: every page
// the guest touched; incremental: the pages written since the previous checkpoint) and
// restores a stream into a VM. A stream given to restore is checked whole — framing,
// order, counts, digests, chain, pages, every state value, the target VM — before any VM
// changes, so a refused stream leaves nothing half-applied. docs/stream-format.md is the
// format; this file is its meaning.
import { MAX_VMS, PAGE_BYTES, SBI_ERR_INVALID_STATE, PAGE_SHIFT, RAM_BASE, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED } from "./config";
import { crc32cWord } from "./crc32c";
import { DIRTY_COLLECTOR, DIRTY_TOUCHED } from "./dirty-tracking";
import {
  beginGroup, beginRecord, checkHeader, checkRecordFrame, clearError, endRecord, ERR_BAD_LENGTH, ERR_BAD_VALUE, ERR_CHAIN,
  ERR_CONFIG_MISMATCH, ERR_DIGEST, ERR_DUPLICATE_PAGE, ERR_DUPLICATE_RECORD, ERR_MISSING_RECORD, ERR_NOT_RESUMABLE,
  ERR_ORDER, ERR_PAGE_RANGE, ERR_RECORD_COUNT, ERR_TARGET, ERR_TRAILING, ERR_TRUNCATED, ERR_UNKNOWN_MANDATORY,
  groupDigest, groupRecords, HEADER_BYTES, nextRecordOffset, recordBytes, REC_CHECKPOINT_END, REC_END,
  REC_PAGE_DATA, REC_PRODUCER, REC_VM_CONFIG, REC_ZERO_PAGES, RECORD_HEADER_BYTES, RECORD_OPTIONAL, recordBodyAt,
  recordLength, recordType, refuse, setCurrentRecord, streamDigest, writeHeader,
} from "./stream";
import { flushDecodeCache, Vm } from "./vm";
import { reserveVm, resumeVm } from "./vm-lifecycle";
import {
  allStateRecordsMask, applyStateRecord, captureSupported, checkStateRecord, saveStateRecord, STATE_RECORDS, stateRecordBodyBytes,
  stateRecordIndex,
} from "./vm-state-records";

export { SBI_ERR_INVALID_STATE };

/** After a restore wrote a page: touched, clean for the collector, dirty for everyone else. */
const DIRTY_RESTORED: u8 = 0xFF & ~DIRTY_COLLECTOR;
/** A page a full restore cleared without listing it: not touched, dirty for everyone else. */
const DIRTY_CLEARED: u8 = 0xFF & ~(DIRTY_COLLECTOR | DIRTY_TOUCHED);

const VM_CONFIG_BYTES: u32 = 24;
const CHECKPOINT_END_BYTES: u32 = 32;
const END_BYTES: u32 = 8;
const PRODUCER_MAX_BYTES: u32 = 256;
const PAGE_RECORD_HEADER_BYTES: u32 = 8;
/** Pages per PAGE_DATA record the collector writes (128 KiB of contents). */
const DATA_PAGES_PER_RECORD: i32 = 32;
/** Page numbers per ZERO_PAGES record the collector writes. */
const ZERO_PAGES_PER_RECORD: i32 = 1024;
const MAX_RAM_BYTES: u32 = 0x4000_0000;

// ---- Each VM's chain: the checkpoint it was last captured at or restored to. ----

const chainKnown = new StaticArray<bool>(MAX_VMS);
const chainIds = new StaticArray<u32>(MAX_VMS);
const chainSequences = new StaticArray<u32>(MAX_VMS);

function setChain(vm: Vm, chainId: u32, sequence: u32): void {
  unchecked(chainKnown[vm.id] = true);
  unchecked(chainIds[vm.id] = chainId);
  unchecked(chainSequences[vm.id] = sequence);
}

// =====================================================================================
// Capture — the pieces are exported: migration (migration-stream.ts) builds its
// pre-copy rounds from them, producing records a few at a time.
// =====================================================================================

export const CHECKPOINT_INCREMENTAL: u32 = 1;
export const CHECKPOINT_MEMORY_ONLY: u32 = 2;
/** Bytes of the END record. */
export const END_RECORD_BYTES: u64 = recordBytes(END_BYTES);
/** Bytes of the records every checkpoint has besides pages and state: VM_CONFIG and CHECKPOINT_END. */
export const CHECKPOINT_FRAME_BYTES: u64 = recordBytes(VM_CONFIG_BYTES) + recordBytes(CHECKPOINT_END_BYTES);

let streamOpen = false;
let streamCheckpoints: u32 = 0;
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
  streamOpen = true;
  streamCheckpoints = 0;
}

/** Ends the open stream with END; SBI_ERR_INVALID_STATE if none is open. */
export function closeStream(): i32 {
  if (!streamOpen) return SBI_ERR_INVALID_STATE;
  const body = beginRecord(REC_END, END_BYTES);
  store<u32>(body, streamCheckpoints);
  store<u32>(body, streamDigest, 4);
  endRecord();
  streamOpen = false;
  return 0;
}

/** The stream can carry all of this VM's state (not yet: a reported task set). */
export function supportsCapture(vm: Vm): bool {
  return captureSupported(vm);
}

/**
 * Appends a checkpoint of `vm` to the open stream. 0, or SBI_ERR_INVALID_STATE (no open
 * stream; an incremental checkpoint of a VM with no earlier one), SBI_ERR_NOT_SUPPORTED
 * (the VM holds state the stream cannot carry yet).
 */
export function captureCheckpoint(vm: Vm, incremental: bool, captureCycles: u64, clockHz: u32): i32 {
  if (!streamOpen) return SBI_ERR_INVALID_STATE;
  if (incremental && !unchecked(chainKnown[vm.id])) return SBI_ERR_INVALID_STATE;
  if (!captureSupported(vm)) return SBI_ERR_NOT_SUPPORTED;
  beginGroup();
  writeVmConfig(vm);
  if (streamCheckpoints == 0) writeProducer();
  writeStateRecords(vm);
  // A page with the collector's bit is always touched too (stores set every bit), so
  // clearing the bit on the pages written leaves it clear everywhere.
  writePagesFrom(vm, incremental ? DIRTY_COLLECTOR : DIRTY_TOUCHED, DIRTY_COLLECTOR, 0, u32.MAX_VALUE);
  const sequence = incremental ? unchecked(chainSequences[vm.id]) + 1 : 0;
  const chainId = incremental ? unchecked(chainIds[vm.id]) : groupDigest;
  writeCheckpointEnd(incremental ? CHECKPOINT_INCREMENTAL : 0, sequence, captureCycles, clockHz, chainId);
  setChain(vm, chainId, sequence);
  streamCheckpoints++;
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

/** Every state record (STATE_RECORDS), as a complete checkpoint needs them. */
export function writeStateRecords(vm: Vm): void {
  for (let i = 0; i < STATE_RECORDS.length; i++) saveStateRecord(unchecked(STATE_RECORDS[i]), vm);
}

/** Bytes the state records of `vm` take in a stream now. */
export function stateRecordsBytes(vm: Vm): u64 {
  let bytes: u64 = 0;
  for (let i = 0; i < STATE_RECORDS.length; i++) bytes += recordBytes(stateRecordBodyBytes(unchecked(STATE_RECORDS[i]), vm));
  return bytes;
}

/** The CHECKPOINT_END record: it seals the checkpoint begun with beginGroup (its count and digest). */
export function writeCheckpointEnd(flags: u32, sequence: u32, captureCycles: u64, clockHz: u32, chainId: u32): void {
  const records = groupRecords;
  const digest = groupDigest;
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
    store<u8>(vm.dirty + page, dirty & keep);
    pagesWritten++;
    if (isZeroPage(vm.ram + (<usize>page << PAGE_SHIFT))) {
      unchecked(zeroBatch[zeroCount++] = page);
      if (zeroCount == ZERO_PAGES_PER_RECORD) flushZeroPages();
    } else {
      unchecked(dataBatch[dataCount++] = page);
      if (dataCount == DATA_PAGES_PER_RECORD) flushDataPages(vm);
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

/** Body bytes of a PAGE_DATA record of `count` pages: header, numbers (even count), contents. */
function pageDataBytes(count: u32): u64 {
  return <u64>PAGE_RECORD_HEADER_BYTES + (<u64>((count + 1) & ~1) << 2) + (<u64>count << PAGE_SHIFT);
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

// =====================================================================================
// Validation: the whole stream, before anything is applied
// =====================================================================================

// What the walk has seen so far.
let inCheckpoint = false;
let checkpointsSeen: u32 = 0;
let configBody: usize = 0;
let configKind: u32 = 0;
let configRamBytes: u32 = 0;
let configPages: u32 = 0;
let configSourceVm: u32 = 0;
/** Bit i: STATE_RECORDS[i] seen in this checkpoint. */
let stateSeen: u32 = 0;
let walkGroupDigest: u32 = 0;
let walkGroupRecords: u32 = 0;
let walkStreamDigest: u32 = 0;
/** One byte per page: listed in this checkpoint. */
let pagesListed: usize = 0;
let pagesListedBytes: u32 = 0;
let walkChainKnown = false;
let walkChainId: u32 = 0;
let walkSequence: u32 = 0;
let lastCaptureCycles: u64 = 0;
let lastClockHz: u32 = 0;
let lastFlags: u32 = 0;

function resetWalk(): void {
  inCheckpoint = false;
  checkpointsSeen = 0;
  configBody = 0;
  stateSeen = 0;
  walkGroupDigest = 0;
  walkGroupRecords = 0;
  walkStreamDigest = 0;
  walkChainKnown = false;
  lastCaptureCycles = 0;
  lastClockHz = 0;
  lastFlags = 0;
}

/**
 * Checks the stream in [base, base + size) as a whole, and against `target` (an existing
 * VM it would be applied to, or null for a new VM). Touches no VM. On refusal the error
 * (stream.ts errorField) names the record, its offset and what was wrong.
 */
export function validateStream(base: usize, size: u32, target: Vm | null): bool {
  clearError();
  resetWalk();
  if (!checkHeader(base, size)) return false;
  let offset = HEADER_BYTES;
  let index: u32 = 0;
  while (true) {
    if (offset == size) {
      setCurrentRecord(offset, index, 0);
      return refuse(ERR_TRUNCATED, 0, RECORD_HEADER_BYTES);
    }
    const crc = checkRecordFrame(base, size, offset, index);
    if (crc < 0) return false;
    const type = recordType(base, offset);
    const body = recordBodyAt(base, offset);
    const length = recordLength(base, offset);
    if (type == REC_END) return checkEnd(body, length, index, nextRecordOffset(base, offset), size);
    if (!checkRecord(type, body, length, target)) return false;
    if (type != REC_CHECKPOINT_END) {
      walkGroupDigest = crc32cWord(walkGroupDigest, <u32>crc);
      walkGroupRecords++;
    }
    walkStreamDigest = crc32cWord(walkStreamDigest, <u32>crc);
    offset = nextRecordOffset(base, offset);
    index++;
  }
  return false;
}

function checkRecord(type: u32, body: usize, length: u32, target: Vm | null): bool {
  if (type == REC_VM_CONFIG) return checkVmConfig(body, length, target);
  if (!inCheckpoint) return refuse(ERR_ORDER, REC_VM_CONFIG);
  if (type == REC_CHECKPOINT_END) return checkCheckpointEnd(body, length, target);
  if (type == REC_PAGE_DATA) return checkPageData(body, length);
  if (type == REC_ZERO_PAGES) return checkZeroPages(body, length);
  if (type == REC_PRODUCER) return length <= PRODUCER_MAX_BYTES ? true : refuse(ERR_BAD_LENGTH, length, PRODUCER_MAX_BYTES);
  const state = stateRecordIndex(type);
  if (state >= 0) {
    if ((stateSeen & (1 << state)) != 0) return refuse(ERR_DUPLICATE_RECORD, type);
    stateSeen |= 1 << state;
    return checkStateRecord(type, body, length, configKind);
  }
  if ((type & RECORD_OPTIONAL) != 0) return true; // unknown optional: skipped
  return refuse(ERR_UNKNOWN_MANDATORY, type);
}

function checkVmConfig(body: usize, length: u32, target: Vm | null): bool {
  if (inCheckpoint) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
  if (length != VM_CONFIG_BYTES) return refuse(ERR_BAD_LENGTH, length, VM_CONFIG_BYTES);
  if (configBody != 0) {
    if (memory.compare(body, configBody, VM_CONFIG_BYTES) != 0) return refuse(ERR_CONFIG_MISMATCH);
  } else if (!checkFirstConfig(body, target)) {
    return false;
  }
  inCheckpoint = true;
  stateSeen = 0;
  walkGroupDigest = 0;
  walkGroupRecords = 0;
  memory.fill(pagesListed, 0, configPages);
  return true;
}

function checkFirstConfig(body: usize, target: Vm | null): bool {
  const kind = load<u32>(body);
  const ramBytes = load<u32>(body, 4);
  if (kind > 1) return refuse(ERR_BAD_VALUE, 0, kind);
  if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > MAX_RAM_BYTES) return refuse(ERR_BAD_VALUE, 4, ramBytes);
  if (load<u32>(body, 8) != PAGE_BYTES) return refuse(ERR_BAD_VALUE, 8, load<u32>(body, 8));
  const tohost = load<u32>(body, 16);
  if (tohost != 0 && (tohost - RAM_BASE >= ramBytes || ramBytes - (tohost - RAM_BASE) < 4)) return refuse(ERR_BAD_VALUE, 16, tohost);
  if (load<u32>(body, 20) != 0) return refuse(ERR_BAD_VALUE, 20, load<u32>(body, 20));
  if (target != null && (target.kind != kind || target.ramBytes != ramBytes)) {
    return refuse(ERR_TARGET, target.kind != kind ? 0 : 4, target.kind != kind ? target.kind : target.ramBytes);
  }
  configBody = body;
  configKind = kind;
  configRamBytes = ramBytes;
  configPages = ramBytes >> PAGE_SHIFT;
  configSourceVm = load<u32>(body, 12);
  ensurePagesListed(configPages);
  return true;
}

function ensurePagesListed(pages: u32): void {
  if (pagesListedBytes >= pages) return;
  if (pagesListed != 0) heap.free(pagesListed);
  pagesListed = heap.alloc(pages);
  pagesListedBytes = pages;
}

/** Page `page` may be listed: inside RAM, and not yet in this checkpoint. */
function listPage(page: u32): bool {
  if (page >= configPages) return refuse(ERR_PAGE_RANGE, page, configPages);
  if (load<u8>(pagesListed + page) != 0) return refuse(ERR_DUPLICATE_PAGE, page);
  store<u8>(pagesListed + page, 1);
  return true;
}

function checkPageData(body: usize, length: u32): bool {
  if (length < PAGE_RECORD_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, PAGE_RECORD_HEADER_BYTES);
  const count = load<u32>(body);
  if (count == 0) return refuse(ERR_BAD_VALUE, 0, 0);
  if (load<u32>(body, 4) != 0) return refuse(ERR_BAD_VALUE, 4, load<u32>(body, 4));
  const expected = pageDataBytes(count);
  if (<u64>length != expected) return refuse(ERR_BAD_LENGTH, length, expected);
  const numbers = body + PAGE_RECORD_HEADER_BYTES;
  if ((count & 1) != 0 && load<u32>(numbers + (<usize>count << 2)) != 0) return refuse(ERR_BAD_VALUE, 8 + (count << 2), 0);
  for (let i: u32 = 0; i < count; i++) if (!listPage(load<u32>(numbers + (<usize>i << 2)))) return false;
  return true;
}

function checkZeroPages(body: usize, length: u32): bool {
  if (length < PAGE_RECORD_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, PAGE_RECORD_HEADER_BYTES);
  const count = load<u32>(body);
  if (count == 0) return refuse(ERR_BAD_VALUE, 0, 0);
  if (load<u32>(body, 4) != 0) return refuse(ERR_BAD_VALUE, 4, load<u32>(body, 4));
  const expected = <u64>PAGE_RECORD_HEADER_BYTES + (<u64>count << 2);
  if (<u64>length != expected) return refuse(ERR_BAD_LENGTH, length, expected);
  for (let i: u32 = 0; i < count; i++) if (!listPage(load<u32>(body + PAGE_RECORD_HEADER_BYTES + (<usize>i << 2)))) return false;
  return true;
}

function checkCheckpointEnd(body: usize, length: u32, target: Vm | null): bool {
  if (length != CHECKPOINT_END_BYTES) return refuse(ERR_BAD_LENGTH, length, CHECKPOINT_END_BYTES);
  const flags = load<u32>(body);
  if ((flags & ~(CHECKPOINT_INCREMENTAL | CHECKPOINT_MEMORY_ONLY)) != 0) return refuse(ERR_BAD_VALUE, 0, flags);
  if (!checkStateComplete(flags)) return false;
  if (load<u32>(body, 20) != walkGroupRecords) return refuse(ERR_RECORD_COUNT, load<u32>(body, 20), walkGroupRecords);
  if (load<u32>(body, 28) != walkGroupDigest) return refuse(ERR_DIGEST, load<u32>(body, 28), walkGroupDigest);
  const captureCycles = load<u64>(body, 8);
  if (checkpointsSeen > 0 && captureCycles < lastCaptureCycles) return refuse(ERR_BAD_VALUE, 8, captureCycles);
  const clockHz = load<u32>(body, 16);
  if (clockHz == 0) return refuse(ERR_BAD_VALUE, 16, 0);
  if (!checkChain(flags, load<u32>(body, 4), load<u32>(body, 24), target)) return false;
  inCheckpoint = false;
  checkpointsSeen++;
  lastCaptureCycles = captureCycles;
  lastClockHz = clockHz;
  lastFlags = flags;
  return true;
}

/** A complete checkpoint has every state record; a memory-only one has none. */
function checkStateComplete(flags: u32): bool {
  if ((flags & CHECKPOINT_MEMORY_ONLY) != 0) {
    return stateSeen == 0 ? true : refuse(ERR_BAD_VALUE, 0, flags);
  }
  const missing = allStateRecordsMask() & ~stateSeen;
  if (missing == 0) return true;
  return refuse(ERR_MISSING_RECORD, unchecked(STATE_RECORDS[ctz(missing)]));
}

function checkChain(flags: u32, sequence: u32, chainId: u32, target: Vm | null): bool {
  if ((flags & CHECKPOINT_INCREMENTAL) == 0) {
    if (sequence != 0) return refuse(ERR_BAD_VALUE, 4, sequence);
    if (chainId != walkGroupDigest) return refuse(ERR_CHAIN, chainId, walkGroupDigest);
  } else if (walkChainKnown) {
    if (chainId != walkChainId || sequence != walkSequence + 1) return refuse(ERR_CHAIN, chainId, sequence);
  } else if (!targetContinuesChain(target, chainId, sequence)) {
    return false;
  }
  walkChainKnown = true;
  walkChainId = chainId;
  walkSequence = sequence;
  return true;
}

/**
 * A stream that starts with an increment applies only to a VM at the checkpoint before it:
 * same chain, previous sequence, and not a page written since.
 */
function targetContinuesChain(target: Vm | null, chainId: u32, sequence: u32): bool {
  if (target == null) return refuse(ERR_CHAIN, chainId, sequence);
  const id = target.id;
  if (!unchecked(chainKnown[id]) || unchecked(chainIds[id]) != chainId || unchecked(chainSequences[id]) + 1 != sequence) {
    return refuse(ERR_CHAIN, chainId, sequence);
  }
  const pages = target.ramBytes >> PAGE_SHIFT;
  for (let page: u32 = 0; page < pages; page++) {
    if ((load<u8>(target.dirty + page) & DIRTY_COLLECTOR) != 0) return refuse(ERR_CHAIN, chainId, sequence);
  }
  return true;
}

function checkEnd(body: usize, length: u32, index: u32, endOffset: u32, size: u32): bool {
  if (inCheckpoint) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
  if (length != END_BYTES) return refuse(ERR_BAD_LENGTH, length, END_BYTES);
  if (load<u32>(body) != checkpointsSeen) return refuse(ERR_RECORD_COUNT, load<u32>(body), checkpointsSeen);
  if (load<u32>(body, 4) != walkStreamDigest) return refuse(ERR_DIGEST, load<u32>(body, 4), walkStreamDigest);
  if (endOffset != size) {
    setCurrentRecord(endOffset, index + 1, 0);
    return refuse(ERR_TRAILING, size - endOffset);
  }
  if (checkpointsSeen == 0 || (lastFlags & CHECKPOINT_MEMORY_ONLY) != 0) return refuse(ERR_NOT_RESUMABLE, checkpointsSeen);
  return true;
}

/** After a successful validateStream: 0 checkpoints, 1 capture cycles, 2 clock Hz, 3 kind, 4 RAM bytes, 5 flags, 6 source VM. */
export function validatedInfo(field: u32): u64 {
  switch (field) {
    case 0: return checkpointsSeen;
    case 1: return lastCaptureCycles;
    case 2: return lastClockHz;
    case 3: return configKind;
    case 4: return configRamBytes;
    case 5: return lastFlags;
    case 6: return configSourceVm;
  }
  return 0;
}

// =====================================================================================
// Apply: only after validateStream accepted the same bytes for the same target
// =====================================================================================

/**
 * Validates, then applies the stream to `target` (null: a new VM). Returns the VM's id,
 * or SBI_ERR_INVALID_PARAM (refused; nothing changed), SBI_ERR_FAILED (no room for a VM).
 */
export function restoreStream(base: usize, size: u32, target: Vm | null): i32 {
  if (!validateStream(base, size, target)) return SBI_ERR_INVALID_PARAM;
  const vm = target != null ? target : newVmFor(configKind, configRamBytes);
  if (vm == null) {
    setCurrentRecord(HEADER_BYTES, 0, REC_VM_CONFIG);
    refuse(ERR_TARGET, 0xFFFF_FFFF, MAX_VMS);
    return SBI_ERR_FAILED;
  }
  applyStream(base, vm);
  return <i32>vm.id;
}

/** A new VM for a restore, within the processor's RAM (processorSetRam); null if none fits. */
function newVmFor(kind: u32, ramBytes: u32): Vm | null {
  const vm = reserveVm(kind, ramBytes);
  if (vm != null) resumeVm(vm);
  return vm;
}

function applyStream(base: usize, vm: Vm): void {
  let offset = HEADER_BYTES;
  while (true) {
    const type = recordType(base, offset);
    if (type == REC_END) break;
    const body = recordBodyAt(base, offset);
    if (type == REC_VM_CONFIG) beginApplyCheckpoint(base, offset, vm);
    else if (type == REC_PAGE_DATA) applyPageData(body, vm);
    else if (type == REC_ZERO_PAGES) applyZeroPages(body, vm);
    else if (type == REC_CHECKPOINT_END) setChain(vm, load<u32>(body, 24), load<u32>(body, 4));
    else if (stateRecordIndex(type) >= 0) applyStateRecord(type, vm, body);
    offset = nextRecordOffset(base, offset);
  }
  flushDecodeCache(vm);
}

/** At a checkpoint's VM_CONFIG: a full checkpoint starts from cleared RAM. */
function beginApplyCheckpoint(base: usize, offset: u32, vm: Vm): void {
  vm.tohost = load<u32>(recordBodyAt(base, offset), 16);
  let end = offset;
  while (recordType(base, end) != REC_CHECKPOINT_END) end = nextRecordOffset(base, end);
  if ((load<u32>(recordBodyAt(base, end)) & CHECKPOINT_INCREMENTAL) != 0) return;
  memory.fill(vm.ram, 0, vm.ramBytes);
  memory.fill(vm.dirty, DIRTY_CLEARED, vm.ramBytes >> PAGE_SHIFT);
}

function applyPageData(body: usize, vm: Vm): void {
  const count = load<u32>(body);
  const numbers = body + PAGE_RECORD_HEADER_BYTES;
  const contents = numbers + (<usize>((count + 1) & ~1) << 2);
  for (let i: u32 = 0; i < count; i++) {
    const page = load<u32>(numbers + (<usize>i << 2));
    memory.copy(vm.ram + (<usize>page << PAGE_SHIFT), contents + (<usize>i << PAGE_SHIFT), PAGE_BYTES);
    store<u8>(vm.dirty + page, DIRTY_RESTORED);
  }
}

function applyZeroPages(body: usize, vm: Vm): void {
  const count = load<u32>(body);
  for (let i: u32 = 0; i < count; i++) {
    const page = load<u32>(body + PAGE_RECORD_HEADER_BYTES + (<usize>i << 2));
    memory.fill(vm.ram + (<usize>page << PAGE_SHIFT), 0, PAGE_BYTES);
    store<u8>(vm.dirty + page, DIRTY_RESTORED);
  }
}
