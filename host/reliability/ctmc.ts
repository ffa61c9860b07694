/**
 * Continuous-time Markov chains with a dense generator Q (rates per second;
 * row i holds the rates out of state i, the diagonal makes each row sum to 0).
 *
 * - transient state probabilities p(t) = p(0)·e^{Qt} by uniformization
 *   (Jensen's method; Trivedi, "Probability and Statistics with Reliability,
 *   Queuing and Computer Science Applications", 2nd ed., §8.4; Stewart,
 *   "Introduction to the Numerical Solution of Markov Chains", §8.2), with a
 *   bound on the truncation error;
 * - the steady state πQ = 0, Σπ = 1 (availability);
 * - the mean time to absorption by first passage: τ·Q_TT = −p_T(0) on the
 *   transient states T, MTTF = Σ τ (Trivedi §8.5).
 */
import { matrixTimesMatrix, solveLinear, transpose, vectorTimesMatrix, zeros } from './linear.js';
import type { Matrix } from './linear.js';
import { ModelLimitError } from './model-limit-error.js';

/** One transition of a chain under construction. */
export interface Transition {
  from: number;
  to: number;
  ratePerS: number;
}

/** The generator of a chain of `states` states from its transitions (parallel transitions add up). */
export function generator(states: number, transitions: Transition[]): Matrix {
  const q = zeros(states);
  for (const { from, to, ratePerS } of transitions) {
    if (from === to || ratePerS === 0) continue;
    q[from]![to] = q[from]![to]! + ratePerS;
    q[from]![from] = q[from]![from]! - ratePerS;
  }
  return q;
}

export interface TransientResult {
  /** State probabilities at t. */
  p: number[];
  /** Upper bound on Σ|p̃ − p| from truncating the Poisson series (rounding not included). */
  truncationBound: number;
}

/**
 * Poisson steps are cut at ΛΔ ≤ this: e^{−ΛΔ} stays far from underflow and the
 * series needs about ΛΔ + 6√ΛΔ terms.
 */
const MAX_STEP_EVENTS = 40;
/** Beyond this many steps, square the step matrix instead of stepping the vector. */
const MAX_VECTOR_STEPS = 256;
/** Events per factor when squaring: few series terms, each an n³ product. */
const MAX_SQUARED_STEP_EVENTS = 1;

/** p(t) = p(0)·e^{Qt} by uniformization, to a total truncation error ≤ `tolerance`. */
export function transient(q: Matrix, p0: number[], tS: number, tolerance = 1e-12): TransientResult {
  const rate = uniformizationRate(q);
  if (rate === 0 || tS === 0) return { p: [...p0], truncationBound: 0 };
  const steps = Math.ceil((rate * tS) / MAX_STEP_EVENTS);
  const dtmc = uniformized(q, rate);
  if (steps <= MAX_VECTOR_STEPS) return stepVector(dtmc, p0, rate * (tS / steps), steps, tolerance);
  return squareStepMatrix(dtmc, p0, rate * tS, tolerance);
}

/** Λ = max exit rate: P = I + Q/Λ is then a stochastic matrix. */
function uniformizationRate(q: Matrix): number {
  return Math.max(0, ...q.map((row, i) => -row[i]!));
}

function uniformized(q: Matrix, rate: number): Matrix {
  return q.map((row, i) => row.map((value, j) => (i === j ? 1 : 0) + value / rate));
}

/** e^{QΔ} applied to v: Σ_k Poisson(k; ΛΔ)·v·P^k, cut where the remaining Poisson mass ≤ tolerance. */
function poissonSeries<T>(start: T, multiply: (x: T) => T, accumulate: (sum: T | undefined, x: T, weight: number) => T, events: number, tolerance: number): { sum: T; tail: number } {
  let weight = Math.exp(-events);
  let term = start;
  let sum = accumulate(undefined, term, weight);
  for (let k = 1; k < 100_000; k++) {
    const tail = poissonTailBound(weight, events, k);
    if (tail <= tolerance) return { sum, tail };
    weight *= events / k;
    term = multiply(term);
    sum = accumulate(sum, term, weight);
  }
  throw new Error(`uniformization did not converge (${events} events per step)`);
}

/**
 * Σ_{j ≥ k} Poisson(j; a) given w = Poisson(k − 1; a): the terms after the
 * mode fall at least geometrically with ratio a/(k+1), so the tail is at most
 * w·(a/k)/(1 − a/(k+1)). Before the mode no useful bound exists (Infinity).
 */
function poissonTailBound(previousWeight: number, events: number, k: number): number {
  if (k + 1 <= events) return Infinity;
  return (previousWeight * (events / k)) / (1 - events / (k + 1));
}

function stepVector(p: Matrix, p0: number[], eventsPerStep: number, steps: number, tolerance: number): TransientResult {
  let v = p0;
  let bound = 0;
  for (let step = 0; step < steps; step++) {
    const { sum, tail } = poissonSeries(v, (x) => vectorTimesMatrix(x, p), addScaled, eventsPerStep, tolerance / steps);
    v = sum;
    bound += tail;
  }
  return { p: v, truncationBound: bound };
}

/**
 * For long horizons (ΛT ≫ 1): M = e^{QΔ} with Δ = T/2^s by the series, then
 * s squarings. The chain's matrices are substochastic, so each of the 2^s
 * factors adds at most its own truncation error: the bound is 2^s times it.
 */
function squareStepMatrix(p: Matrix, p0: number[], totalEvents: number, tolerance: number): TransientResult {
  const squarings = Math.max(0, Math.ceil(Math.log2(totalEvents / MAX_SQUARED_STEP_EVENTS)));
  const factors = 2 ** squarings;
  const identity = p.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
  const { sum, tail } = poissonSeries(identity, (x) => matrixTimesMatrix(x, p), addScaledMatrix, totalEvents / factors, tolerance / factors);
  let m = sum;
  for (let i = 0; i < squarings; i++) m = matrixTimesMatrix(m, m);
  return { p: vectorTimesMatrix(p0, m), truncationBound: tail * factors };
}

function addScaled(sum: number[] | undefined, x: number[], weight: number): number[] {
  return x.map((value, i) => (sum?.[i] ?? 0) + weight * value);
}

function addScaledMatrix(sum: Matrix | undefined, x: Matrix, weight: number): Matrix {
  return x.map((row, i) => addScaled(sum?.[i], row, weight));
}

/** The stationary distribution of an irreducible chain: πQ = 0 with one equation replaced by Σπ = 1. */
export function steadyState(q: Matrix): number[] {
  const n = q.length;
  const a = transpose(q);
  a[n - 1] = new Array<number>(n).fill(1);
  const b = new Array<number>(n).fill(0);
  b[n - 1] = 1;
  return solveLinear(a, b);
}

/**
 * Mean time from p(0) to absorption in any state outside `transientStates`
 * (Trivedi §8.5): τ_T·Q_TT = −p_T(0) gives the expected time spent in each
 * transient state; their sum is the MTTF.
 */
export function meanTimeToAbsorption(q: Matrix, p0: number[], transientStates: number[]): number {
  const qTT = transientStates.map((i) => transientStates.map((j) => q[i]![j]!));
  const rhs = transientStates.map((i) => -p0[i]!);
  return solveLinear(transpose(qTT), rhs).reduce((sum, tau) => sum + tau, 0);
}

/** Beyond this many multiply-adds a sparse transient solution is refused (minutes of work): the chain is too stiff for the horizon. */
const MAX_SPARSE_WORK = 4e9;

/**
 * p(t) at each of `timesS` (ascending) for a chain given by its transitions,
 * stepping the vector from one time to the next by uniformization: the cost
 * is about Λ·t_max·(transitions + states), with no dense matrix, so chains of
 * tens of thousands of states (a 16-processor board's failure sets) are fine.
 * The truncation bounds of the steps add up to at most `tolerance`.
 */
export function transientCurve(states: number, transitions: Transition[], p0: number[], timesS: number[], tolerance = 1e-10): { p: number[][]; truncationBound: number } {
  const exit = new Array<number>(states).fill(0);
  for (const { from, to, ratePerS } of transitions) if (from !== to) exit[from] = exit[from]! + ratePerS;
  const rate = Math.max(0, ...exit);
  const intervals = timesS.map((tS, i) => tS - (i === 0 ? 0 : timesS[i - 1]!));
  if (intervals.some((dt) => dt < 0)) throw new RangeError('transientCurve needs ascending times ≥ 0');
  const steps = intervals.map((dt) => (rate === 0 || dt === 0 ? 0 : Math.ceil((rate * dt) / MAX_STEP_EVENTS)));
  const totalSteps = steps.reduce((sum, n) => sum + n, 0);
  // About a + 6√a + 10 series terms per step of a = ΛΔ events, each a pass over the chain.
  const terms = intervals.reduce((sum, dt, i) => {
    const events = steps[i] === 0 ? 0 : (rate * dt) / steps[i]!;
    return sum + steps[i]! * (events + 6 * Math.sqrt(events) + 10);
  }, 0);
  const work = terms * (transitions.length + states);
  if (work > MAX_SPARSE_WORK) throw new ModelLimitError(`the Markov chain is too stiff for this horizon (${totalSteps} uniformization steps over ${states} states)`);
  const multiply = (v: number[]): number[] => {
    const out = v.map((value, i) => value * (1 - exit[i]! / rate));
    for (const { from, to, ratePerS } of transitions) if (from !== to) out[to] = out[to]! + (v[from]! * ratePerS) / rate;
    return out;
  };
  const curve: number[][] = [];
  let v = [...p0];
  let bound = 0;
  intervals.forEach((dt, i) => {
    for (let step = 0; step < steps[i]!; step++) {
      const { sum, tail } = poissonSeries(v, multiply, addScaled, (rate * dt) / steps[i]!, tolerance / Math.max(1, totalSteps));
      v = sum;
      bound += tail;
    }
    curve.push(v);
  });
  return { p: curve, truncationBound: bound };
}
