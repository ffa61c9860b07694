/**
 * The host's side of the health monitor (docs/health.md): it tells every member core the
 * board's protections, members and timing, then listens. Which copy takes over, when,
 * and from what state is the cores' decision; the host only records what they report
 * (CoreEvent) against the faults it injected, and reads the bounds they computed.
 */
import type { Board, BoardVm } from './board.js';
import { isProtected, protectionOrder } from './board.js';
import type { CoreRuntime } from './core-runtime.js';
import { BoardError, describeSbiError } from './errors.js';
import { CoreEvent, HealthStat, Protection, ProtectionStat } from './numbers.js';

const U64_MAX = 2n ** 64n - 1n;

/** One protected VM as the cores know it: protection id = its place among the board's protected VMs. */
export interface ProtectionPlan {
  id: number;
  vm: BoardVm;
  /** Processor ids: where it runs first, then its copies in failover order. */
  order: number[];
  policies: number;
  intervalNs: bigint;
}

const POLICY_BITS: Record<string, number> = {
  restart: Protection.restart, checkpoint: Protection.checkpoint, 'migrate-on-warning': Protection.migrateOnWarning,
};

export function protectionPlans(board: Board): ProtectionPlan[] {
  return board.vms.filter(isProtected).map((vm, id) => ({
    id,
    vm,
    order: protectionOrder(vm, board),
    policies: vm.protection!.policies.reduce((bits, policy) => bits | (POLICY_BITS[policy] ?? 0), 0),
    intervalNs: BigInt(vm.protection!.checkpointIntervalNs ?? 0),
  }));
}

/** Every member learns every protection: it grants their leases whether or not it holds a copy. */
export function declareProtections(core: CoreRuntime, plans: readonly ProtectionPlan[], processor: number, boardPath: string): void {
  for (const plan of plans) {
    const at = `board ${boardPath}: /vms/${plan.vm.index}/protection`;
    refuseUnless(core.healthProtect(plan.id, plan.policies, plan.intervalNs), at, `healthProtect(${plan.id}) on processor ${processor}`);
    for (const id of plan.order) refuseUnless(core.healthAddProcessor(plan.id, id), at, `healthAddProcessor(${plan.id}, ${id}) on processor ${processor}`);
  }
}

export interface HealthCore {
  id: number;
  core: CoreRuntime;
}

/** What the members agreed on at the start: the timing in use and each protection's bounds. */
export interface HealthSetup {
  heartbeatNs: bigint;
  suspectNs: bigint;
  minimumSuspectNs: bigint;
  worstTripNs: bigint;
  protections: ProtectionBounds[];
}

export interface ProtectionBounds {
  id: number;
  vm: string;
  order: number[];
  policies: string[];
  /** The worst over the processors that may take it over. */
  interruptionBoundNs: bigint;
  takeoverBoundNs: bigint;
  /** Undefined: not bounded (a restart loses everything). */
  lostWorkBoundNs?: bigint;
}

/**
 * Starts the health monitor on every member: each member's worst heartbeat trip (its core
 * computes it) goes to all, then health-configure. Without a suspect time the host asks
 * for the shortest the links allow and adds two heartbeat periods.
 */
export function startHealth(board: Board, cores: readonly HealthCore[], plans: readonly ProtectionPlan[]): HealthSetup {
  const health = board.health!;
  const members = cores.filter((slot) => health.members.includes(slot.id));
  const trips = members.map((slot) => ({ id: slot.id, tripNs: slot.core.healthWorstTrip() }));
  for (const slot of members) {
    for (const { id, tripNs } of trips) {
      refuseUnless(slot.core.healthAddMember(id, tripNs), `board ${board.path}: /health/members`, `healthAddMember(${id}) on processor ${slot.id}`);
    }
  }
  const heartbeatNs = BigInt(health.heartbeatNs);
  let suspectNs = health.suspectNs === undefined ? undefined : BigInt(health.suspectNs);
  if (suspectNs === undefined) {
    const first = members[0]!.core;
    first.healthConfigure(heartbeatNs, 0n); // refused: it says what the links allow
    suspectNs = first.healthStat(HealthStat.minimumSuspectNs) + 2n * heartbeatNs;
  }
  for (const slot of members) {
    if (slot.core.healthConfigure(heartbeatNs, suspectNs) !== 0) throw configureRefusal(board, slot);
  }
  const first = members[0]!.core;
  return {
    heartbeatNs, suspectNs,
    minimumSuspectNs: first.healthStat(HealthStat.minimumSuspectNs),
    worstTripNs: first.healthStat(HealthStat.worstTripNs),
    protections: plans.map((plan) => boundsOf(plan, cores)),
  };
}

/**
 * A repaired member joins again: it learns every member's worst heartbeat trip (its own
 * from its new core, the others' from theirs) and starts with the timing the board runs
 * with. Its core starts a new incarnation (docs/health.md): it grants nothing for a lease
 * time and holds no copy until a holder replicates to it.
 */
export function rejoinHealth(board: Board, repaired: HealthCore, cores: readonly HealthCore[], setup: HealthSetup): void {
  const health = board.health!;
  for (const slot of cores.filter((candidate) => health.members.includes(candidate.id))) {
    const tripNs = slot.core.healthWorstTrip();
    refuseUnless(repaired.core.healthAddMember(slot.id, tripNs), `board ${board.path}: /health/members`, `healthAddMember(${slot.id}) on repaired processor ${repaired.id}`);
  }
  if (repaired.core.healthConfigure(setup.heartbeatNs, setup.suspectNs) !== 0) throw configureRefusal(board, repaired);
}

function configureRefusal(board: Board, slot: HealthCore): BoardError {
  const core = slot.core;
  const why = Number(core.healthStat(HealthStat.refusal));
  const other = core.healthStat(HealthStat.refusalProcessor);
  const at = `board ${board.path}`;
  switch (why) {
    case 1: return new BoardError(`${at}: /health/members: processor ${slot.id} is not a member`);
    case 2: return new BoardError(`${at}: /health/members: processors ${slot.id} and ${other} are members but have no link that carries a heartbeat: every two members need one`);
    case 3: {
      const minimum = core.healthStat(HealthStat.minimumSuspectNs);
      return new BoardError(`${at}: /health/suspect: must be at least ${minimum} ns (heartbeat period + quantum + the slowest heartbeat trip of the links), not ${core.healthStat(HealthStat.suspectNs)} ns`);
    }
    case 4: return new BoardError(`${at}: /health/heartbeat: must be longer than 0`);
    case 5: return new BoardError(`${at}: processor ${other} takes part in a protection but is not a member (/health/members)`);
    default: return new BoardError(`${at}: processor ${slot.id} refused to start its health monitor (reason ${why})`);
  }
}

function boundsOf(plan: ProtectionPlan, cores: readonly HealthCore[]): ProtectionBounds {
  const stat = (id: number, key: number): bigint => cores.find((slot) => slot.id === id)!.core.healthProtectionStat(plan.id, key);
  const copies = plan.order.slice(1);
  const max = (key: number): bigint => copies.reduce((worst, id) => (stat(id, key) > worst ? stat(id, key) : worst), 0n);
  const lostWork = stat(plan.order[0]!, ProtectionStat.lostWorkBoundNs);
  const bounds: ProtectionBounds = {
    id: plan.id, vm: plan.vm.name, order: plan.order, policies: [...plan.vm.protection!.policies],
    interruptionBoundNs: max(ProtectionStat.interruptionBoundNs),
    takeoverBoundNs: max(ProtectionStat.takeoverBoundNs),
  };
  if (lostWork !== U64_MAX) bounds.lostWorkBoundNs = lostWork;
  return bounds;
}

function refuseUnless(result: number, at: string, call: string): void {
  if (result !== 0) throw new BoardError(`${at}: the core refused ${call}: ${describeSbiError(result)}`);
}

// ---- what happened --------------------------------------------------------------------------

/** One copy taking over, as the cores reported it. */
export interface FailoverRecord {
  protection: number;
  vm: string;
  /** The processor that took over, and its lease term. */
  processor: number;
  term: bigint;
  activatedNs: bigint;
  /** Board time of the state it resumed from: an epoch's capture; undefined for a restart from the image. */
  resumedFromNs?: bigint;
  /** The copy's first instruction (undefined: it never ran before the run ended). */
  firstRunNs?: bigint;
}

export interface HealthEventLog {
  failovers: FailoverRecord[];
  /** Processor suspicions: who suspected whom, when. */
  suspicions: { by: number; processor: number; atNs: bigint; lastHeardNs: bigint }[];
  trusts: { by: number; processor: number; atNs: bigint }[];
  fenced: { protection: number; processor: number; atNs: bigint; term: bigint }[];
  paused: { protection: number; processor: number; atNs: bigint }[];
  resumed: { protection: number; processor: number; atNs: bigint }[];
  handovers: { protection: number; from: number; to: number; atNs: bigint }[];
  warningMoves: { protection: number; processor: number; atNs: bigint; migration: number; reason: number }[];
  /** Epochs each protection's backups applied (by protection id). */
  epochsCommitted: Record<number, number>;
  protectionLost: { protection: number; processor: number; atNs: bigint; reason: number }[];
  /** Backups a holder chose (its epochs go there from then on), and the epochs they applied, in time order. */
  backupsChosen: { protection: number; processor: number; atNs: bigint; backup: number; session: bigint }[];
  epochs: { protection: number; processor: number; atNs: bigint; epoch: number; capturedNs: bigint }[];
  /** Every migration's blackout at its source (its downtime bound then), and its first run at its destination (the downtime measured there): a move on a warning's interruption. */
  blackouts: { processor: number; migration: number; boundNs: bigint }[];
  migrationFirstRuns: { processor: number; migration: number; downtimeNs: bigint }[];
}

export function newHealthEventLog(): HealthEventLog {
  return {
    failovers: [], suspicions: [], trusts: [], fenced: [], paused: [], resumed: [], handovers: [], warningMoves: [],
    epochsCommitted: {}, protectionLost: [], backupsChosen: [], epochs: [], blackouts: [], migrationFirstRuns: [],
  };
}

/** Records a core's health event (anything else is ignored). */
export function recordHealthEvent(log: HealthEventLog, plans: readonly ProtectionPlan[], processor: number, kind: number, id: number, atNs: bigint, a: bigint, b: bigint): void {
  const vm = (): string => plans[id]?.vm.name ?? `protection ${id}`;
  switch (kind) {
    case CoreEvent.processorSuspected: log.suspicions.push({ by: processor, processor: id, atNs, lastHeardNs: a }); return;
    case CoreEvent.processorTrusted: log.trusts.push({ by: processor, processor: id, atNs }); return;
    case CoreEvent.failoverActivated: {
      const record: FailoverRecord = { protection: id, vm: vm(), processor, term: a, activatedNs: atNs };
      if (b !== 0n) record.resumedFromNs = b;
      log.failovers.push(record);
      return;
    }
    case CoreEvent.failoverFirstRun: {
      const record = [...log.failovers].reverse().find((f) => f.protection === id && f.processor === processor && f.firstRunNs === undefined);
      if (record !== undefined) record.firstRunNs = a;
      return;
    }
    case CoreEvent.vmFenced: log.fenced.push({ protection: id, processor, atNs, term: a }); return;
    case CoreEvent.vmPaused: log.paused.push({ protection: id, processor, atNs }); return;
    case CoreEvent.vmResumed: log.resumed.push({ protection: id, processor, atNs }); return;
    case CoreEvent.handover: log.handovers.push({ protection: id, from: processor, to: Number(a), atNs }); return;
    case CoreEvent.warningMigration: log.warningMoves.push({ protection: id, processor, atNs, migration: Number(a), reason: Number(b) }); return;
    case CoreEvent.epochCommitted:
      log.epochsCommitted[id] = (log.epochsCommitted[id] ?? 0) + 1;
      log.epochs.push({ protection: id, processor, atNs, epoch: Number(a), capturedNs: b });
      return;
    case CoreEvent.backupChosen: log.backupsChosen.push({ protection: id, processor, atNs, backup: Number(a), session: b }); return;
    case CoreEvent.protectionLost: log.protectionLost.push({ protection: id, processor, atNs, reason: Number(a) }); return;
    case CoreEvent.migrationBlackout: log.blackouts.push({ processor, migration: id, boundNs: b }); return;
    case CoreEvent.migrationFirstRun: log.migrationFirstRuns.push({ processor, migration: id, downtimeNs: a }); return;
  }
}

/** A failover measured against what caused it: the fault of the processor that ran the VM before. */
export interface FailoverMeasure {
  failover: FailoverRecord;
  /** The processor that ran it before. */
  from: number;
  /** 'handover' for a move on a warning (the migration's downtime is its interruption). */
  cause: string;
  causeNs?: bigint;
  /** From the fault to the copy's first instruction; for a handover, the migration's downtime. */
  interruptionNs?: bigint;
  /** A handover's: the downtime bound its migration had when the VM stopped. */
  moveBoundNs?: bigint;
  /** From the state it resumed to the fault: what the VM does again. */
  lostWorkNs?: bigint;
}

/** The faults that can end a processor's run of a VM (host/faults.ts kinds). */
const STOPPING_FAULTS = new Set(['fail', 'fail-after-warning', 'hang', 'partition']);

export function measureFailovers(
  setup: HealthSetup, log: HealthEventLog, faults: readonly { atNs: bigint; kind: string; processor?: number }[],
): FailoverMeasure[] {
  return log.failovers.map((failover, index) => {
    const earlier = log.failovers.slice(0, index).filter((f) => f.protection === failover.protection).pop();
    const from = earlier?.processor ?? setup.protections.find((p) => p.id === failover.protection)!.order[0]!;
    const handover = log.handovers.find((h) => h.protection === failover.protection && h.from === from && h.to === failover.processor && h.atNs <= failover.activatedNs);
    if (handover !== undefined && failover.resumedFromNs === undefined) return { failover, from, cause: 'handover', causeNs: handover.atNs, ...moveDowntime(log, failover, from) };
    const fault = [...faults].reverse().find((f) => STOPPING_FAULTS.has(f.kind) && f.atNs <= failover.activatedNs && (f.processor === from || f.kind === 'partition'));
    const measure: FailoverMeasure = { failover, from, cause: fault?.kind ?? 'unknown' };
    if (fault === undefined) return measure;
    measure.causeNs = fault.atNs;
    if (failover.firstRunNs !== undefined) measure.interruptionNs = failover.firstRunNs - fault.atNs;
    if (failover.resumedFromNs !== undefined) measure.lostWorkNs = fault.atNs - failover.resumedFromNs;
    return measure;
  });
}

/** A move on a warning's downtime and bound: its migration (warningMigration names it) from `from` to the failover's processor. */
function moveDowntime(log: HealthEventLog, failover: FailoverRecord, from: number): Pick<FailoverMeasure, 'interruptionNs' | 'moveBoundNs'> {
  const move = [...log.warningMoves].reverse().find((m) => m.protection === failover.protection && m.processor === from && m.migration !== 0 && m.atNs <= failover.activatedNs);
  if (move === undefined) return {};
  const blackout = log.blackouts.find((b) => b.processor === from && b.migration === move.migration);
  const firstRun = log.migrationFirstRuns.find((r) => r.processor === failover.processor && r.migration === move.migration);
  return { ...(firstRun === undefined ? {} : { interruptionNs: firstRun.downtimeNs }), ...(blackout === undefined ? {} : { moveBoundNs: blackout.boundNs }) };
}
