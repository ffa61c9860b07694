// The Ferry stream as migration sends it (docs/stream-format.md): one memory-only
// checkpoint per pre-copy round, then, in the blackout, one complete checkpoint and END.
// Records are produced a few at a time, as the transport has room, so a round of a large
// VM never sits in memory whole. Migration owns dirty bit 2: a page is sent in a round if
// it was written since it was last sent.
import { getClockHz, now } from "./clock";
import { PAGE_SHIFT } from "./config";
import {
  pageRecordsBytes, stateRecordsBytes, writeCheckpointEnd, writePagesFrom, writeStateRecords, writeVmConfig,
  CHECKPOINT_INCREMENTAL, CHECKPOINT_MEMORY_ONLY, restoreStream, supportsCapture, END_RECORD_BYTES, CHECKPOINT_FRAME_BYTES,
} from "./collector";
import { DIRTY_MIGRATION, DIRTY_TOUCHED } from "./dirty-tracking";
import { beginGroup, beginRecord, drainOut, endRecord, groupDigest, outPending, REC_END, streamDigest, writeHeader } from "./stream";
import { Vm } from "./vm";

/** Data records the producer writes before it lets the transport drain them. */
const RECORDS_PER_STEP: u32 = 2;

const PHASE_PAGES: u32 = 0;
const PHASE_STATE: u32 = 1;
const PHASE_END: u32 = 2;
const PHASE_DONE: u32 = 3;

export class MigrationStream {
  phase: u32 = PHASE_DONE;
  nextPage: u32 = 0;
  full: bool = true;
  memoryOnly: bool = true;
  checkpoints: u32 = 0;
  chainId: u32 = 0;
  sequence: u32 = 0;
  pagesInCheckpoint: u64 = 0;
  // Destination: the stream as it arrives.
  input: usize = 0;
  inputCapacity: usize = 0;
  inputBytes: usize = 0;

  supports(vm: Vm): bool {
    return supportsCapture(vm);
  }

  beginStream(vm: Vm): void {
    writeHeader();
    this.checkpoints = 0;
    this.sequence = 0;
  }

  /** Starts the next checkpoint: round 1 sends every touched page, later ones what was written since. */
  beginCheckpoint(vm: Vm, full: bool, memoryOnly: bool): void {
    if (full) {
      this.beginStream(vm);
      clearMigrationBits(vm); // from here on, bit 2 means "written since sent"
    }
    this.full = full;
    this.memoryOnly = memoryOnly;
    this.nextPage = 0;
    this.pagesInCheckpoint = 0;
    this.phase = PHASE_PAGES;
    beginGroup();
    writeVmConfig(vm);
  }

  checkpointDone(): bool {
    return this.phase == PHASE_DONE && outPending() == 0;
  }

  /** Copies up to `maxBytes` of stream to `dest`, producing records as needed; 0 when the checkpoint is all out. */
  take(vm: Vm, dest: usize, maxBytes: u32): u32 {
    while (outPending() < maxBytes && this.phase != PHASE_DONE) this.produce(vm);
    return drainOut(dest, maxBytes);
  }

  private produce(vm: Vm): void {
    if (this.phase == PHASE_PAGES) {
      const bit = this.full ? DIRTY_TOUCHED : DIRTY_MIGRATION;
      const before = this.nextPage;
      this.nextPage = writePagesFrom(vm, bit, DIRTY_MIGRATION, this.nextPage, RECORDS_PER_STEP);
      this.pagesInCheckpoint += pagesWrittenLast();
      if (this.nextPage >= (vm.ramBytes >> PAGE_SHIFT) || this.nextPage == before) this.phase = this.memoryOnly ? PHASE_END : PHASE_STATE;
    } else if (this.phase == PHASE_STATE) {
      writeStateRecords(vm);
      this.phase = PHASE_END;
    } else if (this.phase == PHASE_END) {
      this.endCheckpoint();
      this.phase = PHASE_DONE;
    }
  }

  private endCheckpoint(): void {
    const flags = (this.full ? 0 : CHECKPOINT_INCREMENTAL) | (this.memoryOnly ? CHECKPOINT_MEMORY_ONLY : 0);
    if (this.full) { this.sequence = 0; this.chainId = groupDigest; } else this.sequence++;
    writeCheckpointEnd(flags, this.sequence, now(), <u32>getClockHz(), this.chainId);
    this.checkpoints++;
    if (!this.memoryOnly) {
      const body = beginRecord(REC_END, 8);
      store<u32>(body, this.checkpoints);
      store<u32>(body, streamDigest, 4);
      endRecord();
    }
  }

  /** Pages written since they were last sent (the next round's set). */
  dirtyPages(vm: Vm): u64 {
    let count: u64 = 0;
    const pages = vm.ramBytes >> PAGE_SHIFT;
    for (let page: u32 = 0; page < pages; page++) if ((load<u8>(vm.dirty + page) & DIRTY_MIGRATION) != 0) count++;
    return count;
  }

  touchedPages(vm: Vm): u64 {
    let count: u64 = 0;
    const pages = vm.ramBytes >> PAGE_SHIFT;
    for (let page: u32 = 0; page < pages; page++) if ((load<u8>(vm.dirty + page) & DIRTY_TOUCHED) != 0) count++;
    return count;
  }

  /** Stream bytes of a complete checkpoint listing `pages` pages (as data: the worst case), with END. */
  bytesForPages(vm: Vm, pages: u64): u64 {
    return CHECKPOINT_FRAME_BYTES + pageRecordsBytes(pages) + stateRecordsBytes(vm) + END_RECORD_BYTES;
  }

  fullBytes(vm: Vm): u64 {
    return 24 + this.bytesForPages(vm, this.touchedPages(vm));
  }

  incrementalBytes(vm: Vm): u64 {
    return this.bytesForPages(vm, this.dirtyPages(vm));
  }

  // ---- destination ----

  beginRestore(): void {
    this.inputBytes = 0;
  }

  append(ptr: usize, bytes: u32): void {
    const needed = this.inputBytes + bytes;
    if (needed > this.inputCapacity) {
      let capacity = this.inputCapacity == 0 ? <usize>(1 << 16) : this.inputCapacity;
      while (capacity < needed) capacity <<= 1;
      this.input = this.input == 0 ? heap.alloc(capacity) : heap.realloc(this.input, capacity);
      this.inputCapacity = capacity;
    }
    memory.copy(this.input + this.inputBytes, ptr, bytes);
    this.inputBytes = needed;
  }

  /** Checks the whole stream and applies it to `vm`; false (nothing applied) if refused. */
  restoreInto(vm: Vm): bool {
    const ok = restoreStream(this.input, <u32>this.inputBytes, vm) >= 0;
    if (this.input != 0) heap.free(this.input);
    this.input = 0;
    this.inputCapacity = 0;
    this.inputBytes = 0;
    return ok;
  }
}

function clearMigrationBits(vm: Vm): void {
  const pages = <usize>(vm.ramBytes >> PAGE_SHIFT);
  const keep: u8 = ~DIRTY_MIGRATION;
  for (let page: usize = 0; page < pages; page++) store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) & keep);
}

import { pagesWrittenLast } from "./collector";
