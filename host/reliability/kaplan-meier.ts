/**
 * The Kaplan–Meier estimate of the survival function from right-censored
 * times (Kaplan & Meier, JASA 53, 1958): Ŝ(t) = Π_{t_i ≤ t} (1 − d_i/n_i)
 * over the distinct event times t_i, with d_i events among the n_i still at
 * risk. Its variance by Greenwood's formula,
 * Var Ŝ(t) = Ŝ(t)²·Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i)),
 * and a pointwise confidence interval (Klein & Moeschberger, "Survival
 * Analysis", 2nd ed., §4.3):
 * - 'log-log' (default; Kalbfleisch & Prentice): on θ = ln(−ln Ŝ), σ_θ =
 *   √(Σ d/(n(n−d))) / |ln Ŝ|, giving [Ŝ^{exp(zσ_θ)}, Ŝ^{exp(−zσ_θ)}]; it stays
 *   within [0, 1] and behaves near Ŝ = 1, where our campaigns live;
 * - 'plain': Ŝ ± z·√Var, clipped to [0, 1].
 * At equal times, events come before censorings (the usual convention).
 * Before the first event Greenwood's variance is 0, which would claim
 * certainty: there the lower limit is the Clopper–Pearson one for n
 * survivors of n at risk, (α/2)^{1/n}, so that a campaign that has seen no
 * failure yet is not taken to prove R = 1.
 */
import { normalQuantile } from './special-functions.js';

export interface Observation {
  /** Time to the event, or to censoring. */
  timeS: number;
  /** true: the event (system failure) happened at timeS; false: censored there. */
  event: boolean;
}

export interface KaplanMeierStep {
  timeS: number;
  atRisk: number;
  events: number;
  censored: number;
  survival: number;
  /** Greenwood's variance of the survival estimate. */
  variance: number;
  lower: number;
  upper: number;
}

export type BandKind = 'log-log' | 'plain';

export interface KaplanMeier {
  /** One step per distinct time (events or censorings), in time order; survival is the value from timeS on. */
  steps: KaplanMeierStep[];
  confidence: number;
  band: BandKind;
  observations: number;
  events: number;
}

export function kaplanMeier(observations: Observation[], confidence = 0.95, band: BandKind = 'log-log'): KaplanMeier {
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const byTime = groupByTime(observations);
  let atRisk = observations.length;
  let survival = 1;
  let greenwoodSum = 0;
  const steps: KaplanMeierStep[] = [];
  for (const { timeS, events, censored } of byTime) {
    if (events > 0) {
      survival *= 1 - events / atRisk;
      greenwoodSum += atRisk === events ? Infinity : events / (atRisk * (atRisk - events));
    }
    const [lower, upper] = greenwoodSum === 0 ? [noEventLower(atRisk, confidence), 1] : interval(survival, greenwoodSum, z, band);
    steps.push({ timeS, atRisk, events, censored, survival, variance: survival * survival * greenwoodSum, lower, upper });
    atRisk -= events + censored;
  }
  return { steps, confidence, band, observations: observations.length, events: observations.filter((o) => o.event).length };
}

function groupByTime(observations: Observation[]): { timeS: number; events: number; censored: number }[] {
  const sorted = [...observations].sort((a, b) => a.timeS - b.timeS);
  const groups: { timeS: number; events: number; censored: number }[] = [];
  for (const observation of sorted) {
    let last = groups[groups.length - 1];
    if (last === undefined || last.timeS !== observation.timeS) {
      last = { timeS: observation.timeS, events: 0, censored: 0 };
      groups.push(last);
    }
    if (observation.event) last.events++;
    else last.censored++;
  }
  return groups;
}

/** The Clopper–Pearson lower limit on a survival probability after n survivors of n (two-sided level). */
function noEventLower(atRisk: number, confidence: number): number {
  return atRisk === 0 ? 0 : ((1 - confidence) / 2) ** (1 / atRisk);
}

function interval(survival: number, greenwoodSum: number, z: number, band: BandKind): [number, number] {
  if (survival === 0 || !Number.isFinite(greenwoodSum)) return [0, 0];
  if (band === 'plain') {
    const half = z * survival * Math.sqrt(greenwoodSum);
    return [Math.max(0, survival - half), Math.min(1, survival + half)];
  }
  const sigma = Math.sqrt(greenwoodSum) / Math.abs(Math.log(survival));
  return [survival ** Math.exp(z * sigma), survival ** Math.exp(-z * sigma)];
}

/** Ŝ(t) and its interval: the last step at or before t (1 before the first); atRisk = observations with time ≥ t. */
export function survivalAt(km: KaplanMeier, tS: number): { survival: number; lower: number; upper: number; atRisk: number } {
  let found = { survival: 1, lower: noEventLower(km.observations, km.confidence), upper: 1, atRisk: km.observations };
  for (const step of km.steps) {
    if (step.timeS > tS) break;
    const atRisk = step.timeS === tS ? step.atRisk : step.atRisk - step.events - step.censored;
    found = { survival: step.survival, lower: step.lower, upper: step.upper, atRisk };
  }
  return found;
}
