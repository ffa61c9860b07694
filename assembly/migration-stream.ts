// The Ferry stream as a migration's source sends it (docs/stream-format.md): one
// memory-only checkpoint per pre-copy round, then, in the blackout, one complete
// checkpoint and END. The destination takes it with restore.ts's IncomingStream.
// Records are produced a few at a time, as the transport has room, so a round of a large
// VM never sits in memory whole. Migration owns dirty bit 2: a page is sent in a round if
// it was written since it was last sent.
import { getClockHz, now } from "./clock";
import { PAGE_SHIFT } from "./config";
import {
  CHECKPOINT_FRAME_BYTES, compressedPageRecordsBytes, CompressionStats, END_RECORD_BYTES, pageRecordsBytes, pagesWrittenLast,
  stateRecordsBytes, writeCheckpointEnd, writeCompressedPagesFrom, writeOrderedPagesFrom, writePagesFrom, writeStateRecords, writeVmConfig,
} from "./collector";
import { ORDER_BUCKETS, WorkingSet } from "./working-set";
import { DIRTY_ROUND, DIRTY_MIGRATION, DIRTY_POSTCOPY_PENDING, DIRTY_TOUCHED } from "./dirty-tracking";
import {
  beginGroup, beginRecord, CHECKPOINT_INCREMENTAL, CHECKPOINT_MEMORY_ONLY, drainOut, endRecord, groupDigest, outPending, REC_END, streamDigest,
  StreamWriter, useWriter, writeHeader, STREAM_VERSION, STREAM_VERSION_COMPRESSED, STREAM_VERSION_REPLAY,
} from "./stream";
import { firstAccessPages, firstPage } from "./first-access";
import { vmHooks } from "./vm-hooks";
import { Vm } from "./vm";

/** Data records the producer writes before it lets the transport drain them. */
const RECORDS_PER_STEP: u32 = 2;

const PHASE_PAGES: u32 = 0;
const PHASE_STATE: u32 = 1;
const PHASE_END: u32 = 2;
const PHASE_DONE: u32 = 3;

export class MigrationStream {
  /** This stream's own writer: a migration's bytes never mix with a checkpoint's or a replica's. */
  writer: StreamWriter = new StreamWriter();
  phase: u32 = PHASE_DONE;
  nextPage: u32 = 0;
  full: bool = true;
  memoryOnly: bool = true;
  /** Dirty bit that selects the checkpoint's pages (full pre-copy round: touched; else: migration's). */
  pageBit: u8 = DIRTY_TOUCHED;
  /** Post-copy push: the next page to look at. */
  pushNext: u32 = 0;
  checkpoints: u32 = 0;
  chainId: u32 = 0;
  sequence: u32 = 0;
  pagesInCheckpoint: u64 = 0;
  /** Post-copy: pages the blackout carried, and pages sent after the commit. */
  prepagedPages: u64 = 0;
  pushedPages: u64 = 0;
  /** Compress pages (page-compression.ts; a version-3 stream); post-copy's pushes go as they are. */
  compress: bool = false;
  /** What the compression did to the pages sent, per class. */
  stats: CompressionStats = new CompressionStats();
  /** What an estimate found (compressedBytes): for the bound's compression term. */
  estimate: CompressionStats = new CompressionStats();
  /** Pre-copy rounds in working-set order (working-set.ts): passes by bucket, the predicted-hot pages held back. */
  ordered: bool = false;
  workingSet: WorkingSet = new WorkingSet();
  /** The bucket the current round's scan is on. */
  pass: u8 = 0;
  /** Page records this stream carried, over every checkpoint and push (MigrationStat pages-sent). */
  pagesSent: u64 = 0;
  /** Trace-replay: a version-4 stream; its checkpoint at the switch carries state only (memory is the replay's). */
  replay: bool = false;
  statesOnly: bool = false;
  /** Writing the state records hands the VM's ports over (they refuse what arrives); not for trace-replay's first checkpoint, taken while the VM runs on. */
  departs: bool = true;
  /** A complete checkpoint ends the stream (END); not trace-replay's first, which the log follows. */
  endsStream: bool = true;

  beginStream(vm: Vm): void {
    useWriter(this.writer);
    writeHeader(this.replay ? STREAM_VERSION_REPLAY : this.compress ? STREAM_VERSION_COMPRESSED : STREAM_VERSION);
    this.checkpoints = 0;
    this.sequence = 0;
  }

  /** Starts the next checkpoint: round 1 sends every touched page, later ones what was written since. */
  beginCheckpoint(vm: Vm, full: bool, memoryOnly: bool): void {
    useWriter(this.writer);
    if (full) {
      this.beginStream(vm);
      clearMigrationBits(vm); // from here on, bit 2 means "written since sent"
    }
    this.full = full;
    this.memoryOnly = memoryOnly;
    this.pageBit = full ? DIRTY_TOUCHED : DIRTY_MIGRATION;
    this.pass = 0;
    this.nextPage = 0;
    this.pagesInCheckpoint = 0;
    this.phase = PHASE_PAGES;
    beginGroup();
    writeVmConfig(vm);
  }

  checkpointDone(): bool {
    useWriter(this.writer);
    return this.phase == PHASE_DONE && outPending() == 0;
  }

  /** Copies up to `maxBytes` of stream to `dest`, producing records as needed; 0 when the checkpoint is all out. */
  take(vm: Vm, dest: usize, maxBytes: u32): u32 {
    useWriter(this.writer);
    while (outPending() < maxBytes && this.phase != PHASE_DONE) this.produce(vm);
    return drainOut(dest, maxBytes);
  }

  /** An ordered round (memory-only, working-set order) scans once per bucket; a blackout sends every dirty page at once. */
  private orderedRound(): bool {
    return this.ordered && this.memoryOnly;
  }

  private produceOrdered(vm: Vm): void {
    const before = this.nextPage;
    const stats: CompressionStats | null = this.compress ? this.stats : null;
    this.nextPage = writeOrderedPagesFrom(vm, this.pageBit, DIRTY_MIGRATION, this.nextPage, RECORDS_PER_STEP, this.workingSet.order, this.pass, stats);
    this.pagesInCheckpoint += pagesWrittenLast();
    this.pagesSent += pagesWrittenLast();
    if (this.nextPage < (vm.ramBytes >> PAGE_SHIFT) && this.nextPage != before) return;
    this.nextPage = 0;
    this.pass++;
    if (this.pass == ORDER_BUCKETS) this.phase = PHASE_END;
  }

  private produce(vm: Vm): void {
    if (this.phase == PHASE_PAGES && this.statesOnly) {
      this.phase = PHASE_STATE;
    } else if (this.phase == PHASE_PAGES && this.orderedRound()) {
      this.produceOrdered(vm);
    } else if (this.phase == PHASE_PAGES) {
      const before = this.nextPage;
      this.nextPage = this.compress
        ? writeCompressedPagesFrom(vm, this.pageBit, DIRTY_MIGRATION, this.nextPage, RECORDS_PER_STEP, this.stats)
        : writePagesFrom(vm, this.pageBit, DIRTY_MIGRATION, this.nextPage, RECORDS_PER_STEP);
      this.pagesInCheckpoint += pagesWrittenLast();
      this.pagesSent += pagesWrittenLast();
      if (this.nextPage >= (vm.ramBytes >> PAGE_SHIFT) || this.nextPage == before) this.phase = this.memoryOnly ? PHASE_END : PHASE_STATE;
    } else if (this.phase == PHASE_STATE) {
      writeStateRecords(vm);
      if (this.departs) vmHooks.depart(vm.id); // the CHANNELS record is the ports' state now: what arrives for them is refused
      this.phase = PHASE_END;
    } else if (this.phase == PHASE_END) {
      this.endCheckpoint();
      this.phase = PHASE_DONE;
    }
  }

  private endCheckpoint(): void {
    const flags = (this.full ? 0 : CHECKPOINT_INCREMENTAL) | (this.memoryOnly ? CHECKPOINT_MEMORY_ONLY : 0);
    if (this.full) { this.sequence = 0; this.chainId = groupDigest(); } else this.sequence++;
    writeCheckpointEnd(flags, this.sequence, now(), <u32>getClockHz(), this.chainId);
    this.checkpoints++;
    if (!this.memoryOnly && this.endsStream) {
      const body = beginRecord(REC_END, 8);
      store<u32>(body, this.checkpoints);
      store<u32>(body, streamDigest(), 4);
      endRecord();
    }
  }

  /**
   * Post-copy's blackout: a full, complete checkpoint of the prepaged pages (those
   * written while the manager watched, migration's bit) and of every page the VM's first
   * instruction there can touch (first-access.ts); every other touched page is marked
   * pending, to follow after the commit — once. `prepage` false sends only the first
   * instruction's pages.
   */
  beginPostCopyCheckpoint(vm: Vm, prepage: bool): void {
    useWriter(this.writer);
    const pages = vm.ramBytes >> PAGE_SHIFT;
    for (let page: u32 = 0; page < pages; page++) {
      let dirty = load<u8>(vm.dirty + page) & ~DIRTY_POSTCOPY_PENDING;
      if (!prepage) dirty &= ~DIRTY_MIGRATION;
      store<u8>(vm.dirty + page, dirty);
    }
    const first = firstAccessPages(vm);
    for (let i = 0; i < first; i++) {
      const page = firstPage(i);
      store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) | DIRTY_MIGRATION | DIRTY_TOUCHED);
    }
    this.prepagedPages = 0;
    for (let page: u32 = 0; page < pages; page++) {
      const dirty = load<u8>(vm.dirty + page);
      if ((dirty & DIRTY_MIGRATION) != 0) this.prepagedPages++;
      else if ((dirty & DIRTY_TOUCHED) != 0) store<u8>(vm.dirty + page, dirty | DIRTY_POSTCOPY_PENDING);
    }
    this.beginStream(vm);
    this.full = true;
    this.memoryOnly = false;
    this.pageBit = DIRTY_MIGRATION;
    this.nextPage = 0;
    this.pagesInCheckpoint = 0;
    this.pushNext = 0;
    this.pushedPages = 0;
    this.phase = PHASE_PAGES;
    beginGroup();
    writeVmConfig(vm);
  }

  /** Pages post-copy's blackout would carry: those written while watched (if `prepage`) and the first instruction's. */
  postCopyBlackoutPages(vm: Vm, prepage: bool): u64 {
    const first = firstAccessPages(vm);
    let pages: u64 = prepage ? this.dirtyPages(vm) : 0;
    for (let i = 0; i < first; i++) {
      if (!prepage || (load<u8>(vm.dirty + firstPage(i)) & DIRTY_MIGRATION) == 0) pages++;
    }
    return pages;
  }

  /**
   * After a post-copy commit: up to `maxBytes` of page records for `dest` — first the
   * page the destination asked for (1 + page, or 0), then the next pending pages.
   * 0 when nothing is left.
   */
  takePush(vm: Vm, dest: usize, maxBytes: u32, requested: u32): u32 {
    useWriter(this.writer);
    // The asked-for page goes next, behind at most the record already being sent.
    if (requested != 0) {
      writePagesFrom(vm, DIRTY_POSTCOPY_PENDING, DIRTY_POSTCOPY_PENDING, requested - 1, 1, 1);
      this.pushedPages += pagesWrittenLast();
      this.pagesSent += pagesWrittenLast();
    }
    const pages = vm.ramBytes >> PAGE_SHIFT;
    while (outPending() < maxBytes && this.pushNext < pages) {
      this.pushNext = writePagesFrom(vm, DIRTY_POSTCOPY_PENDING, DIRTY_POSTCOPY_PENDING, this.pushNext, 1);
      this.pushedPages += pagesWrittenLast();
      this.pagesSent += pagesWrittenLast();
    }
    return drainOut(dest, maxBytes);
  }

  /** Is page `page` still to be pushed? */
  pending(vm: Vm, page: u32): bool {
    return page < (vm.ramBytes >> PAGE_SHIFT) && (load<u8>(vm.dirty + page) & DIRTY_POSTCOPY_PENDING) != 0;
  }

  pushDone(vm: Vm): bool {
    useWriter(this.writer);
    return this.pushNext >= (vm.ramBytes >> PAGE_SHIFT) && outPending() == 0;
  }

  /** Starts the rate meter: from now on DIRTY_ROUND marks each page the VM writes. */
  startRateMeter(vm: Vm): void {
    const pages = <usize>(vm.ramBytes >> PAGE_SHIFT);
    for (let page: usize = 0; page < pages; page++) store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) & ~DIRTY_ROUND);
  }

  /** Pages the VM wrote since startRateMeter. */
  pagesWrittenSinceMeter(vm: Vm): u64 {
    let count: u64 = 0;
    const pages = vm.ramBytes >> PAGE_SHIFT;
    for (let page: u32 = 0; page < pages; page++) if ((load<u8>(vm.dirty + page) & DIRTY_ROUND) != 0) count++;
    return count;
  }

  /** From now on, migration's dirty bit records the VM's writes. */
  watchWrites(vm: Vm): void {
    clearMigrationBits(vm);
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

  /**
   * Stream bytes of a complete checkpoint of the pages with `bit` set, each compressed as it
   * would be now (an upper bound: see compressedPageRecordsBytes); `estimate` says how many
   * pages it compressed. `header`: a whole stream (its header and END too).
   */
  compressedBytes(vm: Vm, bit: u8, header: bool): u64 {
    this.estimate.clear();
    const pages = compressedPageRecordsBytes(vm, bit, this.estimate);
    return (header ? 24 : 0) + CHECKPOINT_FRAME_BYTES + pages + stateRecordsBytes(vm) + END_RECORD_BYTES;
  }

  fullBytes(vm: Vm): u64 {
    return this.fullStreamBytes(vm, this.touchedPages(vm));
  }

  /** A whole stream (header, one complete checkpoint of `pages` pages, END). */
  fullStreamBytes(vm: Vm, pages: u64): u64 {
    return 24 + this.bytesForPages(vm, pages);
  }

  incrementalBytes(vm: Vm): u64 {
    return this.bytesForPages(vm, this.dirtyPages(vm));
  }
}

function clearMigrationBits(vm: Vm): void {
  const pages = <usize>(vm.ramBytes >> PAGE_SHIFT);
  const keep: u8 = ~DIRTY_MIGRATION;
  for (let page: usize = 0; page < pages; page++) store<u8>(vm.dirty + page, load<u8>(vm.dirty + page) & keep);
}

