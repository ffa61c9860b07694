// The load monitor: what the load policies (hotspot.ts, consolidation.ts) decide from
// (docs/load-policies.md). Once a load period it measures this processor — its
// utilisation (cycles its VMs executed / cycles that passed), the windows that overran,
// the deadlines missed, each VM's own share — and sends every linked peer a load report:
// its utilisation, free RAM, VMs and which slices of its major frame its windows hold.
// So each core knows its peers' load from their own measurements, and a policy can tell
// whether a VM fits a peer (RAM, windows, load) before it asks the migration manager,
// whose admission (the downtime bound against the VM's affordable downtime) and the
// destination's reservation still decide. It also keeps what both policies share: the
// hold time (a VM is not moved by a policy again within it), the start of a move, and
// whether the processor sleeps (it holds no VM), with the time it was awake.
import { cyclesToNs, getProcessorId, now, nowNs } from "./clock";
import {
  EVENT_LOAD_MOVE, EVENT_PROCESSOR_ASLEEP, EVENT_PROCESSOR_AWAKE, EXIT_RUNNING, FRAME_HEADER_BYTES, FRAME_LOAD_REPORT,
  LOAD_PARAM_CONSOLIDATE_BELOW_PERMILLE, LOAD_PARAM_COUNT, LOAD_PARAM_DEFAULTS, LOAD_PARAM_FILL_PERMILLE,
  LOAD_PARAM_HOLD_NS, LOAD_PARAM_HOT_MISSES, LOAD_PARAM_HOT_OVERRUN_PERMILLE, LOAD_PARAM_HOT_UTILISATION_PERMILLE,
  LOAD_PARAM_PERIOD_NS, LOAD_PARAM_SLEEP, LOAD_PARAM_STRATEGY, LOAD_REPORT_BYTES, LOAD_SLICES, LOAD_STAT_ASLEEP,
  LOAD_STAT_AWAKE_NS, LOAD_STAT_COUNT, LOAD_STAT_PEERS, LOAD_STAT_PERIODS, LOAD_STAT_PEAK_UTILISATION_PERMILLE,
  LOAD_STAT_REFUSED_MOVES, LOAD_STAT_SLEEPS, LOAD_STAT_UTILISATION_PERMILLE, MAX_PEERS, MAX_VMS, PAGE_SHIFT, DROP_MALFORMED,
  REASON_DEST_BUSY, REASON_NO_AFFORDABLE, REASON_NO_IMAGE, REASON_NONE, REASON_PROTECTED, REASON_RELAY_TABLE, REASON_VM_STOPPED,
  STATE_COMMITTING, STATE_DONE, STATE_POST_COPY, STRATEGY_COLD, STRATEGY_COUNT,
} from "./config";
import { canReach, dropFrame, sendFrame } from "./communication";
import { report } from "./events";
import { currentOutgoing, outgoingById } from "./migration-source";
import { cancelMigration, startMigration } from "./migration";
import { warningActive } from "./failover";
import { protectionOfVm } from "./protection";
import { frameLengthCycles, scheduleConfigured, windowsOf } from "./schedule";
import { setPeriodicFrameBytes } from "./transport";
import { ramCapacity, ramInUse } from "./vm-lifecycle";
import { Vm, vmAtSlot } from "./vm";

/** Slice masks are LOAD_SLICES bits in this many u64 words. */
export const SLICE_WORDS: i32 = 4;
export const FLAG_ASLEEP: u32 = 1;
export const FLAG_EVACUATING: u32 = 2;
export const FLAG_HOT: u32 = 4;
export const FLAG_RECEIVING: u32 = 8;
/** A peer's report older than this many periods is not trusted for a decision. */
const FRESH_PERIODS: u64 = 3;

const params = new StaticArray<u64>(LOAD_PARAM_COUNT);
for (let key: u32 = 0; key < LOAD_PARAM_COUNT; key++) unchecked(params[key] = unchecked(LOAD_PARAM_DEFAULTS[key]));
/** Counters of loadStat; the policies count their own moves here. */
export const loadStats = new StaticArray<u64>(LOAD_STAT_COUNT);

export function loadParam(key: u32): u64 {
  return unchecked(params[key]);
}

/** Sets a load parameter (before the board runs); false for an unknown key or a value out of range. */
export function setLoadParam(key: u32, value: u64): bool {
  if (key >= LOAD_PARAM_COUNT) return false;
  if (key == LOAD_PARAM_PERIOD_NS && (value < 1000 || value > 1_000_000_000_000)) return false;
  if ((key == LOAD_PARAM_HOT_UTILISATION_PERMILLE || key == LOAD_PARAM_HOT_OVERRUN_PERMILLE || key == LOAD_PARAM_CONSOLIDATE_BELOW_PERMILLE
    || key == LOAD_PARAM_FILL_PERMILLE) && value > 1000) return false;
  // A cold move restarts the VM from its image: a load policy keeps the VM's state.
  if (key == LOAD_PARAM_STRATEGY && (value >= <u64>STRATEGY_COUNT || value == <u64>STRATEGY_COLD)) return false;
  if (key == LOAD_PARAM_SLEEP && value > 1) return false;
  unchecked(params[key] = value);
  setPeriodicFrameBytes(loadPoliciesOn() ? <u64>(FRAME_HEADER_BYTES + LOAD_REPORT_BYTES) : 0);
  return true;
}

export function hotspotOn(): bool {
  return loadParam(LOAD_PARAM_HOT_UTILISATION_PERMILLE) != 0 || loadParam(LOAD_PARAM_HOT_OVERRUN_PERMILLE) != 0 || loadParam(LOAD_PARAM_HOT_MISSES) != 0;
}

export function consolidationOn(): bool {
  return loadParam(LOAD_PARAM_CONSOLIDATE_BELOW_PERMILLE) != 0;
}

export function loadPoliciesOn(): bool {
  return hotspotOn() || consolidationOn();
}

// ---- this processor's measurement ----------------------------------------------------------

let nextPeriodNs: u64 = 0;
let periodStartCycles: u64 = 0;
/** Board time the period just measured began. */
export let periodStartNs: u64 = 0;
let measuredOnce = false;
/** The last period's figures. */
export let utilisationPermille: u32 = 0;
export let overrunPermille: u32 = 0;
export let missesInPeriod: u64 = 0;
let periodCycles: u64 = 0;
/** Per VM slot: its handle + 1 when last measured (0: none), its counters then, its busy cycles in the last period, its hold. */
const seenHandle = new StaticArray<u32>(MAX_VMS);
const lastExecuted = new StaticArray<u64>(MAX_VMS);
const lastWindows = new StaticArray<u64>(MAX_VMS);
const lastOverruns = new StaticArray<u64>(MAX_VMS);
const lastMisses = new StaticArray<u64>(MAX_VMS);
const busyCycles = new StaticArray<u64>(MAX_VMS);
const holdUntilNs = new StaticArray<u64>(MAX_VMS);
/** Held or not run yet at the last measurement: its counters may have jumped since (a restore brings the source's). */
const arrivingAtLast = new StaticArray<bool>(MAX_VMS);
/** No decisions before this board time: a move just ended, its effect is not measured yet. */
let settleUntilNs: u64 = 0;
let wasMoving = false;
/** This processor's flags in its reports (the policies set hot and evacuating). */
export let ownFlags: u32 = 0;

export function setOwnFlag(flag: u32, on: bool): void {
  ownFlags = on ? ownFlags | flag : ownFlags & ~flag;
}

/**
 * Measures the period that ended, if one did: true then (the policies decide, and
 * sendLoadReports follows). Called at every quantum and slot boundary.
 */
export function measureLoad(): bool {
  if (!loadPoliciesOn()) return false;
  noteSleep();
  if (lastMoveId != 0 && warningActive()) yieldToWarning();
  const t = nowNs();
  if (t < nextPeriodNs) return false;
  const period = loadParam(LOAD_PARAM_PERIOD_NS);
  const cycles = now() - periodStartCycles;
  let busy: u64 = 0, windows: u64 = 0, overruns: u64 = 0, misses: u64 = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm == null) { unchecked(seenHandle[slot] = 0); continue; }
    // A VM new here since the last period (it arrived, or the board placed it), or one not running
    // on its own account yet (reserved, held, restored with its source's counters): measured from here on.
    const fresh = unchecked(seenHandle[slot]) != vm.id + 1;
    const arriving = vm.held || vm.awaitingFirstRun;
    const wasArriving = unchecked(arrivingAtLast[slot]);
    unchecked(arrivingAtLast[slot] = arriving);
    if (fresh || arriving || wasArriving || vm.executed < unchecked(lastExecuted[slot])) {
      // One that arrived is held for the hold time from its arrival (from the end of its move).
      if (fresh) for (let peer = 0; peer < <i32>MAX_PEERS; peer++) unchecked(pairHoldUntilNs[slot * <i32>MAX_PEERS + peer] = 0);
      if (fresh || arriving || wasArriving) unchecked(holdUntilNs[slot] = measuredOnce ? t + loadParam(LOAD_PARAM_HOLD_NS) : 0);
      unchecked(seenHandle[slot] = vm.id + 1);
      unchecked(lastExecuted[slot] = vm.executed);
      unchecked(lastWindows[slot] = vm.windowsUsed);
      unchecked(lastOverruns[slot] = vm.overruns);
      unchecked(lastMisses[slot] = vm.deadlineMisses);
      // Not measured yet: counted at the most its windows let it run, so that a processor that
      // has just taken a VM does not look emptier than it is (a protection's copy never runs).
      // One this processor's own migration has stopped is leaving: it runs no more here.
      const estimate = vm.copy || outgoingHolds(vm.id) ? 0 : windowShareCycles(vm.id, cycles);
      unchecked(busyCycles[slot] = estimate);
      busy += estimate;
      continue;
    }
    const executed = vm.executed - unchecked(lastExecuted[slot]);
    unchecked(busyCycles[slot] = executed);
    busy += executed;
    windows += vm.windowsUsed - unchecked(lastWindows[slot]);
    overruns += vm.overruns - unchecked(lastOverruns[slot]);
    misses += vm.deadlineMisses - unchecked(lastMisses[slot]);
    unchecked(lastExecuted[slot] = vm.executed);
    unchecked(lastWindows[slot] = vm.windowsUsed);
    unchecked(lastOverruns[slot] = vm.overruns);
    unchecked(lastMisses[slot] = vm.deadlineMisses);
  }
  periodCycles = cycles;
  utilisationPermille = cycles == 0 ? 0 : <u32>(busy * 1000 / cycles);
  overrunPermille = windows == 0 ? 0 : <u32>(overruns * 1000 / windows);
  missesInPeriod = misses;
  if (measuredOnce) {
    unchecked(loadStats[LOAD_STAT_PERIODS]++);
    if (<u64>utilisationPermille > unchecked(loadStats[LOAD_STAT_PEAK_UTILISATION_PERMILLE])) unchecked(loadStats[LOAD_STAT_PEAK_UTILISATION_PERMILLE] = utilisationPermille);
  }
  periodStartNs = measuredOnce ? nextPeriodNs - period : 0;
  periodStartCycles = now();
  nextPeriodNs = (t / period + 1) * period;
  noteMoveEnded();
  const moving = movingHere();
  if (wasMoving && !moving) settleUntilNs = t + 2 * period; // its effect shows in the next full period
  wasMoving = moving;
  setOwnFlag(FLAG_RECEIVING, receivingHere());
  const first = !measuredOnce;
  measuredOnce = true;
  return !first; // the first call only starts the first period
}

/** The most of `cycles` the VM's windows give it: its share of the major frame. */
function windowShareCycles(vmId: u32, cycles: u64): u64 {
  const frame = frameLengthCycles();
  if (frame == 0) return 0;
  const n = windowsOf(vmId, windowStarts, windowEnds);
  let supply: u64 = 0;
  for (let i = 0; i < n; i++) supply += unchecked(windowEnds[i]) - unchecked(windowStarts[i]);
  const sharePerMille = supply * 1000 / frame; // (in per mille first: a frame of 1000 s at 4 GHz squared would overflow)
  return cycles / 1000 * sharePerMille + (cycles % 1000) * sharePerMille / 1000;
}

/** A migration is under way here: one of this processor's going, or one arriving (a reservation, a VM not run yet). */
export function movingHere(): bool {
  if (!currentOutgoing().over()) return true;
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null && ((vm.held && !vm.copy) || vm.awaitingFirstRun || vm.absent != 0)) return true;
  }
  return false;
}

/** A migration is arriving here (a reservation, or a VM not run yet). */
function receivingHere(): bool {
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null && ((vm.held && !vm.copy) || vm.awaitingFirstRun || vm.absent != 0) && unchecked(seenHandle[slot]) == vm.id + 1 && !outgoingHolds(vm.id)) return true;
  }
  return false;
}

/** Is `vm` the one this processor's own migration has stopped (its blackout)? */
function outgoingHolds(vmId: u32): bool {
  const out = currentOutgoing();
  return !out.over() && out.vmId == vmId;
}

/** May a policy decide now: nothing moving here, the last move's effect measured, no hardware warning running. */
export function settled(): bool {
  return !wasMoving && nowNs() >= settleUntilNs && !warningActive();
}

/** The VM's share of the last period, per mille. */
export function vmUtilisationPermille(slot: i32): u32 {
  return periodCycles == 0 ? 0 : <u32>(unchecked(busyCycles[slot]) * 1000 / periodCycles);
}

/**
 * May a load policy move this VM: it runs here (not held, not a protection's copy, not
 * arriving), the board did not pin it, is not protected (a protected VM moves only along its protection:
 * docs/health.md) and its hold time is over.
 */
export function movable(vm: Vm, slot: i32): bool {
  return vm.exit == EXIT_RUNNING && !vm.held && !vm.copy && !vm.pinned && !vm.awaitingFirstRun && vm.absent == 0
    && unchecked(seenHandle[slot]) == vm.id + 1 && nowNs() >= unchecked(holdUntilNs[slot])
    && protectionOfVm(vm.id) == null;
}

// ---- windows as slices of the major frame ----------------------------------------------------

const windowStarts = new StaticArray<u64>(64);
const windowEnds = new StaticArray<u64>(64);

/** Major frame in us as reports carry it; 0 for the default schedule (its windows change with its VMs). */
export function frameUs(): u32 {
  return scheduleConfigured() ? <u32>(cyclesToNs(frameLengthCycles()) / 1000) : 0;
}

/** Marks in `mask` the slices `vm`'s windows touch. */
export function addVmSlices(vmId: u32, mask: StaticArray<u64>, at: i32): void {
  if (!scheduleConfigured()) return;
  const frame = frameLengthCycles();
  if (frame == 0) return;
  const n = windowsOf(vmId, windowStarts, windowEnds);
  for (let i = 0; i < n; i++) {
    const first = <i32>(unchecked(windowStarts[i]) * <u64>LOAD_SLICES / frame);
    const last = <i32>((unchecked(windowEnds[i]) * <u64>LOAD_SLICES + frame - 1) / frame); // exclusive
    for (let s = first; s < last && s < <i32>LOAD_SLICES; s++) {
      unchecked(mask[at + (s >> 6)] |= <u64>1 << <u64>(s & 63));
    }
  }
}

// ---- peers -------------------------------------------------------------------------------------

export const peerKnown = new StaticArray<bool>(MAX_PEERS);
export const peerHeardNs = new StaticArray<u64>(MAX_PEERS);
export const peerUtilisation = new StaticArray<u32>(MAX_PEERS);
export const peerFlags = new StaticArray<u32>(MAX_PEERS);
export const peerVms = new StaticArray<u32>(MAX_PEERS);
export const peerFreePages = new StaticArray<u32>(MAX_PEERS);
export const peerFrameUs = new StaticArray<u32>(MAX_PEERS);
export const peerSlices = new StaticArray<u64>(MAX_PEERS * SLICE_WORDS);

const reportBody = new StaticArray<u8>(LOAD_REPORT_BYTES);
const ownSlices = new StaticArray<u64>(SLICE_WORDS);

/**
 * VMs that need this processor: running ones, held ones (reservations, a protection's
 * copies) too; not those that have stopped (their windows and RAM stay until released,
 * but they never run again).
 */
export function vmsHere(): u32 {
  let n: u32 = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null && vm.exit == EXIT_RUNNING) n++;
  }
  return n;
}

/** This period's report to every peer the links reach. */
export function sendLoadReports(): void {
  for (let w = 0; w < SLICE_WORDS; w++) unchecked(ownSlices[w] = 0);
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null) addVmSlices(vm.id, ownSlices, 0);
  }
  const body = changetype<usize>(reportBody);
  const free = ramCapacity() > ramInUse() ? ramCapacity() - ramInUse() : 0;
  store<u16>(body, <u16>(utilisationPermille > 1000 ? 1000 : utilisationPermille));
  store<u16>(body, <u16>ownFlags, 2);
  store<u16>(body, <u16>vmsHere(), 4);
  store<u16>(body, 0, 6);
  store<u32>(body, <u32>(free >> PAGE_SHIFT), 8);
  store<u32>(body, frameUs(), 12);
  for (let w = 0; w < SLICE_WORDS; w++) store<u64>(body + 16 + (<usize>w << 3), unchecked(ownSlices[w]));
  for (let peer: u32 = 0; peer < MAX_PEERS; peer++) {
    if (peer == getProcessorId() || !canReach(peer, LOAD_REPORT_BYTES)) continue;
    sendFrame(peer, FRAME_LOAD_REPORT, 0, body, LOAD_REPORT_BYTES, 0xFFFF_FFFF);
  }
}

/** A peer's load report. */
export function receiveLoadReport(peer: u32, payload: usize, bytes: u32): void {
  if (bytes != LOAD_REPORT_BYTES || peer >= MAX_PEERS) { dropFrame(peer, DROP_MALFORMED); return; }
  unchecked(peerKnown[peer] = true);
  unchecked(peerHeardNs[peer] = nowNs());
  unchecked(peerUtilisation[peer] = <u32>load<u16>(payload));
  unchecked(peerFlags[peer] = <u32>load<u16>(payload, 2));
  unchecked(peerVms[peer] = <u32>load<u16>(payload, 4));
  unchecked(peerFreePages[peer] = load<u32>(payload, 8));
  unchecked(peerFrameUs[peer] = load<u32>(payload, 12));
  for (let w = 0; w < SLICE_WORDS; w++) unchecked(peerSlices[<i32>peer * SLICE_WORDS + w] = load<u64>(payload + 16 + (<usize>w << 3)));
}

/** A peer whose report is recent enough to decide on, and that a frame reaches. */
export function peerUsable(peer: u32): bool {
  return peer != getProcessorId() && unchecked(peerKnown[peer]) && canReach(peer, LOAD_REPORT_BYTES)
    && nowNs() - unchecked(peerHeardNs[peer]) <= FRESH_PERIODS * loadParam(LOAD_PARAM_PERIOD_NS);
}

/**
 * Does `vm` fit a processor with `freePages` free, `vms` VMs and these window slices
 * (from `slices` at `at`), under the same major frame as here? Its RAM, a VM slot, and
 * windows whose slices are free there (a configured schedule on both sides, or the
 * default one on both).
 */
export function fitsSlices(vm: Vm, frameThereUs: u32, freePages: u32, vms: u32, slices: StaticArray<u64>, at: i32): bool {
  if (<u64>freePages < <u64>(vm.ramBytes >> PAGE_SHIFT) || vms >= <u32>MAX_VMS) return false;
  if (frameThereUs != frameUs()) return false;
  if (frameThereUs == 0) return true;
  for (let w = 0; w < SLICE_WORDS; w++) unchecked(ownSlices[w] = 0);
  addVmSlices(vm.id, ownSlices, 0);
  for (let w = 0; w < SLICE_WORDS; w++) if ((unchecked(ownSlices[w]) & unchecked(slices[at + w])) != 0) return false;
  return true;
}

/** Adds `vm`'s slices to `slices` at `at` (a plan that puts it there). */
export function takeSlices(vm: Vm, slices: StaticArray<u64>, at: i32): void {
  addVmSlices(vm.id, slices, at);
}

// ---- a policy's move ---------------------------------------------------------------------------

/** Per VM slot and peer: a move there that did not happen is not asked again before this board time. */
const pairHoldUntilNs = new StaticArray<u64>(MAX_VMS * MAX_PEERS);

/** May a policy ask to move the VM in `slot` to `peer` (no move there was turned down within the hold)? */
export function peerAllowed(slot: i32, peer: u32): bool {
  return nowNs() >= unchecked(pairHoldUntilNs[slot * MAX_PEERS + <i32>peer]);
}

/** Reasons that are the VM's own, whatever the destination: its next move waits the hold time, to any peer. */
function vmReason(reason: u64): bool {
  return reason == REASON_NO_AFFORDABLE || reason == REASON_NO_IMAGE || reason == REASON_PROTECTED || reason == REASON_VM_STOPPED
    || reason == REASON_RELAY_TABLE;
}

/** A move that did not happen: the VM may go elsewhere, but not to `peer` within `holdNs` (nor anywhere, for a reason of its own). */
function notMoved(slot: i32, peer: u32, reason: u64, holdNs: u64): void {
  const until = nowNs() + holdNs;
  if (vmReason(reason)) unchecked(holdUntilNs[slot] = until);
  else {
    unchecked(holdUntilNs[slot] = 0);
    unchecked(pairHoldUntilNs[slot * MAX_PEERS + <i32>peer] = until);
  }
}

/**
 * Starts moving `vm` (in `slot`) to processor `peer` for `cause`, through the migration
 * manager: its admission decides (the downtime bound against the VM's affordable
 * downtime). A VM that moves is not moved on within the hold time (where it arrives, it
 * is held from its arrival); one whose move was turned down is not asked again to that
 * peer within it — nor to any, if the reason is its own (no affordable downtime, say).
 * True if it started.
 */
export function startLoadMove(vm: Vm, slot: i32, peer: u32, cause: u64): bool {
  const hold = loadParam(LOAD_PARAM_HOLD_NS);
  unchecked(holdUntilNs[slot] = nowNs() + hold);
  const result = startMigration(vm.id, peer, <u32>loadParam(LOAD_PARAM_STRATEGY));
  const out = currentOutgoing();
  const id = out.vmId == vm.id && out.startNs == nowNs() ? out.id : 0;
  report(EVENT_LOAD_MOVE, id, vm.id, cause, peer);
  if (result != 0) {
    unchecked(loadStats[LOAD_STAT_REFUSED_MOVES]++);
    notMoved(slot, peer, id == 0 ? REASON_NONE : out.reason, hold);
    return false;
  }
  lastMoveId = id;
  lastMoveSlot = slot;
  lastMovePeer = peer;
  wasMoving = true;
  return true;
}

/** The last move a policy started here: its migration, the VM's slot and where it was going. */
let lastMoveId: u32 = 0;
let lastMoveSlot: i32 = -1;
let lastMovePeer: u32 = 0;

/**
 * A hardware warning: its moves of protected VMs come first, and there is one outgoing
 * migration at a time. A policy's move still before its COMMIT is cancelled (the VM runs on
 * here); one past it finishes.
 */
function yieldToWarning(): void {
  const out = currentOutgoing();
  if (out.id == lastMoveId && !out.over() && out.state != STATE_COMMITTING && out.state != STATE_POST_COPY) cancelMigration();
}

/**
 * A move that started but did not complete (refused by the destination, failed,
 * cancelled) leaves the VM here: it is not held as a VM that moved, only that peer is
 * for the hold time — for two periods if the destination was only busy with another
 * arriving migration (two processors often decide in the same period).
 */
function noteMoveEnded(): void {
  if (lastMoveId == 0) return;
  const out = outgoingById(lastMoveId);
  if (out != null && !out.over()) return;
  if (out != null && out.state != STATE_DONE && unchecked(seenHandle[lastMoveSlot]) == out.vmId + 1) {
    const hold = out.reason == REASON_DEST_BUSY ? 2 * loadParam(LOAD_PARAM_PERIOD_NS) : loadParam(LOAD_PARAM_HOLD_NS);
    notMoved(lastMoveSlot, lastMovePeer, out.reason, hold);
  }
  lastMoveId = 0;
}

// ---- sleep ----------------------------------------------------------------------------------

let asleep = false;
let awakeSinceNs: u64 = 0;
let asleepSinceNs: u64 = 0;
let awakeTotalNs: u64 = 0;

export function isAsleep(): bool {
  return asleep;
}

/** Sleeps while the processor holds no VM (consolidation on, sleep allowed); wakes when one comes. */
function noteSleep(): void {
  if (asleep) {
    if (vmsHere() == 0) return;
    asleep = false;
    awakeSinceNs = nowNs();
    setOwnFlag(FLAG_ASLEEP, false);
    report(EVENT_PROCESSOR_AWAKE, 0, 0xFFFF_FFFF, nowNs(), asleepSinceNs);
    return;
  }
  if (!consolidationOn() || loadParam(LOAD_PARAM_SLEEP) == 0 || vmsHere() != 0 || movingHere()) return;
  asleep = true;
  asleepSinceNs = nowNs();
  awakeTotalNs += asleepSinceNs - awakeSinceNs;
  setOwnFlag(FLAG_ASLEEP, true);
  unchecked(loadStats[LOAD_STAT_SLEEPS]++);
  report(EVENT_PROCESSOR_ASLEEP, 0, 0xFFFF_FFFF, asleepSinceNs, 0);
}

export function loadStat(key: u32): u64 {
  if (key == LOAD_STAT_UTILISATION_PERMILLE) return utilisationPermille;
  if (key == LOAD_STAT_AWAKE_NS) return awakeTotalNs + (asleep ? 0 : nowNs() - awakeSinceNs);
  if (key == LOAD_STAT_ASLEEP) return asleep ? 1 : 0;
  if (key == LOAD_STAT_PEERS) {
    let n: u64 = 0;
    for (let peer: u32 = 0; peer < MAX_PEERS; peer++) if (unchecked(peerKnown[peer])) n++;
    return n;
  }
  return key < LOAD_STAT_COUNT ? unchecked(loadStats[key]) : 0;
}
