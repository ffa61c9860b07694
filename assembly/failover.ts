// Failover (docs/health.md): who runs a protected VM. The holder runs it only while a
// quorum grants it the lease (health-monitor.ts): the run loop stops it at the cycle the
// lease ends; it pauses, and runs on if the same term comes back, or is fenced for good
// once another processor holds a newer term. A copy here — a replica (replication.ts),
// the image, or the VM a handover brought — takes over as soon as a quorum grants it the
// lease under a term its state is not older than. On a hardware warning the holder moves
// the VM to the next processor of its protection with the migration manager, and the
// lease follows it there (handover).
//
// The host sets it up (index.ts health-*) and learns what happened from the events; it
// never decides a failover.
import { cyclesToNs, getProcessorId, now, nowNs, nsToCycles } from "./clock";
import {
  EVENT_FAILOVER_ACTIVATED, EVENT_FAILOVER_FIRST_RUN, EVENT_HANDOVER, EVENT_VM_FENCED, EVENT_VM_PAUSED,
  EVENT_VM_RESUMED, EVENT_WARNING_MIGRATION, EVENT_WARNING_RECEIVED, EXIT_FENCED, EXIT_RUNNING, MAX_MEMBERS, MAX_PEERS,
  MAX_PROTECTIONS, PARAM_AFFORDABLE_NS, PARAM_RETRANSMISSIONS, POLICY_CHECKPOINT, POLICY_MIGRATE_ON_WARNING,
  POLICY_RESTART, PROTECTION_STAT_ACTIVATIONS, PROTECTION_STAT_BACKUP, PROTECTION_STAT_EPOCHS,
  PROTECTION_STAT_EPOCH_BYTES, PROTECTION_STAT_GRANTEE, PROTECTION_STAT_GRANT_TERM, PROTECTION_STAT_HELD_MESSAGES,
  PROTECTION_STAT_INTERRUPTION_BOUND_NS, PROTECTION_STAT_LAST_EPOCH_NS, PROTECTION_STAT_LEASE_END_NS,
  PROTECTION_STAT_LOST_WORK_BOUND_NS, PROTECTION_STAT_PAUSES, PROTECTION_STAT_REPLICATION_BYTES, PROTECTION_STAT_ROLE,
  PROTECTION_STAT_TAKEOVER_BOUND_NS, PROTECTION_STAT_TERM, PROTECTION_STAT_VM, REASON_NO_LINK, REASON_NONE,
  STAT_REASON, STRATEGY_PRE_COPY, STRATEGY_STOP_COPY,
} from "./config";
import { heldMessagesOf, removePortsOf, setOutputHoldBoundNs, sleepPortsOf, wakePortsOf } from "./channel";
import { announceTakeover } from "./channel-relay";
import { canReach, linkBandwidth, linkMtu } from "./communication";
import { flushConsole } from "./console";
import { Bound, computeBound, DestinationFacts } from "./downtime";
import { report } from "./events";
import {
  alive, configureHealth, HEALTH_NOT_MEMBERS, ownWorstTripNs, refuseConfiguration, entryCopyTerm, grantedTerm, grantersAt, healthRunning, heartbeatSoon, noneNamesNewer,
  highestPrevGrantTerm, leaseEndNs, leaseTimeNs, memberId, memberOf, membersKnown, otherHolderTerm, quantumTimeNs,
  selfMember, serviceHealth, suspectTimeNs, worstTripTimeNs,
} from "./health-monitor";
import { migrationStat, noteFirstRun as noteMigrationFirstRun, setNextParam, startMigration } from "./migration";
import { currentOutgoing } from "./migration-source";
import { MigrationStream } from "./migration-stream";
import {
  NO_MEMBER, Protection, protectionAt, protectionCount, protectionOfVm, ROLE_ARRIVED, ROLE_FENCED, ROLE_HANDED_OVER,
  ROLE_HOLDER, ROLE_IMAGE, ROLE_NO_COPY, ROLE_NONE, ROLE_REPLICA, setProtectionCount,
} from "./protection";
import { protectionHooks } from "./protection-hooks";
import {
  copyOf, dropCopy, epochBytes, epochsApplied, lastAppliedNs, replicate, replicationBytes, serviceReplicas,
  stopReplication, takeOverReplica,
} from "./replication";
import { longestWaitNs, removeWindowsOf } from "./schedule";
import { allowReplicationSessionTo, forgetReplicationSessions, windowFor } from "./transport";
import { Vm, vmById } from "./vm";
import { holdVm, resumeVm } from "./vm-lifecycle";
import { holdOutputOf } from "./channel";
import { NO_VM } from "./trace";

/** When each protection's copy here took over (for failoverFirstRun), 0 once it ran. */
const activatedNs = new StaticArray<u64>(MAX_PROTECTIONS);
/** A protection whose holder here is moving its VM (replication and output release wait). */
const moving = new StaticArray<bool>(MAX_PROTECTIONS);
/** A hardware warning: until when this processor is expected to live (0: none). */
let warnedUntilNs: u64 = 0;
/**
 * How far this warning got with each protection's VM: the strategies it tries in turn
 * (stop-copy, then pre-copy), then STAGE_GIVEN_UP. A strategy may be turned down when it
 * starts or later, once the destination's facts are in its bound: either way the next
 * service tries the next one.
 */
const warningStage = new StaticArray<u8>(MAX_PROTECTIONS);
const STAGE_STOP_COPY: u8 = 0;
const STAGE_PRE_COPY: u8 = 1;
const STAGE_GIVEN_UP: u8 = 2;

// ---- set-up (index.ts health-*) ---------------------------------------------------------

/**
 * Declares protection `id`: its policies and checkpoint interval, the same on every
 * member; its processors follow (addProcessor). Before configure. False for bad arguments.
 */
export function protect(id: u32, policies: u32, intervalNs: u64): bool {
  if (healthRunning() || id >= <u32>MAX_PROTECTIONS) return false;
  if ((policies & ~(POLICY_RESTART | POLICY_CHECKPOINT | POLICY_MIGRATE_ON_WARNING)) != 0) return false;
  if ((policies & POLICY_CHECKPOINT) != 0 && intervalNs == 0) return false;
  const p = protectionAt(id);
  if (p.defined) return false;
  p.policies = policies;
  p.intervalNs = intervalNs;
  p.orderLength = 0;
  p.defined = true;
  p.role = ROLE_NONE;
  if (id + 1 > protectionCount()) setProtectionCount(id + 1);
  return true;
}

/** Appends `processor` to protection `id`'s order (processor ids until configure turns them into members). */
export function addProcessor(id: u32, processor: u32): bool {
  if (healthRunning() || id >= protectionCount() || processor >= MAX_PEERS) return false;
  const p = protectionAt(id);
  if (!p.defined || p.orderLength == MAX_MEMBERS || p.positionOf(processor) >= 0) return false;
  unchecked(p.order[p.orderLength++] = <u8>processor);
  if (processor == getProcessorId()) p.role = ROLE_NO_COPY;
  return true;
}

/** Links a holder here may replicate over: to every other processor of each protection it is part of. */
function countReplicationSessions(): void {
  forgetReplicationSessions();
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    if (!p.defined || p.positionOf(getProcessorId()) < 0 || !p.has(POLICY_CHECKPOINT)) continue;
    for (let i: u32 = 0; i < p.orderLength; i++) {
      const processor = <u32>unchecked(p.order[i]);
      if (processor != getProcessorId()) allowReplicationSessionTo(processor);
    }
  }
}

/** The slowest trip of this processor's heartbeats (health-worst-trip), once its protections are known. */
export function worstTripHere(): u64 {
  if (!healthRunning()) countReplicationSessions();
  return ownWorstTripNs();
}

/** `vm` here is protection `id`'s image copy: held, its ports asleep, until it takes over. */
export function addCopy(id: u32, vmId: u32): bool {
  const vm = vmById(vmId);
  if (healthRunning() || id >= protectionCount() || vm == null || protectionOfVm(vmId) != null) return false;
  const p = protectionAt(id);
  if (!p.defined || p.role != ROLE_NO_COPY) return false;
  vm.copy = true;
  holdVm(vm);
  sleepPortsOf(vm.id);
  p.vm = vm.id;
  p.role = ROLE_IMAGE;
  p.hasImage = true;
  return true;
}

/** `vm` here is protection `id`'s VM at the board's start: this processor is its first. */
export function holdAtStart(id: u32, vmId: u32): bool {
  const vm = vmById(vmId);
  if (healthRunning() || id >= protectionCount() || vm == null || protectionOfVm(vmId) != null) return false;
  const p = protectionAt(id);
  if (!p.defined || p.role != ROLE_NO_COPY || <u32>unchecked(p.order[0]) != getProcessorId()) return false;
  p.vm = vm.id;
  p.role = ROLE_HOLDER;
  p.term = 0;
  if (p.has(POLICY_CHECKPOINT)) holdOutputOf(vm.id, true);
  return true;
}

/** Starts the monitor; every protection's processors must be members (else false, refusal 5). */
export function configure(periodNs: u64, suspectNs: u64): bool {
  if (healthRunning()) return false;
  countReplicationSessions();
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    if (!p.defined) continue;
    for (let i: u32 = 0; i < p.orderLength; i++) {
      if (memberOf(<u32>unchecked(p.order[i])) == NO_MEMBER) { refuseConfiguration(HEALTH_NOT_MEMBERS, <u32>unchecked(p.order[i])); return false; }
    }
  }
  orderAsMembers(true);
  if (configureHealth(periodNs, suspectNs)) {
    for (let id: u32 = 0; id < protectionCount(); id++) if (protectionAt(id).role == ROLE_HOLDER) boundHeldOutput(protectionAt(id));
    return true;
  }
  orderAsMembers(false); // refused: the orders stay processor ids
  return false;
}

function orderAsMembers(members: bool): void {
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    for (let i: u32 = 0; p.defined && i < p.orderLength; i++) {
      const at = <u32>unchecked(p.order[i]);
      unchecked(p.order[i] = <u8>(members ? memberOf(at) : memberId(at)));
    }
  }
}

// ---- the run loop's part -------------------------------------------------------------------

/** The health monitor, then every protection; the run loop calls it at every quantum and slot boundary. */
export function serviceFailover(): void {
  if (!healthRunning()) return;
  serviceHealth();
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    if (!p.defined) continue;
    if (p.role == ROLE_HOLDER) serveAsHolder(p);
    else if (p.capable()) maybeTakeOver(p);
  }
  serviceReplicas();
  if (warnedUntilNs != 0) moveAwayOnWarning();
  serviceHealth(); // what changed goes out now
}

function serveAsHolder(p: Protection): void {
  const vm = vmById(p.vm);
  if (vm == null) { p.role = ROLE_NONE; return; }
  const newer = otherHolderTerm(p);
  if (newer > p.term) { fence(p, vm, newer); return; }
  const end = leaseEndNs(p, p.term);
  p.leaseEndNs = end;
  if (end > nowNs()) {
    vm.leaseEndCycles = nsToCycles(end);
    if (p.paused) {
      p.paused = false;
      report(EVENT_VM_RESUMED, p.id, vm.id, p.term, 0);
    }
    if (p.has(POLICY_CHECKPOINT) && !unchecked(moving[p.id]) && vm.exit == EXIT_RUNNING) replicate(p, vm);
  } else {
    vm.leaseEndCycles = now();
    if (!p.paused) {
      p.paused = true;
      p.pauses++;
      report(EVENT_VM_PAUSED, p.id, vm.id, p.term, 0);
    }
  }
}

/** Another processor holds a newer term: this copy is stale, and stops for good. */
function fence(p: Protection, vm: Vm, term: u32): void {
  vm.exit = EXIT_FENCED;
  vm.exitCode = term;
  vm.leaseEndCycles = now();
  flushConsole(vm);
  removePortsOf(vm.id);
  removeWindowsOf(vm.id);
  stopReplication(p);
  p.role = ROLE_FENCED;
  heartbeatSoon();
  report(EVENT_VM_FENCED, p.id, vm.id, term, 0);
}

/**
 * A copy here takes over once a quorum grants it the lease under one term — a replica
 * only if its state is not older than what any of them granted before, and none of them
 * names a backup newer than the copy's session (so no output it has not seen was released:
 * health-monitor.ts, noneNamesNewer).
 */
function maybeTakeOver(p: Protection): void {
  const term = grantedTerm(p);
  if (term < 0) return;
  const granters = grantersAt(p, selfMember(), <u32>term, nowNs());
  if (p.role == ROLE_REPLICA) {
    if (p.term < highestPrevGrantTerm(p, granters)) return;
    if (!noneNamesNewer(p, granters, p.term, p.copySession)) return;
  }
  activate(p, <u32>term);
}

function activate(p: Protection, term: u32): void {
  const vm = vmById(p.vm);
  if (vm == null) { p.role = ROLE_NO_COPY; return; }
  const restart = p.role == ROLE_IMAGE;
  const resumedFromNs = p.role == ROLE_REPLICA ? p.copyCaptureNs : 0;
  if (p.role == ROLE_REPLICA) takeOverReplica(p); // the last epoch's state goes in, ports included
  vm.copy = false;
  wakePortsOf(vm.id, restart ? term : 0);
  announceTakeover(vm.id, linkedProcessors());
  p.role = ROLE_HOLDER;
  p.term = term;
  p.paused = false;
  p.hasImage = false;
  p.activations++;
  unchecked(activatedNs[p.id] = nowNs());
  vm.leaseEndCycles = nsToCycles(leaseEndNs(p, term));
  vm.awaitingFirstRun = true;
  if (p.has(POLICY_CHECKPOINT)) holdOutputOf(vm.id, true); // what it sends waits for its own backup
  boundHeldOutput(p);
  resumeVm(vm);
  heartbeatSoon();
  report(EVENT_FAILOVER_ACTIVATED, p.id, vm.id, term, resumedFromNs);
}

/** Processors this one has a link to (bit = processor id): everyone who may route one of the VM's channels. */
function linkedProcessors(): u64 {
  let mask: u64 = 0;
  for (let peer: u32 = 0; peer < 64; peer++) {
    if (peer != getProcessorId() && linkMtu(peer) != 0 && linkBandwidth(peer) != 0) mask |= <u64>1 << peer;
  }
  return mask;
}

/** The VM's first instruction after a migration or a takeover (processor.ts). */
export function noteFirstRun(vm: Vm, atCycles: u64): void {
  noteMigrationFirstRun(vm, atCycles);
  const p = protectionOfVm(vm.id);
  if (p == null || unchecked(activatedNs[p.id]) == 0) return;
  report(EVENT_FAILOVER_FIRST_RUN, p.id, vm.id, cyclesToNs(atCycles), unchecked(activatedNs[p.id]));
  unchecked(activatedNs[p.id] = 0);
}

// ---- a hardware warning -----------------------------------------------------------------------

/** This processor will fail in `leadNs`: its protected VMs that may move on a warning do so. */
export function warning(leadNs: u64): void {
  report(EVENT_WARNING_RECEIVED, 0, NO_VM, leadNs, 0);
  warnedUntilNs = nowNs() + leadNs;
  for (let id = 0; id < MAX_PROTECTIONS; id++) unchecked(warningStage[id] = STAGE_STOP_COPY);
  moveAwayOnWarning();
}

/** Is a hardware warning's lead time running here (its moves come before any other)? */
export function warningActive(): bool {
  return warnedUntilNs != 0 && nowNs() < warnedUntilNs;
}

/** One migration at a time: each service moves the next protected VM still here, while time is left. */
function moveAwayOnWarning(): void {
  if (nowNs() >= warnedUntilNs) { warnedUntilNs = 0; return; }
  if (!currentOutgoing().over()) return;
  for (let id: u32 = 0; id < protectionCount(); id++) {
    const p = protectionAt(id);
    if (!p.defined || p.role != ROLE_HOLDER || !p.has(POLICY_MIGRATE_ON_WARNING) || p.paused || unchecked(moving[id])) continue;
    const vm = vmById(p.vm);
    if (vm == null || vm.exit != EXIT_RUNNING) continue;
    if (unchecked(warningStage[id]) == STAGE_GIVEN_UP) continue;
    tryMove(p, vm, warnedUntilNs - nowNs());
    if (!currentOutgoing().over()) return;
  }
}

/** Starts the next strategy of this warning that may fit; when none is left, says why the VM stays. */
function tryMove(p: Protection, vm: Vm, leadNs: u64): void {
  const dest = nextTarget(p);
  if (dest == NO_MEMBER) { giveUp(p, vm, REASON_NO_LINK); return; }
  // What turned the last attempt down, if it was turned down after it started.
  let reason = unchecked(warningStage[p.id]) == STAGE_STOP_COPY ? REASON_NONE : migrationStat(0, STAT_REASON);
  while (unchecked(warningStage[p.id]) != STAGE_GIVEN_UP) {
    const stage = unchecked(warningStage[p.id]);
    unchecked(warningStage[p.id] = <u8>(stage + 1));
    let affordable = leadNs;
    if (stage == STAGE_PRE_COPY) {
      // Pre-copy only if the whole RAM can cross before the processor fails; its blackout must fit what is left.
      const wholeNs = wholeTransferNs(vm, memberId(dest));
      if (wholeNs >= leadNs) continue;
      affordable = leadNs - wholeNs;
    }
    const own = vm.affordableNs != 0 ? vm.affordableNs : vm.slackNs; // its configured limit, or its task set's slack
    setNextParam(PARAM_AFFORDABLE_NS, own < affordable ? own : affordable);
    if (startMigration(vm.id, memberId(dest), stage == STAGE_STOP_COPY ? STRATEGY_STOP_COPY : STRATEGY_PRE_COPY) == 0) {
      report(EVENT_WARNING_MIGRATION, p.id, vm.id, currentOutgoing().id, 0);
      return;
    }
    reason = migrationStat(0, STAT_REASON);
  }
  giveUp(p, vm, reason == REASON_NONE ? REASON_NO_LINK : reason);
}

/** The VM stays: its replica or image takes over when the processor fails. */
function giveUp(p: Protection, vm: Vm, reason: u64): void {
  unchecked(warningStage[p.id] = STAGE_GIVEN_UP);
  report(EVENT_WARNING_MIGRATION, p.id, vm.id, 0, reason);
}

/** The next processor of `p` after this one that is alive and has a link: where its VM may move. */
function nextTarget(p: Protection): u32 {
  const self = selfMember();
  const from = p.positionOf(self);
  for (let step: u32 = 1; step < p.orderLength; step++) {
    const m = p.memberAfter(from, step);
    if (m != self && alive(m) && canReach(memberId(m), 64)) return m;
  }
  return NO_MEMBER;
}

// ---- what a move means (protection-hooks.ts) -----------------------------------------------

function replacing(vmId: u32, dest: u32): i64 {
  const p = protectionOfVm(vmId);
  if (p == null) return 0;
  if (p.role != ROLE_HOLDER || nextTarget(p) != memberOf(dest)) return -1;
  return <i64>p.id + 1;
}

function moveStarted(vmId: u32): void {
  const p = protectionOfVm(vmId);
  if (p == null) return;
  unchecked(moving[p.id] = true);
  stopReplication(p);
}

function moveEnded(vmId: u32, committed: bool, to: u32): void {
  const p = protectionOfVm(vmId);
  if (p == null) return;
  unchecked(moving[p.id] = false);
  if (!committed) return; // it stays: replication begins again with a full epoch
  p.role = ROLE_HANDED_OVER;
  p.handoverTo = memberOf(to);
  p.vm = 0;
  heartbeatSoon();
  report(EVENT_HANDOVER, p.id, vmId, to, p.term);
}

function makeRoom(replaces: u32): bool {
  const id = replaces - 1;
  if (id >= protectionCount()) return false;
  const p = protectionAt(id);
  if (!p.defined || p.positionOf(selfMember()) < 0 || p.role == ROLE_HOLDER) return false;
  dropCopy(p);
  return true;
}

function arrived(replaces: u32, vmId: u32, from: u32): bool {
  const p = protectionAt(replaces - 1);
  const vm = vmById(vmId);
  if (vm == null) return false;
  vm.copy = true; // held until the lease is here
  p.vm = vmId;
  p.role = ROLE_ARRIVED;
  p.term = entryCopyTerm(memberOf(from), p.id);
  heartbeatSoon();
  return true;
}

/** The handover's part of a protected VM's downtime bound: the old holder's heartbeat to the members, their grants to the new one. */
function agreementNs(vmId: u32): u64 {
  return 3 * quantumTimeNs() + 2 * worstTripTimeNs();
}

protectionHooks.replacing = replacing;
protectionHooks.moveStarted = moveStarted;
protectionHooks.moveEnded = moveEnded;
protectionHooks.makeRoom = makeRoom;
protectionHooks.arrived = arrived;
protectionHooks.agreementNs = agreementNs;

// ---- bounds -----------------------------------------------------------------------------------

/**
 * From the holder's failure to a quorum granting the lease here: suspicion (T + Q), the
 * last grant running out (F), a new grant at the next service (Q) and its trip, acting on
 * it (Q).
 */
export function takeoverBoundNs(): u64 {
  return suspectTimeNs() + leaseTimeNs() + 3 * quantumTimeNs() + worstTripTimeNs();
}

/** Takeover, then the longest wait for one of the VM's windows here (where its copy's windows are). */
function interruptionBoundNs(p: Protection): u64 {
  const holdsOne = p.role != ROLE_NONE && p.role != ROLE_NO_COPY && p.role != ROLE_FENCED && p.role != ROLE_HANDED_OVER;
  const wait = holdsOne && vmById(p.vm) != null ? longestWaitNs(p.vm) : 0;
  return takeoverBoundNs() + wait;
}

const bound = new Bound();
const facts = new DestinationFacts();
const sizes = new MigrationStream();

/** W: an epoch of the whole VM to its slowest possible backup, acknowledged, with the budgeted retransmissions. */
function wholeEpochNs(p: Protection, vm: Vm): u64 {
  let worst: u64 = 0;
  const bytes = <u64>24 + sizes.bytesForPages(vm, <u64>(vm.ramBytes >> 12));
  for (let i: u32 = 0; i < p.orderLength; i++) {
    const m = <u32>unchecked(p.order[i]);
    if (m == selfMember()) continue;
    const peer = memberId(m);
    if (linkMtu(peer) == 0 || linkBandwidth(peer) == 0) continue;
    computeBound(bound, peer, bytes, windowFor(peer, linkMtu(peer)), 2, facts);
    const ns = bound.transferNs + bound.handshakeNs + bound.retransmitNs + quantumTimeNs();
    if (ns > worst) worst = ns;
  }
  return worst;
}

function wholeTransferNs(vm: Vm, peer: u32): u64 {
  const bytes = <u64>24 + sizes.bytesForPages(vm, sizes.touchedPages(vm));
  computeBound(bound, peer, bytes, windowFor(peer, linkMtu(peer)), 2, facts);
  return bound.transferNs + bound.handshakeNs + bound.retransmitNs;
}

/** A message of a replicated VM waits for the next epoch (at most I away) to be applied (W) and a quantum. */
function boundHeldOutput(p: Protection): void {
  const vm = vmById(p.vm);
  if (vm == null || !p.has(POLICY_CHECKPOINT)) return;
  setOutputHoldBoundNs(vm.id, p.intervalNs + wholeEpochNs(p, vm) + quantumTimeNs());
}

/** RPO: max(I, W) + W for a replica; u64 max for a restart (it loses everything). */
function lostWorkBoundNs(p: Protection): u64 {
  if (!p.has(POLICY_CHECKPOINT)) return u64.MAX_VALUE;
  const vm = vmById(p.vm);
  if (vm == null) return u64.MAX_VALUE;
  const w = wholeEpochNs(p, vm);
  return (p.intervalNs > w ? p.intervalNs : w) + w;
}

export function protectionStat(id: u32, key: u32): u64 {
  if (id >= protectionCount()) return 0;
  const p = protectionAt(id);
  if (!p.defined) return 0;
  switch (key) {
    case PROTECTION_STAT_ROLE: return p.role;
    case PROTECTION_STAT_TERM: return p.term;
    case PROTECTION_STAT_GRANTEE: return p.grantee == NO_MEMBER ? u64.MAX_VALUE : memberId(p.grantee);
    case PROTECTION_STAT_GRANT_TERM: return p.grantTerm;
    case PROTECTION_STAT_LEASE_END_NS: return p.leaseEndNs;
    case PROTECTION_STAT_EPOCHS: return p.role == ROLE_HOLDER ? epochsApplied(p) : p.copyEpochs;
    case PROTECTION_STAT_LAST_EPOCH_NS: return p.role == ROLE_HOLDER ? lastAppliedNs(p) : p.copyCaptureNs;
    case PROTECTION_STAT_INTERRUPTION_BOUND_NS: return interruptionBoundNs(p);
    case PROTECTION_STAT_LOST_WORK_BOUND_NS: return lostWorkBoundNs(p);
    case PROTECTION_STAT_HELD_MESSAGES: return p.role == ROLE_HOLDER ? heldMessagesOf(p.vm) : 0;
    case PROTECTION_STAT_VM: return p.vm;
    case PROTECTION_STAT_EPOCH_BYTES: return epochBytes(p);
    case PROTECTION_STAT_REPLICATION_BYTES: return replicationBytes(p);
    case PROTECTION_STAT_BACKUP: return p.backup == NO_MEMBER ? u64.MAX_VALUE : memberId(p.backup);
    case PROTECTION_STAT_ACTIVATIONS: return p.activations;
    case PROTECTION_STAT_PAUSES: return p.pauses;
    case PROTECTION_STAT_TAKEOVER_BOUND_NS: return takeoverBoundNs();
  }
  return 0;
}
