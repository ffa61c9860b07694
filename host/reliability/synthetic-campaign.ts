/**
 * Synthetic campaign records drawn from a known model: processors fail at
 * exponential times (and are repaired, if they have a repair time), each
 * failure of a processor that holds VMs is covered with probability c, and the
 * VMs move as the board model's placement says. The records follow the
 * campaign contract (docs/campaign-records.md), so the analysis and the
 * report can be tested — and benchmarked — against a truth that is known:
 * Kaplan–Meier must recover the model's R(t), the coverage estimate must
 * recover c. Not a simulation of Ferry: the campaign runner produces the real
 * records.
 */
import { Prng } from '../prng.js';
import type { CampaignInfo, CampaignRecord, Detection, Failover, Fault, Outcome, TimelineEntry } from './campaign-records.js';
import { PlacementSearch } from './placement.js';
import type { BoardModelInput } from './placement.js';
import { NS_PER_S } from './units.js';

export interface SyntheticCampaignOptions {
  /** The board as the model sees it, with the (accelerated) rates per second the trials draw from. */
  model: BoardModelInput;
  /** P(a failure of a processor that holds VMs is covered). */
  coverage: number;
  horizonS: number;
  trials: number;
  seed: number;
  /** Failures per second of the whole service that the rates do not show (a fault the model misses); default 0. */
  hiddenFailurePerS?: number;
  /** The failover policy written into failover records; default checkpoint. */
  policy?: Failover['policy'];
  scenario?: string;
}

/** Bounds the synthetic failovers are measured against. */
const INTERRUPTION_BOUND_NS = 8_000_000;
const LOST_WORK_BOUND_NS = 21_000_000;
const DETECTION_BASE_NS = 2_000_000;

export function syntheticCampaign(options: SyntheticCampaignOptions): CampaignRecord[] {
  const search = new PlacementSearch(options.model);
  const campaign: CampaignInfo = {
    scenario: options.scenario ?? 'synthetic',
    scenarioPath: `scenarios/${options.scenario ?? 'synthetic'}.json`,
    scenarioDigest: `sha256:${'0'.repeat(64)}`,
    ferry: 'synthetic',
    coreDigest: `sha256:${'0'.repeat(64)}`,
    seed: options.seed,
    trials: options.trials,
  };
  return Array.from({ length: options.trials }, (_, trial) => syntheticTrial(options, search, campaign, trial));
}

interface TrialState {
  rng: Prng;
  failedMask: number;
  faults: Fault[];
  detections: Detection[];
  failovers: Failover[];
  timeline: TimelineEntry[];
  systemFailure: CampaignRecord['systemFailure'];
  outcome: Outcome;
}

function syntheticTrial(options: SyntheticCampaignOptions, search: PlacementSearch, campaign: CampaignInfo, trial: number): CampaignRecord {
  const rng = new Prng(options.seed, trial);
  const seed = rng.nextU32();
  const horizonNs = Math.round(options.horizonS * NS_PER_S);
  const state: TrialState = { rng, failedMask: 0, faults: [], detections: [], failovers: [], timeline: [], systemFailure: null, outcome: 'ok' };
  let tS = 0;
  while (state.systemFailure === null) {
    const next = nextEvent(options, state);
    if (next === undefined) break;
    tS += next.afterS;
    if (tS * NS_PER_S > horizonNs) break;
    const atNs = Math.round(tS * NS_PER_S);
    if (next.kind === 'repair') repair(options, state, next.index, atNs);
    else if (next.kind === 'hidden') hiddenFailure(state, atNs);
    else fail(options, search, state, next.index, atNs, horizonNs);
  }
  return {
    trial,
    seed,
    campaign,
    horizonNs,
    rates: {
      processors: options.model.processors.map((processor) => ({
        id: processor.id,
        failStopPerS: processor.failureRatePerS,
        hangPerS: 0,
        warningPerS: 0,
        repairNs: processor.repairTimeS === undefined ? null : Math.round(processor.repairTimeS * NS_PER_S),
      })),
    },
    outcome: state.outcome,
    systemFailure: state.systemFailure,
    faults: state.faults,
    detections: state.detections,
    failovers: state.failovers,
    deadlineMisses: 0,
    channels: { sent: 0, received: 0, lost: 0, duplicated: 0 },
    controlErrorPeak: null,
    timeline: state.timeline,
  };
}

/** The next failure, repair or hidden failure: competing exponentials. */
function nextEvent(options: SyntheticCampaignOptions, state: TrialState): { afterS: number; kind: 'fail' | 'repair' | 'hidden'; index: number } | undefined {
  const candidates: { kind: 'fail' | 'repair' | 'hidden'; index: number; ratePerS: number }[] = [];
  options.model.processors.forEach((processor, index) => {
    const failed = (state.failedMask >> index) & 1;
    if (!failed) candidates.push({ kind: 'fail', index, ratePerS: processor.failureRatePerS });
    else if (processor.repairTimeS !== undefined) candidates.push({ kind: 'repair', index, ratePerS: 1 / processor.repairTimeS });
  });
  candidates.push({ kind: 'hidden', index: -1, ratePerS: options.hiddenFailurePerS ?? 0 });
  const total = candidates.reduce((sum, c) => sum + c.ratePerS, 0);
  if (total === 0) return undefined;
  const afterS = -Math.log(1 - state.rng.nextFloat()) / total;
  let pick = state.rng.nextFloat() * total;
  for (const candidate of candidates) {
    pick -= candidate.ratePerS;
    if (pick < 0 && candidate.ratePerS > 0) return { afterS, kind: candidate.kind, index: candidate.index };
  }
  const last = candidates.filter((c) => c.ratePerS > 0).pop()!;
  return { afterS, kind: last.kind, index: last.index };
}

function fail(options: SyntheticCampaignOptions, search: PlacementSearch, state: TrialState, index: number, atNs: number, horizonNs: number): void {
  const id = options.model.processors[index]!.id;
  const before = search.placement(state.failedMask)!;
  const hosted = options.model.vms.map((_, v) => v).filter((v) => before[v] === index);
  state.faults.push({ kind: 'fail-stop', atNs, processor: id });
  state.timeline.push({ atNs, event: 'fault', detail: `fail-stop processor ${id}`, processor: id });
  state.failedMask |= 1 << index;
  const covered = hosted.length === 0 || state.rng.nextFloat() < options.coverage;
  const detectedAtNs = Math.min(horizonNs, atNs + DETECTION_BASE_NS + state.rng.nextBelow(2_000_000));
  if (covered) detect(state, id, options.model.processors, atNs, detectedAtNs);
  if (hosted.length === 0) return;
  state.outcome = 'degraded';
  const after = search.placement(state.failedMask);
  if (after === null) {
    lose(options, state, hosted[0]!, id, atNs, Math.min(horizonNs, detectedAtNs), 'no-survivor');
    return;
  }
  hosted.forEach((v, i) => {
    const vm = options.model.vms[v]!;
    const to = options.model.processors[after[v]!]!.id;
    const good = covered || i > 0;
    const ratio = good ? 0.2 + 0.7 * state.rng.nextFloat() : 1.05 + state.rng.nextFloat();
    const interruptionNs = Math.round(INTERRUPTION_BOUND_NS * ratio);
    const lostWorkNs = Math.round(LOST_WORK_BOUND_NS * (0.3 + 0.6 * state.rng.nextFloat()));
    const failover: Failover = {
      vm: vm.name, from: id, to, policy: options.policy ?? 'checkpoint', fault: 'fail-stop', faultAtNs: atNs,
      interruptionNs, interruptionBoundNs: INTERRUPTION_BOUND_NS, lostWorkNs, lostWorkBoundNs: LOST_WORK_BOUND_NS, covered: good,
    };
    if (!good) failover.reason = 'over-interruption-bound';
    state.failovers.push(failover);
    state.timeline.push({ atNs, event: 'failover', detail: `${vm.name} ${id} → ${to}, interrupted ${(interruptionNs / 1e6).toFixed(1)} ms`, untilNs: Math.min(horizonNs, atNs + interruptionNs), vm: vm.name });
  });
  if (!covered) {
    const lostAtNs = Math.min(horizonNs, atNs + INTERRUPTION_BOUND_NS);
    state.systemFailure = { atNs: lostAtNs, cause: 'interruption', vm: options.model.vms[hosted[0]!]!.name };
    state.outcome = 'detected';
    state.timeline.push({ atNs: lostAtNs, event: 'system-failure', detail: `${options.model.vms[hosted[0]!]!.name} interrupted beyond its bound`, vm: options.model.vms[hosted[0]!]!.name });
  }
}

function detect(state: TrialState, id: number, processors: BoardModelInput['processors'], atNs: number, detectedAtNs: number): void {
  const by = processors.map((p) => p.id).find((other) => other !== id) ?? id;
  state.detections.push({ processor: id, by, atNs: detectedAtNs, latencyNs: detectedAtNs - atNs, false: false });
  state.timeline.push({ atNs: detectedAtNs, event: 'detection', detail: `processor ${id} suspected by ${by}`, processor: id });
}

function lose(options: SyntheticCampaignOptions, state: TrialState, v: number, from: number, atNs: number, lostAtNs: number, reason: Failover['reason'] & string): void {
  const vm = options.model.vms[v]!;
  state.failovers.push({
    vm: vm.name, from, to: null, policy: options.policy ?? 'checkpoint', fault: 'fail-stop', faultAtNs: atNs,
    interruptionNs: null, interruptionBoundNs: INTERRUPTION_BOUND_NS, lostWorkNs: null, lostWorkBoundNs: LOST_WORK_BOUND_NS, covered: false, reason,
  });
  state.systemFailure = { atNs: lostAtNs, cause: 'vm-lost', vm: vm.name };
  state.outcome = 'vm-lost';
  state.timeline.push({ atNs: lostAtNs, event: 'system-failure', detail: `${vm.name} lost: no survivor can host it`, vm: vm.name });
}

function repair(options: SyntheticCampaignOptions, state: TrialState, index: number, atNs: number): void {
  state.failedMask &= ~(1 << index);
  const id = options.model.processors[index]!.id;
  state.timeline.push({ atNs, event: 'repair', detail: `processor ${id} repaired`, processor: id });
}

/** A failure the model does not know of: the service is lost with no processor fault to show for it. */
function hiddenFailure(state: TrialState, atNs: number): void {
  state.systemFailure = { atNs, cause: 'crash' };
  state.outcome = 'crash';
  state.timeline.push({ atNs, event: 'system-failure', detail: 'hidden failure (not in the rates)' });
}
