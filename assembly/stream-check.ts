// Checking a Ferry stream's meaning, record by record (docs/stream-format.md): order,
// counts, digests, the checkpoint chain, page numbers, every state value, and the VM it
// is meant for. A StreamCheck is one walk over one stream; it touches no VM. restore.ts
// walks a whole buffer before applying any of it, or walks a migration's stream as it
// arrives.
import { MAX_VM_RAM_BYTES, PAGE_BYTES, PAGE_SHIFT, RAM_BASE } from "./config";
import { crc32c, crc32cWord } from "./crc32c";
import { decompressPage } from "./page-compression";
import { DIRTY_COLLECTOR } from "./dirty-tracking";
import {
  checkRecordFrame, CHECKPOINT_END_BYTES, CHECKPOINT_INCREMENTAL, CHECKPOINT_MEMORY_ONLY, END_BYTES, ERR_BAD_LENGTH, ERR_BAD_VALUE,
  ERR_CHAIN, ERR_CONFIG_MISMATCH, ERR_DIGEST, ERR_DUPLICATE_PAGE, ERR_DUPLICATE_RECORD, ERR_MISSING_RECORD, ERR_NOT_RESUMABLE,
  ERR_ORDER, ERR_PAGE_RANGE, ERR_RECORD_COUNT, ERR_TARGET, ERR_TRAILING, ERR_UNKNOWN_MANDATORY, nextRecordOffset,
  PAGE_RECORD_HEADER_BYTES, pageDataBytes, PRODUCER_MAX_BYTES, REC_CHANNELS, REC_CHECKPOINT_END, REC_END, REC_PAGE_DATA, REC_PRODUCER,
  REC_VM_CONFIG, REC_ZERO_PAGES, RECORD_OPTIONAL, recordBodyAt, recordLength, recordType, refuse, setCurrentRecord,
  VM_CONFIG_BYTES, ERR_DECOMPRESS, PAGE_COMPRESSED_HEADER_BYTES, REC_PAGE_COMPRESSED, STREAM_VERSION_COMPRESSED,
  INPUT_LOG_FINAL, INPUT_LOG_HEADER_BYTES, REC_INPUT_LOG, REC_VCPU, STREAM_VERSION_REPLAY,
} from "./stream";
import { csrIsInput, ENTRY_BYTES, entryBytes, INPUT_CSR, INPUT_DEVICE_LOAD, INPUT_HYPERCALL, INPUT_INTERRUPT, INPUT_KINDS, INPUT_SC, MAX_ENTRY_DATA_BYTES } from "./input-log";
import { channelsFit } from "./channel-record";
import { chainIdOf, chainSequenceOf, hasChain } from "./checkpoint-chain";
import { Vm } from "./vm";
import { allStateRecordsMask, checkStateRecord, STATE_RECORDS, stateRecordIndex } from "./vm-state-records";

/** Largest VM RAM a stream may describe: what vmCreate accepts. */
const MAX_RAM_BYTES: u32 = MAX_VM_RAM_BYTES;

/**
 * Is this a well-formed PAGE_DATA or ZERO_PAGES body (count, reserved word, length,
 * padding)? Page numbers are not checked here. Refuses (and returns false) if not.
 */
export function checkPageRecordShape(type: u32, body: usize, length: u32): bool {
  if (length < PAGE_RECORD_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, PAGE_RECORD_HEADER_BYTES);
  const count = load<u32>(body);
  if (count == 0) return refuse(ERR_BAD_VALUE, 0, 0);
  if (load<u32>(body, 4) != 0) return refuse(ERR_BAD_VALUE, 4, load<u32>(body, 4));
  const expected = type == REC_PAGE_DATA ? pageDataBytes(count) : <u64>PAGE_RECORD_HEADER_BYTES + (<u64>count << 2);
  if (<u64>length != expected) return refuse(ERR_BAD_LENGTH, length, expected);
  const numbers = body + PAGE_RECORD_HEADER_BYTES;
  if (type == REC_PAGE_DATA && (count & 1) != 0 && load<u32>(numbers + (<usize>count << 2)) != 0) {
    return refuse(ERR_BAD_VALUE, 8 + (count << 2), 0);
  }
  return true;
}

/** Where a PAGE_COMPRESSED record is decompressed to be checked (the applier decompresses again into the VM). */
const decodedPage = heap.alloc(PAGE_BYTES);

/**
 * Is this a PAGE_COMPRESSED body whose encoding decodes to exactly one page with the
 * CRC it names? Its page number is not checked here. Refuses (and returns false) if not.
 */
export function checkCompressedPage(body: usize, length: u32): bool {
  if (length <= PAGE_COMPRESSED_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, PAGE_COMPRESSED_HEADER_BYTES + 1);
  if ((load<u32>(body, 4) & 0xFFFF_FF00) != 0) return refuse(ERR_BAD_VALUE, 5, load<u32>(body, 4) >> 8);
  const encodedBytes = load<u32>(body, 8);
  if (encodedBytes != length - PAGE_COMPRESSED_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, <u64>PAGE_COMPRESSED_HEADER_BYTES + encodedBytes);
  const codec = load<u32>(body, 4) & 0xFF;
  if (!decompressPage(codec, body + PAGE_COMPRESSED_HEADER_BYTES, encodedBytes, decodedPage)) return refuse(ERR_DECOMPRESS, codec, 0);
  const crc = crc32c(decodedPage, PAGE_BYTES);
  if (crc != load<u32>(body, 12)) return refuse(ERR_DECOMPRESS, load<u32>(body, 12), crc);
  return true;
}

export class StreamCheck {
  /** The header said version 3: PAGE_COMPRESSED records may come. */
  compressedAllowed: bool = false;
  target: Vm | null = null;
  inCheckpoint: bool = false;
  checkpointsSeen: u32 = 0;
  /** The first VM_CONFIG's body, kept: every later one must equal it. */
  config: usize = heap.alloc(VM_CONFIG_BYTES);
  configSeen: bool = false;
  kind: u32 = 0;
  ramBytes: u32 = 0;
  pages: u32 = 0;
  sourceVm: u32 = 0;
  /** Bit i: STATE_RECORDS[i] seen in this checkpoint. */
  stateSeen: u32 = 0;
  groupDigest: u32 = 0;
  groupRecords: u32 = 0;
  streamDigest: u32 = 0;
  /** One byte per page: listed in this checkpoint. */
  listed: usize = 0;
  listedBytes: u32 = 0;
  chainKnown: bool = false;
  chainId: u32 = 0;
  sequence: u32 = 0;
  lastCaptureCycles: u64 = 0;
  lastClockHz: u32 = 0;
  lastFlags: u32 = 0;
  /** END was seen and accepted: the stream is whole. */
  ended: bool = false;
  /** The header said version 4: INPUT_LOG records may come between checkpoints (trace-replay). */
  logAllowed: bool = false;
  logsSeen: u32 = 0;
  finalLogSeen: bool = false;
  /** A complete checkpoint ended after the final INPUT_LOG (the state at the switch). */
  checkpointAfterFinal: bool = false;
  /** Where the next INPUT_LOG must start: the last complete checkpoint's instruction count, then the last log's end. */
  logPosition: u64 = 0;
  /** The VCPU record's instruction count in the checkpoint being walked. */
  vcpuExecuted: u64 = 0;

  /** After the header was accepted: a version-3 stream may carry PAGE_COMPRESSED records, a version-4 one INPUT_LOG records. */
  header(base: usize): void {
    this.compressedAllowed = load<u32>(base, 12) == STREAM_VERSION_COMPRESSED;
    this.logAllowed = load<u32>(base, 12) == STREAM_VERSION_REPLAY;
  }

  /** Starts a walk of a new stream meant for `target` (an existing VM), or null (a new VM). */
  begin(target: Vm | null): void {
    this.target = target;
    this.compressedAllowed = false;
    this.inCheckpoint = false;
    this.checkpointsSeen = 0;
    this.configSeen = false;
    this.stateSeen = 0;
    this.groupDigest = 0;
    this.groupRecords = 0;
    this.streamDigest = 0;
    this.chainKnown = false;
    this.lastCaptureCycles = 0;
    this.lastClockHz = 0;
    this.lastFlags = 0;
    this.ended = false;
    this.logAllowed = false;
    this.logsSeen = 0;
    this.finalLogSeen = false;
    this.checkpointAfterFinal = false;
    this.logPosition = 0;
    this.vcpuExecuted = 0;
  }

  /**
   * Checks the record at `offset` of [base, base + size) — its framing, then its meaning in
   * the walk so far — and adds it to the walk. The record must end at `size` if it is END
   * (nothing may follow). False (the refusal recorded, stream.ts errorField) if refused.
   */
  record(base: usize, size: u32, offset: u32, index: u32): bool {
    if (this.ended) {
      setCurrentRecord(offset, index, 0);
      return refuse(ERR_TRAILING, size - offset);
    }
    const crc = checkRecordFrame(base, size, offset, index);
    if (crc < 0) return false;
    const type = recordType(base, offset);
    const body = recordBodyAt(base, offset);
    const length = recordLength(base, offset);
    if (type == REC_END) return this.end(body, length, index, nextRecordOffset(base, offset), size);
    if (!this.meaning(type, body, length)) return false;
    if (type != REC_CHECKPOINT_END) {
      this.groupDigest = crc32cWord(this.groupDigest, <u32>crc);
      this.groupRecords++;
    }
    this.streamDigest = crc32cWord(this.streamDigest, <u32>crc);
    return true;
  }

  /** After an accepted stream: 0 checkpoints, 1 capture cycles, 2 clock Hz, 3 kind, 4 RAM bytes, 5 flags, 6 source VM. */
  info(field: u32): u64 {
    switch (field) {
      case 0: return this.checkpointsSeen;
      case 1: return this.lastCaptureCycles;
      case 2: return this.lastClockHz;
      case 3: return this.kind;
      case 4: return this.ramBytes;
      case 5: return this.lastFlags;
      case 6: return this.sourceVm;
    }
    return 0;
  }

  private meaning(type: u32, body: usize, length: u32): bool {
    if (type == REC_VM_CONFIG) return this.vmConfig(body, length);
    if (type == REC_INPUT_LOG && this.logAllowed) return this.inputLog(body, length);
    if (!this.inCheckpoint) return refuse(ERR_ORDER, REC_VM_CONFIG);
    if (type == REC_CHECKPOINT_END) return this.checkpointEnd(body, length);
    // After the log began, memory is the replay's: the checkpoint at the switch carries state only.
    if (this.logsSeen != 0 && (type == REC_PAGE_DATA || type == REC_ZERO_PAGES || type == REC_PAGE_COMPRESSED)) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
    if (type == REC_PAGE_DATA || type == REC_ZERO_PAGES) return this.pageRecord(type, body, length);
    if (type == REC_PAGE_COMPRESSED && this.compressedAllowed) {
      return checkCompressedPage(body, length) && this.listPage(load<u32>(body));
    }
    if (type == REC_PRODUCER) return length <= PRODUCER_MAX_BYTES ? true : refuse(ERR_BAD_LENGTH, length, PRODUCER_MAX_BYTES);
    const state = stateRecordIndex(type);
    if (state >= 0) {
      if ((this.stateSeen & (1 << state)) != 0) return refuse(ERR_DUPLICATE_RECORD, type);
      this.stateSeen |= 1 << state;
      if (!checkStateRecord(type, body, length, this.kind)) return false;
      if (type == REC_VCPU) this.vcpuExecuted = load<u64>(body, 216);
      return type == REC_CHANNELS ? this.portsFit(body) : true;
    }
    if ((type & RECORD_OPTIONAL) != 0) return true; // unknown optional: skipped
    return refuse(ERR_UNKNOWN_MANDATORY, type);
  }

  /** The record's ports fit in this processor's port table beside the other VMs' (the target's own are replaced). */
  private portsFit(body: usize): bool {
    const target = this.target;
    const count = load<u32>(body);
    return channelsFit(target != null ? target.id : u32.MAX_VALUE, count) ? true : refuse(ERR_TARGET, 0xFFFF_FFFD, count);
  }

  /**
   * An INPUT_LOG record (version 4, between checkpoints): it continues the log where the
   * last one ended (the first: at the checkpoint's instruction count), and every entry is
   * well formed, in order, and within [fromPosition, untilPosition].
   */
  private inputLog(body: usize, length: u32): bool {
    if (this.inCheckpoint) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
    if (this.checkpointsSeen == 0 || (this.lastFlags & CHECKPOINT_MEMORY_ONLY) != 0 && this.logsSeen == 0) return refuse(ERR_ORDER, REC_VM_CONFIG);
    if (this.finalLogSeen) return refuse(ERR_ORDER, REC_VM_CONFIG);
    if (length < INPUT_LOG_HEADER_BYTES) return refuse(ERR_BAD_LENGTH, length, INPUT_LOG_HEADER_BYTES);
    const flags = load<u32>(body);
    if ((flags & ~INPUT_LOG_FINAL) != 0) return refuse(ERR_BAD_VALUE, 0, flags);
    const final = (flags & INPUT_LOG_FINAL) != 0;
    if (!final && load<u32>(body, 24) != 0) return refuse(ERR_BAD_VALUE, 24, load<u32>(body, 24));
    if (load<u32>(body, 28) != 0) return refuse(ERR_BAD_VALUE, 28, load<u32>(body, 28));
    const from = load<u64>(body, 8);
    const until = load<u64>(body, 16);
    if (from != this.logPosition) return refuse(ERR_BAD_VALUE, 8, from);
    if (until < from) return refuse(ERR_BAD_VALUE, 16, until);
    const count = load<u32>(body, 4);
    let at: u32 = INPUT_LOG_HEADER_BYTES;
    let last = from;
    for (let i: u32 = 0; i < count; i++) {
      if (length - at < ENTRY_BYTES) return refuse(ERR_BAD_LENGTH, length, <u64>at + ENTRY_BYTES);
      const entry = body + at;
      const position = load<u64>(entry);
      const kind = load<u32>(entry, 8);
      const a = load<u32>(entry, 12), b = load<u32>(entry, 16), offset = load<u32>(entry, 20), dataBytes = load<u32>(entry, 24);
      if (kind == 0 || kind > INPUT_KINDS) return refuse(ERR_BAD_VALUE, at + 8, kind);
      if (load<u32>(entry, 28) != 0) return refuse(ERR_BAD_VALUE, at + 28, load<u32>(entry, 28));
      // Positions never go back; an interrupt is taken before the instruction at its position, every other input at it.
      if (position < last || position > until || (position == until && kind != INPUT_INTERRUPT)) return refuse(ERR_BAD_VALUE, at, position);
      if (kind != INPUT_HYPERCALL && (offset != 0 || dataBytes != 0)) return refuse(ERR_BAD_VALUE, at + 20, offset | dataBytes);
      if (kind == INPUT_CSR && !csrIsInput(b)) return refuse(ERR_BAD_VALUE, at + 16, b);
      if (kind == INPUT_INTERRUPT && (a > 11 || b != 0)) return refuse(ERR_BAD_VALUE, at + 12, a);
      if ((kind == INPUT_SC && (a > 1 || b != 0)) || (kind == INPUT_DEVICE_LOAD && b != 0)) return refuse(ERR_BAD_VALUE, at + 12, a);
      if (kind == INPUT_HYPERCALL) {
        if (dataBytes > MAX_ENTRY_DATA_BYTES || <u64>offset + dataBytes > <u64>this.ramBytes) return refuse(ERR_BAD_VALUE, at + 24, dataBytes);
        if (<u64>length - at < <u64>entryBytes(dataBytes)) return refuse(ERR_BAD_LENGTH, length, <u64>at + entryBytes(dataBytes));
        for (let pad = ENTRY_BYTES + dataBytes; pad < entryBytes(dataBytes); pad++) {
          if (load<u8>(entry + pad) != 0) return refuse(ERR_BAD_VALUE, at + pad, load<u8>(entry + pad));
        }
      }
      at += entryBytes(dataBytes);
      last = position;
    }
    if (at != length) return refuse(ERR_BAD_LENGTH, length, at);
    this.logsSeen++;
    this.logPosition = until;
    this.finalLogSeen = final;
    return true;
  }

  private vmConfig(body: usize, length: u32): bool {
    if (this.inCheckpoint) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
    if (this.logsSeen != 0 && !this.finalLogSeen) return refuse(ERR_ORDER, REC_INPUT_LOG);
    if (length != VM_CONFIG_BYTES) return refuse(ERR_BAD_LENGTH, length, VM_CONFIG_BYTES);
    if (this.configSeen) {
      if (memory.compare(body, this.config, VM_CONFIG_BYTES) != 0) return refuse(ERR_CONFIG_MISMATCH);
    } else if (!this.firstConfig(body)) {
      return false;
    }
    this.inCheckpoint = true;
    this.stateSeen = 0;
    this.groupDigest = 0;
    this.groupRecords = 0;
    memory.fill(this.listed, 0, this.pages);
    return true;
  }

  private firstConfig(body: usize): bool {
    const kind = load<u32>(body);
    const ramBytes = load<u32>(body, 4);
    if (kind > 1) return refuse(ERR_BAD_VALUE, 0, kind);
    if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > MAX_RAM_BYTES) return refuse(ERR_BAD_VALUE, 4, ramBytes);
    if (load<u32>(body, 8) != PAGE_BYTES) return refuse(ERR_BAD_VALUE, 8, load<u32>(body, 8));
    const tohost = load<u32>(body, 16);
    if (tohost != 0 && (tohost - RAM_BASE >= ramBytes || ramBytes - (tohost - RAM_BASE) < 4)) return refuse(ERR_BAD_VALUE, 16, tohost);
    if (load<u32>(body, 20) != 0) return refuse(ERR_BAD_VALUE, 20, load<u32>(body, 20));
    const target = this.target;
    if (target != null && (target.kind != kind || target.ramBytes != ramBytes)) {
      return refuse(ERR_TARGET, target.kind != kind ? 0 : 4, target.kind != kind ? target.kind : target.ramBytes);
    }
    memory.copy(this.config, body, VM_CONFIG_BYTES);
    this.configSeen = true;
    this.kind = kind;
    this.ramBytes = ramBytes;
    this.pages = ramBytes >> PAGE_SHIFT;
    this.sourceVm = load<u32>(body, 12);
    if (this.listedBytes < this.pages) {
      if (this.listed != 0) heap.free(this.listed);
      this.listed = heap.alloc(this.pages);
      this.listedBytes = this.pages;
    }
    return true;
  }

  private pageRecord(type: u32, body: usize, length: u32): bool {
    if (!checkPageRecordShape(type, body, length)) return false;
    const count = load<u32>(body);
    const numbers = body + PAGE_RECORD_HEADER_BYTES;
    for (let i: u32 = 0; i < count; i++) if (!this.listPage(load<u32>(numbers + (<usize>i << 2)))) return false;
    return true;
  }

  /** Page `page` may be listed: inside RAM, and not yet in this checkpoint. */
  private listPage(page: u32): bool {
    if (page >= this.pages) return refuse(ERR_PAGE_RANGE, page, this.pages);
    if (load<u8>(this.listed + page) != 0) return refuse(ERR_DUPLICATE_PAGE, page);
    store<u8>(this.listed + page, 1);
    return true;
  }

  private checkpointEnd(body: usize, length: u32): bool {
    if (length != CHECKPOINT_END_BYTES) return refuse(ERR_BAD_LENGTH, length, CHECKPOINT_END_BYTES);
    const flags = load<u32>(body);
    if ((flags & ~(CHECKPOINT_INCREMENTAL | CHECKPOINT_MEMORY_ONLY)) != 0) return refuse(ERR_BAD_VALUE, 0, flags);
    if (!this.stateComplete(flags)) return false;
    if (load<u32>(body, 20) != this.groupRecords) return refuse(ERR_RECORD_COUNT, load<u32>(body, 20), this.groupRecords);
    if (load<u32>(body, 28) != this.groupDigest) return refuse(ERR_DIGEST, load<u32>(body, 28), this.groupDigest);
    const captureCycles = load<u64>(body, 8);
    if (this.checkpointsSeen > 0 && captureCycles < this.lastCaptureCycles) return refuse(ERR_BAD_VALUE, 8, captureCycles);
    const clockHz = load<u32>(body, 16);
    if (clockHz == 0) return refuse(ERR_BAD_VALUE, 16, 0);
    if (!this.chain(flags, load<u32>(body, 4), load<u32>(body, 24))) return false;
    this.inCheckpoint = false;
    this.checkpointsSeen++;
    if ((flags & CHECKPOINT_MEMORY_ONLY) == 0 && this.logsSeen == 0) this.logPosition = this.vcpuExecuted;
    if (this.finalLogSeen && (flags & CHECKPOINT_MEMORY_ONLY) == 0) this.checkpointAfterFinal = true;
    this.lastCaptureCycles = captureCycles;
    this.lastClockHz = clockHz;
    this.lastFlags = flags;
    return true;
  }

  /** A complete checkpoint has every state record; a memory-only one has none. */
  private stateComplete(flags: u32): bool {
    if ((flags & CHECKPOINT_MEMORY_ONLY) != 0) {
      return this.stateSeen == 0 ? true : refuse(ERR_BAD_VALUE, 0, flags);
    }
    const missing = allStateRecordsMask() & ~this.stateSeen;
    if (missing == 0) return true;
    return refuse(ERR_MISSING_RECORD, unchecked(STATE_RECORDS[ctz(missing)]));
  }

  private chain(flags: u32, sequence: u32, chainId: u32): bool {
    if ((flags & CHECKPOINT_INCREMENTAL) == 0) {
      if (sequence != 0) return refuse(ERR_BAD_VALUE, 4, sequence);
      if (chainId != this.groupDigest) return refuse(ERR_CHAIN, chainId, this.groupDigest);
    } else if (this.chainKnown) {
      if (chainId != this.chainId || sequence != this.sequence + 1) return refuse(ERR_CHAIN, chainId, sequence);
    } else if (!this.targetContinuesChain(chainId, sequence)) {
      return false;
    }
    this.chainKnown = true;
    this.chainId = chainId;
    this.sequence = sequence;
    return true;
  }

  /**
   * A stream that starts with an increment applies only to a VM at the checkpoint before it:
   * same chain, previous sequence, and not a page written since.
   */
  private targetContinuesChain(chainId: u32, sequence: u32): bool {
    const target = this.target;
    if (target == null) return refuse(ERR_CHAIN, chainId, sequence);
    if (!hasChain(target) || chainIdOf(target) != chainId || chainSequenceOf(target) + 1 != sequence) {
      return refuse(ERR_CHAIN, chainId, sequence);
    }
    const pages = target.ramBytes >> PAGE_SHIFT;
    for (let page: u32 = 0; page < pages; page++) {
      if ((load<u8>(target.dirty + page) & DIRTY_COLLECTOR) != 0) return refuse(ERR_CHAIN, chainId, sequence);
    }
    return true;
  }

  private end(body: usize, length: u32, index: u32, endOffset: u32, size: u32): bool {
    if (this.inCheckpoint) return refuse(ERR_ORDER, REC_CHECKPOINT_END);
    if (length != END_BYTES) return refuse(ERR_BAD_LENGTH, length, END_BYTES);
    if (this.logsSeen != 0 && !this.checkpointAfterFinal) return refuse(ERR_ORDER, this.finalLogSeen ? REC_VM_CONFIG : REC_INPUT_LOG);
    if (load<u32>(body) != this.checkpointsSeen) return refuse(ERR_RECORD_COUNT, load<u32>(body), this.checkpointsSeen);
    if (load<u32>(body, 4) != this.streamDigest) return refuse(ERR_DIGEST, load<u32>(body, 4), this.streamDigest);
    if (endOffset != size) {
      setCurrentRecord(endOffset, index + 1, 0);
      return refuse(ERR_TRAILING, size - endOffset);
    }
    if (this.checkpointsSeen == 0 || (this.lastFlags & CHECKPOINT_MEMORY_ONLY) != 0) return refuse(ERR_NOT_RESUMABLE, this.checkpointsSeen);
    this.ended = true;
    return true;
  }
}
