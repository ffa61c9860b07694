/**
 * Confidence intervals for a proportion (a coverage, an outcome's frequency)
 * from x successes in n trials.
 *
 * - Clopper–Pearson (1934), "exact": the p at which observing ≤ x (resp.
 *   ≥ x) has probability α/2; through the beta distribution,
 *   lower = B⁻¹(α/2; x, n−x+1), upper = B⁻¹(1−α/2; x+1, n−x)
 *   (Brown, Cai & DasGupta, Statistical Science 16(2), 2001). Conservative:
 *   covers at least its level.
 * - Wilson (1927) score interval: closed form, closer to its nominal level.
 * - The zero-failure bound: with no event in n trials, p < 1 − α^{1/n} at
 *   confidence 1 − α, one-sided (the Clopper–Pearson upper limit at level
 *   1 − 2α; "rule of three" ≈ 3/n at 95 %).
 */
import { betaQuantile, normalQuantile } from './special-functions.js';

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  /** The confidence level, e.g. 0.95. */
  confidence: number;
}

export function clopperPearson(successes: number, trials: number, confidence = 0.95): Interval {
  checkCounts(successes, trials);
  const alpha = 1 - confidence;
  const lower = successes === 0 ? 0 : betaQuantile(alpha / 2, successes, trials - successes + 1);
  const upper = successes === trials ? 1 : betaQuantile(1 - alpha / 2, successes + 1, trials - successes);
  return { estimate: trials === 0 ? Number.NaN : successes / trials, lower, upper, confidence };
}

export function wilson(successes: number, trials: number, confidence = 0.95): Interval {
  checkCounts(successes, trials);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), confidence };
}

/** One-sided upper bound on p after 0 events in `trials` trials: 1 − (1 − confidence)^{1/n}. */
export function zeroFailureUpperBound(trials: number, confidence = 0.95): number {
  if (!(trials > 0)) throw new RangeError(`the zero-failure bound needs at least one trial, not ${trials}`);
  return -Math.expm1(Math.log(1 - confidence) / trials);
}

function checkCounts(successes: number, trials: number): void {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < 1 || successes > trials) {
    throw new RangeError(`a proportion needs whole counts 0 ≤ x ≤ n, n ≥ 1, not x = ${successes}, n = ${trials}`);
  }
}
