/**
 * The per-trial oracle: what a trial's run says happened, as a campaign record's body and
 * one outcome class (docs/campaigns.md, "The oracle"). It reads only what the run
 * reported — the faults the host injected, the cores' health events (suspicions,
 * failovers and the bounds they computed), the host's double-active watch, the VMs' exits
 * and consoles — and the golden run of the same scenario. It decides nothing the cores
 * decide; it classifies.
 */
import type { Board } from '../board.js';
import type { BoardRunResult } from '../board-runner.js';
import type { InjectedFault } from '../faults.js';
import { measureFailovers } from '../health.js';
import type { FailoverMeasure, HealthEventLog, ProtectionBounds } from '../health.js';
import type {
  Detection, Failover, FailoverPolicy, Fault, FaultKind, Outcome, SystemFailureCause, TimelineEntry, UncoveredReason,
} from '../reliability/campaign-records.js';

/** What the golden run (the scenario with no drawn faults) printed and missed, per VM. */
export interface GoldenRun {
  lines: Map<string, Set<string>>;
  deadlineMisses: Map<string, number>;
  failedVms: Set<string>;
}

/** The record's body: everything but trial, seed, campaign, horizon and rates. */
export interface TrialVerdict {
  outcome: Outcome;
  systemFailure: { atNs: number; cause: SystemFailureCause; vm?: string; processor?: number } | null;
  faults: Fault[];
  detections: Detection[];
  failovers: Failover[];
  deadlineMisses: number;
  channels: { sent: number; received: number; lost: number; duplicated: number };
  controlErrorPeak: number | null;
  timeline: TimelineEntry[];
}

/** The contract's cap on a record's timeline. */
const MAX_TIMELINE = 1000;

const n = (value: bigint): number => Number(value);
const nOrNull = (value: bigint | undefined): number | null => (value === undefined ? null : Number(value));

/** Complete console lines of each VM (a last line without its newline is left out: it may be cut by the horizon). */
export function consoleLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop();
  return lines;
}

export function goldenOf(result: BoardRunResult, consoles: Map<string, string>): GoldenRun {
  return {
    lines: new Map([...consoles].map(([vm, text]) => [vm, new Set(consoleLines(text))])),
    deadlineMisses: new Map(result.vms.map((vm) => [vm.name, n(vm.stats.deadlineMisses)])),
    failedVms: new Set(result.vms.filter((vm) => (vm.outcome?.exitStatus ?? 0) !== 0).map((vm) => vm.name)),
  };
}

/** A host fault as the record names it (kinds of docs/campaign-records.md). */
function faultOfInjected(fault: InjectedFault, leadOf: (processor: number, atNs: bigint) => bigint | undefined): Fault | undefined {
  const at = n(fault.atNs);
  const base = (kind: FaultKind): Fault => ({ kind, atNs: at, ...(fault.processor === undefined ? {} : { processor: fault.processor }), ...(fault.detail === undefined ? {} : { detail: fault.detail }) });
  switch (fault.kind) {
    case 'fail': case 'fail-after-warning': return base('fail-stop');
    case 'hang': return base('hang');
    case 'warning': {
      const lead = leadOf(fault.processor!, fault.atNs);
      return { ...base('warning'), ...(lead === undefined ? {} : { leadNs: n(lead) }) };
    }
    case 'partition': return base('partition');
    case 'slow': return base('bandwidth');
    case 'flip-ram': return base('bit-flip-ram');
    case 'flip-register': return base('bit-flip-register');
    case 'flip-frame': return base('bit-flip-frame');
    default: return undefined; // ends of transient faults: their start carries untilNs
  }
}

export interface OracleInput {
  board: Board;
  result: BoardRunResult;
  consoles: Map<string, string>;
  golden: GoldenRun;
  horizonNs: bigint;
  /** The link fault probabilities the trial ran with (each is a fault of its own kind over the whole trial). */
  linkRates: { drop?: number; corrupt?: number; duplicate?: number; reorder?: number };
  /** The warnings' lead times, by processor and time (the injector records their text only). */
  warningLeads: { processor: number; atNs: bigint; leadNs: bigint }[];
  /** The trial hit its step budget before its horizon. */
  timedOut: boolean;
}

/** Classifies a trial that ran (a crash never gets here: the trial runner records it). */
export function judgeTrial(input: OracleInput): TrialVerdict {
  const { result, horizonNs } = input;
  const horizon = n(horizonNs);
  const applied = result.faults.filter((fault) => fault.skipped === undefined);
  const faults = recordFaults(applied, input);
  const detections = recordDetections(result, applied);
  const { failovers, lost } = recordFailovers(input, applied);
  const channels = channelTotals(result);
  const timeline: TimelineEntry[] = [];
  for (const fault of faults) timeline.push({ atNs: fault.atNs, event: 'fault', detail: `${fault.kind}${fault.processor === undefined ? '' : ` processor ${fault.processor}`}${typeof fault.detail === 'string' ? ` (${fault.detail})` : ''}`.slice(0, 200), ...(fault.processor === undefined ? {} : { processor: fault.processor }) });
  for (const repair of applied.filter((fault) => fault.kind === 'repair')) timeline.push({ atNs: n(repair.atNs), event: 'repair', detail: `processor ${repair.processor!} repaired`, processor: repair.processor! });
  for (const detection of detections) timeline.push({ atNs: detection.atNs, event: 'detection', detail: `processor ${detection.by} suspects ${detection.processor}${detection.false ? ' (false)' : ''}`, processor: detection.processor });
  for (const failover of failovers) {
    const atNs = failover.faultAtNs + (failover.interruptionNs ?? 0);
    timeline.push({ atNs: Math.min(atNs, horizon), event: 'failover', detail: `${failover.vm} ${failover.from} -> ${failover.to ?? 'nowhere'} (${failover.policy}${failover.covered ? '' : `, ${failover.reason}`})`, vm: failover.vm });
  }

  const failures: NonNullable<TrialVerdict['systemFailure']>[] = [];
  for (const found of result.doubleActive) failures.push({ atNs: n(found.atNs), cause: 'double-active', vm: found.vm, processor: found.processors[0]! });
  for (const loss of lost) failures.push({ atNs: loss.atNs, cause: 'vm-lost', vm: loss.vm, ...(loss.processor === undefined ? {} : { processor: loss.processor }) });
  for (const failover of failovers.filter((f) => !f.covered && f.reason !== 'no-survivor' && f.reason !== 'not-restored')) {
    const cause: SystemFailureCause = failover.reason === 'over-lost-work-bound' ? 'lost-work' : 'interruption';
    const bound = cause === 'lost-work' ? 0 : failover.interruptionBoundNs ?? 0;
    failures.push({ atNs: Math.min(horizon, failover.faultAtNs + bound), cause, vm: failover.vm, processor: failover.from });
  }
  const corrupted = corruptedVms(input, applied);
  for (const vm of corrupted) failures.push({ atNs: vm.atNs, cause: 'silent-corruption', vm: vm.name });
  if (input.timedOut) failures.push({ atNs: n(result.endNs), cause: 'timeout' });
  failures.sort((a, b) => a.atNs - b.atNs);
  const systemFailure = failures[0] ?? null;
  if (systemFailure !== null) timeline.push({ atNs: systemFailure.atNs, event: 'system-failure', detail: `${systemFailure.cause}${systemFailure.vm === undefined ? '' : ` ${systemFailure.vm}`}`, ...(systemFailure.vm === undefined ? {} : { vm: systemFailure.vm }) });
  timeline.sort((a, b) => a.atNs - b.atNs);

  const excessMisses = excessDeadlineMisses(input, failovers);
  const outcome = outcomeOf({
    timedOut: input.timedOut,
    doubleActive: result.doubleActive.length > 0,
    vmLost: lost.some((loss) => loss.copySurvived),
    corrupted: corrupted.length > 0,
    degraded: lost.length > 0 || failovers.some((f) => !f.covered) || excessMisses > 0,
    detected: detectedSomething(input, applied),
  });
  return {
    outcome,
    systemFailure,
    faults,
    detections,
    failovers,
    deadlineMisses: result.vms.reduce((sum, vm) => sum + n(vm.stats.deadlineMisses), 0),
    channels,
    controlErrorPeak: controlErrorPeak(result),
    timeline: timeline.slice(0, MAX_TIMELINE),
  };
}

function outcomeOf(seen: { timedOut: boolean; doubleActive: boolean; vmLost: boolean; corrupted: boolean; degraded: boolean; detected: boolean }): Outcome {
  if (seen.timedOut) return 'timeout';
  if (seen.doubleActive) return 'double-active';
  if (seen.vmLost) return 'vm-lost';
  if (seen.corrupted) return 'silent-corruption';
  if (seen.degraded) return 'degraded';
  if (seen.detected) return 'detected';
  return 'ok';
}

function recordFaults(applied: readonly InjectedFault[], input: OracleInput): Fault[] {
  const horizon = n(input.horizonNs);
  const at = (fault: InjectedFault): number => n(fault.atNs);
  const leadOf = (processor: number, atNs: bigint): bigint | undefined => input.warningLeads.find((w) => w.processor === processor && w.atNs === atNs)?.leadNs;
  const faults: Fault[] = [];
  for (const fault of applied) {
    const recorded = faultOfInjected(fault, leadOf);
    if (recorded === undefined) continue;
    // A transient fault's detail says how long it lasts ("for N ns"); its end is a fault record of its own in the run.
    const lasting = /for (\d+) ns/.exec(fault.detail ?? '');
    if (lasting !== null && (fault.kind === 'hang' || fault.kind === 'partition' || fault.kind === 'slow')) recorded.untilNs = Math.min(horizon, at(fault) + Number(lasting[1]));
    // A fail-stop lasts until its processor's repair.
    const repair = isFailStop(fault) ? repairAfter(applied, fault.processor!, fault.atNs) : undefined;
    if (repair !== undefined) recorded.untilNs = at(repair);
    faults.push(recorded);
  }
  for (const [kind, probability] of Object.entries(input.linkRates)) {
    if (probability === undefined || probability <= 0) continue;
    faults.push({ kind: `link-${kind}` as FaultKind, atNs: 0, untilNs: horizon, probability });
  }
  return faults;
}

/** The faults that stop a processor answering (what a suspicion of it can be right about). */
const SILENCING = new Set(['fail', 'fail-after-warning', 'hang', 'partition']);

function recordDetections(result: BoardRunResult, applied: readonly InjectedFault[]): Detection[] {
  const suspicions = result.health?.events.suspicions ?? [];
  return suspicions.map((suspicion) => {
    const cause = [...applied].reverse().find((fault) => SILENCING.has(fault.kind) && fault.atNs <= suspicion.atNs
      && (fault.kind === 'partition' ? partitionSeparates(fault, suspicion.by, suspicion.processor) : fault.processor === suspicion.processor));
    // A repaired processor detects from its new life's start what failed before it.
    const watchingSince = [...applied].reverse().find((fault) => fault.kind === 'repair' && fault.processor === suspicion.by && fault.atNs <= suspicion.atNs)?.atNs ?? 0n;
    const fromNs = cause === undefined ? undefined : cause.atNs > watchingSince ? cause.atNs : watchingSince;
    return {
      processor: suspicion.processor, by: suspicion.by, atNs: n(suspicion.atNs),
      latencyNs: fromNs === undefined ? null : n(suspicion.atNs - fromNs), false: cause === undefined,
    };
  });
}

function isFailStop(fault: InjectedFault): boolean {
  return fault.kind === 'fail' || fault.kind === 'fail-after-warning';
}

/** A fault that takes a processor out with what runs on it: a fail-stop or a hang. */
function stopsProcessor(fault: InjectedFault): boolean {
  return isFailStop(fault) || fault.kind === 'hang';
}

/** The repair of `processor` that ended its fail-stop at `failNs`, if it came. */
function repairAfter(applied: readonly InjectedFault[], processor: number, failNs: bigint): InjectedFault | undefined {
  return applied.find((fault) => fault.kind === 'repair' && fault.processor === processor && fault.atNs >= failNs);
}

/** Did `processor` fail-stop at or after `sinceNs` (its state, copies included, gone, even if it was repaired)? */
function failedSince(applied: readonly InjectedFault[], processor: number, sinceNs: bigint): boolean {
  return applied.some((fault) => isFailStop(fault) && fault.processor === processor && fault.atNs >= sinceNs);
}

/** The partition's groups are in its detail "{0,1} | {2,3}: …"; it separates a and b if they sit in different groups. */
function partitionSeparates(fault: InjectedFault, a: number, b: number): boolean {
  const groups = (fault.detail ?? '').split(':')[0]!.split('|').map((text) => text.replace(/[{}\s]/g, '').split(',').filter((id) => id !== '').map(Number));
  const groupOf = (id: number): number => groups.findIndex((members) => members.includes(id));
  return groupOf(a) >= 0 && groupOf(b) >= 0 && groupOf(a) !== groupOf(b);
}

interface Loss { vm: string; atNs: number; processor?: number; copySurvived: boolean }

/** Which processors are out of service at the end: failed, or hung for good (a hang with no end). */
function outOfService(result: BoardRunResult, applied: readonly InjectedFault[]): Set<number> {
  const out = new Set(result.failedProcessors);
  for (const [index, fault] of applied.entries()) {
    if (fault.kind !== 'hang') continue;
    if (!applied.slice(index + 1).some((later) => later.kind === 'hang-end' && later.processor === fault.processor)) out.add(fault.processor!);
  }
  return out;
}

/**
 * The stop that took `processor` out with the VM on it, which it held from `sinceNs`: its
 * last — before the first repair after `sinceNs`, if it was repaired (the VM was lost with
 * that life). An earlier hang it woke from may have moved the VM away and a takeover
 * brought it back (a campaign's trial judged such a VM against the first hang and called
 * it lost with a complete copy).
 */
function stopOf(applied: readonly InjectedFault[], processor: number, sinceNs: bigint): InjectedFault | undefined {
  const repairNs = applied.find((fault) => fault.kind === 'repair' && fault.processor === processor && fault.atNs > sinceNs)?.atNs;
  return applied.filter((fault) => stopsProcessor(fault) && fault.processor === processor
    && (repairNs === undefined || fault.atNs <= repairNs)).pop();
}

function policyOf(measure: FailoverMeasure): FailoverPolicy {
  if (measure.cause === 'handover') return 'migrate-on-warning';
  return measure.failover.resumedFromNs === undefined ? 'restart' : 'checkpoint';
}

/**
 * The fault kind and time a failover answers. The processor that ran the VM stopping
 * (fail-stop, hang) is the cause when it did, even if a partition came between (the
 * partition only delayed the takeover); else a partition that cut it off. A fail-stop
 * after a warning is the warning's (the contract).
 */
function causeOf(measure: FailoverMeasure, applied: readonly InjectedFault[], heldSinceNs: bigint, paused: HealthEventLog['paused']): Cause | undefined {
  const before = measure.failover.activatedNs;
  const warningBefore = (processor: number, atNs: bigint): InjectedFault | undefined => [...applied].reverse().find((fault) => fault.kind === 'warning' && fault.processor === processor && fault.atNs <= atNs);
  if (measure.cause === 'handover') {
    const warning = warningBefore(measure.from, measure.causeNs ?? before);
    return warning === undefined ? undefined : { fault: 'warning', atNs: warning.atNs, stopNs: measure.causeNs ?? before };
  }
  // Its latest stop while it held the VM: a processor repaired since an earlier fail-stop may have held it again.
  const stop = [...applied].reverse().find((fault) => stopsProcessor(fault) && fault.processor === measure.from
    && fault.atNs <= before && fault.atNs >= heldSinceNs
    && !applied.some((end) => end.kind === 'hang-end' && end.processor === fault.processor && end.atNs > fault.atNs && end.atNs <= before && fault.kind === 'hang'));
  if (stop !== undefined) {
    if (stop.kind === 'fail-after-warning') {
      const warning = warningBefore(measure.from, stop.atNs);
      if (warning !== undefined) return { fault: 'warning', atNs: warning.atNs, stopNs: stop.atNs };
    }
    return { fault: stop.kind === 'hang' ? 'hang' : 'fail-stop', atNs: stop.atNs, stopNs: stop.atNs };
  }
  const partition = [...applied].reverse().find((fault) => fault.kind === 'partition' && fault.atNs <= before);
  if (partition === undefined) return undefined;
  // Cut off, the holder ran on (its backup may have been on its side) until its lease ran out and it paused.
  const pause = paused.find((p) => p.protection === measure.failover.protection && p.processor === measure.from && p.atNs >= partition.atNs && p.atNs <= before);
  return { fault: 'partition', atNs: partition.atNs, stopNs: partition.atNs, lastRunNs: pause?.atNs ?? partition.atNs };
}

/** A failover's cause: the fault (kind, time) as the record names it, and when the VM stopped running because of it. */
interface Cause {
  fault: FaultKind;
  atNs: bigint;
  /** The failure itself: for a warning, the fail-stop `lead` later — the VM ran until then. */
  stopNs: bigint;
  /** When the VM last ran there (the work it did until then can be lost): the stop, or — cut off by a partition — the holder's pause. */
  lastRunNs?: bigint;
}

/** Every failover the cores reported, measured against its bounds, and every VM lost. */
function recordFailovers(input: OracleInput, applied: readonly InjectedFault[]): { failovers: Failover[]; lost: Loss[] } {
  const { result, horizonNs } = input;
  const failovers: Failover[] = [];
  const health = result.health;
  const bounds = (vm: string): ProtectionBounds | undefined => health?.setup.protections.find((p) => p.vm === vm);
  if (health !== undefined) {
    for (const measure of measureFailovers(health.setup, health.events, applied)) {
      const protection = bounds(measure.failover.vm)!;
      const cause = causeOf(measure, applied, holdingSince(input, protection, measure.from, measure.failover.activatedNs - 1n), health.events.paused);
      if (cause === undefined) continue; // a takeover with no fault behind it: the timeline shows it
      failovers.push(measuredFailover(measure, cause, protection, horizonNs));
    }
  }
  const out = outOfService(result, applied);
  const lost: Loss[] = [];
  for (const vm of result.vms) {
    if (vm.state !== 'lost' && !out.has(vm.processor)) continue;
    const protection = bounds(vm.name);
    const stop = stopOf(applied, vm.processor, protection === undefined ? 0n : holdingSince(input, protection, vm.processor, result.endNs));
    const atNs = n(stop?.atNs ?? result.endNs);
    if (protection === undefined) { lost.push({ vm: vm.name, atNs, processor: vm.processor, copySurvived: false }); continue; }
    // A paused copy elsewhere that ran on when its lease came back (vmResumed) holds the VM, wherever the host last saw it.
    const holder = finalHolder(input, protection);
    if (holder !== undefined && !out.has(holder)) continue;
    // Not yet restored, but the trial ended within the bound after the fault: censored, not a loss.
    if (BigInt(atNs) + protection.interruptionBoundNs > horizonNs) continue;
    const copySurvived = completeCopySurvived(input, applied, protection, vm.processor, BigInt(atNs), out);
    lost.push({ vm: vm.name, atNs, processor: vm.processor, copySurvived });
    const stopKind = stop?.kind === 'hang' ? 'hang' : stop?.kind === 'fail-after-warning' ? 'warning' : 'fail-stop';
    failovers.push({
      vm: vm.name, from: vm.processor, to: null, policy: protection.policies.includes('checkpoint') ? 'checkpoint' : protection.policies.includes('restart') ? 'restart' : 'migrate-on-warning',
      fault: stopKind, faultAtNs: atNs, interruptionNs: null, interruptionBoundNs: n(protection.interruptionBoundNs),
      lostWorkNs: null, lostWorkBoundNs: protection.lostWorkBoundNs === undefined ? null : n(protection.lostWorkBoundNs),
      covered: false, reason: copySurvived ? 'not-restored' : 'no-survivor',
    });
  }
  return { failovers, lost };
}

/** The processor the cores last said holds the protection (taking it over or resuming it there), undefined if none did. */
function finalHolder(input: OracleInput, protection: ProtectionBounds): number | undefined {
  const events = input.result.health?.events;
  if (events === undefined) return undefined;
  const holdings = [
    ...events.failovers.filter((f) => f.protection === protection.id).map((f) => ({ atNs: f.activatedNs, processor: f.processor })),
    ...events.resumed.filter((r) => r.protection === protection.id).map((r) => ({ atNs: r.atNs, processor: r.processor })),
  ].sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
  const last = holdings.pop();
  if (last === undefined) return undefined;
  const fencedSince = events.fenced.some((f) => f.protection === protection.id && f.processor === last.processor && f.atNs >= last.atNs);
  return fencedSince ? undefined : last.processor;
}

/** When `holder` last began to hold the protection: the board's start for its first processor, else its latest takeover. */
function holdingSince(input: OracleInput, protection: ProtectionBounds, holder: number, beforeNs: bigint): bigint {
  const takeovers = (input.result.health?.events.failovers ?? []).filter((f) => f.protection === protection.id && f.processor === holder && f.activatedNs <= beforeNs);
  return takeovers.pop()?.activatedNs ?? 0n;
}

/**
 * Did a complete copy of the VM survive its holder's stop, with a quorum to hand it the
 * lease in time? A restart's copy is its image, always complete. A replica is complete if
 * the backup the holder last chose while it held the VM (and had not lost since, the cores'
 * backupChosen and protectionLost) applied an epoch of that session before the stop. The copy's processor
 * and a quorum of members must still be up at the end, and no partition may have been
 * under way in the last interruption bound before the horizon (it may hold the takeover up
 * legitimately: the trial ended too soon to tell).
 */
function completeCopySurvived(input: OracleInput, applied: readonly InjectedFault[], protection: ProtectionBounds, holder: number, stopNs: bigint, out: ReadonlySet<number>): boolean {
  const events = input.result.health?.events;
  const regainedNs = quorumUpNs(input, applied, stopNs, protection.interruptionBoundNs);
  const quorum = regainedNs !== undefined && regainedNs + protection.interruptionBoundNs <= input.horizonNs;
  const latestCut = input.result.faults.filter((fault) => fault.kind === 'partition' && fault.skipped === undefined)
    .map((fault) => fault.atNs + BigInt(/for (\d+) ns/.exec(fault.detail ?? '')?.[1] ?? '0'))
    .reduce((latest, endNs) => (endNs > latest ? endNs : latest), 0n);
  const partitionLate = latestCut + protection.interruptionBoundNs > input.horizonNs;
  if (!quorum || partitionLate || events === undefined) return false;
  // A fail-stop wipes a processor's copy for good: a repaired one holds none until a holder replicates to it again.
  const copies = protection.order.filter((id) => id !== holder && !out.has(id) && !failedSince(applied, id, 0n));
  if (protection.policies.includes('restart')) return copies.length > 0;
  if (!protection.policies.includes('checkpoint')) return false;
  const sinceNs = holdingSince(input, protection, holder, stopNs);
  const mine = (entry: { protection: number; processor: number; atNs: bigint }): boolean => entry.protection === protection.id && entry.processor === holder && entry.atNs <= stopNs && entry.atNs >= sinceNs;
  const chosen = events.backupsChosen.filter(mine).pop();
  const lost = events.protectionLost.filter(mine).pop();
  if (chosen === undefined || (lost !== undefined && lost.atNs >= chosen.atNs) || out.has(chosen.backup) || failedSince(applied, chosen.backup, chosen.atNs)) return false;
  return events.epochs.some((epoch) => mine(epoch) && epoch.atNs >= chosen.atNs);
}

/**
 * The first time from `fromNs` on from which a quorum of members stays up for `forNs` (a
 * takeover's bound): members not failed nor hung, a repaired one only a lease time after
 * its repair (its new life grants nothing before: docs/health.md). Undefined if none
 * comes before the end.
 */
function quorumUpNs(input: OracleInput, applied: readonly InjectedFault[], fromNs: bigint, forNs: bigint): bigint | undefined {
  const members = input.board.health?.members ?? [];
  const leaseNs = input.result.health?.setup.suspectNs ?? 0n;
  const down: { processor: number; fromNs: bigint; untilNs: bigint }[] = [];
  const never = input.horizonNs + 1n;
  for (const fault of applied) {
    if (isFailStop(fault)) {
      const repair = repairAfter(applied, fault.processor!, fault.atNs);
      down.push({ processor: fault.processor!, fromNs: fault.atNs, untilNs: repair === undefined ? never : repair.atNs + leaseNs });
    } else if (fault.kind === 'hang') {
      const end = applied.find((later) => later.kind === 'hang-end' && later.processor === fault.processor && later.atNs >= fault.atNs);
      down.push({ processor: fault.processor!, fromNs: fault.atNs, untilNs: end?.atNs ?? never });
    }
  }
  const upAt = (atNs: bigint): number[] => members.filter((id) => !down.some((d) => d.processor === id && d.fromNs <= atNs && atNs < d.untilNs));
  const candidates = [fromNs, ...down.map((d) => d.untilNs).filter((atNs) => atNs > fromNs && atNs <= input.horizonNs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // The up set changes only where a member goes down: check the start and every such moment in the window.
  const holds = (startNs: bigint): boolean => [startNs, ...down.map((d) => d.fromNs).filter((atNs) => atNs > startNs && atNs <= startNs + forNs)]
    .every((atNs) => isQuorumOf(upAt(atNs), members));
  return candidates.find(holds);
}

/** The health monitor's rule (health-monitor.ts isQuorum): more than half, or half with the member of the smallest id. */
function isQuorumOf(up: readonly number[], members: readonly number[]): boolean {
  return up.length * 2 > members.length || (up.length * 2 === members.length && up.includes(Math.min(...members)));
}

function measuredFailover(measure: FailoverMeasure, cause: Cause, protection: ProtectionBounds, horizonNs: bigint): Failover {
  const { failover } = measure;
  const policy = policyOf(measure);
  // A move on a warning is a live migration: its interruption is the downtime the destination
  // measured, against the bound the migration had when the VM stopped; it loses no work.
  const handover = policy === 'migrate-on-warning';
  // From the fault that stopped it: its processor's own stop when it had one (causeOf), not a later partition.
  const interruptionNs = handover ? nOrNull(measure.interruptionNs) : failover.firstRunNs === undefined ? null : n(failover.firstRunNs - cause.stopNs);
  const interruptionBoundNs = handover ? nOrNull(measure.moveBoundNs) : n(protection.interruptionBoundNs);
  const lostWorkNs = handover ? 0 : failover.resumedFromNs === undefined ? null : n((cause.lastRunNs ?? cause.stopNs) - failover.resumedFromNs);
  const lostWorkBoundNs = handover ? 0 : protection.lostWorkBoundNs === undefined ? null : n(protection.lostWorkBoundNs);
  let reason: UncoveredReason | undefined;
  if (failover.firstRunNs === undefined) {
    // It had not run again when the trial ended: over its bound only if the bound ran out before the end.
    if (!handover && cause.stopNs + protection.interruptionBoundNs < horizonNs) reason = 'over-interruption-bound';
  } else if (interruptionNs !== null && interruptionBoundNs !== null && interruptionNs > interruptionBoundNs) reason = 'over-interruption-bound';
  else if (lostWorkNs !== null && lostWorkBoundNs !== null && lostWorkNs > lostWorkBoundNs) reason = 'over-lost-work-bound';
  return {
    vm: failover.vm, from: measure.from, to: failover.processor, policy, fault: cause.fault, faultAtNs: n(cause.atNs),
    interruptionNs, interruptionBoundNs, lostWorkNs, lostWorkBoundNs, covered: reason === undefined, ...(reason === undefined ? {} : { reason }),
  };
}

/**
 * VMs whose output or state is wrong and that nothing in Ferry caught: a VM failed its own
 * check (a failing exit the golden run did not have, other than a trap — a trap is the
 * core catching the fault: memcheck's and the probes' checks end in SRST failure), or a
 * VM whose RAM or registers were flipped printed a line its golden run never printed.
 * Only flipped VMs are held to the golden run's lines: what a guest prints may follow its
 * timing (the probes' gaps, a receiver's messages), which processor and link faults
 * change legitimately; a flip changes nothing but the VM's state.
 */
function corruptedVms(input: OracleInput, applied: readonly InjectedFault[]): { name: string; atNs: number }[] {
  const found: { name: string; atNs: number }[] = [];
  const firstFlip = (vm: string): number | undefined => {
    const flip = applied.find((fault) => (fault.kind === 'flip-ram' || fault.kind === 'flip-register') && (fault.detail ?? '').startsWith(`${vm} `));
    return flip === undefined ? undefined : n(flip.atNs);
  };
  for (const vm of input.result.vms) {
    const flippedAtNs = firstFlip(vm.name);
    const golden = input.golden.lines.get(vm.name) ?? new Set<string>();
    const wrongLine = flippedAtNs !== undefined && consoleLines(input.consoles.get(vm.name) ?? '').some((line) => !golden.has(line));
    const failedCheck = (vm.outcome?.exitStatus ?? 0) !== 0 && vm.outcome?.reason !== 'fault' && !input.golden.failedVms.has(vm.name);
    if (wrongLine || failedCheck) found.push({ name: vm.name, atNs: flippedAtNs ?? n(input.result.endNs) });
  }
  return found;
}

/** A fault the system caught: a frame corrupted on the wire (its CRC drops it), or a VM the core stopped at a trap. */
function detectedSomething(input: OracleInput, applied: readonly InjectedFault[]): boolean {
  const corruptFrames = input.result.links.reduce((sum, link) => sum + link.framesCorrupted, 0);
  const flipped = applied.some((fault) => fault.kind.startsWith('flip-'));
  const trapped = input.result.vms.some((vm) => vm.outcome?.reason === 'fault' && !input.golden.failedVms.has(vm.name));
  return corruptFrames > 0 || (flipped && trapped);
}

/** Deadline misses beyond the golden run's, of VMs no failover interrupted (an interrupted VM answers to its bounds). */
function excessDeadlineMisses(input: OracleInput, failovers: readonly Failover[]): number {
  const interrupted = new Set(failovers.map((failover) => failover.vm));
  return input.result.vms.filter((vm) => !interrupted.has(vm.name) && vm.migratedFrom === undefined)
    .reduce((sum, vm) => sum + Math.max(0, n(vm.stats.deadlineMisses) - (input.golden.deadlineMisses.get(vm.name) ?? 0)), 0);
}

function channelTotals(result: BoardRunResult): TrialVerdict['channels'] {
  let sent = 0; let received = 0; let lost = 0; let duplicated = 0;
  for (const channel of result.channels) {
    sent += n(channel.sent);
    received += n(channel.delivered);
    duplicated += n(channel.duplicates);
    // A queuing channel promises every message: what is still undelivered at the end (in flight included).
    if (channel.kind === 'queuing') lost += n(channel.undelivered);
  }
  return { sent, received, lost, duplicated };
}

/** The largest control error a guest reported (report_metric, 1/1000 rad/s), in rad/s; null if none reported. */
function controlErrorPeak(result: BoardRunResult): number | null {
  const reporting = result.vms.filter((vm) => vm.stats.metricReports > 0n);
  if (reporting.length === 0) return null;
  return Math.max(...reporting.map((vm) => Math.abs(Number(BigInt.asIntN(64, vm.stats.metricPeak))) / 1000));
}
