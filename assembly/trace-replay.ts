// Trace-replay migration (after CR/TR-Motion, Liu et al., HPDC 2009; docs/migration.md,
// "Trace-replay"): instead of memory rounds, one checkpoint, then the log of the VM's
// nondeterministic inputs (input-log.ts) while the destination replays it from the
// checkpoint. Ferry's hart is instruction-exact, so the replayed VM executes the same
// instructions and, at each input's position, observes what the source's observed: at
// the switch its RAM and vCPU are byte-identical to the source's, which a digest checks.
//
// Source: take the checkpoint whole at one instruction (a snapshot of the stream, so the
// VM runs on while it is sent), start the log there, cut it into INPUT_LOG records every
// LOG_BATCH_NS, and stop the VM once the destination's replay is close behind: the
// blackout sends the log's tail, the digest, and a checkpoint of state only (no pages).
// Destination: replay in the VM's windows (the replay is the VM's execution: it costs
// its instructions, output suppressed), and at the commit replay the tail, compare the
// digest and take the state.
import { now } from "./clock";
import { EXIT_RUNNING, PAGE_BYTES, PAGE_SHIFT } from "./config";
import { crc32cUpdate, crc32cWord } from "./crc32c";
import { DIRTY_MIGRATION, DIRTY_TOUCHED } from "./dirty-tracking";
import { raiseInterrupt } from "./dispatcher";
import { executeSlice } from "./hart";
import {
  clearLogged, endReplay, entryBytes, INPUT_INTERRUPT, loggedBytes, loggedEntries, loggedPtr, markDiverged, nextInputKind,
  nextInputPosition, replayDiverged, replayIsFinal, replayLimit, replayPending, startLogging, stopLogging, takeInterrupt,
} from "./input-log";
import { MigrationStream } from "./migration-stream";
import { beginRecord, endRecord, INPUT_LOG_FINAL, INPUT_LOG_HEADER_BYTES, outPending, recordBytes, REC_INPUT_LOG, useWriter } from "./stream";
import { Vm } from "./vm";

/** The source cuts its log into an INPUT_LOG record this often (board time). */
export const LOG_BATCH_NS: u64 = 1_000_000;
/** An INPUT_LOG record's body stays below this (a longer batch goes in several). */
const MAX_LOG_BODY_BYTES: u32 = 256 * 1024;
/** The longest stretch the replay runs without looking at the log again. */
const MAX_REPLAY_SLICE: u64 = 1 << 20;

// =====================================================================================
// The digest at the switch
// =====================================================================================

/**
 * The digest at the switch, computed on both processors: a CRC32C over, for every touched
 * page in ascending order, its page number and the CRC32C of its bytes; then the vCPU state
 * execution decides (x1–x31, pc, mode, the CSRs, instructions executed and trapped,
 * instret's offset) — not the cycle count nor the wfi flag, which count idle time and come
 * with the state records. Each side keeps its pages' CRCs from the checkpoint on
 * (PageCrcs) and at the switch recomputes only those of the pages written since (dirty
 * bit 2, the migration's: the source's scan cleared it as the checkpoint took each page;
 * the destination clears it when the replay starts), so the blackout digests what the VM
 * wrote while it was logged, not its whole memory.
 */
export class PageCrcs {
  crcs: usize = 0;
  pages: u32 = 0;
  taken: bool = false;
  /** Bytes the last refresh read (the digest's work in the blackout). */
  workBytes: u64 = 0;

  /** Every touched page's CRC now; from here on bit 2 marks the pages written since. */
  take(vm: Vm): void {
    const pages = vm.ramBytes >> PAGE_SHIFT;
    if (this.pages < pages) {
      if (this.crcs != 0) heap.free(this.crcs);
      this.crcs = heap.alloc(<usize>pages << 2);
      this.pages = pages;
    }
    for (let page: u32 = 0; page < pages; page++) {
      const dirty = load<u8>(vm.dirty + page);
      store<u8>(vm.dirty + page, dirty & ~DIRTY_MIGRATION);
      store<u32>(this.crcs + (<usize>page << 2), (dirty & DIRTY_TOUCHED) != 0 ? pageCrc(vm, page) : 0);
    }
    this.taken = true;
  }

  /** Recomputes the CRCs of the pages written since take, then the digest. */
  digest(vm: Vm): u32 {
    const pages = vm.ramBytes >> PAGE_SHIFT;
    let crc: u32 = 0;
    let work: u64 = 0;
    for (let page: u32 = 0; page < pages; page++) {
      const dirty = load<u8>(vm.dirty + page);
      if ((dirty & DIRTY_TOUCHED) == 0) continue;
      const fresh = !this.taken || (dirty & DIRTY_MIGRATION) != 0;
      const pageSum = fresh ? pageCrc(vm, page) : load<u32>(this.crcs + (<usize>page << 2));
      if (fresh) work += PAGE_BYTES;
      crc = crc32cWord(crc32cWord(crc, page), pageSum);
      work += 8;
    }
    this.workBytes = work;
    return vcpuDigest(vm, crc);
  }

  release(): void {
    if (this.crcs != 0) heap.free(this.crcs);
    this.crcs = 0;
    this.pages = 0;
    this.taken = false;
  }
}

function pageCrc(vm: Vm, page: u32): u32 {
  return crc32cUpdate(0, vm.ram + (<usize>page << PAGE_SHIFT), PAGE_BYTES);
}

/**
 * The bytes the digest at the switch reads: the pages written since the checkpoint
 * (bit 2) whole, and 8 bytes for every other touched page.
 */
export function digestWorkBytes(vm: Vm): u64 {
  let bytes: u64 = 0;
  const count = vm.ramBytes >> PAGE_SHIFT;
  for (let page: u32 = 0; page < count; page++) {
    const dirty = load<u8>(vm.dirty + page);
    if ((dirty & DIRTY_TOUCHED) == 0) continue;
    bytes += (dirty & DIRTY_MIGRATION) != 0 ? PAGE_BYTES + 8 : 8;
  }
  return bytes;
}

/** The digest computed from scratch (every page's CRC now): what PageCrcs.digest gives with fresh CRCs. */
export function stateDigest(vm: Vm): u32 {
  const scratch = new PageCrcs();
  return scratch.digest(vm);
}

const DIGEST_FIELD_BYTES: u32 = 88;
const digestFields = heap.alloc(DIGEST_FIELD_BYTES);

function vcpuDigest(vm: Vm, pages: u32): u32 {
  let crc = pages;
  crc = crc32cUpdate(crc, vm.regs + 4, 31 * 4);
  const at = digestFields;
  store<u32>(at, vm.pc);
  store<u32>(at, vm.mode, 4);
  store<u32>(at, vm.mstatus, 8);
  store<u32>(at, vm.medeleg, 12);
  store<u32>(at, vm.mideleg, 16);
  store<u32>(at, vm.mie, 20);
  store<u32>(at, vm.mtvec, 24);
  store<u32>(at, vm.mscratch, 28);
  store<u32>(at, vm.mepc, 32);
  store<u32>(at, vm.mcause, 36);
  store<u32>(at, vm.mtval, 40);
  store<u32>(at, vm.stvec, 44);
  store<u32>(at, vm.sscratch, 48);
  store<u32>(at, vm.sepc, 52);
  store<u32>(at, vm.scause, 56);
  store<u32>(at, vm.stval, 60);
  store<u64>(at, vm.executed, 64);
  store<u64>(at, vm.trapped, 72);
  store<u64>(at, vm.instretDelta, 80);
  return crc32cUpdate(crc, at, DIGEST_FIELD_BYTES);
}

// =====================================================================================
// The source
// =====================================================================================

export class TraceSource {
  /** The checkpoint, taken whole at one instruction: header, the full complete checkpoint. */
  snapshot: usize = 0;
  capacity: u32 = 0;
  size: u32 = 0;
  sent: u32 = 0;
  /** Where the next INPUT_LOG starts. */
  fromPosition: u64 = 0;
  checkpointPosition: u64 = 0;
  checkpointCycles: u64 = 0;
  lastCutCycles: u64 = 0;
  logRecords: u64 = 0;
  logBytes: u64 = 0;
  logEntries: u64 = 0;
  /** What the destination last said it had replayed up to (REPLAY_PROGRESS). */
  replayedPosition: u64 = 0;
  /** The smallest lag seen, and the reports since it last fell. */
  bestLag: u64 = u64.MAX_VALUE;
  reportsWithoutProgress: u32 = 0;
  /** When the last REPLAY_PROGRESS came (0: none yet since the checkpoint went). */
  lastProgressCycles: u64 = 0;
  stopPosition: u64 = 0;
  digest: u32 = 0;
  lagAtStop: u64 = 0;
  /** The pages' CRCs from the checkpoint on: the digest at the stop reads only what was written since. */
  crcs: PageCrcs = new PageCrcs();

  reset(): void {
    this.size = 0;
    this.sent = 0;
    this.fromPosition = 0;
    this.checkpointPosition = 0;
    this.checkpointCycles = 0;
    this.lastCutCycles = 0;
    this.logRecords = 0;
    this.logBytes = 0;
    this.logEntries = 0;
    this.replayedPosition = 0;
    this.bestLag = u64.MAX_VALUE;
    this.reportsWithoutProgress = 0;
    this.lastProgressCycles = 0;
    this.stopPosition = 0;
    this.digest = 0;
    this.lagAtStop = 0;
  }

  /**
   * Takes the checkpoint of `vm` now — the whole stream of it, so that the VM can run on
   * while it is sent — and starts the log at the same instruction.
   */
  take(vm: Vm, stream: MigrationStream, expectedBytes: u64): void {
    stream.replay = true;
    stream.departs = false; // the VM runs on here: its ports stay its own
    stream.endsStream = false;
    stream.beginCheckpoint(vm, true, false);
    const want = <u32>expectedBytes + 65536;
    if (this.capacity < want) {
      if (this.snapshot != 0) heap.free(this.snapshot);
      this.snapshot = heap.alloc(want);
      this.capacity = want;
    }
    this.size = 0;
    while (true) {
      if (this.capacity - this.size < 65536) {
        this.capacity *= 2;
        this.snapshot = heap.realloc(this.snapshot, this.capacity);
      }
      const bytes = stream.take(vm, this.snapshot + this.size, 65536);
      if (bytes == 0) break;
      this.size += bytes;
    }
    stream.departs = true;
    stream.endsStream = true;
    this.sent = 0;
    this.checkpointPosition = vm.executed;
    this.fromPosition = vm.executed;
    this.checkpointCycles = now();
    this.lastCutCycles = now();
    this.crcs.take(vm);
    startLogging(vm);
  }

  release(vm: Vm | null): void {
    if (vm != null) stopLogging(vm);
    this.crcs.release();
    if (this.snapshot != 0) heap.free(this.snapshot);
    this.snapshot = 0;
    this.capacity = 0;
  }

  snapshotHandedOver(): bool {
    return this.sent == this.size;
  }

  /** The next bytes for the link: the checkpoint first, then what the stream's writer holds (log records, the last checkpoint). */
  takeBytes(vm: Vm, stream: MigrationStream, dest: usize, maxBytes: u32): u32 {
    if (this.sent < this.size) {
      const bytes = min(maxBytes, this.size - this.sent);
      memory.copy(dest, this.snapshot + this.sent, bytes);
      this.sent += bytes;
      return bytes;
    }
    return stream.take(vm, dest, maxBytes);
  }

  /** Log bytes not yet on the wire: records in the writer and entries not cut yet. */
  pendingLogBytes(stream: MigrationStream): u64 {
    useWriter(stream.writer);
    return <u64>outPending() + loggedBytes();
  }

  /** Stream bytes a cut now would write (the entries, each record's header and framing). */
  cutBytes(): u64 {
    const records = <u64>loggedBytes() / MAX_LOG_BODY_BYTES + 1;
    return <u64>loggedBytes() + records * recordBytes(INPUT_LOG_HEADER_BYTES);
  }

  /**
   * Cuts the log so far into INPUT_LOG records up to the VM's position now (`final`: the
   * source stopped there, and `digest` is the VM's).
   */
  cut(vm: Vm, stream: MigrationStream, final: bool, digest: u32): void {
    useWriter(stream.writer);
    const until = vm.executed;
    const base = loggedPtr();
    const total = loggedBytes();
    this.logEntries += loggedEntries();
    let at: u32 = 0;
    do {
      let end = at;
      let count: u32 = 0;
      let lastPosition: u64 = 0;
      let lastKind: u32 = 0;
      while (end < total) {
        const size = entryBytes(load<u32>(base + end, 24));
        if (end - at + size > MAX_LOG_BODY_BYTES && count != 0) break;
        lastPosition = load<u64>(base + end);
        lastKind = load<u32>(base + end, 8);
        end += size;
        count++;
      }
      const whole = end == total;
      // A part before the last ends where its last entry's instruction did (an interrupt: before it).
      const partUntil = whole ? until : lastPosition + (lastKind == INPUT_INTERRUPT ? 0 : 1);
      const isFinal = whole && final;
      const body = beginRecord(REC_INPUT_LOG, INPUT_LOG_HEADER_BYTES + end - at);
      store<u32>(body, isFinal ? INPUT_LOG_FINAL : 0);
      store<u32>(body, count, 4);
      store<u64>(body, this.fromPosition, 8);
      store<u64>(body, partUntil, 16);
      store<u32>(body, isFinal ? digest : 0, 24);
      store<u32>(body, 0, 28);
      memory.copy(body + INPUT_LOG_HEADER_BYTES, base + at, end - at);
      endRecord();
      this.logRecords++;
      this.logBytes += recordBytes(INPUT_LOG_HEADER_BYTES + end - at);
      this.fromPosition = partUntil;
      at = end;
    } while (at < total);
    clearLogged();
    this.lastCutCycles = now();
  }
}

// =====================================================================================
// The destination
// =====================================================================================

/** Instructions replayed on this processor (the incoming migration's). */
let replayed: u64 = 0;
let lastDigest: u32 = 0;
/** The replayed VM's pages' CRCs from the replay's start on. */
const replayCrcs = new PageCrcs();

export function resetReplayCounters(): void {
  replayed = 0;
  lastDigest = 0;
  replayCrcs.release();
}

/** Bytes the destination's digest at the switch read. */
export function replayDigestWorkBytes(): u64 {
  return replayCrcs.workBytes;
}

export function replayedInstructions(): u64 {
  return replayed;
}

export function replayDigest(): u32 {
  return lastDigest;
}

/**
 * Replays `vm` for at most `maxInstructions`: logged interrupts at their positions, every
 * other input where the instruction that observes it asks (input-log.ts), never past what
 * the log covers. Returns the instructions executed; 0 when it waits for more log, or
 * when the replay went wrong (replayDiverged).
 */
export function replaySlice(vm: Vm, maxInstructions: u64): u64 {
  if (!replayCrcs.taken) replayCrcs.take(vm); // the checkpoint's pages, before the replay writes any
  let done: u64 = 0;
  while (done < maxInstructions && vm.exit == EXIT_RUNNING && !replayDiverged()) {
    const at = vm.executed;
    const next = nextInputPosition();
    if (next < at) { markDiverged(); break; } // an input the replay went past: it did not execute as the source did
    if (next == at && nextInputKind() == INPUT_INTERRUPT) {
      raiseInterrupt(vm, takeInterrupt(vm));
      continue;
    }
    const until = replayLimit();
    if (at >= until) break;
    let budget = until - at;
    if (next != u64.MAX_VALUE && next - at + 1 < budget) budget = next - at + (nextInputKind() == INPUT_INTERRUPT ? 0 : 1);
    if (budget > maxInstructions - done) budget = maxInstructions - done;
    if (budget > MAX_REPLAY_SLICE) budget = MAX_REPLAY_SLICE;
    vm.waiting = false; // wfi: the wake-up is in the log (the interrupt, or the time read after it)
    const executed = <u64>executeSlice(vm, <i32>budget);
    vm.executed += executed;
    vm.cycles += executed;
    done += executed;
    if (executed == 0) break;
  }
  if (vm.exit != EXIT_RUNNING) markDiverged(); // the source's VM ran on
  replayed += done;
  return done;
}

/** The replay reached where the log ends (the source's position at its last INPUT_LOG). */
export function replayCaughtUp(vm: Vm): bool {
  return vm.executed >= replayLimit() && !(nextInputPosition() == vm.executed && nextInputKind() == INPUT_INTERRUPT);
}

/**
 * At the commit: replays the log's tail, then compares the VM with the source's digest.
 * Returns the tail's instructions (restore work), or -1 if the replay did not end exactly
 * where the source stopped with the same state. The VM replays no more either way.
 */
export function finishReplay(vm: Vm, expectedDigest: u32): i64 {
  const tail = replaySlice(vm, u64.MAX_VALUE);
  const ended = replayIsFinal() && !replayDiverged() && vm.executed == replayLimit() && !replayPending();
  lastDigest = replayCrcs.digest(vm);
  endReplay(vm);
  return ended && lastDigest == expectedDigest ? <i64>tail : -1;
}
