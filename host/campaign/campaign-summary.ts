/**
 * A campaign's summary, from its records: outcomes with 95 % intervals (Clopper–Pearson)
 * and the zero-failure bound of a class never seen, failover interruption and lost work
 * against their bounds, detection latency, the determinism check, and the verdict —
 * invalid at the first trial whose outcome must never happen (vm-lost, double-active,
 * crash, timeout) or at a trial that did not replay byte for byte.
 */
import { OUTCOMES } from '../reliability/campaign-records.js';
import type { CampaignInfo, CampaignRecord, Outcome } from '../reliability/campaign-records.js';
import { clopperPearson, zeroFailureUpperBound } from '../reliability/binomial-intervals.js';

const CONFIDENCE = 0.95;

/** Outcomes that mean Ferry failed, whatever the faults: a campaign with one is invalid. */
export const INVALID_OUTCOMES: readonly Outcome[] = ['vm-lost', 'double-active', 'crash', 'timeout'];

export interface OutcomeRow {
  outcome: Outcome;
  count: number;
  fraction: number;
  lower: number;
  upper: number;
  /** Never seen: the one-sided 95 % upper bound on its probability. */
  zeroFailureUpper?: number;
}

/** A distribution of virtual ns. */
export interface Distribution {
  count: number;
  minNs: number | null;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  maxNs: number | null;
}

export interface BoundedFigure {
  measured: Distribution;
  /** The largest bound any of them was measured against. */
  worstBoundNs: number | null;
  /** Measurements over their own bound. */
  overBound: number;
  /** The largest measured / bound ratio. */
  worstRatio: number | null;
}

export interface DeterminismCheck {
  /** Trials run a second time. */
  checked: number[];
  /** Of those, the trials whose second record differed. */
  mismatches: number[];
}

export interface CampaignSummary {
  campaign: CampaignInfo;
  resultsPath: string;
  /** Records in the results file (of this shard, with --shard). */
  trials: number;
  /** Trials this run added (the others were there from an earlier run). */
  ran: number;
  /** Trials still to run (an interrupted run, or another shard's). */
  missing: number;
  interrupted: boolean;
  outcomes: OutcomeRow[];
  failovers: { count: number; uncovered: number; interruption: BoundedFigure; lostWork: BoundedFigure };
  detection: { latency: Distribution; falseSuspicions: number };
  determinism: DeterminismCheck;
  verdict: { valid: boolean; reasons: string[]; firstFailing?: { trial: number; seed: number; outcome: Outcome; replay: string } };
}

export function summarize(records: readonly CampaignRecord[], context: {
  campaign: CampaignInfo; resultsPath: string; ran: number; missing: number; interrupted: boolean; determinism: DeterminismCheck;
}): CampaignSummary {
  const sorted = [...records].sort((a, b) => a.trial - b.trial);
  const failovers = sorted.flatMap((record) => record.failovers);
  const detections = sorted.flatMap((record) => record.detections);
  const summary: CampaignSummary = {
    ...context,
    trials: sorted.length,
    outcomes: outcomeRows(sorted),
    failovers: {
      count: failovers.length,
      uncovered: failovers.filter((failover) => !failover.covered).length,
      interruption: bounded(failovers.map((f) => [f.interruptionNs, f.interruptionBoundNs])),
      lostWork: bounded(failovers.map((f) => [f.lostWorkNs, f.lostWorkBoundNs])),
    },
    detection: {
      latency: distribution(detections.flatMap((d) => (d.latencyNs === null ? [] : [d.latencyNs]))),
      falseSuspicions: detections.filter((d) => d.false).length,
    },
    verdict: { valid: true, reasons: [] },
  };
  summary.verdict = verdictOf(sorted, context);
  return summary;
}

function outcomeRows(records: readonly CampaignRecord[]): OutcomeRow[] {
  const n = records.length;
  return OUTCOMES.map((outcome) => {
    const count = records.filter((record) => record.outcome === outcome).length;
    if (n === 0) return { outcome, count, fraction: 0, lower: 0, upper: 1 };
    const interval = clopperPearson(count, n, CONFIDENCE);
    return { outcome, count, fraction: count / n, lower: interval.lower, upper: interval.upper, ...(count === 0 ? { zeroFailureUpper: zeroFailureUpperBound(n, CONFIDENCE) } : {}) };
  });
}

function quantile(sorted: readonly number[], q: number): number {
  // Nearest rank: a value that was measured, not an interpolation.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, minNs: null, p50Ns: null, p95Ns: null, p99Ns: null, maxNs: null };
  return { count: sorted.length, minNs: sorted[0]!, p50Ns: quantile(sorted, 0.5), p95Ns: quantile(sorted, 0.95), p99Ns: quantile(sorted, 0.99), maxNs: sorted[sorted.length - 1]! };
}

function bounded(pairs: readonly (readonly [number | null, number | null])[]): BoundedFigure {
  const measured = pairs.flatMap(([value]) => (value === null ? [] : [value]));
  const withBound = pairs.filter((pair): pair is readonly [number, number] => pair[0] !== null && pair[1] !== null);
  const ratios = withBound.filter(([, bound]) => bound > 0).map(([value, bound]) => value / bound);
  return {
    measured: distribution(measured),
    worstBoundNs: withBound.length === 0 ? null : Math.max(...withBound.map(([, bound]) => bound)),
    overBound: withBound.filter(([value, bound]) => value > bound).length,
    worstRatio: ratios.length === 0 ? null : Math.max(...ratios),
  };
}

function verdictOf(records: readonly CampaignRecord[], context: { resultsPath: string; determinism: DeterminismCheck }): CampaignSummary['verdict'] {
  const reasons: string[] = [];
  const failing = records.filter((record) => INVALID_OUTCOMES.includes(record.outcome));
  for (const outcome of INVALID_OUTCOMES) {
    const count = failing.filter((record) => record.outcome === outcome).length;
    if (count > 0) reasons.push(`${count} ${outcome}`);
  }
  const mismatches = context.determinism.mismatches;
  if (mismatches.length > 0) reasons.push(`${mismatches.length} of ${context.determinism.checked.length} trials run twice gave another record (${mismatches.slice(0, 5).join(', ')})`);
  const first = [...failing.map((record) => record.trial), ...mismatches].sort((a, b) => a - b)[0];
  if (first === undefined) return { valid: true, reasons };
  const record = records.find((candidate) => candidate.trial === first)!;
  return {
    valid: false, reasons,
    firstFailing: { trial: first, seed: record.seed, outcome: record.outcome, replay: `ferry replay ${context.resultsPath} --trial ${first} --trace trial-${first}.jsonl` },
  };
}

// ---- text -------------------------------------------------------------------------------

function pct(value: number): string {
  return `${(value * 100).toFixed(value < 0.001 && value > 0 ? 3 : 1)} %`;
}

function sci(value: number): string {
  return value.toExponential(1);
}

function ms(ns: number | null): string {
  return ns === null ? '-' : `${(ns / 1e6).toFixed(3)} ms`;
}

function distributionText(d: Distribution): string {
  return d.count === 0 ? 'none measured' : `${d.count}: min ${ms(d.minNs)}, median ${ms(d.p50Ns)}, p95 ${ms(d.p95Ns)}, p99 ${ms(d.p99Ns)}, max ${ms(d.maxNs)}`;
}

function boundedText(name: string, figure: BoundedFigure): string {
  const bound = figure.worstBoundNs === null ? 'no bound' : `bound up to ${ms(figure.worstBoundNs)}, ${figure.overBound} over their bound, worst ${figure.worstRatio === null ? '-' : `${figure.worstRatio.toFixed(3)} of it`}`;
  return `${name} ${distributionText(figure.measured)}; ${bound}`;
}

/** The summary for people, a few dozen lines. */
export function formatSummary(summary: CampaignSummary): string {
  const { campaign } = summary;
  const lines = [
    `campaign ${campaign.scenario} (${campaign.scenarioPath}), seed ${campaign.seed}: ${summary.trials} of ${campaign.trials} trials in ${summary.resultsPath}` +
      ` (${summary.ran} run now${summary.missing > 0 ? `, ${summary.missing} still to run` : ''}${summary.interrupted ? ', interrupted' : ''})`,
    'outcome              count  fraction  95 % interval',
  ];
  for (const row of summary.outcomes) {
    const interval = row.zeroFailureUpper !== undefined
      ? `< ${sci(row.zeroFailureUpper)}`
      : `${sci(row.lower)} - ${sci(row.upper)}`;
    lines.push(`${row.outcome.padEnd(19)} ${String(row.count).padStart(6)}  ${pct(row.fraction).padStart(8)}  ${interval}`);
  }
  for (const row of summary.outcomes.filter((candidate) => candidate.zeroFailureUpper !== undefined && INVALID_OUTCOMES.includes(candidate.outcome))) {
    lines.push(`0 ${row.outcome} in ${summary.trials} trials: < ${sci(row.zeroFailureUpper!)} at 95 %`);
  }
  lines.push(`failovers: ${summary.failovers.count} (${summary.failovers.uncovered} not covered)`);
  lines.push(`  ${boundedText('interruption', summary.failovers.interruption)}`);
  lines.push(`  ${boundedText('lost work', summary.failovers.lostWork)}`);
  lines.push(`detection latency: ${distributionText(summary.detection.latency)}; ${summary.detection.falseSuspicions} false suspicions`);
  const det = summary.determinism;
  lines.push(`determinism: ${det.checked.length} trials run twice, ${det.mismatches.length === 0 ? 'every record byte-identical' : `${det.mismatches.length} differed: ${det.mismatches.slice(0, 10).join(', ')}`}`);
  const verdict = summary.verdict;
  if (verdict.valid) lines.push(`verdict: valid${summary.missing > 0 ? ` so far (${summary.missing} trials still to run)` : ''}`);
  else {
    const first = verdict.firstFailing!;
    lines.push(`verdict: INVALID: ${verdict.reasons.join('; ')}`);
    lines.push(`  first failing trial ${first.trial} (seed ${first.seed}, ${first.outcome}): ${first.replay}`);
  }
  return `${lines.join('\n')}\n`;
}
