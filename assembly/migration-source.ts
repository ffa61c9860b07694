// The migration manager's source side: admission, the strategies, the blackout and the
// commit (docs/migration.md). One outgoing migration at a time; the reports of the last
// MIGRATION_HISTORY ones stay readable by id (migrationStat).
//
//   PREPARING   PREPARE (kind, RAM, windows, ports) -->  the destination reserves, replies
//               with its clock and the VM's longest wait for a window there; the bound is
//               computed again with those, and the migration refused if it no longer fits
//   TRANSFER    pre-copy rounds (memory-only checkpoints), or post-copy's watch
//   BLACKOUT    the VM stops; the last pages, all state and END
//   COMMITTING  COMMIT (stop time, bound) --> the destination decides
//   POSTCOPY    post-copy: pages asked for, then the rest, pushed
//   DONE        the source released its copy
//
// Until COMMIT is sent the source can always resume the VM itself (cancel, refusal, a
// blackout that would overrun its bound); after it only the destination's answer
// decides, so the VM never runs twice.
import { cyclesToNs, getProcessorId, now, nowNs, nsToCycles } from "./clock";
import {
  EVENT_MIGRATION_BLACKOUT, EVENT_MIGRATION_CANCELLED, EVENT_MIGRATION_COMMITTED, EVENT_MIGRATION_FAILED,
  EVENT_MIGRATION_REFUSED, EVENT_MIGRATION_RELEASED, EVENT_MIGRATION_STARTED, EXIT_RUNNING, MAX_ROUND_STATS,
  MIGRATION_HISTORY, PAGE_BYTES, PAGE_SHIFT, PARAM_AFFORDABLE_NS, PARAM_COUNT, PARAM_GIVE_UP_TIMEOUTS, PARAM_MAX_ROUNDS,
  PARAM_PREPAGE_NS, PARAM_RETRANSMISSIONS, PARAM_THRESHOLD_BYTES, PARAM_THROTTLE_FLOOR_PERMILLE,
  PARAM_THROTTLE_TARGET_PERMILLE, REASON_BOUND, REASON_CANCELLED, REASON_CHANNEL_MTU, REASON_LINK_MTU, REASON_NO_AFFORDABLE,
  REASON_NO_LINK, REASON_NONE, REASON_NOT_CONVERGED, REASON_RELAY_TABLE, REASON_RESTORE_FAILED,
  REASON_BLACKOUT_OVERRUN, REASON_UNREACHABLE, REASON_VM_STOPPED, SBI_ERR_DENIED, SBI_ERR_INVALID_PARAM,
  SBI_ERR_INVALID_STATE, STATE_BLACKOUT, STATE_CANCELLED, STATE_COMMITTING, STATE_DONE, STATE_FAILED, STATE_IDLE,
  STATE_POST_COPY, STATE_PREPARING, STATE_REFUSED, STATE_TRANSFER, STRATEGY_POST_COPY, STRATEGY_STOP_COPY,
  STRATEGY_THROTTLED, STAT_AFFORDABLE_NS, STAT_BLACKOUT_BYTES, STAT_BOUND_HANDSHAKE_NS, STAT_BOUND_NS,
  STAT_BOUND_RESTORE_NS, STAT_BOUND_RETRANSMIT_NS, STAT_BOUND_SCHEDULE_NS, STAT_BOUND_TRANSFER_NS, STAT_BYTES_SENT,
  STAT_DEMAND_REQUESTS, STAT_DESTINATION_CLOCK_HZ, STAT_DESTINATION_PROCESSOR, STAT_DESTINATION_VM, STAT_END_NS,
  STAT_PARAM, STAT_PREPAGED_PAGES, STAT_PUSHED_PAGES, STAT_REASON, STAT_RETRANSMISSIONS, STAT_ROUND_DIRTY_RATE,
  STAT_ROUND_PAGES, STAT_ROUNDS, STAT_SHARE_PERMILLE, STAT_SOURCE_VM, STAT_START_NS, STAT_STATE, STAT_STOP_NS,
  STAT_STRATEGY, STAT_TOTAL_NS, STAT_LAST_RUN_NS, CHANNEL_HEADER_BYTES, PARAM_REPLACES, REASON_PROTECTED, STAT_BOUND_AGREEMENT_NS,
  REASON_NO_IMAGE, STAT_BOUND_PREPARE_NS, STAT_IMAGE_PAGES, STRATEGY_COLD, STRATEGY_WARM, STAT_PAGES_SENT,
  PARAM_COMPRESS, STAT_BOUND_COMPRESSION_NS, STAT_CLASS_BYTES, STAT_CLASS_PAGES, PARAM_WORKING_SET, STAT_HELD_PAGES, STRATEGY_PRE_COPY,
  STRATEGY_TRACE_REPLAY, REASON_LOG_RATE, REASON_REPLAY_RATE, REASON_REPLAY_DIVERGED, STAT_BOUND_REPLAY_NS, STAT_LOG_BYTES, STAT_LOG_ENTRIES, STAT_LOG_RATE,
  STAT_REPLAY_RATE, STAT_SOURCE_INSTRUCTIONS_PER_S, STAT_REPLAY_INSTRUCTIONS_PER_S, STAT_REPLAY_LAG, STAT_CHECKPOINT_POSITION,
  STAT_STOP_POSITION, STAT_STATE_DIGEST,
} from "./config";
import { addReplayTerm, digestCycles } from "./downtime";
import { digestWorkBytes, LOG_BATCH_NS, TraceSource } from "./trace-replay";
import { END_RECORD_BYTES } from "./collector";
import { INPUT_LOG_HEADER_BYTES, recordBytes } from "./stream";
import { DIRTY_MIGRATION, DIRTY_TOUCHED } from "./dirty-tracking";
import { COMPRESS_CYCLES_PER_BYTE, PAGE_CLASSES } from "./page-compression";
import { linkBandwidth, maxPayloadTo } from "./communication";
import { addCompressionTerm, Bound, computeBound, DestinationFacts, prepareExchangeNs } from "./downtime";
import { report } from "./events";
import {
  COMMIT_BODY_BYTES, COMMIT_FLAG_POSTCOPY, MAX_PREPARE_WINDOWS, MSG_CANCEL, MSG_COMMIT, MSG_COMMIT_REPLY, MSG_DATA,
  MSG_PAGE_REQUEST, MSG_POSTCOPY_DONE, MSG_PREPARE, MSG_PREPARE_REPLY, MSG_REPLAY_PROGRESS, PREPARE_HEADER_BYTES, PREPARE_REPLY_BYTES,
  PREPARE_WINDOW_BYTES, AFFORDABLE_US_MAX, PREPARE_PINNED,
} from "./migration-messages";
import { discardParams, takeParams } from "./migration-params";
import { MigrationStream } from "./migration-stream";
import { longestWaitNs, windowsOf } from "./schedule";
import { Endpoint } from "./transport";
import { holdVm, releaseVm, resumeVm } from "./vm-lifecycle";
import { protectionHooks } from "./protection-hooks";
import { vmHooks } from "./vm-hooks";
import { Vm, vmById } from "./vm";
import { hasImage, imagePages, restartFromImage } from "./vm-image";

const MAX_REQUESTS: u32 = 16;
/** Trace-replay: the blackout may begin with at least this many instructions still to replay (a VM that hardly runs). */
const MIN_LAG_INSTRUCTIONS: u64 = 10_000;
const windowStarts = new StaticArray<u64>(MAX_PREPARE_WINDOWS);
const windowEnds = new StaticArray<u64>(MAX_PREPARE_WINDOWS);
/** One message body at a time is built here (every outgoing migration shares it). */
const messageBody = heap.alloc(65536);

export class Outgoing {
  id: u32 = 0;
  state: u32 = STATE_IDLE;
  reason: u64 = REASON_NONE;
  vm: Vm | null = null;
  vmId: u32 = 0;
  peer: u32 = 0;
  strategy: u32 = 0;
  params: StaticArray<u64> = new StaticArray<u64>(PARAM_COUNT);
  link: Endpoint = new Endpoint();
  stream: MigrationStream = new MigrationStream();
  bound: Bound = new Bound();
  destination: DestinationFacts = new DestinationFacts();
  affordableNs: u64 = 0;
  startNs: u64 = 0;
  stopNs: u64 = 0;
  endNs: u64 = 0;
  blackoutDeadlineCycles: u64 = 0;
  blackoutStreamBytes: u64 = 0;
  rounds: u32 = 0;
  roundStartCycles: u64 = 0;
  roundDirtyBytesPerS: StaticArray<u64> = new StaticArray<u64>(MAX_ROUND_STATS);
  roundPages: StaticArray<u64> = new StaticArray<u64>(MAX_ROUND_STATS);
  sharePermille: u64 = 1000;
  destinationVm: u32 = 0;
  /** Post-copy: when the watch for prepaged pages ends. */
  watchEndCycles: u64 = 0;
  /** Post-copy: pages the destination asked for (1 + page), oldest first. */
  requests: StaticArray<u32> = new StaticArray<u32>(MAX_REQUESTS);
  requestHead: u32 = 0;
  requestCount: u32 = 0;
  demandRequests: u64 = 0;
  /** CANCEL still to be sent (the window was full when the migration was abandoned). */
  cancelPending: bool = false;
  /** The strategy wants its blackout: it begins at the first moment the VM is running (readyToStop). */
  blackoutDue: bool = false;
  /** When the VM last had the processor before the stop. */
  lastRunNs: u64 = 0;
  /** The stop, in this processor's cycles: a warm move's blackout deadline counts from it. */
  stopCycles: u64 = 0;
  /** Cold: pages of the boot image the VM restarts from. */
  imagePages: u64 = 0;
  /** Compressing: the pages the bound's blackout would classify, and compress (its compression term). */
  codecExamined: u64 = 0;
  codecCompressed: u64 = 0;
  /** Compressing: the next message waits for the codec's work on the pages before it (this processor's cycles). */
  codecReadyCycles: u64 = 0;
  /** Compressed pages sent before the blackout began (COMMIT names the blackout's own). */
  compressedBeforeBlackout: u64 = 0;
  /** Trace-replay: the checkpoint, the log, the destination's progress (trace-replay.ts). */
  trace: TraceSource = new TraceSource();
  /** Trace-replay: the rates admission compared (bytes/s, instructions/s). */
  logRateBytesPerS: u64 = 0;
  replayRateBytesPerS: u64 = 0;
  sourceInstructionsPerS: u64 = 0;
  replayInstructionsPerS: u64 = 0;
  /** Trace-replay: the blackout waits until at most this much log and this many instructions are behind. */
  tailCapBytes: u64 = 0;
  lagCapInstructions: u64 = 0;
  /** Trace-replay: the lag the next bound is computed for. */
  boundLag: u64 = 0;

  param(key: u32): u64 {
    return unchecked(this.params[key]);
  }

  over(): bool {
    return this.state == STATE_IDLE || this.state >= STATE_DONE;
  }
}

const history = new StaticArray<Outgoing>(MIGRATION_HISTORY);
for (let i = 0; i < MIGRATION_HISTORY; i++) history[i] = new Outgoing();
let latest = 0;
let sessionCounter: u32 = 0;

/** The processor's latest outgoing migration (idle if there was none). */
export function currentOutgoing(): Outgoing {
  return unchecked(history[latest]);
}

/** An outgoing migration by id (0: the latest), or null if it is no longer kept. */
export function outgoingById(id: u32): Outgoing | null {
  if (id == 0) return currentOutgoing();
  for (let i = 0; i < MIGRATION_HISTORY; i++) if (unchecked(history[i]).id == id) return unchecked(history[i]);
  return null;
}

/** The outgoing migration whose session is `session` and whose link is still open, or null. */
export function outgoingBySession(session: u32, peer: u32): Outgoing | null {
  for (let i = 0; i < MIGRATION_HISTORY; i++) {
    const o = unchecked(history[i]);
    if (o.link.open && o.id == session && o.peer == peer) return o;
  }
  return null;
}

function finish(out: Outgoing, state: u32, reason: u64): void {
  out.stream.workingSet.release();
  if (out.strategy == STRATEGY_TRACE_REPLAY) out.trace.release(out.vm); // the log stops
  out.state = state;
  out.reason = reason;
  out.endNs = nowNs();
  const vm = out.vm;
  if (vm != null) vm.cpuSharePermille = 1000;
}

/** Refused before anything was reserved (admission, no link): the VM runs on. */
function refuse(out: Outgoing, reason: u64): i32 {
  out.link.close();
  finish(out, STATE_REFUSED, reason);
  report(EVENT_MIGRATION_REFUSED, out.id, out.vmId, reason, out.bound.totalNs());
  return SBI_ERR_DENIED;
}

/** Bytes the blackout would send if it began now. */
function blackoutBytesNow(out: Outgoing, vm: Vm): u64 {
  if (out.strategy == STRATEGY_COLD) return out.stream.fullStreamBytes(vm, out.imagePages);
  if (out.stream.compress) return compressedBlackoutBytes(out, vm);
  return sendsEverything(out) ? out.stream.fullBytes(vm) : out.stream.incrementalBytes(vm);
}

/**
 * A compressing blackout: its pages compressed now, before it is decided, so that the bound
 * holds what the blackout will send (the VM stops in the same step, nothing changes them).
 */
function compressedBlackoutBytes(out: Outgoing, vm: Vm): u64 {
  const everything = sendsEverything(out);
  const bytes = out.stream.compressedBytes(vm, everything ? DIRTY_TOUCHED : DIRTY_MIGRATION, everything);
  out.codecExamined = out.stream.estimate.examined;
  out.codecCompressed = out.stream.estimate.compressed;
  return bytes;
}

/** Stop-copy and warm send every touched page in their blackout. */
function sendsEverything(out: Outgoing): bool {
  return out.strategy == STRATEGY_STOP_COPY || out.strategy == STRATEGY_WARM;
}

function boundFor(out: Outgoing, streamBytes: u64): u64 {
  if (out.strategy == STRATEGY_TRACE_REPLAY) return traceReplayBound(out, streamBytes);
  computeBound(out.bound, out.peer, streamBytes, out.link.window, <u32>out.param(PARAM_RETRANSMISSIONS), out.destination,
    out.param(PARAM_REPLACES) != 0 ? protectionHooks.agreementNs(out.vmId) : 0);
  // A warm move's VM is suspended before PREPARE goes: it waits out the exchange too.
  out.bound.prepareNs = out.strategy == STRATEGY_WARM ? prepareExchangeNs(out.peer, out.link.window, <u32>windowsOf(out.vmId, windowStarts, windowEnds)) : 0;
  addCompressionTerm(out.bound, out.stream.compress ? out.codecExamined : 0, out.stream.compress ? out.codecCompressed : 0, out.destination);
  return out.bound.totalNs();
}

/** Trace-replay's bound: the blackout's records, and the replay term for `out.boundLag` instructions still to replay. */
function traceReplayBound(out: Outgoing, streamBytes: u64): u64 {
  computeBound(out.bound, out.peer, streamBytes, out.link.window, <u32>out.param(PARAM_RETRANSMISSIONS), out.destination,
    out.param(PARAM_REPLACES) != 0 ? protectionHooks.agreementNs(out.vmId) : 0);
  out.bound.prepareNs = 0;
  out.bound.compressionNs = 0;
  addReplayTerm(out.bound, out.boundLag, digestWorkBytes(out.vm!), out.destination);
  return out.bound.totalNs();
}

/** Trace-replay's blackout: the log still to send (its tail, `logBytes`), the last INPUT_LOG's framing, a checkpoint of state only, END. */
function traceBlackoutBytes(out: Outgoing, vm: Vm, logBytes: u64): u64 {
  return logBytes + recordBytes(INPUT_LOG_HEADER_BYTES) + out.stream.bytesForPages(vm, 0) + END_RECORD_BYTES;
}

/** Messages sent and not yet acknowledged, as bytes: they may still have to cross in the blackout. */
function inFlightBytes(out: Outgoing): u64 {
  return <u64>(out.link.next - out.link.base) * out.link.maxBody();
}

/**
 * Trace-replay's admission before PREPARE: the rate the VM's inputs would make its log grow
 * (measured over its life here) against what the link can carry of it — its throttle-target
 * share C of the bandwidth. A log that outgrows it could never be caught up with.
 */
function admitTraceReplay(out: Outgoing, vm: Vm): bool {
  const ageNs = cyclesToNs(now() - vm.meterCycles);
  out.logRateBytesPerS = ageNs == 0 ? 0 : (vm.inputLogBytes * 1_000_000_000) / ageNs;
  out.sourceInstructionsPerS = ageNs == 0 ? 0 : ((vm.executed - vm.meterExecuted) * 1_000_000_000) / ageNs;
  const linkShare = (out.param(PARAM_THROTTLE_TARGET_PERMILLE) * linkBandwidth(out.peer)) / 1000;
  out.replayRateBytesPerS = linkShare;
  // The blackout's tail: at most two log batches' worth of log (and at least a page's), at most h.
  let tail = (out.logRateBytesPerS * 2 * LOG_BATCH_NS) / 1_000_000_000;
  if (tail < PAGE_BYTES) tail = PAGE_BYTES;
  if (tail > out.param(PARAM_THRESHOLD_BYTES)) tail = out.param(PARAM_THRESHOLD_BYTES);
  out.tailCapBytes = tail;
  // And at most what the VM executes in two log batches (at its rate here) still to replay.
  const lag = (out.sourceInstructionsPerS * 2 * LOG_BATCH_NS) / 1_000_000_000;
  out.lagCapInstructions = lag < MIN_LAG_INSTRUCTIONS ? MIN_LAG_INSTRUCTIONS : lag;
  out.boundLag = out.lagCapInstructions;
  return out.logRateBytesPerS < linkShare;
}

/**
 * With the destination's facts: the instructions per second it can replay (its clock times
 * the VM's share of it) against those the VM executes here. The replay catches up only if
 * it is faster; then the log rate it can take in is the link's share, or less, in
 * proportion, when the destination's instructions are the limit. Why the move is refused
 * (the slower instruction rate first: no share of the link makes up for it), or REASON_NONE.
 */
function replayRateRefusal(out: Outgoing): u64 {
  out.replayInstructionsPerS = (out.destination.clockHz * out.destination.sharePermille) / 1000;
  if (out.sourceInstructionsPerS != 0 && out.logRateBytesPerS != 0) {
    const byInstructions = (out.logRateBytesPerS * out.replayInstructionsPerS) / out.sourceInstructionsPerS;
    if (byInstructions < out.replayRateBytesPerS) out.replayRateBytesPerS = byInstructions;
  }
  if (out.sourceInstructionsPerS >= out.replayInstructionsPerS) return REASON_REPLAY_RATE;
  return out.logRateBytesPerS < out.replayRateBytesPerS ? REASON_NONE : REASON_LOG_RATE;
}

/** The largest blackout the strategy can end with: stop-copy every touched page, pre-copy h bytes, post-copy its first instruction's pages. */
function worstBlackoutBytes(out: Outgoing, vm: Vm): u64 {
  if (out.strategy == STRATEGY_TRACE_REPLAY) return traceBlackoutBytes(out, vm, out.tailCapBytes);
  if (sendsEverything(out) || out.strategy == STRATEGY_COLD) return blackoutBytesNow(out, vm);
  if (out.strategy == STRATEGY_POST_COPY) return out.stream.bytesForPages(vm, out.stream.postCopyBlackoutPages(vm, false));
  // Pre-copy: h bytes of pages, sent raw (the worst case), each classified and compressed (the worst time).
  const pages = out.param(PARAM_THRESHOLD_BYTES) >> PAGE_SHIFT;
  out.codecExamined = pages;
  out.codecCompressed = pages;
  return out.stream.bytesForPages(vm, pages);
}

/** Starts migrating `vm` to processor `peer`; 0, or an SBI error (-4 refused: the report says why). */
/** Why migrationStart cannot begin at all (0: it can): busy, bad arguments, a VM still arriving. */
function startError(vmId: u32, peer: u32, strategy: u32): i32 {
  if (!currentOutgoing().over()) return SBI_ERR_INVALID_STATE;
  const vm = vmById(vmId);
  if (vm == null || vm.exit != EXIT_RUNNING || vm.held || strategy > STRATEGY_TRACE_REPLAY || peer == getProcessorId()) {
    return SBI_ERR_INVALID_PARAM;
  }
  if (vm.awaitingFirstRun || vm.absent != 0) return SBI_ERR_INVALID_STATE; // still arriving from its last move
  return 0;
}

export function startMigration(vmId: u32, peer: u32, strategy: u32): i32 {
  const error = startError(vmId, peer, strategy);
  // The parameters set for this start go with it: they never leak into the next one.
  if (error != 0) { discardParams(); return error; }
  const vm = vmById(vmId)!;
  const out = begin(vm, peer, strategy);
  report(EVENT_MIGRATION_STARTED, out.id, vm.id, peer, strategy);
  if (!out.link.start(peer, out.id)) return refuse(out, REASON_NO_LINK);
  // Every control message goes in one frame; PREPARE, with the VM's windows, is the largest.
  if (PREPARE_HEADER_BYTES + <u32>windowsOf(vm.id, windowStarts, windowEnds) * PREPARE_WINDOW_BYTES > out.link.maxBody()) return refuse(out, REASON_LINK_MTU);
  // Until the other ends learn of the move, its channel frames go through this processor and this link.
  if (vmHooks.largestMessage(vm.id) + CHANNEL_HEADER_BYTES > maxPayloadTo(peer) && vmHooks.portCount(vm.id) != 0) return refuse(out, REASON_CHANNEL_MTU);
  if (!vmHooks.relayRoom(vm.id, vmHooks.portCount(vm.id))) return refuse(out, REASON_RELAY_TABLE);
  const replaces = protectionHooks.replacing(vm.id, peer);
  if (replaces < 0) return refuse(out, REASON_PROTECTED);
  unchecked(out.params[PARAM_REPLACES] = <u64>replaces);
  out.affordableNs = out.param(PARAM_AFFORDABLE_NS) != 0 ? out.param(PARAM_AFFORDABLE_NS) : vm.affordableNs != 0 ? vm.affordableNs : vm.slackNs;
  if (out.affordableNs == u64.MAX_VALUE) return refuse(out, REASON_NO_AFFORDABLE);
  if (strategy == STRATEGY_COLD) {
    if (!hasImage(vm)) return refuse(out, REASON_NO_IMAGE);
    out.imagePages = imagePages(vm);
  }
  if (strategy == STRATEGY_TRACE_REPLAY && !admitTraceReplay(out, vm)) return refuse(out, REASON_LOG_RATE);
  // Admission, before the destination has said what it is: the terms the link decides alone.
  if (boundFor(out, worstBlackoutBytes(out, vm)) > out.affordableNs) return refuse(out, REASON_BOUND);
  // Warm suspends first and asks the destination afterwards (beginDueBlackout).
  if (strategy == STRATEGY_WARM) out.blackoutDue = true;
  else sendPrepare(out, vm);
  if (replaces > 0) protectionHooks.moveStarted(vm.id);
  return 0;
}

/** The next slot of the history, reset for a migration of `vm` to `peer`. */
function begin(vm: Vm, peer: u32, strategy: u32): Outgoing {
  latest = (latest + 1) % MIGRATION_HISTORY;
  const out = unchecked(history[latest]);
  out.link.close();
  sessionCounter++;
  out.id = (getProcessorId() << 16) | (sessionCounter & 0xFFFF);
  out.vm = vm;
  out.vmId = vm.id;
  out.peer = peer;
  out.strategy = strategy;
  takeParams(out.params);
  out.reason = REASON_NONE;
  out.destination.known = false;
  out.bound.transferNs = 0;
  out.bound.handshakeNs = 0;
  out.bound.retransmitNs = 0;
  out.bound.restoreNs = 0;
  out.bound.scheduleNs = 0;
  out.bound.agreementNs = 0;
  out.bound.prepareNs = 0;
  out.bound.compressionNs = 0;
  out.imagePages = 0;
  // Compression suits the strategies that send pages while or after the VM stops; not
  // post-copy's pushes, nor a cold move's image (docs/migration.md, "Page compression").
  out.stream.compress = out.param(PARAM_COMPRESS) != 0 && strategy != STRATEGY_POST_COPY && strategy != STRATEGY_COLD && strategy != STRATEGY_TRACE_REPLAY;
  out.stream.replay = false;
  out.stream.statesOnly = false;
  out.stream.departs = true;
  out.stream.endsStream = true;
  out.trace.reset();
  out.logRateBytesPerS = 0;
  out.replayRateBytesPerS = 0;
  out.sourceInstructionsPerS = 0;
  out.replayInstructionsPerS = 0;
  out.tailCapBytes = 0;
  out.lagCapInstructions = 0;
  out.boundLag = 0;
  out.bound.replayNs = 0;
  out.stream.stats.clear();
  out.stream.ordered = out.param(PARAM_WORKING_SET) != 0 && (strategy == STRATEGY_PRE_COPY || strategy == STRATEGY_THROTTLED);
  out.stream.workingSet.heldPages = 0;
  out.codecExamined = 0;
  out.codecCompressed = 0;
  out.codecReadyCycles = 0;
  out.compressedBeforeBlackout = 0;
  out.affordableNs = 0;
  out.startNs = nowNs();
  out.stopNs = 0;
  out.endNs = 0;
  out.rounds = 0;
  out.blackoutStreamBytes = 0;
  out.sharePermille = 1000;
  out.destinationVm = 0;
  out.requestCount = 0;
  out.demandRequests = 0;
  out.cancelPending = false;
  out.blackoutDue = false;
  out.stream.prepagedPages = 0;
  out.stream.pushedPages = 0;
  out.stream.pagesSent = 0;
  out.state = STATE_PREPARING;
  return out;
}

/**
 * How long this source may be silent without the destination taking it for gone (PREPARE's
 * quietUs): post-copy's watch, trace-replay's two log batches and its digest of the stopped
 * VM, and the wait for one of the VM's windows before its blackout may begin (readyToStop).
 */
function quietNs(out: Outgoing, vm: Vm): u64 {
  const watchNs = out.strategy == STRATEGY_POST_COPY ? out.param(PARAM_PREPAGE_NS)
    : out.strategy == STRATEGY_TRACE_REPLAY ? 2 * LOG_BATCH_NS + cyclesToNs(digestCycles(vm.ramBytes)) : 0;
  return watchNs + longestWaitNs(vm.id);
}

function sendPrepare(out: Outgoing, vm: Vm): void {
  const body = messageBody;
  const starts = windowStarts, ends = windowEnds;
  const windows = <u32>windowsOf(vm.id, starts, ends);
  store<u32>(body, vm.kind);
  store<u32>(body, vm.ramBytes, 4);
  store<u32>(body, windows, 8);
  // Silences the destination must not take for a dead source: post-copy's watch, and the
  // wait for one of the VM's windows before its blackout may begin (readyToStop).
  // Trace-replay's source is quiet between two log batches, and while it digests the stopped VM.
  store<u32>(body, <u32>(quietNs(out, vm) / 1000), 12);
  store<u32>(body, vmHooks.portCount(vm.id), 16);
  store<u32>(body, <u32>out.param(PARAM_GIVE_UP_TIMEOUTS), 20);
  store<u32>(body, <u32>out.param(PARAM_REPLACES), 24);
  // The VM's configured affordable downtime goes with it, in us (0: none; its task set's slack is computed
  // there anew), and bit 31 says the board pinned it (the load policies never move it).
  const affordableUs = vm.affordableNs / 1000 > <u64>AFFORDABLE_US_MAX ? AFFORDABLE_US_MAX : <u32>(vm.affordableNs / 1000);
  store<u32>(body, affordableUs | (vm.pinned ? PREPARE_PINNED : 0), 28);
  for (let i: u32 = 0; i < windows; i++) {
    const at = body + PREPARE_HEADER_BYTES + <usize>i * PREPARE_WINDOW_BYTES;
    store<u64>(at, cyclesToNs(starts[i]));
    store<u64>(at, cyclesToNs(ends[i] - starts[i]), 8);
  }
  out.link.send(MSG_PREPARE, body, PREPARE_HEADER_BYTES + windows * PREPARE_WINDOW_BYTES);
}

/** The host (or a policy) cancels: possible until COMMIT is sent. */
export function cancelMigration(): i32 {
  const out = currentOutgoing();
  if (out.state == STATE_COMMITTING || out.state == STATE_POST_COPY) return SBI_ERR_DENIED;
  if (out.over()) return SBI_ERR_INVALID_STATE;
  abort(out, REASON_CANCELLED, STATE_CANCELLED);
  return 0;
}

/** Gives up before the commit: the VM runs on (or again) on the source; the destination drops its reservation. */
function abort(out: Outgoing, reason: u64, state: u32): void {
  const vm = out.vm!;
  if (vm.held) resumeVm(vm);
  vmHooks.stay(vm.id);
  if (out.param(PARAM_REPLACES) != 0) protectionHooks.moveEnded(vm.id, false, 0);
  out.cancelPending = reason != REASON_UNREACHABLE; // an unreachable destination drops its reservation itself
  sendPendingCancel(out);
  finish(out, state, reason);
  const kind = state == STATE_CANCELLED ? EVENT_MIGRATION_CANCELLED : state == STATE_REFUSED ? EVENT_MIGRATION_REFUSED : EVENT_MIGRATION_FAILED;
  report(kind, out.id, out.vmId, reason, out.bound.totalNs());
}

function sendPendingCancel(out: Outgoing): void {
  if (!out.cancelPending || !out.link.hasRoom()) return;
  out.link.send(MSG_CANCEL, messageBody, 0);
  out.cancelPending = false;
}

function beginRound(out: Outgoing, vm: Vm): void {
  out.rounds++;
  out.roundStartCycles = now();
  out.stream.beginCheckpoint(vm, out.rounds == 1, true);
  if (out.stream.ordered) planRound(out, vm);
  out.stream.startRateMeter(vm);
}

/**
 * Working-set order: what the last round saw written goes into each page's recency; this
 * round sends coldest first and leaves the predicted-hot pages for the blackout — at most
 * half of h, so that the dirty set can still fall to h.
 */
function planRound(out: Outgoing, vm: Vm): void {
  const ws = out.stream.workingSet;
  if (out.rounds == 1) ws.start(vm);
  else ws.sample(vm);
  const maxHeld = (out.param(PARAM_THRESHOLD_BYTES) >> PAGE_SHIFT) / 2;
  ws.plan(vm, out.rounds == 1 ? DIRTY_TOUCHED : DIRTY_MIGRATION, maxHeld);
}

/** A pre-copy round is on the other side: measure it, then decide what comes next. */
function endRound(out: Outgoing, vm: Vm): void {
  const elapsedNs = cyclesToNs(now() - out.roundStartCycles);
  const dirtyPages = out.stream.dirtyPages(vm); // still to send
  const writtenPages = out.stream.pagesWrittenSinceMeter(vm); // written during the round: the rate
  const dirtyBytesPerS = elapsedNs == 0 ? 0 : (writtenPages * PAGE_BYTES * 1_000_000_000) / elapsedNs;
  const index = <i32>out.rounds - 1;
  if (index < MAX_ROUND_STATS) {
    out.roundDirtyBytesPerS[index] = dirtyBytesPerS;
    out.roundPages[index] = out.stream.pagesInCheckpoint;
  }
  const converged = dirtyPages * PAGE_BYTES <= out.param(PARAM_THRESHOLD_BYTES);
  const lastRound = out.rounds >= <u32>out.param(PARAM_MAX_ROUNDS);
  if (converged || lastRound) { out.blackoutDue = true; return; }
  if (out.strategy == STRATEGY_THROTTLED) throttle(out, vm, dirtyBytesPerS);
  beginRound(out, vm);
}

/**
 * The VM has had the processor up to this moment (or sleeps in wfi by its own choice):
 * stopping it now makes its last instruction the stop, so the downtime the destination
 * measures is the gap the guest itself sees. Outside its windows the blackout waits for
 * the next one.
 */
function readyToStop(vm: Vm): bool {
  return vm.waiting || vm.lastRanCycles == now();
}

/** The blackout the strategy wants, now that the VM runs: with what is dirty now, if the bound still fits. */
function beginDueBlackout(out: Outgoing, vm: Vm): void {
  out.blackoutDue = false;
  if (out.strategy == STRATEGY_POST_COPY) { enterPostCopyBlackout(out, vm); return; }
  if (out.strategy == STRATEGY_WARM) { suspendForWarm(out, vm); return; }
  if (out.strategy == STRATEGY_COLD) { enterColdBlackout(out, vm); return; }
  if (out.strategy == STRATEGY_TRACE_REPLAY) { enterReplayBlackout(out, vm); return; }
  const bytes = blackoutBytesNow(out, vm);
  if (boundFor(out, bytes) <= out.affordableNs) { enterBlackout(out, vm, bytes); return; }
  if (out.strategy == STRATEGY_STOP_COPY) { abort(out, REASON_BOUND, STATE_FAILED); return; }
  if (out.rounds >= <u32>out.param(PARAM_MAX_ROUNDS)) { abort(out, REASON_NOT_CONVERGED, STATE_FAILED); return; }
  if (out.strategy == STRATEGY_THROTTLED) throttle(out, vm, out.roundDirtyBytesPerS[min(<i32>out.rounds, MAX_ROUND_STATS) - 1]);
  beginRound(out, vm);
}

/**
 * Throttled pre-copy (after Jin et al.): scale the VM's CPU share so that its dirty rate
 * falls to C times the link bandwidth: e_next = C * B * e / p, within [floor, 1].
 */
function throttle(out: Outgoing, vm: Vm, dirtyBytesPerS: u64): void {
  if (dirtyBytesPerS == 0) return;
  const target = (out.param(PARAM_THROTTLE_TARGET_PERMILLE) * linkBandwidth(out.peer)) / 1000;
  let share = (target * out.sharePermille) / dirtyBytesPerS;
  if (share > 1000) share = 1000;
  if (share < out.param(PARAM_THROTTLE_FLOOR_PERMILLE)) share = out.param(PARAM_THROTTLE_FLOOR_PERMILLE);
  out.sharePermille = share;
  vm.cpuSharePermille = <u32>share;
}

/**
 * Post-copy's watch is over: stop the VM and send its state with the pages it wrote while
 * watched and those its first instruction can touch — or, if that would not fit the
 * bound, with only the latter. The rest follows after the commit.
 */
function enterPostCopyBlackout(out: Outgoing, vm: Vm): void {
  let prepage = true;
  let bytes = out.stream.bytesForPages(vm, out.stream.postCopyBlackoutPages(vm, true));
  if (boundFor(out, bytes) > out.affordableNs) {
    prepage = false;
    bytes = out.stream.bytesForPages(vm, out.stream.postCopyBlackoutPages(vm, false));
    if (boundFor(out, bytes) > out.affordableNs) { abort(out, REASON_BOUND, STATE_FAILED); return; }
  }
  stopForBlackout(out, vm, bytes);
  out.stream.beginPostCopyCheckpoint(vm, prepage);
}

/**
 * Warm: suspend the VM before the destination is asked, then send PREPARE. Its checkpoint
 * is the VM as suspended (it is held, so nothing changes it); it goes once the destination
 * has reserved (onPrepareReply). Until then the bound lacks the destination's terms.
 */
function suspendForWarm(out: Outgoing, vm: Vm): void {
  const bytes = blackoutBytesNow(out, vm);
  if (boundFor(out, bytes) > out.affordableNs) { refuseBeforePrepare(out, vm); return; }
  stopForBlackout(out, vm, bytes);
  sendPrepare(out, vm);
}

/** Warm, before PREPARE went: the VM wrote more since admission and no longer fits. Nothing was reserved. */
function refuseBeforePrepare(out: Outgoing, vm: Vm): void {
  if (out.param(PARAM_REPLACES) != 0) protectionHooks.moveEnded(vm.id, false, 0);
  refuse(out, REASON_BOUND);
}

/**
 * Cold: the VM stops for good and restarts from its boot image (vm-image.ts); the
 * blackout sends that image and the boot vCPU, which the destination runs from its entry.
 * The bound is checked on the VM's state before the restart, and again on the exact
 * stream after it; a move given up after the restart leaves the restarted VM on the source.
 */
function enterColdBlackout(out: Outgoing, vm: Vm): void {
  if (boundFor(out, blackoutBytesNow(out, vm)) > out.affordableNs) { abort(out, REASON_BOUND, STATE_FAILED); return; }
  restartFromImage(vm);
  const bytes = out.stream.fullBytes(vm);
  if (boundFor(out, bytes) > out.affordableNs) { abort(out, REASON_BOUND, STATE_FAILED); return; }
  stopForBlackout(out, vm, bytes);
  out.stream.beginCheckpoint(vm, true, false);
}

/**
 * Trace-replay: the destination is close behind. If the bound for what is behind now (the
 * log not yet acknowledged, the instructions not yet replayed) fits, the VM stops: the
 * digest of it, the log's tail with it, and a checkpoint of its state go; else the next
 * progress report decides again.
 */
function enterReplayBlackout(out: Outgoing, vm: Vm): void {
  const lag = vm.executed - out.trace.replayedPosition;
  const bytes = traceBlackoutBytes(out, vm, out.trace.pendingLogBytes(out.stream) + out.trace.cutBytes() + inFlightBytes(out));
  out.boundLag = lag;
  if (boundFor(out, bytes) > out.affordableNs) return;
  stopForBlackout(out, vm, bytes);
  out.trace.lagAtStop = lag;
  out.trace.stopPosition = vm.executed;
  out.trace.digest = out.trace.crcs.digest(vm);
  out.trace.cut(vm, out.stream, true, out.trace.digest);
  out.rounds++;
  out.stream.statesOnly = true;
  out.stream.beginCheckpoint(vm, false, false);
  // The digest is the source's work in the blackout: what follows it waits for it.
  out.codecReadyCycles = now() + digestCycles(out.trace.crcs.workBytes);
}

/**
 * Trace-replay while the VM runs: the log is cut into an INPUT_LOG record every
 * LOG_BATCH_NS once the checkpoint is on its way.
 */
function traceTransfer(out: Outgoing, vm: Vm): void {
  if (!out.trace.snapshotHandedOver()) return;
  if (replayGoneSilent(out, vm)) { abort(out, REASON_UNREACHABLE, STATE_FAILED); return; }
  if (now() - out.trace.lastCutCycles < nsToCycles(LOG_BATCH_NS)) return;
  out.trace.cut(vm, out.stream, false, 0);
  out.rounds++;
}

/**
 * The destination's replay reached `position`: the lag shrinks if the replay is faster than
 * the VM. Close enough (lag and log within their caps), the blackout is due; a lag that has
 * not reached a new low for 10 × max-rounds reports in a row does not converge.
 */
/**
 * The destination reports its replay every log batch while it advances. Silent for twice
 * the time after which it drops a reservation whose source went quiet (the source hung,
 * say) while the VM here ran on, it has dropped this one: its link still acknowledges,
 * so only this watch ends the move (the VM runs on here).
 */
function replayGoneSilent(out: Outgoing, vm: Vm): bool {
  if (out.trace.lastProgressCycles == 0) { out.trace.lastProgressCycles = now(); return false; }
  if (vm.executed <= out.trace.replayedPosition) return false;
  const dropCycles = <u64>out.param(PARAM_GIVE_UP_TIMEOUTS) * out.link.timeoutCycles + nsToCycles(quietNs(out, vm) + out.destination.scheduleGapNs);
  return now() - out.trace.lastProgressCycles > 2 * dropCycles;
}

function onReplayProgress(out: Outgoing, position: u64): void {
  const vm = out.vm!;
  out.trace.lastProgressCycles = now();
  if (position > out.trace.replayedPosition) out.trace.replayedPosition = position;
  const lag = vm.executed > out.trace.replayedPosition ? vm.executed - out.trace.replayedPosition : 0;
  if (lag < out.trace.bestLag) { out.trace.bestLag = lag; out.trace.reportsWithoutProgress = 0; }
  else out.trace.reportsWithoutProgress++;
  if (out.blackoutDue) return;
  if (lag <= out.lagCapInstructions && out.trace.pendingLogBytes(out.stream) <= out.tailCapBytes) { out.blackoutDue = true; return; }
  if (<u64>out.trace.reportsWithoutProgress > 10 * out.param(PARAM_MAX_ROUNDS)) abort(out, REASON_NOT_CONVERGED, STATE_FAILED);
}

function enterBlackout(out: Outgoing, vm: Vm, streamBytes: u64): void {
  stopForBlackout(out, vm, streamBytes);
  out.stream.beginCheckpoint(vm, out.strategy == STRATEGY_STOP_COPY, false);
}

function stopForBlackout(out: Outgoing, vm: Vm, streamBytes: u64): void {
  holdVm(vm);
  vm.cpuSharePermille = 1000;
  out.stopNs = nowNs();
  out.stopCycles = now();
  out.compressedBeforeBlackout = out.stream.stats.compressed;
  out.lastRunNs = cyclesToNs(vm.lastRanCycles);
  out.blackoutStreamBytes = streamBytes;
  out.blackoutDeadlineCycles = now() + nsToCycles(out.bound.commitByNs());
  out.state = STATE_BLACKOUT;
  report(EVENT_MIGRATION_BLACKOUT, out.id, out.vmId, streamBytes, out.bound.totalNs());
}

/** Moves an outgoing migration on as far as it can now: sends, retransmits, decides. */
export function pumpOutgoing(out: Outgoing): void {
  if (out.link.open) out.link.service();
  if (out.over()) {
    // Over: what is still in flight (CANCEL, POSTCOPY_DONE) is retransmitted until acknowledged.
    sendPendingCancel(out);
    if (out.link.open && out.link.idle() && !out.cancelPending) out.link.close();
    return;
  }
  const vm = out.vm!;
  if (out.state < STATE_COMMITTING && out.link.timeoutsInARow >= <u32>out.param(PARAM_GIVE_UP_TIMEOUTS)) {
    abort(out, REASON_UNREACHABLE, STATE_FAILED);
    return;
  }
  if (vm.exit != EXIT_RUNNING && out.state < STATE_BLACKOUT) { abort(out, REASON_VM_STOPPED, STATE_FAILED); return; }
  if (out.strategy == STRATEGY_POST_COPY && out.state == STATE_TRANSFER && !out.blackoutDue) {
    if (now() < out.watchEndCycles) return;
    out.blackoutDue = true;
  }
  if (out.blackoutDue) {
    if (!readyToStop(vm)) return;
    beginDueBlackout(out, vm);
    if (out.over()) return;
  }
  if (out.state == STATE_POST_COPY) { pushPages(out, vm); return; }
  if (awaitingWarmReply(out)) {
    // Warm, suspended, PREPARE out: nothing goes before the destination has reserved.
    if (now() >= out.blackoutDeadlineCycles) abort(out, REASON_BLACKOUT_OVERRUN, STATE_FAILED);
    return;
  }
  if (out.state == STATE_TRANSFER && out.strategy == STRATEGY_TRACE_REPLAY) traceTransfer(out, vm);
  if (out.state == STATE_TRANSFER || out.state == STATE_BLACKOUT) sendStream(out, vm);
  if (out.state == STATE_TRANSFER && out.strategy != STRATEGY_TRACE_REPLAY && out.stream.checkpointDone() && out.link.idle() && codecDone(out)) endRound(out, vm);
  if (out.state == STATE_BLACKOUT) {
    // COMMIT goes only while what follows it still fits the bound; past that, the VM
    // resumes here, down for less than its bound.
    if (now() >= out.blackoutDeadlineCycles) abort(out, REASON_BLACKOUT_OVERRUN, STATE_FAILED);
    else if (out.stream.checkpointDone() && out.link.idle() && codecDone(out)) sendCommit(out);
  }
}

function awaitingWarmReply(out: Outgoing): bool {
  return out.strategy == STRATEGY_WARM && out.state == STATE_BLACKOUT && !out.destination.known;
}

function codecDone(out: Outgoing): bool {
  return now() >= out.codecReadyCycles;
}

/**
 * Sends what the transport has room for. Compressing costs this processor's cycles: the
 * codec's work on the pages of one message delays the next message by as much, so the
 * stream takes the virtual time the bound charges for it.
 */
function sendStream(out: Outgoing, vm: Vm): void {
  const maxBody = out.link.maxBody();
  while (out.link.hasRoom() && codecDone(out)) {
    const examinedBefore = out.stream.stats.examined;
    const bytes = out.strategy == STRATEGY_TRACE_REPLAY ? out.trace.takeBytes(vm, out.stream, messageBody, maxBody) : out.stream.take(vm, messageBody, maxBody);
    const examined = out.stream.stats.examined - examinedBefore;
    if (examined != 0) out.codecReadyCycles = now() + examined * PAGE_BYTES * COMPRESS_CYCLES_PER_BYTE;
    if (bytes == 0) return;
    out.link.send(MSG_DATA, messageBody, bytes);
  }
}

function sendCommit(out: Outgoing): void {
  const body = messageBody;
  store<u64>(body, out.stopNs);
  store<u64>(body, out.blackoutStreamBytes, 8);
  store<u32>(body, out.strategy == STRATEGY_POST_COPY ? COMMIT_FLAG_POSTCOPY : 0, 16);
  store<u32>(body, <u32>(out.stream.stats.compressed - out.compressedBeforeBlackout), 20); // the destination decodes them before the VM runs
  store<u64>(body, out.bound.totalNs(), 24);
  out.link.send(MSG_COMMIT, body, COMMIT_BODY_BYTES);
  out.state = STATE_COMMITTING;
}

/** The next page the destination asked for that is still to be sent (1 + page), or 0. */
function nextRequest(out: Outgoing, vm: Vm): u32 {
  while (out.requestCount > 0) {
    const request = out.requests[out.requestHead];
    out.requestHead = (out.requestHead + 1) % MAX_REQUESTS;
    out.requestCount--;
    if (out.stream.pending(vm, request - 1)) return request;
  }
  return 0;
}

/** Post-copy after the commit: pages asked for first, then the rest in order; done when all are acknowledged. */
function pushPages(out: Outgoing, vm: Vm): void {
  const maxBody = out.link.maxBody();
  while (out.link.hasRoom()) {
    const bytes = out.stream.takePush(vm, messageBody, maxBody, nextRequest(out, vm));
    if (bytes == 0) break;
    out.link.send(MSG_DATA, messageBody, bytes);
  }
  if (out.stream.pushDone(vm) && out.link.idle() && out.link.hasRoom()) {
    out.link.send(MSG_POSTCOPY_DONE, messageBody, 0);
    finish(out, STATE_DONE, REASON_NONE);
    release(out, vm); // every page is on the destination now
  }
}

function release(out: Outgoing, vm: Vm): void {
  releaseVm(vm);
  out.vm = null;
  report(EVENT_MIGRATION_RELEASED, out.id, out.vmId, out.peer, out.destinationVm);
}

/** A message for the source side of `out` (in order, from the destination). */
export function onSourceMessage(out: Outgoing, type: u32, body: usize, bytes: u32): void {
  if (type == MSG_PREPARE_REPLY && (out.state == STATE_PREPARING || awaitingWarmReply(out))) onPrepareReply(out, body, bytes);
  else if (type == MSG_PAGE_REQUEST && out.state == STATE_POST_COPY && bytes >= 4) {
    out.demandRequests++;
    if (out.requestCount < MAX_REQUESTS) {
      out.requests[(out.requestHead + out.requestCount) % MAX_REQUESTS] = load<u32>(body) + 1;
      out.requestCount++;
    }
  } else if (type == MSG_COMMIT_REPLY && out.state == STATE_COMMITTING) onCommitReply(out, body);
  else if (type == MSG_REPLAY_PROGRESS && out.state == STATE_TRANSFER && out.strategy == STRATEGY_TRACE_REPLAY && bytes >= 8) onReplayProgress(out, load<u64>(body));
}

/** The destination reserved (or refused): with its facts, the bound is computed again before anything is sent. */
function onPrepareReply(out: Outgoing, body: usize, bytes: u32): void {
  const status = load<u32>(body);
  if (status != 0 || bytes < PREPARE_REPLY_BYTES) { abort(out, status != 0 ? <u64>status : REASON_RESTORE_FAILED, STATE_REFUSED); return; }
  out.destinationVm = load<u32>(body, 4);
  out.destination.known = true;
  out.destination.clockHz = <u64>load<u32>(body, 8);
  out.destination.scheduleGapNs = load<u64>(body, 16);
  out.destination.sharePermille = <u64>load<u32>(body, 12);
  const vm = out.vm!;
  if (out.strategy == STRATEGY_TRACE_REPLAY) {
    const why = replayRateRefusal(out);
    if (why != REASON_NONE) { abort(out, why, STATE_REFUSED); return; }
  }
  if (boundFor(out, worstBlackoutBytes(out, vm)) > out.affordableNs) { abort(out, REASON_BOUND, STATE_REFUSED); return; }
  if (out.strategy == STRATEGY_WARM) { sendWarmCheckpoint(out, vm); return; }
  if (out.strategy == STRATEGY_STOP_COPY || out.strategy == STRATEGY_COLD) out.blackoutDue = true;
  else if (out.strategy == STRATEGY_POST_COPY) {
    out.state = STATE_TRANSFER;
    out.stream.watchWrites(vm);
    out.watchEndCycles = now() + nsToCycles(out.param(PARAM_PREPAGE_NS));
  } else if (out.strategy == STRATEGY_TRACE_REPLAY) {
    out.state = STATE_TRANSFER;
    out.trace.take(vm, out.stream, out.stream.fullStreamBytes(vm, out.stream.touchedPages(vm))); // the checkpoint, at this instruction; the log starts here
  } else { out.state = STATE_TRANSFER; out.stream.beginStream(vm); beginRound(out, vm); }
}

/**
 * Warm: the destination reserved and the bound, now with its facts, still fits: the
 * checkpoint of the suspended VM goes. The blackout's deadline counts from the suspension.
 */
function sendWarmCheckpoint(out: Outgoing, vm: Vm): void {
  out.blackoutStreamBytes = blackoutBytesNow(out, vm);
  out.blackoutDeadlineCycles = out.stopCycles + nsToCycles(out.bound.commitByNs());
  out.stream.beginCheckpoint(vm, true, false);
}

function onCommitReply(out: Outgoing, body: usize): void {
  const vm = out.vm!;
  if (load<u32>(body) != 0) {
    const reason: u64 = load<u32>(body) == <u32>REASON_REPLAY_DIVERGED ? REASON_REPLAY_DIVERGED : REASON_RESTORE_FAILED;
    resumeVm(vm);
    vmHooks.stay(vm.id);
    if (out.param(PARAM_REPLACES) != 0) protectionHooks.moveEnded(vm.id, false, 0);
    finish(out, STATE_FAILED, reason);
    out.link.close();
    report(EVENT_MIGRATION_FAILED, out.id, out.vmId, reason, out.bound.totalNs());
    return;
  }
  vmHooks.left(vm.id, out.peer); // the VM runs there now: so do its channel ends
  if (out.param(PARAM_REPLACES) != 0) protectionHooks.moveEnded(vm.id, true, out.peer); // and its lease follows
  report(EVENT_MIGRATION_COMMITTED, out.id, out.vmId, out.peer, out.destinationVm);
  if (out.strategy == STRATEGY_POST_COPY) {
    out.state = STATE_POST_COPY; // the destination runs it; its pages follow
  } else {
    finish(out, STATE_DONE, REASON_NONE);
    release(out, vm); // the destination runs it now: drop the source's copy
    out.link.close();
  }
}

/** Every outgoing migration whose link is open: the run loop's pump. */
export function pumpAllOutgoing(): void {
  for (let i = 0; i < MIGRATION_HISTORY; i++) {
    const o = unchecked(history[i]);
    if (o.link.open || !o.over()) pumpOutgoing(o);
  }
}

/** The report of `out`: MigrationStat `key` (docs/migration.md, "Core interface"). */
export function outgoingStat(out: Outgoing, key: u32): u64 {
  if (key >= STAT_CLASS_PAGES && key < STAT_CLASS_PAGES + PAGE_CLASSES) return out.stream.stats.pages[key - STAT_CLASS_PAGES];
  if (key >= STAT_CLASS_BYTES && key < STAT_CLASS_BYTES + PAGE_CLASSES) return out.stream.stats.bytes[key - STAT_CLASS_BYTES];
  if (key >= STAT_PARAM) return key - STAT_PARAM < PARAM_COUNT ? out.param(key - STAT_PARAM) : 0;
  if (key >= STAT_ROUND_PAGES) return key - STAT_ROUND_PAGES < <u32>MAX_ROUND_STATS ? out.roundPages[key - STAT_ROUND_PAGES] : 0;
  if (key >= STAT_ROUND_DIRTY_RATE) return key - STAT_ROUND_DIRTY_RATE < <u32>MAX_ROUND_STATS ? out.roundDirtyBytesPerS[key - STAT_ROUND_DIRTY_RATE] : 0;
  switch (key) {
    case STAT_STATE: return out.state;
    case STAT_REASON: return out.reason;
    case STAT_BOUND_NS: return out.bound.totalNs();
    case STAT_AFFORDABLE_NS: return out.affordableNs;
    case STAT_TOTAL_NS: return (out.endNs != 0 ? out.endNs : nowNs()) - out.startNs;
    case STAT_BYTES_SENT: return out.link.bytesSent;
    case STAT_ROUNDS: return out.rounds;
    case STAT_RETRANSMISSIONS: return out.link.retransmissions;
    case STAT_STOP_NS: return out.stopNs;
    case STAT_BLACKOUT_BYTES: return out.blackoutStreamBytes;
    case STAT_DESTINATION_VM: return out.destinationVm;
    case STAT_DESTINATION_PROCESSOR: return out.peer;
    case STAT_SOURCE_VM: return out.vmId;
    case STAT_BOUND_TRANSFER_NS: return out.bound.transferNs;
    case STAT_BOUND_HANDSHAKE_NS: return out.bound.handshakeNs;
    case STAT_BOUND_RETRANSMIT_NS: return out.bound.retransmitNs;
    case STAT_BOUND_RESTORE_NS: return out.bound.restoreNs;
    case STAT_BOUND_SCHEDULE_NS: return out.bound.scheduleNs;
    case STAT_BOUND_AGREEMENT_NS: return out.bound.agreementNs;
    case STAT_SHARE_PERMILLE: return out.sharePermille;
    case STAT_DEMAND_REQUESTS: return out.demandRequests;
    case STAT_DESTINATION_CLOCK_HZ: return out.destination.known ? out.destination.clockHz : 0;
    case STAT_START_NS: return out.startNs;
    case STAT_END_NS: return out.endNs;
    case STAT_PREPAGED_PAGES: return out.stream.prepagedPages;
    case STAT_PUSHED_PAGES: return out.stream.pushedPages;
    case STAT_STRATEGY: return out.strategy;
    case STAT_LAST_RUN_NS: return out.lastRunNs;
    case STAT_BOUND_PREPARE_NS: return out.bound.prepareNs;
    case STAT_IMAGE_PAGES: return out.imagePages;
    case STAT_PAGES_SENT: return out.stream.pagesSent;
    case STAT_BOUND_COMPRESSION_NS: return out.bound.compressionNs;
    case STAT_HELD_PAGES: return out.stream.workingSet.heldPages;
    case STAT_BOUND_REPLAY_NS: return out.bound.replayNs;
    case STAT_LOG_BYTES: return out.trace.logBytes;
    case STAT_LOG_ENTRIES: return out.trace.logEntries;
    case STAT_LOG_RATE: return out.logRateBytesPerS;
    case STAT_REPLAY_RATE: return out.replayRateBytesPerS;
    case STAT_SOURCE_INSTRUCTIONS_PER_S: return out.sourceInstructionsPerS;
    case STAT_REPLAY_INSTRUCTIONS_PER_S: return out.replayInstructionsPerS;
    case STAT_REPLAY_LAG: return out.trace.lagAtStop;
    case STAT_CHECKPOINT_POSITION: return out.trace.checkpointPosition;
    case STAT_STOP_POSITION: return out.trace.stopPosition;
    case STAT_STATE_DIGEST: return out.trace.digest;
  }
  return 0;
}
