/**
 * Every figure of the reliability report, computed once from the campaign's
 * records and the board (docs/reliability.md, "The report"). The HTML page,
 * summary.md and report.json are renderings of this one object, so they
 * cannot disagree; nothing in it depends on wall time or the machine.
 *
 * Three kinds of number, labelled as such wherever they are shown:
 * - measured: from the campaign's records (Kaplan–Meier, coverage, outcomes,
 *   interruptions, lost work, detection latency);
 * - model at the simulated rates: the board model at the campaign's
 *   (accelerated) rates and its coverage, to compare with what was measured;
 * - extrapolated: the same model at the user's real rates and mission time,
 *   with the measured coverage (its interval carried as a band).
 */
import type { Board } from '../board.js';
import { boardModelInput, hasProtection } from '../reliability/board-input.js';
import type { RateSource } from '../reliability/board-input.js';
import { BoardModel } from '../reliability/board-model.js';
import type { ToleranceRow } from '../reliability/board-model.js';
import { analyseCampaign, CONFIDENCE, processorFailureRatesPerS } from '../reliability/campaign-analysis.js';
import type { BoundSample, CampaignAnalysis } from '../reliability/campaign-analysis.js';
import type { CampaignInfo, CampaignRecord, Outcome } from '../reliability/campaign-records.js';
import { atCoverages, coverageBand, disagreements, givenCoverage, modelCurve, timeGrid } from '../reliability/comparison.js';
import type { CoverageBand, CurvePoint, Disagreement } from '../reliability/comparison.js';
import { survivalAt } from '../reliability/kaplan-meier.js';
import { withinModelLimits } from '../reliability/model-limit-error.js';
import { SECONDS_PER_YEAR } from '../reliability/units.js';

export const REPORT_FORMAT = 'ferry-reliability-report/1';
export const DEFAULT_MISSION_S = 10 * SECONDS_PER_YEAR;
/** Times at which model and Kaplan–Meier are compared, over the campaign's horizon. */
const COMPARISON_POINTS = 20;
const CURVE_POINTS = 60;
const MAX_BINS = 60;

export interface ReportOptions {
  /** The results file as the user named it (for the replay command). */
  resultsPath: string;
  /** The board the campaign ran; without it the report has the measured side only. */
  board?: Board;
  /** Mission time for the extrapolation; default 10 years. */
  missionS?: number;
  /** The real failure rate of every processor; default: the board's failureRate fields. */
  realRatePerS?: number;
  /** A coverage to use in the model instead of the measured one. */
  coverage?: number;
}

export interface Histogram {
  /** Bin edges: bins[i] holds values in [edges[i], edges[i+1]). */
  edges: number[];
  counts: number[];
}

export interface BoundSummary {
  count: number;
  /** Samples above their bound. */
  overBound: number;
  medianRatio: number | null;
  p99Ratio: number | null;
  maxRatio: number | null;
  /** Ratios measured / bound. */
  histogram: Histogram;
}

export interface ModelSide {
  ratesPerS: { id: number; failureRatePerS: number; repairTimeS?: number }[];
  coverage: CoverageBand;
  curve: CurvePoint[];
}

export interface ReportData {
  format: typeof REPORT_FORMAT;
  title: string;
  campaign: CampaignInfo & { resultsPath: string };
  board?: { name: string; processors: number; vms: number; protected: boolean; tolerance: ToleranceRow[] };
  measured: {
    trials: number;
    systemFailures: number;
    horizonS: number;
    kaplanMeier: {
      confidence: number;
      band: string;
      steps: { tS: number; atRisk: number; events: number; censored: number; survival: number; lower: number; upper: number }[];
      atHorizon: { survival: number; lower: number; upper: number };
    };
    coverage: CampaignAnalysis['coverage'];
    outcomes: { outcome: Outcome; count: number; fraction: number; lower: number; upper: number; zeroFailureUpper?: number }[];
    interruption: BoundSummary;
    lostWork: BoundSummary;
    notRestored: number;
    detection: { count: number; falseDetections: number; medianNs: number | null; p99Ns: number | null; maxNs: number | null; histogramMs: Histogram };
    worstTrial: {
      trial: number;
      seed: number;
      outcome: Outcome;
      horizonNs: number;
      systemFailure: CampaignRecord['systemFailure'];
      faults: CampaignRecord['faults'];
      timeline: CampaignRecord['timeline'];
      replay: string;
    };
  };
  simulated?: ModelSide & { disagreements: Disagreement[]; agrees: boolean };
  extrapolated?: ModelSide & {
    rateSource: string;
    missionS: number;
    staticR: number;
    migrationR: { low: number; estimate: number; high: number };
    staticMttfS: number;
    /** Undefined beyond the dense solver's limit (repair on a board of more than 8 processors). */
    migrationMttfS?: { low: number; estimate: number; high: number };
    staticAvailability?: number;
    migrationAvailability?: { low: number; estimate: number; high: number };
  };
  headline: Headline;
  notes: string[];
}

/** What `npm start` and `ferry report` print: R(mission) with and without migration, the measured coverage, agreement. */
export interface Headline {
  missionS: number;
  staticR?: number;
  migrationR?: { low: number; estimate: number; high: number };
  coverage?: { estimate: number; lower: number; upper: number; failures: number };
  measuredRAtHorizon: { survival: number; lower: number; upper: number; horizonS: number };
  agreement: 'agrees' | 'disagrees' | 'not compared';
}

export function buildReportData(records: CampaignRecord[], options: ReportOptions): ReportData {
  const analysis = analyseCampaign(records);
  const notes: string[] = [];
  const measured = measuredSide(analysis, options);
  const band = chooseCoverage(analysis, options, notes);
  const simulated = options.board === undefined ? undefined : simulatedSide(options.board, analysis, band, notes);
  const extrapolated = options.board === undefined ? undefined : extrapolatedSide(options.board, band, options, notes);
  if (options.board === undefined) notes.push('No board was given (--board) and the campaign\'s scenario could not be read: the report shows what was measured, without the model.');
  const data: ReportData = {
    format: REPORT_FORMAT,
    title: `Reliability of ${records[0]!.campaign.scenario}`,
    campaign: { ...records[0]!.campaign, resultsPath: options.resultsPath },
    measured,
    headline: headline(analysis, measured, band, simulated, extrapolated, options),
    notes,
  };
  if (options.board !== undefined) data.board = boardSummary(options.board, options.realRatePerS);
  if (simulated !== undefined) data.simulated = simulated;
  if (extrapolated !== undefined) data.extrapolated = extrapolated;
  return data;
}

function measuredSide(analysis: CampaignAnalysis, options: ReportOptions): ReportData['measured'] {
  const km = analysis.km;
  const worst = analysis.worstTrial;
  const latencies = analysis.detectionLatenciesNs;
  return {
    trials: analysis.trials,
    systemFailures: analysis.systemFailures,
    horizonS: analysis.horizonS,
    kaplanMeier: {
      confidence: km.confidence,
      band: km.band,
      steps: km.steps.map((step) => ({ tS: step.timeS, atRisk: step.atRisk, events: step.events, censored: step.censored, survival: step.survival, lower: step.lower, upper: step.upper })),
      atHorizon: pick(survivalAt(km, analysis.horizonS)),
    },
    coverage: analysis.coverage,
    outcomes: analysis.outcomes.map((row) => ({
      outcome: row.outcome, count: row.count, fraction: row.fraction, lower: row.interval.lower, upper: row.interval.upper,
      ...(row.zeroFailureUpper === undefined ? {} : { zeroFailureUpper: row.zeroFailureUpper }),
    })),
    interruption: boundSummary(analysis.interruptions),
    lostWork: boundSummary(analysis.lostWork),
    notRestored: analysis.notRestored,
    detection: {
      count: latencies.length,
      falseDetections: analysis.falseDetections,
      medianNs: quantile(latencies, 0.5),
      p99Ns: quantile(latencies, 0.99),
      maxNs: latencies.length === 0 ? null : Math.max(...latencies),
      histogramMs: histogram(latencies.map((ns) => ns / 1e6), 30),
    },
    worstTrial: {
      trial: worst.trial,
      seed: worst.seed,
      outcome: worst.outcome,
      horizonNs: worst.horizonNs,
      systemFailure: worst.systemFailure,
      faults: worst.faults,
      timeline: worst.timeline,
      replay: `ferry replay ${options.resultsPath} --trial ${worst.trial} --trace trial-${worst.trial}.jsonl`,
    },
  };
}

function pick(value: { survival: number; lower: number; upper: number }): { survival: number; lower: number; upper: number } {
  return { survival: value.survival, lower: value.lower, upper: value.upper };
}

/** The coverage the model uses: given by the user, else measured with its interval, else assumed perfect (and said so). */
function chooseCoverage(analysis: CampaignAnalysis, options: ReportOptions, notes: string[]): CoverageBand {
  if (options.coverage !== undefined) {
    notes.push(`The model uses the coverage given on the command line, c = ${options.coverage}, not the campaign's.`);
    return givenCoverage(options.coverage);
  }
  if (analysis.coverage.interval !== undefined) return coverageBand(analysis.coverage.interval);
  notes.push('No failure in the campaign needed a failover, so coverage was not measured: the model assumes c = 1 (the best case). Give --coverage to use another value.');
  return { ...givenCoverage(1), source: 'assumed' };
}

function simulatedSide(board: Board, analysis: CampaignAnalysis, band: CoverageBand, notes: string[]): ReportData['simulated'] {
  if (analysis.rates === undefined) {
    notes.push('The trials drew faults at different rates: the model is not compared with the simulation.');
    return undefined;
  }
  const rates = processorFailureRatesPerS(analysis.rates);
  const input = boardModelInput(board, { kind: 'per-processor', rates, what: 'the campaign\'s rates' });
  const model = new BoardModel(input);
  const curve = modelCurve(model, timeGrid(analysis.horizonS, CURVE_POINTS), band);
  const compared = disagreements(modelCurve(model, timeGrid(analysis.horizonS, COMPARISON_POINTS), band), analysis.km);
  return { ratesPerS: modelRates(input.processors), coverage: band, curve, disagreements: compared, agrees: compared.length === 0 };
}

function extrapolatedSide(board: Board, coverage: CoverageBand, options: ReportOptions, notes: string[]): ReportData['extrapolated'] {
  const source = realRateSource(board, options);
  if (source === undefined) {
    notes.push('No real failure rates: give --rate-per-hour, or failureRate on the board\'s processors, to extrapolate to the mission.');
    return undefined;
  }
  const input = boardModelInput(board, source.source);
  const model = new BoardModel(input);
  const missionS = options.missionS ?? DEFAULT_MISSION_S;
  const curve = withinModelLimits(() => modelCurve(model, timeGrid(missionS, CURVE_POINTS), coverage), notes);
  if (curve === undefined) return undefined;
  const atMission = curve[curve.length - 1]!;
  const band = (f: (c: number) => number): { low: number; estimate: number; high: number } => {
    const [low, estimate, high] = atCoverages(coverage, f);
    return { low, estimate, high };
  };
  const result: NonNullable<ReportData['extrapolated']> = {
    ratesPerS: modelRates(input.processors),
    coverage,
    curve,
    rateSource: source.label,
    missionS,
    staticR: atMission.staticR,
    migrationR: { low: atMission.low, estimate: atMission.estimate, high: atMission.high },
    staticMttfS: model.staticMttfS(),
  };
  const mttf = withinModelLimits(() => band((c) => model.migrationMttfS(c)), notes);
  if (mttf !== undefined) result.migrationMttfS = mttf;
  const staticAvailability = model.staticAvailability();
  if (staticAvailability !== undefined) result.staticAvailability = staticAvailability;
  if (model.hasRepair()) {
    const availability = withinModelLimits(() => band((c) => model.migrationAvailability(c)!), notes);
    if (availability !== undefined) result.migrationAvailability = availability;
  }
  return result;
}

function realRateSource(board: Board, options: ReportOptions): { source: RateSource; label: string } | undefined {
  if (options.realRatePerS !== undefined) return { source: { kind: 'uniform', failureRatePerS: options.realRatePerS }, label: 'the rate given on the command line (--rate-per-hour)' };
  if (board.processors.every((processor) => processor.failureRatePerS !== undefined)) return { source: { kind: 'board' }, label: `the failureRate fields of board ${board.name}` };
  return undefined;
}

function modelRates(processors: { id: number; failureRatePerS: number; repairTimeS?: number }[]): ModelSide['ratesPerS'] {
  return processors.map(({ id, failureRatePerS, repairTimeS }) => (repairTimeS === undefined ? { id, failureRatePerS } : { id, failureRatePerS, repairTimeS }));
}

function boardSummary(board: Board, realRatePerS: number | undefined): NonNullable<ReportData['board']> {
  // The structure does not depend on rates: any rate builds it.
  const input = boardModelInput(board, { kind: 'uniform', failureRatePerS: realRatePerS ?? 1 });
  return {
    name: board.name,
    processors: board.processors.length,
    vms: board.vms.length,
    protected: hasProtection(input),
    tolerance: new BoardModel(input).toleranceTable(),
  };
}

function headline(analysis: CampaignAnalysis, measured: ReportData['measured'], band: CoverageBand, simulated: ReportData['simulated'], extrapolated: ReportData['extrapolated'], options: ReportOptions): Headline {
  const result: Headline = {
    missionS: options.missionS ?? DEFAULT_MISSION_S,
    measuredRAtHorizon: { ...measured.kaplanMeier.atHorizon, horizonS: analysis.horizonS },
    agreement: simulated === undefined ? 'not compared' : simulated.agrees ? 'agrees' : 'disagrees',
  };
  if (extrapolated !== undefined) {
    result.staticR = extrapolated.staticR;
    result.migrationR = extrapolated.migrationR;
  }
  const interval = analysis.coverage.interval;
  if (interval !== undefined && band.source === 'measured') {
    result.coverage = { estimate: interval.estimate, lower: interval.lower, upper: interval.upper, failures: analysis.coverage.failures };
  }
  return result;
}

function boundSummary(samples: BoundSample[]): BoundSummary {
  const ratios = samples.map((sample) => sample.ratio);
  const top = Math.max(1.5, ...ratios);
  return {
    count: samples.length,
    overBound: ratios.filter((ratio) => ratio > 1).length,
    medianRatio: quantile(ratios, 0.5),
    p99Ratio: quantile(ratios, 0.99),
    maxRatio: ratios.length === 0 ? null : Math.max(...ratios),
    // Bins of 0.05 of the bound, at most MAX_BINS of them.
    histogram: histogramOver(ratios, 0, Math.ceil(top * 10) / 10, Math.min(MAX_BINS, Math.round(Math.ceil(top * 10) / 10 / 0.05))),
  };
}

/** The q-quantile by the nearest-rank method (a value that was measured). */
function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function histogram(values: number[], bins: number): Histogram {
  if (values.length === 0) return { edges: [], counts: [] };
  const max = Math.max(...values);
  return histogramOver(values, 0, max === 0 ? 1 : niceCeiling(max), bins);
}

function histogramOver(values: number[], lo: number, hi: number, bins: number): Histogram {
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => round(lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((value - lo) / width)))]!++;
  return { edges, counts };
}

/** 1, 2 or 5 times a power of ten, at least x. */
function niceCeiling(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= x)!;
}

function round(x: number): number {
  return Number(x.toPrecision(12));
}

export { CONFIDENCE };
