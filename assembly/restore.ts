// Applying a Ferry stream to a VM, in one of two ways:
//  - restoreStream: a whole stream in one buffer (a checkpoint file). It is checked whole
//    (stream-check.ts) before any VM changes, so a refused stream leaves nothing
//    half-applied.
//  - IncomingStream: a migration's stream as it arrives at the destination, which cannot
//    hold an 800 MiB VM's rounds until the commit. Each record is checked when its last
//    byte arrives and its pages go straight into the VM reserved for the migration: that
//    VM is held, nobody runs it, and it is released if anything is refused, so a refused
//    stream still changes no VM anyone sees. State records (which also reach outside the
//    VM: channel ports) wait for the stream's END and are applied at the commit.
// After the commit of a post-copy migration the same IncomingStream takes the pushed and
// demand-fetched pages.
import { MAX_VMS, PAGE_BYTES, PAGE_SHIFT, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM } from "./config";
import { setChain } from "./checkpoint-chain";
import { DIRTY_COLLECTOR, DIRTY_TOUCHED } from "./dirty-tracking";
import { noteWritten } from "./guestmem";
import {
  checkHeader, checkRecordFrame, CHECKPOINT_INCREMENTAL, CHECKPOINT_MEMORY_ONLY, clearError, ERR_ORDER, ERR_PAGE_RANGE, ERR_TARGET, ERR_TRUNCATED, HEADER_BYTES, MAX_RECORD_BODY_BYTES,
  nextRecordOffset, PAGE_RECORD_HEADER_BYTES, REC_CHECKPOINT_END, REC_PAGE_DATA, REC_VM_CONFIG, REC_ZERO_PAGES, RECORD_HEADER_BYTES, PAGE_COMPRESSED_HEADER_BYTES, REC_PAGE_COMPRESSED,
  recordBodyAt, recordBytes, recordLength, recordType, refuse, setCurrentRecord,
} from "./stream";
import { now } from "./clock";
import { checkPageRecordShape, StreamCheck } from "./stream-check";
import { flushDecodeCache, Vm } from "./vm";
import { decompressPage } from "./page-compression";
import { reserveVm, resumeVm } from "./vm-lifecycle";
import { applyStateRecord, stateRecordIndex } from "./vm-state-records";
import { appendReplay, startReplay } from "./input-log";
import { ERR_NOT_RESUMABLE, INPUT_LOG_FINAL, INPUT_LOG_HEADER_BYTES, REC_CHANNELS, REC_CONSOLE, REC_INPUT_LOG } from "./stream";

/** After a restore wrote a page: touched, clean for the collector, dirty for everyone else. */
const DIRTY_RESTORED: u8 = 0xFF & ~DIRTY_COLLECTOR;
/** A page a full checkpoint does not list: cleared, not touched, dirty for everyone else. */
const DIRTY_CLEARED: u8 = 0xFF & ~(DIRTY_COLLECTOR | DIRTY_TOUCHED);

/**
 * Applies checked records to one VM, in stream order. A full checkpoint's pages replace
 * the VM's RAM: at its CHECKPOINT_END every page it did not list is cleared (the same as
 * clearing first, without having to know at VM_CONFIG whether the checkpoint is full).
 */
class Applier {
  vm: Vm | null = null;
  /** PAGE_COMPRESSED records applied (decoded) since begin. */
  compressedPages: u64 = 0;
  /** One byte per page: listed in the current checkpoint. */
  listed: usize = 0;
  listedBytes: u32 = 0;
  /** Keep state records for finish (a stream still arriving) instead of applying them at once. */
  stageState: bool = false;
  staged: usize = 0;
  stagedCapacity: u32 = 0;
  stagedBytes: u32 = 0;
  /** The next state record starts a new complete checkpoint's set: drop the older one. */
  stagedStale: bool = false;
  /** A trace-replay stream (version 4): its first complete checkpoint starts the replay. */
  replay: bool = false;
  replayStarted: bool = false;
  /** The final INPUT_LOG's digest of the source's VM at the stop. */
  replayDigest: u32 = 0;

  begin(vm: Vm, stageState: bool): void {
    this.vm = vm;
    this.compressedPages = 0;
    this.stageState = stageState;
    this.stagedBytes = 0;
    this.stagedStale = false;
    this.replay = false;
    this.replayStarted = false;
    this.replayDigest = 0;
    const pages = vm.ramBytes >> PAGE_SHIFT;
    if (this.listedBytes < pages) {
      if (this.listed != 0) heap.free(this.listed);
      this.listed = heap.alloc(pages);
      this.listedBytes = pages;
    }
  }

  /** The record at `offset` of `base`, already checked. */
  apply(base: usize, offset: u32): void {
    const vm = this.vm!;
    const type = recordType(base, offset);
    const body = recordBodyAt(base, offset);
    if (type == REC_VM_CONFIG) this.beginCheckpoint(vm, body);
    else if (type == REC_PAGE_DATA) this.pageData(vm, body);
    else if (type == REC_ZERO_PAGES) this.zeroPages(vm, body);
    else if (type == REC_PAGE_COMPRESSED) this.compressedPage(vm, body);
    else if (type == REC_CHECKPOINT_END) this.endCheckpoint(vm, body);
    else if (type == REC_INPUT_LOG) this.inputLog(body, recordLength(base, offset));
    else if (stateRecordIndex(type) >= 0) {
      if (this.stageState) this.stage(base, offset);
      else applyStateRecord(type, vm, body);
    }
  }

  /** The stream is whole: staged state goes in, and the VM's decoded instructions are dropped. */
  finish(): void {
    const vm = this.vm!;
    for (let offset: u32 = 0; offset < this.stagedBytes; offset = nextRecordOffset(this.staged, offset)) {
      applyStateRecord(recordType(this.staged, offset), vm, recordBodyAt(this.staged, offset));
    }
    this.stagedBytes = 0;
    flushDecodeCache(vm);
    this.vm = null;
  }

  private beginCheckpoint(vm: Vm, body: usize): void {
    vm.tohost = load<u32>(body, 16);
    memory.fill(this.listed, 0, vm.ramBytes >> PAGE_SHIFT);
    this.stagedStale = true;
  }

  private pageData(vm: Vm, body: usize): void {
    const count = load<u32>(body);
    const numbers = body + PAGE_RECORD_HEADER_BYTES;
    const contents = numbers + (<usize>((count + 1) & ~1) << 2);
    for (let i: u32 = 0; i < count; i++) {
      const page = load<u32>(numbers + (<usize>i << 2));
      memory.copy(vm.ram + (<usize>page << PAGE_SHIFT), contents + (<usize>i << PAGE_SHIFT), PAGE_BYTES);
      this.restored(vm, page);
    }
  }

  /** A checked PAGE_COMPRESSED record: decoded straight into the VM's page. */
  private compressedPage(vm: Vm, body: usize): void {
    const page = load<u32>(body);
    decompressPage(load<u32>(body, 4) & 0xFF, body + PAGE_COMPRESSED_HEADER_BYTES, load<u32>(body, 8), vm.ram + (<usize>page << PAGE_SHIFT));
    this.restored(vm, page);
    this.compressedPages++;
  }

  private zeroPages(vm: Vm, body: usize): void {
    const count = load<u32>(body);
    for (let i: u32 = 0; i < count; i++) {
      const page = load<u32>(body + PAGE_RECORD_HEADER_BYTES + (<usize>i << 2));
      memory.fill(vm.ram + (<usize>page << PAGE_SHIFT), 0, PAGE_BYTES);
      this.restored(vm, page);
    }
  }

  @inline private restored(vm: Vm, page: u32): void {
    store<u8>(vm.dirty + page, DIRTY_RESTORED);
    store<u8>(this.listed + page, 1);
  }

  private endCheckpoint(vm: Vm, body: usize): void {
    if ((load<u32>(body) & CHECKPOINT_INCREMENTAL) == 0) {
      const pages = vm.ramBytes >> PAGE_SHIFT;
      for (let page: u32 = 0; page < pages; page++) {
        if (load<u8>(this.listed + page) != 0) continue;
        memory.fill(vm.ram + (<usize>page << PAGE_SHIFT), 0, PAGE_BYTES);
        store<u8>(vm.dirty + page, DIRTY_CLEARED);
      }
    }
    setChain(vm, load<u32>(body, 24), load<u32>(body, 4));
    if (this.replay && !this.replayStarted && (load<u32>(body) & CHECKPOINT_MEMORY_ONLY) == 0) this.beginReplay(vm);
  }

  /**
   * Trace-replay: the checkpoint is in; its vCPU and devices go in now and the VM starts
   * replaying the log (trace-replay.ts). Its channel ports and its console's buffered bytes
   * do not: they are the source's until the switch (the checkpoint there brings them).
   */
  private beginReplay(vm: Vm): void {
    for (let offset: u32 = 0; offset < this.stagedBytes; offset = nextRecordOffset(this.staged, offset)) {
      const type = recordType(this.staged, offset);
      if (type != REC_CHANNELS && type != REC_CONSOLE) applyStateRecord(type, vm, recordBodyAt(this.staged, offset));
    }
    this.stagedBytes = 0;
    flushDecodeCache(vm);
    startReplay(vm);
    this.replayStarted = true;
  }

  /** A checked INPUT_LOG: its entries join the replay log. */
  private inputLog(body: usize, length: u32): void {
    const final = (load<u32>(body) & INPUT_LOG_FINAL) != 0;
    if (final) this.replayDigest = load<u32>(body, 24);
    appendReplay(body + INPUT_LOG_HEADER_BYTES, length - INPUT_LOG_HEADER_BYTES, load<u64>(body, 16), final);
  }

  private stage(base: usize, offset: u32): void {
    if (this.stagedStale) { this.stagedBytes = 0; this.stagedStale = false; }
    const bytes = recordBytes(recordLength(base, offset));
    const needed = this.stagedBytes + bytes;
    if (needed > this.stagedCapacity) {
      const capacity = needed < 4096 ? 4096 : needed * 2;
      this.staged = this.staged == 0 ? heap.alloc(capacity) : heap.realloc(this.staged, capacity);
      this.stagedCapacity = capacity;
    }
    memory.copy(this.staged + this.stagedBytes, base + offset, bytes);
    this.stagedBytes = needed;
  }
}

// =====================================================================================
// A whole stream in one buffer
// =====================================================================================

const wholeCheck = new StreamCheck();
const wholeApplier = new Applier();

/**
 * Checks the stream in [base, base + size) as a whole, and against `target` (an existing
 * VM it would be applied to, or null for a new VM). Touches no VM. On refusal the error
 * (stream.ts errorField) names the record, its offset and what was wrong.
 */
export function validateStream(base: usize, size: u32, target: Vm | null): bool {
  clearError();
  wholeCheck.begin(target);
  if (!checkHeader(base, size)) return false;
  wholeCheck.header(base);
  let offset = HEADER_BYTES;
  for (let index: u32 = 0; !wholeCheck.ended; index++) {
    if (offset == size) {
      setCurrentRecord(offset, index, 0);
      return refuse(ERR_TRUNCATED, 0, RECORD_HEADER_BYTES);
    }
    if (!wholeCheck.record(base, size, offset, index)) return false;
    offset = nextRecordOffset(base, offset);
  }
  return true;
}

/** After a successful validateStream: 0 checkpoints, 1 capture cycles, 2 clock Hz, 3 kind, 4 RAM bytes, 5 flags, 6 source VM. */
export function validatedInfo(field: u32): u64 {
  return wholeCheck.info(field);
}

/**
 * Checks, then applies the stream to `target` (null: a new VM). Returns the VM's id, or
 * SBI_ERR_INVALID_PARAM (refused; nothing changed), SBI_ERR_FAILED (no room for a VM).
 */
export function restoreStream(base: usize, size: u32, target: Vm | null): i32 {
  if (!validateStream(base, size, target)) return SBI_ERR_INVALID_PARAM;
  if (wholeCheck.logsSeen != 0) { // a trace-replay stream: its memory at the end is the replay's, which only a migration's destination does
    setCurrentRecord(HEADER_BYTES, 0, REC_INPUT_LOG);
    refuse(ERR_NOT_RESUMABLE, wholeCheck.checkpointsSeen);
    return SBI_ERR_INVALID_PARAM;
  }
  const vm = target != null ? target : reserveVm(<u32>wholeCheck.kind, wholeCheck.ramBytes);
  if (vm == null) {
    setCurrentRecord(HEADER_BYTES, 0, REC_VM_CONFIG);
    refuse(ERR_TARGET, 0xFFFF_FFFF, MAX_VMS);
    return SBI_ERR_FAILED;
  }
  wholeApplier.begin(vm, false);
  for (let offset = HEADER_BYTES; offset < size; offset = nextRecordOffset(base, offset)) wholeApplier.apply(base, offset);
  wholeApplier.finish();
  if (target == null) resumeVm(vm);
  return <i32>vm.id;
}

// =====================================================================================
// A replica's copy (replication.ts): one whole stream per epoch
// =====================================================================================

/**
 * A protected VM's copy on its backup. Each epoch is a whole stream, checked before any
 * of it goes in; then its pages go into the copy's RAM and its state records wait (the
 * newest epoch's replace the older ones) until the copy takes over. So the copy is
 * always one whole epoch: a failure in the middle of the next leaves the last one.
 */
export class ReplicaCopy {
  applier: Applier = new Applier();
  vm: Vm | null = null;
  /** An epoch's state waits to be applied. */
  staged: bool = false;

  begin(vm: Vm): void {
    this.vm = vm;
    this.staged = false;
  }

  /** Applies the epoch stream in [base, base + size); false (nothing changed) if it is refused. */
  applyEpoch(base: usize, size: u32): bool {
    const vm = this.vm;
    if (vm == null || !validateStream(base, size, vm)) return false;
    this.applier.begin(vm, true);
    for (let offset = HEADER_BYTES; offset < size; offset = nextRecordOffset(base, offset)) this.applier.apply(base, offset);
    this.staged = true;
    return true;
  }

  /** The copy takes over: the last epoch's state goes in. */
  takeOver(): void {
    if (this.staged) this.applier.finish();
    this.staged = false;
  }
}

// =====================================================================================
// A stream as it arrives (a migration's destination)
// =====================================================================================

export class IncomingStream {
  check: StreamCheck = new StreamCheck();
  applier: Applier = new Applier();
  vm: Vm | null = null;
  /** Bytes that arrived and do not make a whole record yet. */
  input: usize = 0;
  inputCapacity: usize = 0;
  inputBytes: usize = 0;
  headerSeen: bool = false;
  records: u32 = 0;
  /** Something was refused: the rest is ignored and finish fails. */
  refused: bool = false;
  /** After a post-copy commit: page records of absent pages. */
  postCopy: bool = false;
  /** The most bytes held at once: at most a record and a message, whatever the VM's size. */
  heldBytesMax: usize = 0;
  /** Post-copy: pages that came again although they were here already. */
  duplicatePages: u64 = 0;

  /** A new stream for `vm`, the VM reserved for it (held until finish). */
  begin(vm: Vm): void {
    this.vm = vm;
    this.check.begin(vm);
    this.applier.begin(vm, true);
    this.inputBytes = 0;
    this.headerSeen = false;
    this.records = 0;
    this.refused = false;
    this.postCopy = false;
    this.heldBytesMax = 0;
    this.duplicatePages = 0;
    clearError();
  }

  /** The stream's next bytes, in order. False once anything was refused. */
  receive(ptr: usize, bytes: u32): bool {
    if (this.refused || this.vm == null) return false;
    this.append(ptr, bytes);
    const size = <u32>this.inputBytes;
    let offset: u32 = 0;
    if (!this.headerSeen && !this.postCopy) {
      if (size < HEADER_BYTES) return true;
      if (!checkHeader(this.input, HEADER_BYTES)) return this.refuse();
      this.check.header(this.input);
      this.applier.replay = this.check.logAllowed;
      this.headerSeen = true;
      offset = HEADER_BYTES;
    }
    while (size - offset >= RECORD_HEADER_BYTES) {
      const length = recordLength(this.input, offset);
      // An overlong length is refused by the check; anything else waits for its last byte.
      if (length <= MAX_RECORD_BODY_BYTES && size - offset < recordBytes(length)) break;
      const end = length <= MAX_RECORD_BODY_BYTES ? offset + recordBytes(length) : size;
      if (!(this.postCopy ? this.pushedPages(end, offset) : this.streamRecord(end, offset))) return this.refuse();
      offset = end;
      this.records++;
    }
    if (offset != 0) {
      memory.copy(this.input, this.input + offset, size - offset);
      this.inputBytes = size - offset;
    }
    return true;
  }

  /** The whole stream arrived and was accepted: the VM gets its state. False (drop the VM) if not. */
  finish(): bool {
    if (this.refused || !this.check.ended || this.inputBytes != 0) return false;
    this.applier.finish();
    return true;
  }

  /** After a post-copy commit: every page the stream did not carry is absent until it arrives. */
  beginPostCopy(): void {
    const vm = this.vm!;
    const pages = <usize>(vm.ramBytes >> PAGE_SHIFT);
    vm.absent = heap.alloc(pages);
    let missing: u32 = 0;
    for (let page: usize = 0; page < pages; page++) {
      const gone = (load<u8>(vm.dirty + page) & DIRTY_TOUCHED) == 0;
      store<u8>(vm.absent + page, gone ? 1 : 0);
      if (gone) missing++;
    }
    this.postCopy = true;
    this.inputBytes = 0;
    this.records = 0;
    if (missing == 0) this.endPostCopy();
  }

  /** Every page is here: the VM runs on the plain hart again. */
  endPostCopy(): void {
    const vm = this.vm;
    if (vm != null) {
      if (vm.absent != 0) heap.free(vm.absent);
      vm.absent = 0;
      vm.awaitingPage = 0;
    }
    this.postCopy = false;
  }

  private streamRecord(end: u32, offset: u32): bool {
    if (!this.check.record(this.input, end, offset, this.records)) return false;
    this.applier.apply(this.input, offset);
    return true;
  }

  /** A pushed or fetched page record: each page lands if it is still absent, and a VM waiting for it runs on. */
  private pushedPages(end: u32, offset: u32): bool {
    if (checkRecordFrame(this.input, end, offset, this.records) < 0) return false;
    const type = recordType(this.input, offset);
    const body = recordBodyAt(this.input, offset);
    if (type != REC_PAGE_DATA && type != REC_ZERO_PAGES) return refuse(ERR_ORDER, REC_PAGE_DATA);
    if (!checkPageRecordShape(type, body, recordLength(this.input, offset))) return false;
    const vm = this.vm!;
    const count = load<u32>(body);
    const pages = vm.ramBytes >> PAGE_SHIFT;
    const numbers = body + PAGE_RECORD_HEADER_BYTES;
    const contents = numbers + (<usize>((count + 1) & ~1) << 2);
    for (let i: u32 = 0; i < count; i++) {
      const page = load<u32>(numbers + (<usize>i << 2));
      if (page >= pages) return refuse(ERR_PAGE_RANGE, page, pages);
      if (load<u8>(vm.absent + page) == 0) { this.duplicatePages++; continue; } // already here
      const at = vm.ram + (<usize>page << PAGE_SHIFT);
      if (type == REC_PAGE_DATA) memory.copy(at, contents + (<usize>i << PAGE_SHIFT), PAGE_BYTES);
      else memory.fill(at, 0, PAGE_BYTES);
      store<u8>(vm.absent + page, 0);
      noteWritten(vm, page << PAGE_SHIFT, PAGE_BYTES);
      if (vm.awaitingPage == page + 1) {
        vm.awaitingPage = 0;
        if (vm.pageWaitSinceCycles != 0) vm.pageWaitCycles += now() - vm.pageWaitSinceCycles;
        vm.pageWaitSinceCycles = 0;
      }
    }
    return true;
  }

  private refuse(): bool {
    this.refused = true;
    this.inputBytes = 0;
    return false;
  }

  private append(ptr: usize, bytes: u32): void {
    const needed = this.inputBytes + bytes;
    if (needed > this.inputCapacity) {
      let capacity = this.inputCapacity == 0 ? <usize>(1 << 16) : this.inputCapacity;
      while (capacity < needed) capacity <<= 1;
      this.input = this.input == 0 ? heap.alloc(capacity) : heap.realloc(this.input, capacity);
      this.inputCapacity = capacity;
    }
    memory.copy(this.input + this.inputBytes, ptr, bytes);
    this.inputBytes = needed;
    if (needed > this.heldBytesMax) this.heldBytesMax = needed;
  }
}
