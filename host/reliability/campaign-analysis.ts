/**
 * What a campaign measured (the empirical side of docs/reliability.md):
 * Kaplan–Meier R(t) from the time to system failure of each trial, censored at
 * its horizon; coverage per failure with Clopper–Pearson intervals, pooled and
 * per fault class; the outcome classes with intervals (zero-failure bounds
 * for classes never seen); interruptions and lost work against their bounds;
 * detection latencies; and the worst trial.
 */
import { clopperPearson, zeroFailureUpperBound } from './binomial-intervals.js';
import type { Interval } from './binomial-intervals.js';
import { OUTCOMES } from './campaign-records.js';
import type { CampaignRecord, Failover, Outcome, ProcessorRates } from './campaign-records.js';
import { kaplanMeier } from './kaplan-meier.js';
import type { KaplanMeier } from './kaplan-meier.js';
import { nsToS } from './units.js';

export const CONFIDENCE = 0.95;

export interface OutcomeRow {
  outcome: Outcome;
  count: number;
  fraction: number;
  interval: Interval;
  /** For a class never seen: the one-sided upper bound 1 − α^{1/n}. */
  zeroFailureUpper?: number;
}

export interface CoverageEstimate {
  /** Failures (processor failures that needed a failover), and how many were covered. */
  failures: number;
  covered: number;
  /** Undefined when no failure needed a failover. */
  interval?: Interval;
}

export interface CoverageAnalysis extends CoverageEstimate {
  byFaultKind: ({ kind: string } & CoverageEstimate)[];
  /** Failures that found no survivor able to host a VM: structural, the model's exhaustion, not counted against coverage. */
  noSurvivor: number;
}

export interface BoundSample {
  trial: number;
  vm: string;
  measuredNs: number;
  boundNs: number;
  ratio: number;
}

export interface CampaignAnalysis {
  trials: number;
  systemFailures: number;
  /** The longest horizon (s); trials may differ. */
  horizonS: number;
  km: KaplanMeier;
  outcomes: OutcomeRow[];
  coverage: CoverageAnalysis;
  interruptions: BoundSample[];
  lostWork: BoundSample[];
  /** Failovers that restored nothing (to: null). */
  notRestored: number;
  detectionLatenciesNs: number[];
  falseDetections: number;
  /** The rates every trial drew from; undefined if the trials differ (the model comparison then needs them given). */
  rates?: ProcessorRates[];
  worstTrial: CampaignRecord;
}

export function analyseCampaign(records: CampaignRecord[]): CampaignAnalysis {
  const km = kaplanMeier(records.map((record) => ({
    timeS: nsToS(record.systemFailure?.atNs ?? record.horizonNs),
    event: record.systemFailure !== null,
  })), CONFIDENCE);
  const failovers = records.flatMap((record) => record.failovers.map((failover) => ({ trial: record.trial, failover })));
  return {
    trials: records.length,
    systemFailures: km.events,
    horizonS: nsToS(Math.max(...records.map((record) => record.horizonNs))),
    km,
    outcomes: outcomeRows(records),
    coverage: coverageAnalysis(failovers),
    interruptions: boundSamples(failovers, (f) => f.interruptionNs, (f) => f.interruptionBoundNs),
    lostWork: boundSamples(failovers, (f) => f.lostWorkNs, (f) => f.lostWorkBoundNs),
    notRestored: failovers.filter(({ failover }) => failover.to === null).length,
    detectionLatenciesNs: records.flatMap((record) => record.detections.filter((d) => !d.false && d.latencyNs !== null).map((d) => d.latencyNs!)),
    falseDetections: records.reduce((sum, record) => sum + record.detections.filter((d) => d.false).length, 0),
    ...commonRates(records),
    worstTrial: worstTrial(records),
  };
}

function outcomeRows(records: CampaignRecord[]): OutcomeRow[] {
  const n = records.length;
  return OUTCOMES.map((outcome) => {
    const count = records.filter((record) => record.outcome === outcome).length;
    const row: OutcomeRow = { outcome, count, fraction: count / n, interval: clopperPearson(count, n, CONFIDENCE) };
    if (count === 0) row.zeroFailureUpper = zeroFailureUpperBound(n, CONFIDENCE);
    return row;
  });
}

/**
 * One failure = the failovers of one trial with the same source processor and
 * fault time (all the VMs that one processor failure displaced). It is
 * covered when every one of them was (restored within both bounds).
 */
function coverageAnalysis(failovers: { trial: number; failover: Failover }[]): CoverageAnalysis {
  const failures = new Map<string, { kind: string; covered: boolean; noSurvivor: boolean }>();
  for (const { trial, failover } of failovers) {
    const key = `${trial}/${failover.from}/${failover.faultAtNs}`;
    const failure = failures.get(key) ?? { kind: failover.fault, covered: true, noSurvivor: false };
    failure.covered &&= failover.covered;
    failure.noSurvivor ||= failover.reason === 'no-survivor';
    failures.set(key, failure);
  }
  const counted = [...failures.values()].filter((failure) => !failure.noSurvivor);
  const kinds = [...new Set(counted.map((failure) => failure.kind))].sort();
  return {
    ...estimate(counted),
    byFaultKind: kinds.map((kind) => ({ kind, ...estimate(counted.filter((failure) => failure.kind === kind)) })),
    noSurvivor: failures.size - counted.length,
  };
}

function estimate(failures: { covered: boolean }[]): CoverageEstimate {
  const covered = failures.filter((failure) => failure.covered).length;
  const result: CoverageEstimate = { failures: failures.length, covered };
  if (failures.length > 0) result.interval = clopperPearson(covered, failures.length, CONFIDENCE);
  return result;
}

function boundSamples(failovers: { trial: number; failover: Failover }[], measured: (f: Failover) => number | null, bound: (f: Failover) => number | null): BoundSample[] {
  const samples: BoundSample[] = [];
  for (const { trial, failover } of failovers) {
    const measuredNs = measured(failover);
    const boundNs = bound(failover);
    if (measuredNs === null || boundNs === null || boundNs <= 0) continue;
    samples.push({ trial, vm: failover.vm, measuredNs, boundNs, ratio: measuredNs / boundNs });
  }
  return samples;
}

function commonRates(records: CampaignRecord[]): { rates?: ProcessorRates[] } {
  const first = JSON.stringify(records[0]!.rates.processors);
  return records.every((record) => JSON.stringify(record.rates.processors) === first) ? { rates: records[0]!.rates.processors } : {};
}

/** The outcomes from worst to best: the data-loss kinds first. */
const SEVERITY: readonly Outcome[] = ['double-active', 'silent-corruption', 'vm-lost', 'crash', 'timeout', 'detected', 'degraded', 'ok'];

/**
 * The worst trial, the one the report draws: the worst outcome, then the most
 * faults (the longest story of how it came to that), then the earliest
 * system failure, then the lowest index.
 */
function worstTrial(records: CampaignRecord[]): CampaignRecord {
  const key = (record: CampaignRecord): number[] => [
    SEVERITY.indexOf(record.outcome),
    -record.faults.length,
    record.systemFailure?.atNs ?? Number.MAX_SAFE_INTEGER,
    record.trial,
  ];
  return records.reduce((worst, record) => (compareKeys(key(record), key(worst)) < 0 ? record : worst));
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The model's failure rate of each processor from a campaign's rates: fail-stop + hang + warned failures (λ per second). */
export function processorFailureRatesPerS(rates: ProcessorRates[]): Map<number, { failureRatePerS: number; repairTimeS?: number }> {
  return new Map(rates.map((rate) => [rate.id, {
    failureRatePerS: rate.failStopPerS + rate.hangPerS + rate.warningPerS,
    ...(rate.repairNs === null ? {} : { repairTimeS: nsToS(rate.repairNs) }),
  }]));
}
