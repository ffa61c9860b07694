/**
 * Model against measurement, and the model carried to other rates:
 *
 * - the coverage band: R(t) with migration at the low end, the estimate and
 *   the high end of coverage's 95 % Clopper–Pearson interval (R grows with c,
 *   so these bound it);
 * - agreement: at each time of a grid over the campaign's horizon, the
 *   Kaplan–Meier 95 % interval and the model's band must overlap. Two 95 %
 *   intervals that do not overlap differ far beyond chance (a conservative
 *   test: non-overlap of two 95 % intervals is significant at about 0.5 %), so
 *   a few grid points do not raise false alarms.
 */
import type { BoardModel } from './board-model.js';
import type { Interval } from './binomial-intervals.js';
import type { KaplanMeier } from './kaplan-meier.js';
import { survivalAt } from './kaplan-meier.js';

export interface CoverageBand {
  low: number;
  estimate: number;
  high: number;
  /** measured: the campaign's estimate and interval; given: a value from the user; assumed: c = 1, nothing measured (no band either way). */
  source: 'measured' | 'given' | 'assumed';
}

export function coverageBand(interval: Interval): CoverageBand {
  return { low: interval.lower, estimate: interval.estimate, high: interval.upper, source: 'measured' };
}

export function givenCoverage(coverage: number): CoverageBand {
  return { low: coverage, estimate: coverage, high: coverage, source: 'given' };
}

export interface CurvePoint {
  tS: number;
  staticR: number;
  /** With migration, at the coverage band's low end, estimate and high end. */
  low: number;
  estimate: number;
  high: number;
}

export function modelCurve(model: BoardModel, timesS: number[], band: CoverageBand): CurvePoint[] {
  const [low, estimate, high] = atCoverages(band, (coverage) => model.migrationReliability(timesS, coverage));
  return timesS.map((tS, i) => ({ tS, staticR: model.staticReliability(tS), low: low[i]!, estimate: estimate[i]!, high: high[i]! }));
}

/** f at the band's low end, estimate and high end, computed once per distinct coverage (a given coverage has one). */
export function atCoverages<T>(band: CoverageBand, f: (coverage: number) => T): [T, T, T] {
  const computed = new Map<number, T>();
  const at = (coverage: number): T => {
    if (!computed.has(coverage)) computed.set(coverage, f(coverage));
    return computed.get(coverage)!;
  };
  return [at(band.low), at(band.estimate), at(band.high)];
}

/** n evenly spaced times in (0, endS]. */
export function timeGrid(endS: number, points: number): number[] {
  return Array.from({ length: points }, (_, i) => (endS * (i + 1)) / points);
}

export interface Disagreement {
  tS: number;
  km: { survival: number; lower: number; upper: number };
  model: { low: number; high: number };
  /** Which side the campaign is on. */
  direction: 'simulation-below-model' | 'simulation-above-model';
}

export function disagreements(curve: CurvePoint[], km: KaplanMeier): Disagreement[] {
  const found: Disagreement[] = [];
  for (const point of curve) {
    const measured = survivalAt(km, point.tS);
    if (measured.atRisk === 0) continue; // past the last trial still running: Ŝ says nothing there
    const below = measured.upper < point.low;
    const above = measured.lower > point.high;
    if (!below && !above) continue;
    found.push({
      tS: point.tS,
      km: { survival: measured.survival, lower: measured.lower, upper: measured.upper },
      model: { low: point.low, high: point.high },
      direction: below ? 'simulation-below-model' : 'simulation-above-model',
    });
  }
  return found;
}
