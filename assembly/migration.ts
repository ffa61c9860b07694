// The migration manager: moves a running VM to another processor over the board's link,
// with a downtime bound computed before it starts (downtime.ts), and never lets the VM run
// in two places. docs/migration.md is the protocol; this file is both ends of it.
//
//   source                                  destination
//   PREPARING   -- PREPARE (kind, RAM, windows) -->   reserves RAM and the VM's windows
//               <-- PREPARE_REPLY (ok | why not) --
//   TRANSFER    -- DATA (stream) ... -->             checks each record as it completes and
//     pre-copy rounds: memory-only checkpoints       writes its pages into the reserved VM
//     of the pages written since the last round      (restore.ts, IncomingStream)
//   BLACKOUT    the VM stops; DATA: the last pages + all vCPU and device state, END
//   COMMITTING  -- COMMIT (stop time) -->            the stream ended whole: applies the state,
//               <-- COMMIT_REPLY (ok | error) --     and runs the VM from its next window
//   DONE        the source releases its copy
//
// All messages travel over transport.ts (acknowledged, retransmitted), so loss,
// corruption, duplication and reordering only cost time. Until COMMIT is sent the source
// can always resume the VM itself (cancel, refusal, a blackout that would overrun its
// bound); after it, only the destination's answer decides, so the VM never runs twice.
import { cyclesToNs, getProcessorId, now, nsToCycles } from "./clock";
import { EXIT_RUNNING, PAGE_BYTES, PAGE_SHIFT, RAM_BASE, SBI_ERR_DENIED, SBI_ERR_INVALID_PARAM, SBI_ERR_INVALID_STATE } from "./config";
import { largestMessageOf, portsArrived, portsLeft, portsStay } from "./channel";
import { FRAME_HEADER_BYTES, linkBandwidth, maxPayloadTo } from "./communication";
import { Bound, COMMIT_BODY_BYTES, computeBound, restoreCycles } from "./downtime";
import { releaseVm, reserveVm, resumeVm, holdVm } from "./vm-lifecycle";
import { Endpoint, FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE } from "./transport";
import { MigrationStream } from "./migration-stream";
import { IncomingStream } from "./restore";
import { addWindowsLike, windowsOf } from "./schedule";
import { Vm, vmById } from "./vm";

export const STRATEGY_STOP_COPY: u32 = 0;
export const STRATEGY_PRE_COPY: u32 = 1;
export const STRATEGY_THROTTLED: u32 = 2;
export const STRATEGY_POST_COPY: u32 = 3;

// Source states (migrationState).
export const STATE_IDLE: u32 = 0;
export const STATE_PREPARING: u32 = 1;
export const STATE_TRANSFER: u32 = 2;
export const STATE_BLACKOUT: u32 = 3;
export const STATE_COMMITTING: u32 = 4;
/** Post-copy: the VM runs on the destination; the source pushes the pages it still lacks. */
export const STATE_POSTCOPY: u32 = 5;
export const STATE_DONE: u32 = 6;
export const STATE_CANCELLED: u32 = 7;
export const STATE_FAILED: u32 = 8;
export const STATE_REFUSED: u32 = 9;

// Why a migration did not complete (migrationStat REASON).
export const REASON_NONE: u64 = 0;
export const REASON_BOUND: u64 = 1;
export const REASON_NO_AFFORDABLE: u64 = 2;
export const REASON_DEST_MEMORY: u64 = 3;
export const REASON_DEST_SCHEDULE: u64 = 4;
export const REASON_DEST_BUSY: u64 = 5;
export const REASON_NOT_CONVERGED: u64 = 6;
export const REASON_BLACKOUT_OVERRUN: u64 = 7;
export const REASON_RESTORE_FAILED: u64 = 8;
export const REASON_CANCELLED: u64 = 9;
export const REASON_NO_LINK: u64 = 10;
/** A channel message of the VM's would not fit a frame on the link to the destination (its channels are relayed over it). */
export const REASON_CHANNEL_MTU: u64 = 11;
export const REASON_VM_STOPPED: u64 = 12;
export const REASON_UNREACHABLE: u64 = 13;

// Messages.
const MSG_PREPARE: u32 = 1;
const MSG_DATA: u32 = 2;
const MSG_COMMIT: u32 = 3;
const MSG_CANCEL: u32 = 4;
const MSG_PREPARE_REPLY: u32 = 5;
const MSG_COMMIT_REPLY: u32 = 6;
const MSG_POSTCOPY_DONE: u32 = 7;
const MSG_PAGE_REQUEST: u32 = 8;
const COMMIT_FLAG_POSTCOPY: u32 = 1;
const MAX_REQUESTS: u32 = 16;

// Parameters (migrationSetParam), with their defaults.
export const PARAM_MAX_ROUNDS: u32 = 0;
export const PARAM_THRESHOLD_BYTES: u32 = 1;
export const PARAM_THROTTLE_TARGET_PERMILLE: u32 = 2;
export const PARAM_THROTTLE_FLOOR_PERMILLE: u32 = 3;
export const PARAM_AFFORDABLE_NS: u32 = 4;
export const PARAM_RETRANSMISSIONS: u32 = 5;
/** Post-copy: how long the manager watches the VM's writes to choose the prepaged pages. */
export const PARAM_PREPAGE_NS: u32 = 6;
/**
 * Timeouts in a row after which the other side counts as unreachable: before the commit
 * the source gives up (the VM runs on there) and a destination drops its reservation.
 * After the commit nobody gives up: only the other side's answer may decide.
 */
export const PARAM_GIVE_UP_TIMEOUTS: u32 = 7;
const PARAMS: i32 = 8;
const params = new StaticArray<u64>(PARAMS);
const DEFAULT_PARAMS: StaticArray<u64> = [30, 256 * 1024, 800, 50, 0, 2, 10_000_000, 16];
for (let i = 0; i < PARAMS; i++) params[i] = DEFAULT_PARAMS[i];

const MAX_ROUND_STATS: i32 = 64;

export function setParam(key: u32, value: u64): bool {
  if (key >= <u32>PARAMS) return false;
  params[key] = value;
  return true;
}

// ---- source ----------------------------------------------------------------------------

class Outgoing {
  state: u32 = STATE_IDLE;
  reason: u64 = REASON_NONE;
  vm: Vm | null = null;
  peer: u32 = 0;
  strategy: u32 = 0;
  link: Endpoint = new Endpoint();
  stream: MigrationStream = new MigrationStream();
  bound: Bound = new Bound();
  affordableNs: u64 = 0;
  startCycles: u64 = 0;
  stopCycles: u64 = 0;
  endCycles: u64 = 0;
  blackoutDeadlineCycles: u64 = 0;
  blackoutStreamBytes: u64 = 0;
  rounds: u32 = 0;
  roundStartCycles: u64 = 0;
  roundDirtyBytesPerS: StaticArray<u64> = new StaticArray<u64>(MAX_ROUND_STATS);
  roundPages: StaticArray<u64> = new StaticArray<u64>(MAX_ROUND_STATS);
  sharePermille: u64 = 1000;
  destinationVm: u32 = 0;
  messageBody: usize = heap.alloc(65536);
  /** Post-copy: when the watch for prepaged pages ends. */
  watchEndCycles: u64 = 0;
  /** Post-copy: pages the destination asked for (1 + page), oldest first. */
  requests: StaticArray<u32> = new StaticArray<u32>(MAX_REQUESTS);
  requestHead: u32 = 0;
  requestCount: u32 = 0;
  demandRequests: u64 = 0;
  /** CANCEL still to be sent (the window was full when the migration was abandoned). */
  cancelPending: bool = false;
}

const out = new Outgoing();
let sessionCounter: u32 = 0;

export function outgoingState(): u32 {
  return out.state;
}

/** Is an outgoing migration using the processor's stream writer (stream.ts)? */
export function migrationWriting(): bool {
  return out.state >= STATE_PREPARING && out.state <= STATE_POSTCOPY;
}

function finish(state: u32, reason: u64): void {
  out.state = state;
  out.reason = reason;
  out.endCycles = now();
  const vm = out.vm;
  if (vm != null) vm.cpuSharePermille = 1000;
}

/** Bytes the blackout would send if it began now. */
function blackoutBytesNow(vm: Vm): u64 {
  return out.strategy == STRATEGY_STOP_COPY ? out.stream.fullBytes(vm) : out.stream.incrementalBytes(vm);
}

function boundFor(vm: Vm, streamBytes: u64): u64 {
  computeBound(out.bound, out.peer, streamBytes, out.link.window, <u32>params[PARAM_RETRANSMISSIONS], vm.id, out.strategy == STRATEGY_POST_COPY);
  return out.bound.totalNs();
}

/** Starts migrating `vm` to processor `peer`; 0, or an SBI error with out.reason saying why. */
export function startMigration(vmId: u32, peer: u32, strategy: u32): i32 {
  if (out.state != STATE_IDLE && out.state < STATE_DONE) return SBI_ERR_INVALID_STATE;
  const vm = vmById(vmId);
  if (vm == null || vm.exit != EXIT_RUNNING || vm.held || strategy > STRATEGY_POST_COPY || peer == getProcessorId()) {
    return SBI_ERR_INVALID_PARAM;
  }
  resetOutgoing(vm, peer, strategy);
  sessionCounter++;
  if (!out.link.start(peer, (getProcessorId() << 16) | (sessionCounter & 0xFFFF))) {
    finish(STATE_REFUSED, REASON_NO_LINK);
    return SBI_ERR_DENIED;
  }
  // Until the other ends learn of the move, its channel frames go through this processor and this link.
  if (largestMessageOf(vm.id) > maxPayloadTo(peer)) {
    out.link.close();
    finish(STATE_REFUSED, REASON_CHANNEL_MTU);
    return SBI_ERR_DENIED;
  }
  out.affordableNs = params[PARAM_AFFORDABLE_NS] != 0 ? params[PARAM_AFFORDABLE_NS] : vm.slackNs;
  if (out.affordableNs == u64.MAX_VALUE) { finish(STATE_REFUSED, REASON_NO_AFFORDABLE); return SBI_ERR_DENIED; }
  // Admission: the blackout as it would be at the latest (pre-copy: the threshold h of dirty memory).
  // Post-copy: the state and the page it runs in (prepaging is dropped if it would not fit).
  const worstBytes = strategy == STRATEGY_STOP_COPY ? blackoutBytesNow(vm)
    : strategy == STRATEGY_POST_COPY ? out.stream.bytesForPages(vm, 1)
    : out.stream.bytesForPages(vm, params[PARAM_THRESHOLD_BYTES] >> PAGE_SHIFT);
  if (boundFor(vm, worstBytes) > out.affordableNs) {
    out.link.close();
    finish(STATE_REFUSED, REASON_BOUND);
    return SBI_ERR_DENIED;
  }
  sendPrepare(vm);
  return 0;
}

function resetOutgoing(vm: Vm, peer: u32, strategy: u32): void {
  out.vm = vm;
  out.peer = peer;
  out.strategy = strategy;
  out.reason = REASON_NONE;
  out.startCycles = now();
  out.stopCycles = 0;
  out.endCycles = 0;
  out.rounds = 0;
  out.blackoutStreamBytes = 0;
  out.sharePermille = 1000;
  out.requestCount = 0;
  out.demandRequests = 0;
  out.cancelPending = false;
  out.state = STATE_PREPARING;
}

function sendPrepare(vm: Vm): void {
  const body = out.messageBody;
  store<u32>(body, vm.kind);
  store<u32>(body, vm.ramBytes, 4);
  const starts = new StaticArray<u64>(16);
  const ends = new StaticArray<u64>(16);
  const windows = windowsOf(vm.id, starts, ends);
  store<u32>(body, <u32>windows, 8);
  // Post-copy's watch is a silence the destination must not take for a dead source.
  store<u32>(body, out.strategy == STRATEGY_POST_COPY ? <u32>(params[PARAM_PREPAGE_NS] / 1000) : 0, 12);
  for (let i = 0; i < windows; i++) {
    store<u64>(body + 16 + <usize>i * 16, cyclesToNs(starts[i]));
    store<u64>(body + 24 + <usize>i * 16, cyclesToNs(ends[i] - starts[i]));
  }
  out.link.send(MSG_PREPARE, body, 16 + <u32>windows * 16);
}

/** The host (or a policy) cancels: possible until COMMIT is sent. */
export function cancelMigration(): i32 {
  if (out.state == STATE_COMMITTING || out.state == STATE_POSTCOPY) return SBI_ERR_DENIED;
  if (out.state == STATE_IDLE || out.state >= STATE_DONE) return SBI_ERR_INVALID_STATE;
  abort(REASON_CANCELLED, STATE_CANCELLED);
  return 0;
}

/** Gives up before the commit: the VM runs on (or again) on the source; the destination drops its reservation. */
function abort(reason: u64, state: u32): void {
  const vm = out.vm!;
  if (vm.held) resumeVm(vm);
  portsStay(vm.id);
  out.cancelPending = reason != REASON_UNREACHABLE; // an unreachable destination drops its reservation itself
  sendPendingCancel();
  finish(state, reason);
}

function sendPendingCancel(): void {
  if (!out.cancelPending || !out.link.hasRoom()) return;
  out.link.send(MSG_CANCEL, out.messageBody, 0);
  out.cancelPending = false;
}

function beginRound(vm: Vm): void {
  out.rounds++;
  out.roundStartCycles = now();
  const first = out.rounds == 1;
  out.stream.beginCheckpoint(vm, first, true);
  out.stream.startRateMeter(vm);
}

/** A pre-copy round is on the other side: measure it, then decide what comes next. */
function endRound(vm: Vm): void {
  const elapsedNs = cyclesToNs(now() - out.roundStartCycles);
  const dirtyPages = out.stream.dirtyPages(vm); // still to send
  const writtenPages = out.stream.pagesWrittenSinceMeter(vm); // written during the round: the rate
  const dirtyBytesPerS = elapsedNs == 0 ? 0 : (writtenPages * PAGE_BYTES * 1_000_000_000) / elapsedNs;
  const index = <i32>out.rounds - 1;
  if (index < MAX_ROUND_STATS) {
    out.roundDirtyBytesPerS[index] = dirtyBytesPerS;
    out.roundPages[index] = out.stream.pagesInCheckpoint;
  }
  const converged = dirtyPages * PAGE_BYTES <= params[PARAM_THRESHOLD_BYTES];
  const lastRound = out.rounds >= <u32>params[PARAM_MAX_ROUNDS];
  if (converged || lastRound) {
    const bytes = blackoutBytesNow(vm);
    if (boundFor(vm, bytes) <= out.affordableNs) { enterBlackout(vm, bytes); return; }
    if (lastRound) { abort(REASON_NOT_CONVERGED, STATE_FAILED); return; }
  }
  if (out.strategy == STRATEGY_THROTTLED) throttle(vm, dirtyBytesPerS);
  beginRound(vm);
}

/**
 * Throttled pre-copy (after Jin et al.): scale the VM's CPU share so that its dirty rate
 * falls to C times the link bandwidth: e_next = C * B * e / p, within [floor, 1].
 */
function throttle(vm: Vm, dirtyBytesPerS: u64): void {
  if (dirtyBytesPerS == 0) return;
  const target = (params[PARAM_THROTTLE_TARGET_PERMILLE] * linkBandwidth(out.peer)) / 1000;
  let share = (target * out.sharePermille) / dirtyBytesPerS;
  if (share > 1000) share = 1000;
  if (share < params[PARAM_THROTTLE_FLOOR_PERMILLE]) share = params[PARAM_THROTTLE_FLOOR_PERMILLE];
  out.sharePermille = share;
  vm.cpuSharePermille = <u32>share;
}

/**
 * Post-copy's watch is over: stop the VM and send its state with the pages it wrote while
 * watched (and the page it runs in) — or, if that would not fit the bound, with only the
 * page it runs in. The rest follows after the commit.
 */
function enterPostCopyBlackout(vm: Vm): void {
  const running = vm.pc - RAM_BASE;
  const written = out.stream.dirtyPages(vm);
  let prepage = true;
  let bytes = out.stream.bytesForPages(vm, written + 1);
  if (boundFor(vm, bytes) > out.affordableNs) {
    prepage = false;
    bytes = out.stream.bytesForPages(vm, 1);
    if (boundFor(vm, bytes) > out.affordableNs) { abort(REASON_BOUND, STATE_FAILED); return; }
  }
  holdVm(vm);
  out.stopCycles = now();
  out.blackoutStreamBytes = bytes;
  out.blackoutDeadlineCycles = out.stopCycles + nsToCycles(out.bound.commitByNs());
  out.state = STATE_BLACKOUT;
  out.stream.beginPostCopyCheckpoint(vm, prepage, running < vm.ramBytes ? running >> PAGE_SHIFT : u32.MAX_VALUE);
}

function enterBlackout(vm: Vm, streamBytes: u64): void {
  holdVm(vm);
  vm.cpuSharePermille = 1000;
  out.stopCycles = now();
  out.blackoutStreamBytes = streamBytes;
  out.blackoutDeadlineCycles = out.stopCycles + nsToCycles(out.bound.commitByNs());
  out.state = STATE_BLACKOUT;
  out.stream.beginCheckpoint(vm, out.strategy == STRATEGY_STOP_COPY, false);
}

/** Moves the outgoing migration on as far as it can now: sends, retransmits, decides. */
function pumpOutgoing(): void {
  if (out.link.open) out.link.service();
  if (out.state == STATE_IDLE || out.state >= STATE_DONE) {
    // Over: what is still in flight (CANCEL, POSTCOPY_DONE) is retransmitted until acknowledged.
    sendPendingCancel();
    if (out.link.open && out.link.idle() && !out.cancelPending) out.link.close();
    return;
  }
  const vm = out.vm!;
  if (out.state < STATE_COMMITTING && out.link.timeoutsInARow >= <u32>params[PARAM_GIVE_UP_TIMEOUTS]) {
    abort(REASON_UNREACHABLE, STATE_FAILED);
    return;
  }
  if (vm.exit != EXIT_RUNNING && out.state < STATE_BLACKOUT) { abort(REASON_VM_STOPPED, STATE_FAILED); return; }
  if (out.strategy == STRATEGY_POST_COPY && out.state == STATE_TRANSFER) {
    if (now() >= out.watchEndCycles) enterPostCopyBlackout(vm);
    else return;
  }
  if (out.state == STATE_POSTCOPY) { pushPages(vm); return; }
  if (out.state == STATE_TRANSFER || out.state == STATE_BLACKOUT) sendStream(vm);
  if (out.state == STATE_TRANSFER && out.stream.checkpointDone() && out.link.idle()) endRound(vm);
  if (out.state == STATE_BLACKOUT) {
    // COMMIT goes only while what follows it still fits the bound; past that, the VM
    // resumes here, down for less than its bound.
    if (now() >= out.blackoutDeadlineCycles) abort(REASON_BLACKOUT_OVERRUN, STATE_FAILED);
    else if (out.stream.checkpointDone() && out.link.idle()) sendCommit();
  }
}

function sendStream(vm: Vm): void {
  const maxBody = out.link.maxBody();
  while (out.link.hasRoom()) {
    const bytes = out.stream.take(vm, out.messageBody, maxBody);
    if (bytes == 0) return;
    out.link.send(MSG_DATA, out.messageBody, bytes);
  }
}

function sendCommit(): void {
  const body = out.messageBody;
  store<u64>(body, out.stopCycles);
  store<u64>(body, out.blackoutStreamBytes, 8);
  store<u32>(body, out.strategy == STRATEGY_POST_COPY ? COMMIT_FLAG_POSTCOPY : 0, 16);
  store<u32>(body, 0, 20);
  out.link.send(MSG_COMMIT, body, COMMIT_BODY_BYTES);
  out.state = STATE_COMMITTING;
}

/** The next page the destination asked for that is still to be sent (1 + page), or 0. */
function nextRequest(vm: Vm): u32 {
  while (out.requestCount > 0) {
    const request = out.requests[out.requestHead];
    out.requestHead = (out.requestHead + 1) % MAX_REQUESTS;
    out.requestCount--;
    if (out.stream.pending(vm, request - 1)) return request;
  }
  return 0;
}

/** Post-copy after the commit: pages asked for first, then the rest in order; done when all are acknowledged. */
function pushPages(vm: Vm): void {
  const maxBody = out.link.maxBody();
  while (out.link.hasRoom()) {
    const bytes = out.stream.takePush(vm, out.messageBody, maxBody, nextRequest(vm));
    if (bytes == 0) break;
    out.link.send(MSG_DATA, out.messageBody, bytes);
  }
  if (out.stream.pushDone(vm) && out.link.idle() && out.link.hasRoom()) {
    out.link.send(MSG_POSTCOPY_DONE, out.messageBody, 0);
    finish(STATE_DONE, REASON_NONE);
    releaseVm(vm); // every page is on the destination now
  }
}

function onSourceMessage(type: u32, body: usize, bytes: u32): void {
  if (type == MSG_PREPARE_REPLY && out.state == STATE_PREPARING) {
    const status = load<u32>(body);
    if (status != 0) { abort(status, STATE_REFUSED); return; }
    out.destinationVm = load<u32>(body, 4);
    const vm = out.vm!;
    if (out.strategy == STRATEGY_STOP_COPY) enterBlackout(vm, blackoutBytesNow(vm));
    else if (out.strategy == STRATEGY_POST_COPY) {
      out.state = STATE_TRANSFER;
      out.stream.watchWrites(vm);
      out.watchEndCycles = now() + nsToCycles(params[PARAM_PREPAGE_NS]);
    } else { out.state = STATE_TRANSFER; out.stream.beginStream(vm); beginRound(vm); }
  } else if (type == MSG_PAGE_REQUEST && out.state == STATE_POSTCOPY && bytes >= 4) {
    out.demandRequests++;
    if (out.requestCount < MAX_REQUESTS) {
      out.requests[(out.requestHead + out.requestCount) % MAX_REQUESTS] = load<u32>(body) + 1;
      out.requestCount++;
    }
  } else if (type == MSG_COMMIT_REPLY && out.state == STATE_COMMITTING) {
    const vm = out.vm!;
    if (load<u32>(body) != 0) {
      resumeVm(vm);
      portsStay(vm.id);
      finish(STATE_FAILED, REASON_RESTORE_FAILED);
      out.link.close();
      return;
    }
    portsLeft(vm.id, out.peer); // the VM runs there now: so do its channel ends
    if (out.strategy == STRATEGY_POST_COPY) {
      out.state = STATE_POSTCOPY; // the destination runs it; its pages follow
    } else {
      finish(STATE_DONE, REASON_NONE);
      releaseVm(vm); // the destination runs it now: drop the source's copy
      out.link.close();
    }
  }
}

// ---- destination -----------------------------------------------------------------------

class Incoming {
  active: bool = false;
  link: Endpoint = new Endpoint();
  stream: IncomingStream = new IncomingStream();
  vm: Vm | null = null;
  stopCycles: u64 = 0;
  firstRunCycles: u64 = 0;
  downtimeNs: u64 = 0;
  reply: usize = heap.alloc(16);
  /** Post-copy: pages still arriving after the commit. */
  postCopy: bool = false;
  /** The page last asked for (1 + page). */
  requested: u32 = 0;
  demandFaults: u64 = 0;
  postCopyEndCycles: u64 = 0;
  /** When the source was last heard from (any frame of the session). */
  lastHeardCycles: u64 = 0;
  /** Silence the source announced (post-copy's watch), on top of the give-up timeouts. */
  quietCycles: u64 = 0;
}

const incoming = new Incoming();

function replyStatus(type: u32, status: u64, value: u32): void {
  store<u32>(incoming.reply, <u32>status);
  store<u32>(incoming.reply, value, 4);
  incoming.link.send(type, incoming.reply, 8);
}

function onPrepare(body: usize, bytes: u32): void {
  if (bytes < 16) return;
  const kind = load<u32>(body);
  const ramBytes = load<u32>(body, 4);
  const windows = load<u32>(body, 8);
  incoming.quietCycles = nsToCycles(<u64>load<u32>(body, 12) * 1000);
  incoming.downtimeNs = 0;
  incoming.firstRunCycles = 0;
  if (windows > 16 || bytes < 16 + windows * 16) { replyStatus(MSG_PREPARE_REPLY, REASON_DEST_SCHEDULE, 0); return; }
  const vm = reserveVm(kind, ramBytes);
  if (vm == null) { replyStatus(MSG_PREPARE_REPLY, REASON_DEST_MEMORY, 0); return; }
  if (!addWindowsLike(vm.id, body + 16, windows)) {
    releaseVm(vm);
    replyStatus(MSG_PREPARE_REPLY, REASON_DEST_SCHEDULE, 0);
    return;
  }
  incoming.vm = vm;
  incoming.stopCycles = 0;
  incoming.stream.begin(vm);
  replyStatus(MSG_PREPARE_REPLY, 0, vm.id);
}

function onCommit(body: usize): void {
  const vm = incoming.vm;
  if (vm == null) return;
  incoming.stopCycles = load<u64>(body);
  const blackoutBytes = load<u64>(body, 8);
  const postCopy = (load<u32>(body, 16) & COMMIT_FLAG_POSTCOPY) != 0;
  if (!incoming.stream.finish()) {
    releaseVm(vm);
    incoming.vm = null;
    replyStatus(MSG_COMMIT_REPLY, REASON_RESTORE_FAILED, 0);
    return;
  }
  vm.notBeforeCycles = now() + restoreCycles(blackoutBytes);
  vm.awaitingFirstRun = true;
  incoming.requested = 0;
  incoming.demandFaults = 0;
  incoming.postCopy = postCopy;
  if (postCopy) incoming.stream.beginPostCopy();
  portsArrived(vm.id, incoming.link.peer);
  resumeVm(vm);
  replyStatus(MSG_COMMIT_REPLY, 0, vm.id);
}

function onDestinationMessage(type: u32, body: usize, bytes: u32): void {
  if (type == MSG_PREPARE) onPrepare(body, bytes);
  else if (type == MSG_DATA && incoming.vm != null) incoming.stream.receive(body, bytes); // a refusal fails the commit
  else if (type == MSG_POSTCOPY_DONE && incoming.vm != null && incoming.postCopy) {
    incoming.stream.endPostCopy();
    incoming.postCopy = false;
    incoming.postCopyEndCycles = now();
  }
  else if (type == MSG_COMMIT) onCommit(body);
  else if (type == MSG_CANCEL && incoming.vm != null && incoming.vm!.held) {
    releaseVm(incoming.vm!);
    incoming.vm = null;
  }
}

/** The destination's VM ran its first instruction: the downtime is over. */
export function noteFirstRun(vm: Vm, atCycles: u64): void {
  vm.awaitingFirstRun = false;
  if (vm != incoming.vm) return;
  incoming.firstRunCycles = atCycles;
  incoming.downtimeNs = cyclesToNs(atCycles - incoming.stopCycles);
}

// ---- both ------------------------------------------------------------------------------

/** A migration frame from the link (already checked by communication.ts). */
export function receiveMigrationFrame(peer: u32, type: u32, session: u32, payload: usize, payloadBytes: u32): void {
  if (type == FRAME_MIGRATION_ACK) {
    if (payloadBytes < 4) return;
    const link = out.link.open && out.link.session == session ? out.link : incoming.link.open && incoming.link.session == session ? incoming.link : null;
    if (link != null) link.acknowledge(load<u32>(payload));
  } else if (type == FRAME_MIGRATION_MESSAGE) {
    if (out.link.open && out.link.session == session && out.link.peer == peer) {
      const message = out.link.receive(payload, payloadBytes);
      if (message != 0) onSourceMessage(load<u8>(message, 4), message + 8, payloadBytes - 8);
    } else {
      if (!incoming.link.open || incoming.link.session != session) {
        // Busy with another session: its sender times out and gives up (unreachable).
        if (incoming.vm != null && (incoming.vm!.held || incoming.postCopy)) return;
        incoming.link.start(peer, session);
      }
      incoming.lastHeardCycles = now();
      const message = incoming.link.receive(payload, payloadBytes);
      if (message != 0) onDestinationMessage(load<u8>(message, 4), message + 8, payloadBytes - 8);
    }
  }
  pumpMigrations();
}

/** Post-copy: a VM waiting for a page asks the source for it, once. */
function requestAwaitedPage(): void {
  const vm = incoming.vm;
  if (!incoming.postCopy || vm == null || vm.awaitingPage == 0 || vm.awaitingPage == incoming.requested) return;
  if (!incoming.link.hasRoom()) return;
  store<u32>(incoming.reply, vm.awaitingPage - 1);
  incoming.link.send(MSG_PAGE_REQUEST, incoming.reply, 4);
  incoming.requested = vm.awaitingPage;
  incoming.demandFaults++;
}

/**
 * A reservation whose source went silent before the commit is dropped: the source has
 * given up by then and runs the VM itself (it never commits without our answers).
 */
function dropSilentReservation(): void {
  const vm = incoming.vm;
  if (vm == null || !vm.held || incoming.stopCycles != 0) return; // none, or committed: the VM is ours
  const silentCycles = now() - incoming.lastHeardCycles;
  if (silentCycles < params[PARAM_GIVE_UP_TIMEOUTS] * incoming.link.timeoutCycles + incoming.quietCycles) return;
  releaseVm(vm);
  incoming.vm = null;
  incoming.link.close();
}

/** Retransmits and moves migrations on; the run loop calls it at every slot. */
export function pumpMigrations(): void {
  if (incoming.link.open) incoming.link.service();
  dropSilentReservation();
  requestAwaitedPage();
  pumpOutgoing();
}

// ---- what the host reads ---------------------------------------------------------------

export const STAT_STATE: u32 = 0;
export const STAT_REASON: u32 = 1;
export const STAT_BOUND_NS: u32 = 2;
export const STAT_AFFORDABLE_NS: u32 = 3;
export const STAT_TOTAL_NS: u32 = 4;
export const STAT_BYTES_SENT: u32 = 5;
export const STAT_ROUNDS: u32 = 6;
export const STAT_RETRANSMISSIONS: u32 = 7;
export const STAT_STOP_CYCLES: u32 = 8;
export const STAT_BLACKOUT_BYTES: u32 = 9;
export const STAT_DESTINATION_VM: u32 = 10;
export const STAT_INCOMING_DOWNTIME_NS: u32 = 11;
export const STAT_INCOMING_VM: u32 = 12;
export const STAT_BOUND_TRANSFER_NS: u32 = 13;
export const STAT_BOUND_HANDSHAKE_NS: u32 = 14;
export const STAT_BOUND_RETRANSMIT_NS: u32 = 15;
export const STAT_BOUND_RESTORE_NS: u32 = 16;
export const STAT_BOUND_SCHEDULE_NS: u32 = 17;
export const STAT_SHARE_PERMILLE: u32 = 18;
/** Post-copy: page requests the source answered; on the destination, demand faults and when the last page arrived. */
export const STAT_DEMAND_REQUESTS: u32 = 19;
export const STAT_INCOMING_DEMAND_FAULTS: u32 = 20;
export const STAT_INCOMING_POSTCOPY_END_NS: u32 = 21;
/** The bound's post-copy term: the first instruction's demand faults. */
export const STAT_BOUND_FIRST_FAULTS_NS: u32 = 22;
/** 100 + r: dirty rate in round r (bytes/s); 200 + r: pages sent in round r. */
/** Destination: the most stream bytes it held at once (what has not made a whole record yet). */
export const STAT_INCOMING_HELD_MAX: u32 = 23;
export const STAT_ROUND_DIRTY_RATE: u32 = 100;
export const STAT_ROUND_PAGES: u32 = 200;

export function migrationStat(key: u32): u64 {
  if (key >= STAT_ROUND_PAGES) return key - STAT_ROUND_PAGES < <u32>MAX_ROUND_STATS ? out.roundPages[key - STAT_ROUND_PAGES] : 0;
  if (key >= STAT_ROUND_DIRTY_RATE) return key - STAT_ROUND_DIRTY_RATE < <u32>MAX_ROUND_STATS ? out.roundDirtyBytesPerS[key - STAT_ROUND_DIRTY_RATE] : 0;
  switch (key) {
    case STAT_STATE: return out.state;
    case STAT_REASON: return out.reason;
    case STAT_BOUND_NS: return out.bound.totalNs();
    case STAT_AFFORDABLE_NS: return out.affordableNs;
    case STAT_TOTAL_NS: return cyclesToNs((out.endCycles != 0 ? out.endCycles : now()) - out.startCycles);
    case STAT_BYTES_SENT: return out.link.bytesSent;
    case STAT_ROUNDS: return out.rounds;
    case STAT_RETRANSMISSIONS: return out.link.retransmissions;
    case STAT_STOP_CYCLES: return out.stopCycles;
    case STAT_BLACKOUT_BYTES: return out.blackoutStreamBytes;
    case STAT_DESTINATION_VM: return out.destinationVm;
    case STAT_INCOMING_DOWNTIME_NS: return incoming.downtimeNs;
    case STAT_INCOMING_HELD_MAX: return incoming.stream.heldBytesMax;
    case STAT_INCOMING_VM: return incoming.vm != null ? incoming.vm!.id : u64.MAX_VALUE;
    case STAT_BOUND_TRANSFER_NS: return out.bound.transferNs;
    case STAT_BOUND_HANDSHAKE_NS: return out.bound.handshakeNs;
    case STAT_BOUND_RETRANSMIT_NS: return out.bound.retransmitNs;
    case STAT_BOUND_RESTORE_NS: return out.bound.restoreNs;
    case STAT_BOUND_SCHEDULE_NS: return out.bound.scheduleNs;
    case STAT_SHARE_PERMILLE: return out.sharePermille;
    case STAT_DEMAND_REQUESTS: return out.demandRequests;
    case STAT_INCOMING_DEMAND_FAULTS: return incoming.demandFaults;
    case STAT_INCOMING_POSTCOPY_END_NS: return cyclesToNs(incoming.postCopyEndCycles);
    case STAT_BOUND_FIRST_FAULTS_NS: return out.bound.firstFaultsNs;
  }
  return 0;
}
