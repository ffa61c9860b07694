// The migration manager's destination side (docs/migration.md): one incoming migration at
// a time — a second source that asks meanwhile is refused at once as "destination busy".
// It reserves the VM (RAM, a slot in the VM table, its windows, room for its ports),
// takes the stream record by record into the reserved VM (restore.ts IncomingStream),
// and at COMMIT applies the state and runs the VM once the restore work is done and its
// window comes. Its first instruction here ends the downtime, measured from the stop
// time COMMIT carries (board nanoseconds).
import { cyclesToNs, getClockHz, now, nowNs, nsToCycles } from "./clock";
import {
  EVENT_MIGRATION_ARRIVED, EVENT_MIGRATION_DROPPED, EVENT_MIGRATION_FIRST_RUN, EVENT_MIGRATION_RESERVED,
  EVENT_POST_COPY_DONE, INCOMING_STAT_DEMAND_FAULTS, INCOMING_STAT_DOWNTIME_NS, INCOMING_STAT_FIRST_RUN_NS,
  INCOMING_STAT_HELD_BYTES_MAX, INCOMING_STAT_POST_COPY_END_NS, INCOMING_STAT_SOURCE_PROCESSOR, INCOMING_STAT_STATE,
  INCOMING_STAT_DUPLICATE_PAGES, INCOMING_STAT_PAGE_WAIT_NS, INCOMING_STAT_DECOMPRESSED_PAGES, INCOMING_STAT_VM, MIGRATION_HISTORY, REASON_DEST_BUSY, REASON_DEST_MEMORY,
  INCOMING_STAT_REPLAYED_INSTRUCTIONS, INCOMING_STAT_REPLAY_DIGEST, INCOMING_STAT_REPLAY_TAIL_INSTRUCTIONS, REASON_REPLAY_DIVERGED,
  REASON_DEST_PORTS, REASON_DEST_SCHEDULE, REASON_DEST_VM_TABLE, REASON_PROTECTED, REASON_RESTORE_FAILED,
} from "./config";
import { report } from "./events";
import { decompressCycles, digestCycles, restoreCycles } from "./downtime";
import { endReplay, TRACE_REPLAYING } from "./input-log";
import { finishReplay, LOG_BATCH_NS, replayCaughtUp, replayDigest, replayDigestWorkBytes, replayedInstructions, resetReplayCounters } from "./trace-replay";
import { frameLengthCycles, windowsOf } from "./schedule";
import { vmCount } from "./vm";
import {
  COMMIT_BODY_BYTES, COMMIT_FLAG_POSTCOPY, COMMIT_REPLY_BYTES, MAX_PREPARE_WINDOWS, MSG_CANCEL, MSG_COMMIT,
  MSG_COMMIT_REPLY, MSG_DATA, MSG_PAGE_REQUEST, MSG_POSTCOPY_DONE, MSG_PREPARE, MSG_PREPARE_REPLY, MSG_REPLAY_PROGRESS, PREPARE_HEADER_BYTES,
  PREPARE_REPLY_BYTES, PREPARE_WINDOW_BYTES, AFFORDABLE_US_MAX, PREPARE_PINNED,
} from "./migration-messages";
import { IncomingStream } from "./restore";
import { addWindowsLike, longestWaitNs, scheduleConfigured } from "./schedule";
import { Endpoint, MESSAGE_HEADER_BYTES } from "./transport";
import { lastReserveRefusal, releaseVm, reserveVm, RESERVE_NO_RAM, RESERVE_TABLE_FULL, resumeVm } from "./vm-lifecycle";
import { protectionHooks } from "./protection-hooks";
import { vmHooks } from "./vm-hooks";
import { Vm } from "./vm";
import { sendFrame } from "./communication";
import { FRAME_MIGRATION_ACK, FRAME_MIGRATION_MESSAGE } from "./config";
import { NO_VM } from "./trace";

// Incoming states (IncomingStat state).
const INCOMING_NONE: u32 = 0;
const INCOMING_RESERVED: u32 = 1;
const INCOMING_COMMITTED: u32 = 2;
const INCOMING_RUNNING: u32 = 3;
const INCOMING_DROPPED: u32 = 4;

export class Incoming {
  id: u32 = 0;
  state: u32 = INCOMING_NONE;
  link: Endpoint = new Endpoint();
  stream: IncomingStream = new IncomingStream();
  vm: Vm | null = null;
  vmId: u32 = 0;
  source: u32 = 0;
  stopNs: u64 = 0;
  firstRunNs: u64 = 0;
  downtimeNs: u64 = u64.MAX_VALUE;
  /** Post-copy: pages still arriving after the commit. */
  postCopy: bool = false;
  /** The page last asked for (1 + page). */
  requested: u32 = 0;
  demandFaults: u64 = 0;
  postCopyEndNs: u64 = 0;
  /** Post-copy: how long the VM waited for pages here, kept once the migration is over. */
  pageWaitNs: u64 = 0;
  /** When the source was last heard from (any frame of the session). */
  lastHeardCycles: u64 = 0;
  /** Silence the source announced (post-copy's watch), on top of the give-up timeouts. */
  quietCycles: u64 = 0;
  /** The source's give-up timeouts (its parameter): silent this long, it has given up. */
  giveUpTimeouts: u32 = 16;
  /** 1 + the protection whose copy here the VM replaces (0: an unprotected VM). */
  replaces: u32 = 0;
  /** Trace-replay: the position last reported to the source, and when. */
  reportedPosition: u64 = 0;
  reportedCycles: u64 = 0;
  replayed: u64 = 0;
  replayDigest: u32 = 0;
  replayTail: u64 = 0;

  /** Busy: a reservation not yet committed, or a post-copy VM still taking pages. */
  busy(): bool {
    return this.state == INCOMING_RESERVED || this.postCopy;
  }
}

const history = new StaticArray<Incoming>(MIGRATION_HISTORY);
for (let i = 0; i < MIGRATION_HISTORY; i++) history[i] = new Incoming();
let latest = 0;
const reply = heap.alloc(32);

export function currentIncoming(): Incoming {
  return unchecked(history[latest]);
}

/** An incoming migration by id (0: the latest), or null if it is no longer kept. */
export function incomingById(id: u32): Incoming | null {
  if (id == 0) return currentIncoming();
  for (let i = 0; i < MIGRATION_HISTORY; i++) if (unchecked(history[i]).id == id) return unchecked(history[i]);
  return null;
}

/**
 * The incoming migration a message frame of `session` belongs to: the current one, or a
 * new one for a session's first PREPARE if the destination is free; null otherwise
 * (busy with another, or a stray frame of a session that is over).
 */
export function incomingFor(session: u32, peer: u32, payload: usize, payloadBytes: u32): Incoming | null {
  for (let i = 0; i < MIGRATION_HISTORY; i++) {
    const known = unchecked(history[i]);
    if (known.link.open && known.id == session && known.link.peer == peer) return known;
  }
  const current = currentIncoming();
  const firstPrepare = payloadBytes >= MESSAGE_HEADER_BYTES && load<u32>(payload) == 0 && load<u8>(payload, 4) == MSG_PREPARE;
  if (current.busy() || !firstPrepare) return null;
  latest = (latest + 1) % MIGRATION_HISTORY;
  const next = unchecked(history[latest]);
  next.link.close();
  next.link.start(peer, session);
  next.id = session;
  next.source = peer;
  next.state = INCOMING_NONE;
  next.vm = null;
  next.stopNs = 0;
  next.firstRunNs = 0;
  next.downtimeNs = u64.MAX_VALUE;
  next.postCopy = false;
  next.demandFaults = 0;
  next.postCopyEndNs = 0;
  next.pageWaitNs = 0;
  next.reportedPosition = 0;
  next.reportedCycles = 0;
  next.replayed = 0;
  next.replayDigest = 0;
  next.replayTail = 0;
  resetReplayCounters();
  next.lastHeardCycles = now();
  return next;
}

/**
 * A busy destination answers a second source at once, without a session of its own: a
 * PREPARE gets PREPARE_REPLY "destination busy"; anything else just an acknowledgement,
 * so that its sender stops resending.
 */
export function refuseBusy(peer: u32, session: u32, payload: usize, payloadBytes: u32): void {
  if (payloadBytes < MESSAGE_HEADER_BYTES) return;
  const seq = load<u32>(payload);
  store<u32>(reply, seq + 1);
  sendFrame(peer, FRAME_MIGRATION_ACK, session, reply, 4, NO_VM);
  if (load<u8>(payload, 4) != MSG_PREPARE || seq != 0) return;
  store<u32>(reply, 0); // message sequence 0 of the reply direction
  store<u32>(reply, MSG_PREPARE_REPLY, 4);
  memory.fill(reply + MESSAGE_HEADER_BYTES, 0, PREPARE_REPLY_BYTES);
  store<u32>(reply + MESSAGE_HEADER_BYTES, <u32>REASON_DEST_BUSY);
  sendFrame(peer, FRAME_MIGRATION_MESSAGE, session, reply, MESSAGE_HEADER_BYTES + PREPARE_REPLY_BYTES, NO_VM);
}

function replyStatus(into: Incoming, type: u32, status: u64, handle: u32, bytes: u32): void {
  store<u32>(reply, <u32>status);
  store<u32>(reply, handle, 4);
  into.link.send(type, reply, bytes);
}

function refusePrepare(into: Incoming, reason: u64): void {
  memory.fill(reply, 0, PREPARE_REPLY_BYTES);
  replyStatus(into, MSG_PREPARE_REPLY, reason, 0, PREPARE_REPLY_BYTES);
}

function onPrepare(into: Incoming, body: usize, bytes: u32): void {
  if (bytes < PREPARE_HEADER_BYTES || into.state != INCOMING_NONE) return;
  const kind = load<u32>(body);
  const ramBytes = load<u32>(body, 4);
  const windows = load<u32>(body, 8);
  const ports = load<u32>(body, 16);
  into.quietCycles = nsToCycles(<u64>load<u32>(body, 12) * 1000);
  into.giveUpTimeouts = load<u32>(body, 20);
  into.replaces = load<u32>(body, 24);
  if (windows > MAX_PREPARE_WINDOWS || bytes < PREPARE_HEADER_BYTES + windows * PREPARE_WINDOW_BYTES) { refusePrepare(into, REASON_DEST_SCHEDULE); return; }
  // A configured schedule runs only the VMs it has windows for: one that brings none would never run here.
  if (windows == 0 && scheduleConfigured()) { refusePrepare(into, REASON_DEST_SCHEDULE); return; }
  if (into.replaces != 0 && !protectionHooks.makeRoom(into.replaces)) { refusePrepare(into, REASON_PROTECTED); return; }
  if (!vmHooks.portRoom(u32.MAX_VALUE, ports)) { refusePrepare(into, REASON_DEST_PORTS); return; }
  const vm = reserveVm(kind, ramBytes);
  if (vm == null) {
    const why = lastReserveRefusal();
    refusePrepare(into, why == RESERVE_TABLE_FULL ? REASON_DEST_VM_TABLE : why == RESERVE_NO_RAM ? REASON_DEST_MEMORY : REASON_RESTORE_FAILED);
    return;
  }
  if (!addWindowsLike(vm.id, body + PREPARE_HEADER_BYTES, windows)) {
    releaseVm(vm);
    refusePrepare(into, REASON_DEST_SCHEDULE);
    return;
  }
  vm.affordableNs = <u64>(load<u32>(body, 28) & AFFORDABLE_US_MAX) * 1000;
  vm.pinned = (load<u32>(body, 28) & PREPARE_PINNED) != 0;
  into.vm = vm;
  into.vmId = vm.id;
  into.state = INCOMING_RESERVED;
  into.stream.begin(vm);
  report(EVENT_MIGRATION_RESERVED, into.id, vm.id, into.source, 0);
  // What the source needs for the bound: this processor's clock and the VM's longest wait for a window here.
  memory.fill(reply, 0, PREPARE_REPLY_BYTES);
  store<u32>(reply, <u32>getClockHz(), 8);
  store<u32>(reply, sharePermille(vm.id), 12);
  store<u64>(reply, longestWaitNs(vm.id), 16);
  replyStatus(into, MSG_PREPARE_REPLY, 0, vm.id, PREPARE_REPLY_BYTES);
}

/**
 * The VM's share of this processor, per mille: its windows over the major frame (a default
 * table: an equal share among the VMs here). Trace-replay's source needs it for the rate
 * the replay can run at.
 */
const shareStarts = new StaticArray<u64>(MAX_PREPARE_WINDOWS);
const shareEnds = new StaticArray<u64>(MAX_PREPARE_WINDOWS);

function sharePermille(vm: u32): u32 {
  const starts = shareStarts, ends = shareEnds;
  const n = windowsOf(vm, starts, ends);
  const frame = frameLengthCycles();
  if (!scheduleConfigured()) { const vms = vmCount(); return vms == 0 ? 1000 : 1000 / vms; }
  if (frame == 0) return 0;
  let inside: u64 = 0;
  for (let i = 0; i < n; i++) inside += ends[i] - starts[i];
  return <u32>(inside * 1000 / frame);
}

function drop(into: Incoming): void {
  const vm = into.vm;
  if (vm != null) { endReplay(vm); into.replayed = replayedInstructions(); }
  if (vm != null) releaseVm(vm);
  into.vm = null;
  into.state = INCOMING_DROPPED;
  report(EVENT_MIGRATION_DROPPED, into.id, into.vmId, into.source, 0);
}

function onCommit(into: Incoming, body: usize, bytes: u32): void {
  const vm = into.vm;
  if (vm == null || into.state != INCOMING_RESERVED || bytes < COMMIT_BODY_BYTES) return;
  into.stopNs = load<u64>(body);
  const blackoutBytes = load<u64>(body, 8);
  const postCopy = (load<u32>(body, 16) & COMMIT_FLAG_POSTCOPY) != 0;
  // Trace-replay: the tail replayed, and the VM byte for byte the source's, before any state goes in.
  let replayCycles: u64 = 0;
  const applier = into.stream.applier;
  if (applier.replay && !into.stream.refused && into.stream.check.ended) {
    const tail = applier.replayStarted ? finishReplay(vm, applier.replayDigest) : -1;
    into.replayed = replayedInstructions();
    into.replayDigest = replayDigest();
    if (tail < 0) {
      drop(into);
      replyStatus(into, MSG_COMMIT_REPLY, REASON_REPLAY_DIVERGED, 0, COMMIT_REPLY_BYTES);
      return;
    }
    into.replayTail = <u64>tail;
    replayCycles = <u64>tail + digestCycles(replayDigestWorkBytes());
  }
  if (!into.stream.finish()) {
    drop(into);
    replyStatus(into, MSG_COMMIT_REPLY, REASON_RESTORE_FAILED, 0, COMMIT_REPLY_BYTES);
    return;
  }
  // The blackout's compressed pages cost their decoding too (COMMIT says how many).
  vm.notBeforeCycles = now() + restoreCycles(blackoutBytes) + decompressCycles(load<u32>(body, 20)) + replayCycles;
  vm.awaitingFirstRun = true;
  into.requested = 0;
  into.demandFaults = 0;
  into.postCopy = postCopy;
  into.state = INCOMING_COMMITTED;
  if (postCopy) into.stream.beginPostCopy();
  vmHooks.arrived(vm.id, into.link.peer);
  // A protected VM waits for its lease to follow it (docs/health.md, "Handover").
  if (into.replaces == 0 || !protectionHooks.arrived(into.replaces, vm.id, into.source)) resumeVm(vm);
  report(EVENT_MIGRATION_ARRIVED, into.id, vm.id, into.source, 0);
  replyStatus(into, MSG_COMMIT_REPLY, 0, vm.id, COMMIT_REPLY_BYTES);
  if (postCopy && !into.stream.postCopy) endPostCopy(into); // nothing was missing
}

function endPostCopy(into: Incoming): void {
  into.stream.endPostCopy();
  into.postCopy = false;
  if (into.vm != null) into.pageWaitNs = cyclesToNs(into.vm!.pageWaitCycles);
  if (into.state == INCOMING_RUNNING) into.vm = null; // an ordinary VM here now
  into.postCopyEndNs = nowNs();
  report(EVENT_POST_COPY_DONE, into.id, into.vmId, into.source, 0);
}

/** A message for the destination side of `into`, in order. */
export function onDestinationMessage(into: Incoming, type: u32, body: usize, bytes: u32): void {
  into.lastHeardCycles = now();
  if (type == MSG_PREPARE) onPrepare(into, body, bytes);
  else if (type == MSG_DATA && into.vm != null) into.stream.receive(body, bytes); // a refusal fails the commit
  else if (type == MSG_POSTCOPY_DONE && into.vm != null && into.postCopy) endPostCopy(into);
  else if (type == MSG_COMMIT && into.state == INCOMING_DROPPED) replyStatus(into, MSG_COMMIT_REPLY, REASON_RESTORE_FAILED, 0, COMMIT_REPLY_BYTES);
  else if (type == MSG_COMMIT) onCommit(into, body, bytes);
  else if (type == MSG_CANCEL && into.state == INCOMING_RESERVED) drop(into);
}

/** A frame of the session arrived (even one out of order): the source is alive. */
export function heardFrom(into: Incoming): void {
  into.lastHeardCycles = now();
}

/** The VM's first instruction here: the downtime is over. */
export function noteFirstRun(vm: Vm, atCycles: u64): void {
  vm.awaitingFirstRun = false;
  for (let i = 0; i < MIGRATION_HISTORY; i++) {
    const into = unchecked(history[i]);
    if (into.vm != vm || into.state != INCOMING_COMMITTED) continue;
    into.firstRunNs = cyclesToNs(atCycles);
    into.downtimeNs = into.firstRunNs - into.stopNs;
    into.state = INCOMING_RUNNING;
    if (!into.postCopy) into.vm = null; // it is an ordinary VM here now
    report(EVENT_MIGRATION_FIRST_RUN, into.id, vm.id, into.downtimeNs, into.stopNs);
    return;
  }
}

/** Post-copy: a VM waiting for a page asks the source for it, once. */
function requestAwaitedPage(into: Incoming): void {
  const vm = into.vm;
  if (!into.postCopy || vm == null || vm.awaitingPage == 0 || vm.awaitingPage == into.requested) return;
  if (!into.link.hasRoom()) return;
  store<u32>(reply, vm.awaitingPage - 1);
  into.link.send(MSG_PAGE_REQUEST, reply, 4);
  into.requested = vm.awaitingPage;
  into.demandFaults++;
}

/**
 * A reservation whose source went silent before the commit is dropped: the source has
 * given up by then and runs the VM itself (it never commits without our answers).
 */
function dropSilentReservation(into: Incoming): void {
  if (into.state != INCOMING_RESERVED) return;
  const silentCycles = now() - into.lastHeardCycles;
  if (silentCycles < <u64>into.giveUpTimeouts * into.link.timeoutCycles + into.quietCycles) return;
  drop(into); // its link stays open: a COMMIT that still comes is answered "not applied"
}

/** Retransmits and moves the incoming migrations on; the run loop calls it at every slot. */
export function pumpIncoming(): void {
  for (let i = 0; i < MIGRATION_HISTORY; i++) {
    const known = unchecked(history[i]);
    if (known.link.open) known.link.service();
  }
  const into = currentIncoming();
  dropSilentReservation(into);
  requestAwaitedPage(into);
  reportReplayProgress(into);
}

/** Trace-replay: tells the source how far the replay has come, every LOG_BATCH_NS, and when it caught up. */
function reportReplayProgress(into: Incoming): void {
  const vm = into.vm;
  if (into.state != INCOMING_RESERVED || vm == null || vm.traceMode != TRACE_REPLAYING) return;
  if (vm.executed == into.reportedPosition || !into.link.hasRoom()) return;
  if (now() - into.reportedCycles < nsToCycles(LOG_BATCH_NS) && !replayCaughtUp(vm)) return;
  store<u64>(reply, vm.executed);
  into.link.send(MSG_REPLAY_PROGRESS, reply, 8);
  into.reportedPosition = vm.executed;
  into.reportedCycles = now();
}

export function incomingStat(into: Incoming, key: u32): u64 {
  switch (key) {
    case INCOMING_STAT_VM: return into.vmId;
    case INCOMING_STAT_DOWNTIME_NS: return into.downtimeNs;
    case INCOMING_STAT_DEMAND_FAULTS: return into.demandFaults;
    case INCOMING_STAT_POST_COPY_END_NS: return into.postCopyEndNs;
    case INCOMING_STAT_HELD_BYTES_MAX: return into.stream.heldBytesMax;
    case INCOMING_STAT_FIRST_RUN_NS: return into.firstRunNs;
    case INCOMING_STAT_SOURCE_PROCESSOR: return into.source;
    case INCOMING_STAT_STATE: return into.state;
    case INCOMING_STAT_DUPLICATE_PAGES: return into.stream.duplicatePages;
    case INCOMING_STAT_DECOMPRESSED_PAGES: return into.stream.applier.compressedPages;
    case INCOMING_STAT_REPLAYED_INSTRUCTIONS: return into.state == INCOMING_RESERVED ? replayedInstructions() : into.replayed;
    case INCOMING_STAT_REPLAY_DIGEST: return into.replayDigest;
    case INCOMING_STAT_REPLAY_TAIL_INSTRUCTIONS: return into.replayTail;
    case INCOMING_STAT_PAGE_WAIT_NS: return into.vm != null ? cyclesToNs(into.vm!.pageWaitCycles) : into.pageWaitNs;
  }
  return 0;
}
