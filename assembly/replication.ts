// Replication (docs/health.md, "Replication"): a protected VM's holder sends epochs —
// checkpoints in Ferry's stream format, the first full, then incremental — to its backup,
// the first processor after it in the protection's order that it does not suspect. The
// backup applies each epoch to its copy only once all of it has arrived and the whole
// stream has been checked (restore.ts ReplicaCopy), and says so; the holder then releases
// the epoch's output (channel.ts output commit) — once a quorum of members name that
// backup and session in their heartbeats, so that no other copy can take over under them.
//
// Each session is a transport.ts stream (frame types replicaMessage / replicaAck), its id
// protection << 24 | serial. Messages: BEGIN, BEGIN_REPLY, DATA, END, APPLIED.
import { getClockHz, now, nowNs } from "./clock";
import {
  CHANNEL_GIVE_UP_TIMEOUTS, DROP_NO_PORT, EVENT_BACKUP_CHOSEN, EVENT_COPY_DROPPED, EVENT_COPY_HELD, EVENT_EPOCH_COMMITTED, EVENT_PROTECTION_LOST,
  FRAME_REPLICA_ACK, FRAME_REPLICA_MESSAGE, LOST_BACKUP_REFUSED, LOST_BACKUP_SUSPECTED, LOST_NO_CANDIDATE, LOST_SESSION_SILENT, MAX_MEMBERS, MAX_PROTECTIONS, MAX_STREAM_BYTES, SBI_SUCCESS,
} from "./config";
import { commitEpoch, holdOutputOf, markEpoch } from "./channel";
import { CHAIN_REPLICA, hasChain } from "./checkpoint-chain";
import { captureCheckpoint, closeStream, openStream } from "./collector";
import { canReach, dropFrame } from "./communication";
import { report } from "./events";
import { alive, heartbeatSoon, leaseTimeNs, memberId, memberOf, quorumNames, selfMember } from "./health-monitor";
import { NO_MEMBER, Protection, protectionAt, protectionCount, ROLE_HOLDER, ROLE_IMAGE, ROLE_NO_COPY, ROLE_REPLICA } from "./protection";
import { ReplicaCopy } from "./restore";
import { addWindowsLike, windowsOf } from "./schedule";
import { drainOut, hostWriter, outPending, StreamWriter, useWriter } from "./stream";
import { Endpoint, MESSAGE_HEADER_BYTES } from "./transport";
import { cyclesToNs } from "./clock";
import { Vm, vmById } from "./vm";
import { releaseVm, reserveVm } from "./vm-lifecycle";

const MSG_BEGIN: u32 = 1;
const MSG_BEGIN_REPLY: u32 = 2;
const MSG_DATA: u32 = 3;
const MSG_END: u32 = 4;
const MSG_APPLIED: u32 = 5;
/** BEGIN: u32 protection, u32 term, u32 kind, u32 RAM bytes, u32 windows, u32 0, then windows. */
const BEGIN_HEADER_BYTES: u32 = 24;
const BEGIN_WINDOW_BYTES: u32 = 16;
const MAX_BEGIN_WINDOWS: u32 = 16;
/** END: u32 epoch, u32 0, u64 capture ns, u64 stream bytes. */
const END_BODY_BYTES: u32 = 24;
// BEGIN_REPLY status.
const BEGIN_READY: u32 = 0;
const BEGIN_NO_ROOM: u32 = 1;
const BEGIN_NOT_OURS: u32 = 2;

// The holder's session states.
const OUT_IDLE: u32 = 0;
const OUT_BEGINNING: u32 = 1;
/** Ready to capture the next epoch when the interval has passed. */
const OUT_READY: u32 = 2;
/** The epoch's bytes are going out. */
const OUT_SENDING: u32 = 3;
/** END sent: waiting for APPLIED. */
const OUT_WAITING: u32 = 4;
/** Applied, its output waits for a quorum to name the backup. */
const OUT_RELEASING: u32 = 5;

class Outbound {
  link: Endpoint = new Endpoint();
  writer: StreamWriter = new StreamWriter();
  serial: u32 = 0;
  state: u32 = OUT_IDLE;
  epoch: u32 = 0;
  captureNs: u64 = 0;
  nextCaptureNs: u64 = 0;
  epochBytes: u64 = 0;
  endSent: bool = false;
  epochsApplied: u64 = 0;
  lastAppliedNs: u64 = 0;
  bytesOnWire: u64 = 0;
  /** When the backup and session in use were first named (their echo must come after). */
  namedNs: u64 = 0;
  /** A backup was in use (a loss is reported once). */
  protecting: bool = false;
  /** A member that refused or went silent is skipped until then. */
  avoidUntilNs: StaticArray<u64> = new StaticArray<u64>(MAX_MEMBERS);
}

class Inbound {
  link: Endpoint = new Endpoint();
  session: u32 = 0;
  term: u32 = 0;
  buffer: usize = 0;
  capacity: usize = 0;
  bytes: usize = 0;
  overflow: bool = false;
  copy: ReplicaCopy = new ReplicaCopy();
}

const outbound = new StaticArray<Outbound>(MAX_PROTECTIONS);
const inbound = new StaticArray<Inbound>(MAX_PROTECTIONS);
for (let i = 0; i < MAX_PROTECTIONS; i++) {
  outbound[i] = new Outbound();
  inbound[i] = new Inbound();
}
const body = heap.alloc(65536);

// ======================================================================================
// The holder's side
// ======================================================================================

/** Moves `p`'s replication on; failover.ts calls it at every service while this processor runs `vm` under the lease. */
export function replicate(p: Protection, vm: Vm): void {
  const o = unchecked(outbound[p.id]);
  if (o.link.open) {
    o.link.service();
    if (!alive(p.backup)) lose(p, o, LOST_BACKUP_SUSPECTED);
    else if (o.link.timeoutsInARow >= CHANNEL_GIVE_UP_TIMEOUTS) { avoid(o, p.backup, AVOID_LEASES_SILENT_OR_FULL); lose(p, o, LOST_SESSION_SILENT); }
  }
  if (o.state == OUT_IDLE) chooseBackup(p, o, vm);
  if (o.state == OUT_READY && nowNs() >= o.nextCaptureNs) capture(p, o, vm);
  if (o.state == OUT_SENDING) send(o);
  release(p, o, vm);
}

/** The backup: the first member after this one in the order that is alive, reachable and not avoided. */
function chooseBackup(p: Protection, o: Outbound, vm: Vm): void {
  const self = selfMember();
  const from = p.positionOf(self);
  const nowAt = nowNs();
  for (let step: u32 = 1; step < p.orderLength; step++) {
    const m = p.memberAfter(from, step);
    if (m == self || !alive(m) || nowAt < unchecked(o.avoidUntilNs[m]) || !canReach(memberId(m), MESSAGE_HEADER_BYTES + beginBytes(vm))) continue;
    if (!o.link.start(memberId(m), sessionId(p, o.serial + 1), FRAME_REPLICA_MESSAGE, FRAME_REPLICA_ACK, REPLICATION_BACKOFF_LIMIT)) continue;
    o.serial++;
    beginSession(p, o, vm, m);
    return;
  }
  if (p.backup != NO_MEMBER || o.protecting) {
    if (o.protecting) report(EVENT_PROTECTION_LOST, p.id, vm.id, LOST_NO_CANDIDATE, 0);
    o.protecting = false;
  }
  nameNoBackup(p, o);
}

const beginStarts = new StaticArray<u64>(MAX_BEGIN_WINDOWS), beginEnds = new StaticArray<u64>(MAX_BEGIN_WINDOWS);

/** BEGIN's body for `vm`: it goes in one frame, so a backup whose link cannot carry it is passed over. */
function beginBytes(vm: Vm): u32 {
  return BEGIN_HEADER_BYTES + <u32>windowsOf(vm.id, beginStarts, beginEnds) * BEGIN_WINDOW_BYTES;
}

function sessionId(p: Protection, serial: u32): u32 {
  return (p.id << 24) | (serial & 0xFF_FFFF);
}

function beginSession(p: Protection, o: Outbound, vm: Vm, backup: u32): void {
  const starts = new StaticArray<u64>(MAX_BEGIN_WINDOWS), ends = new StaticArray<u64>(MAX_BEGIN_WINDOWS);
  const windows = <u32>windowsOf(vm.id, starts, ends);
  store<u32>(body, p.id);
  store<u32>(body, p.term, 4);
  store<u32>(body, vm.kind, 8);
  store<u32>(body, vm.ramBytes, 12);
  store<u32>(body, windows, 16);
  store<u32>(body, 0, 20);
  for (let i: u32 = 0; i < windows; i++) {
    const at = body + BEGIN_HEADER_BYTES + <usize>i * BEGIN_WINDOW_BYTES;
    store<u64>(at, cyclesToNs(starts[i]));
    store<u64>(at, cyclesToNs(ends[i] - starts[i]), 8);
  }
  o.link.send(MSG_BEGIN, body, BEGIN_HEADER_BYTES + windows * BEGIN_WINDOW_BYTES);
  o.state = OUT_BEGINNING;
  o.epoch = 0;
  o.endSent = false;
  vm.replicaChainKnown = false; // a new backup starts from a full epoch
  holdOutputOf(vm.id, true);
  o.protecting = true;
  name(p, o, backup, o.link.session);
  report(EVENT_BACKUP_CHOSEN, p.id, vm.id, memberId(backup), o.link.session);
}

/** The backup and session this holder names in its heartbeats from now on. */
function name(p: Protection, o: Outbound, backup: u32, session: u32): void {
  if (p.backup == backup && p.session == session) return;
  p.backup = backup;
  p.session = session;
  o.namedNs = nowNs();
  heartbeatSoon();
}

/**
 * "No backup" is a naming of its own, with the next session serial: once a quorum echoes it
 * the VM's output goes unheld, so it must be newer than every session before it (a replica
 * of an earlier session may not take over after it: health-monitor.ts, noneNamesNewer).
 */
function nameNoBackup(p: Protection, o: Outbound): void {
  if (p.backup == NO_MEMBER && p.session != 0) return;
  o.serial++;
  name(p, o, NO_MEMBER, sessionId(p, o.serial));
}

/** How far a replication session backs its retransmission timeout off (transport.ts, Endpoint.start). */
const REPLICATION_BACKOFF_LIMIT: u32 = 16;

/** Why a backup is passed over, and for how many lease times. */
const AVOID_LEASES_SILENT_OR_FULL: u64 = 16;
/**
 * A backup that still holds the VM itself (a copy that ran on while this one was stopped,
 * paused now, not yet fenced) refuses only until it hears this holder's newer term: a
 * heartbeat later. Passing it over for long would leave the VM unprotected with a live
 * candidate (a campaign lost tx that way when its holder failed in that time).
 */
const AVOID_LEASES_STILL_HOLDING: u64 = 1;

function avoid(o: Outbound, m: u32, leases: u64): void {
  if (m != NO_MEMBER) unchecked(o.avoidUntilNs[m] = nowNs() + leases * leaseTimeNs());
}

function lose(p: Protection, o: Outbound, reason: u64): void {
  o.link.close();
  o.state = OUT_IDLE;
  report(EVENT_PROTECTION_LOST, p.id, p.vm, reason, 0);
  o.protecting = false;
  nameNoBackup(p, o);
}

function capture(p: Protection, o: Outbound, vm: Vm): void {
  useWriter(o.writer);
  openStream();
  const result = captureCheckpoint(vm, hasChain(vm, CHAIN_REPLICA), now(), <u32>getClockHz(), CHAIN_REPLICA);
  closeStream();
  o.epochBytes = outPending();
  useWriter(hostWriter);
  if (result != SBI_SUCCESS) return; // nothing it cannot carry is replicated: the VM stays unprotected
  markEpoch(vm.id);
  o.captureNs = nowNs();
  o.endSent = false;
  o.state = OUT_SENDING;
}

function send(o: Outbound): void {
  const maxBody = o.link.maxBody();
  while (o.link.hasRoom()) {
    useWriter(o.writer);
    const pending = outPending();
    const bytes = pending == 0 ? 0 : drainOut(body, maxBody);
    useWriter(hostWriter);
    if (bytes == 0) break;
    o.link.send(MSG_DATA, body, bytes);
    o.bytesOnWire += bytes;
  }
  useWriter(o.writer);
  const done = outPending() == 0;
  useWriter(hostWriter);
  if (!done || !o.link.hasRoom()) return;
  store<u32>(body, o.epoch);
  store<u32>(body, 0, 4);
  store<u64>(body, o.captureNs, 8);
  store<u64>(body, o.epochBytes, 16);
  o.link.send(MSG_END, body, END_BODY_BYTES);
  o.state = OUT_WAITING;
}

/**
 * Output goes once a quorum names the backup and session in use (docs/health.md, "Output
 * commit"): an applied epoch's, or — without a backup — everything, as the VM runs
 * unprotected.
 */
function release(p: Protection, o: Outbound, vm: Vm): void {
  const named = quorumNames(p, p.backup, p.session, o.namedNs);
  if (!named) return;
  if (p.backup == NO_MEMBER) { holdOutputOf(vm.id, false); return; }
  if (o.state != OUT_RELEASING) return;
  commitEpoch(vm.id);
  report(EVENT_EPOCH_COMMITTED, p.id, vm.id, o.epoch, o.captureNs);
  o.epoch++;
  o.state = OUT_READY;
  const next = o.captureNs + p.intervalNs;
  o.nextCaptureNs = next > nowNs() ? next : nowNs();
}

/** A message from the backup of `p`'s session. */
function onHolderMessage(p: Protection, o: Outbound, type: u32, at: usize, bytes: u32): void {
  if (type == MSG_BEGIN_REPLY && o.state == OUT_BEGINNING && bytes >= 8) {
    const status = load<u32>(at);
    if (status != BEGIN_READY) {
      avoid(o, p.backup, status == BEGIN_NOT_OURS ? AVOID_LEASES_STILL_HOLDING : AVOID_LEASES_SILENT_OR_FULL);
      lose(p, o, LOST_BACKUP_REFUSED);
      return;
    }
    o.state = OUT_READY;
    o.nextCaptureNs = nowNs();
  } else if (type == MSG_APPLIED && o.state == OUT_WAITING && bytes >= 8 && load<u32>(at) == o.epoch) {
    if (load<u32>(at, 4) != 0) { // refused: the next epoch starts a new chain
      const vm = vmById(p.vm);
      if (vm != null) vm.replicaChainKnown = false;
      o.state = OUT_READY;
      return;
    }
    o.epochsApplied++;
    o.lastAppliedNs = o.captureNs;
    o.state = OUT_RELEASING;
  }
}

/** The holder's session ends (its VM moved, was fenced or paused for good). */
export function stopReplication(p: Protection): void {
  const o = unchecked(outbound[p.id]);
  o.link.close();
  o.state = OUT_IDLE;
  o.protecting = false;
  p.backup = NO_MEMBER;
  p.session = 0;
}

export function epochsApplied(p: Protection): u64 {
  return unchecked(outbound[p.id]).epochsApplied;
}

export function lastAppliedNs(p: Protection): u64 {
  return unchecked(outbound[p.id]).lastAppliedNs;
}

export function epochBytes(p: Protection): u64 {
  return unchecked(outbound[p.id]).epochBytes;
}

export function replicationBytes(p: Protection): u64 {
  return unchecked(outbound[p.id]).bytesOnWire;
}

// ======================================================================================
// The backup's side
// ======================================================================================

/** A replication frame (the link inbox hands it here, checked). */
export function receiveReplicaFrame(peer: u32, type: u32, session: u32, payload: usize, bytes: u32): void {
  const id = session >> 24;
  if (id >= protectionCount() || !protectionAt(id).defined) { dropFrame(peer, DROP_NO_PORT); return; }
  const p = protectionAt(id);
  const o = unchecked(outbound[id]);
  const i = unchecked(inbound[id]);
  const toHolder = o.link.open && o.link.session == session && o.link.peer == peer;
  if (type == FRAME_REPLICA_ACK) {
    if (bytes < 4) return;
    if (toHolder) o.link.acknowledge(load<u32>(payload));
    else if (i.link.open && i.session == session && i.link.peer == peer) i.link.acknowledge(load<u32>(payload));
    return;
  }
  if (toHolder) {
    const message = o.link.receive(payload, bytes);
    if (message != 0) onHolderMessage(p, o, load<u8>(message, 4), message + MESSAGE_HEADER_BYTES, bytes - MESSAGE_HEADER_BYTES);
    else dropFrame(peer, o.link.rejected);
    return;
  }
  if (!i.link.open || i.session != session || i.link.peer != peer) {
    // Only a session's first message opens it: BEGIN, from a processor of the protection.
    const first = bytes >= MESSAGE_HEADER_BYTES && load<u32>(payload) == 0 && load<u8>(payload, 4) == MSG_BEGIN;
    if (!first || p.positionOf(memberOf(peer)) < 0 || p.positionOf(selfMember()) < 0) { dropFrame(peer, DROP_NO_PORT); return; }
    i.link.close();
    if (!i.link.start(peer, session, FRAME_REPLICA_MESSAGE, FRAME_REPLICA_ACK, REPLICATION_BACKOFF_LIMIT)) return;
    i.session = session;
  }
  const message = i.link.receive(payload, bytes);
  if (message == 0) { dropFrame(peer, i.link.rejected); return; }
  onBackupMessage(p, i, load<u8>(message, 4), message + MESSAGE_HEADER_BYTES, bytes - MESSAGE_HEADER_BYTES);
}

function onBackupMessage(p: Protection, i: Inbound, type: u32, at: usize, bytes: u32): void {
  if (type == MSG_BEGIN) onBegin(p, i, at, bytes);
  else if (type == MSG_DATA) append(i, at, bytes);
  else if (type == MSG_END && bytes >= END_BODY_BYTES) onEnd(p, i, at);
}

function reply(i: Inbound, type: u32, a: u32, b: u32): void {
  if (!i.link.hasRoom()) return; // the holder resends what this answers, and asks again
  store<u32>(body, a);
  store<u32>(body, b, 4);
  i.link.send(type, body, 8);
}

function onBegin(p: Protection, i: Inbound, at: usize, bytes: u32): void {
  if (bytes < BEGIN_HEADER_BYTES || p.role == ROLE_HOLDER) { reply(i, MSG_BEGIN_REPLY, BEGIN_NOT_OURS, 0); return; }
  i.term = load<u32>(at, 4);
  const kind = load<u32>(at, 8), ramBytes = load<u32>(at, 12), windows = load<u32>(at, 16);
  i.bytes = 0;
  i.overflow = false;
  let vm = copyOf(p);
  if (vm != null && (vm.kind != kind || vm.ramBytes != ramBytes)) { dropCopy(p); vm = null; }
  if (vm == null) {
    if (windows > MAX_BEGIN_WINDOWS || bytes < BEGIN_HEADER_BYTES + windows * BEGIN_WINDOW_BYTES) { reply(i, MSG_BEGIN_REPLY, BEGIN_NO_ROOM, 0); return; }
    vm = reserveVm(kind, ramBytes);
    if (vm == null) { reply(i, MSG_BEGIN_REPLY, BEGIN_NO_ROOM, 0); return; }
    if (!addWindowsLike(vm.id, at + BEGIN_HEADER_BYTES, windows)) { releaseVm(vm); reply(i, MSG_BEGIN_REPLY, BEGIN_NO_ROOM, 0); return; }
    vm.copy = true;
    p.vm = vm.id;
    p.role = ROLE_NO_COPY;
    p.hasImage = false;
    report(EVENT_COPY_HELD, p.id, vm.id, i.link.peer, 0); // the host's directory keeps the run going while a copy is up
  }
  i.copy.begin(vm);
  reply(i, MSG_BEGIN_REPLY, BEGIN_READY, vm.id);
}

function append(i: Inbound, at: usize, bytes: u32): void {
  const needed = i.bytes + bytes;
  if (i.overflow || needed > <usize>MAX_STREAM_BYTES) { i.overflow = true; return; }
  if (needed > i.capacity) {
    let capacity = i.capacity == 0 ? <usize>(1 << 16) : i.capacity;
    while (capacity < needed) capacity <<= 1;
    i.buffer = i.buffer == 0 ? heap.alloc(capacity) : heap.realloc(i.buffer, capacity);
    i.capacity = capacity;
  }
  memory.copy(i.buffer + i.bytes, at, bytes);
  i.bytes = needed;
}

function onEnd(p: Protection, i: Inbound, at: usize): void {
  const epoch = load<u32>(at);
  const whole = !i.overflow && <u64>i.bytes == load<u64>(at, 16);
  const applied = whole && copyOf(p) != null && i.copy.applyEpoch(i.buffer, <u32>i.bytes);
  i.bytes = 0;
  i.overflow = false;
  if (applied) {
    p.role = ROLE_REPLICA;
    p.hasImage = false;
    p.copyEpochs++;
    p.copyCaptureNs = load<u64>(at, 8);
    p.copySession = i.session;
    p.term = i.term;
    heartbeatSoon();
  }
  reply(i, MSG_APPLIED, epoch, applied ? 0 : 1);
}

/** The copy of `p` held here (an image or a replica), or null. */
export function copyOf(p: Protection): Vm | null {
  if (p.role != ROLE_IMAGE && p.role != ROLE_REPLICA && p.role != ROLE_NO_COPY) return null;
  const vm = vmById(p.vm);
  return vm != null && vm.copy ? vm : null;
}

/** Gives `p`'s copy here back (a move replaces it; a newer term made it stale). */
export function dropCopy(p: Protection): void {
  const vm = copyOf(p);
  if (vm != null) {
    report(EVENT_COPY_DROPPED, p.id, vm.id, 0, 0);
    releaseVm(vm);
  }
  const i = unchecked(inbound[p.id]);
  i.link.close();
  i.copy.vm = null;
  i.copy.staged = false;
  p.role = ROLE_NO_COPY;
  p.hasImage = false;
  p.copyEpochs = 0;
}

/** The replica takes over: its last epoch's state goes in (the session from the old holder ends). */
export function takeOverReplica(p: Protection): void {
  const i = unchecked(inbound[p.id]);
  i.copy.takeOver();
  i.link.close();
}

/** Retransmissions of the backups' sessions; the run loop calls it at every service. */
export function serviceReplicas(): void {
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const i = unchecked(inbound[id]);
    if (i.link.open) i.link.service();
  }
}
