/**
 * Combinatorial reliability models over independent units: series, parallel,
 * k-of-n (identical or not) and k-of-n with imperfect coverage, composable as
 * reliability block diagrams. Formulas: Trivedi, "Probability and Statistics
 * with Reliability, Queuing and Computer Science Applications" (2nd ed.),
 * §3.5 (series, parallel, k-of-n) and §3.6/§8.1 (coverage); Siewiorek &
 * Swarz, "Reliable Computer Systems" (3rd ed.), ch. 5 (TMR, coverage).
 */
import { exponentialReliability } from './exponential.js';

/** R of units in series: all must work. */
export function seriesReliability(reliabilities: number[]): number {
  return reliabilities.reduce((product, r) => product * r, 1);
}

/** R of units in parallel: one suffices. */
export function parallelReliability(reliabilities: number[]): number {
  return 1 - reliabilities.reduce((product, r) => product * (1 - r), 1);
}

/**
 * P(exactly i of the units work), i = 0..n, for independent units with
 * different reliabilities (the Poisson-binomial distribution), by adding one
 * unit at a time: O(n²), exact, no cancellation.
 */
export function workingCountDistribution(reliabilities: number[]): number[] {
  let dist = [1];
  for (const r of reliabilities) {
    const next = new Array<number>(dist.length + 1).fill(0);
    dist.forEach((p, i) => {
      next[i] = next[i]! + p * (1 - r);
      next[i + 1] = next[i + 1]! + p * r;
    });
    dist = next;
  }
  return dist;
}

/**
 * k-of-n with imperfect coverage: at least k of the n units work, and each of
 * the failures so far (at most n − k) was covered — detected and recovered
 * from — with probability `coverage` each, independently:
 * R = Σ_{i=0}^{n−k} P(exactly i failed)·c^i (Trivedi §8.1, for identical
 * units C(n,i)·c^i·R^{n−i}·(1−R)^i). coverage = 1 is plain k-of-n.
 */
export function kOfNReliability(k: number, reliabilities: number[], coverage = 1): number {
  const n = reliabilities.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`k-of-n needs 0 ≤ k ≤ n, not k = ${k}, n = ${n}`);
  const dist = workingCountDistribution(reliabilities);
  let sum = 0;
  for (let failed = 0; failed <= n - k; failed++) sum += dist[n - failed]! * coverage ** failed;
  return sum;
}

/** k-of-n of identical units of reliability r. */
export function kOfNIdentical(k: number, n: number, r: number, coverage = 1): number {
  return kOfNReliability(k, new Array<number>(n).fill(r), coverage);
}

/**
 * MTTF of k-of-n identical units with exponential lifetimes (rate λ) and
 * coverage c: the system passes through j = 0..n−k covered failures; with
 * n − j units working the next failure comes after 1/((n−j)λ) on average and
 * is reached with probability c^j, so MTTF = Σ_{j=0}^{n−k} c^j / ((n − j)λ).
 * c = 1 gives the textbook Σ_{i=k}^{n} 1/(iλ) (Trivedi §3.5): TMR 5/(6λ).
 */
export function kOfNMttfS(k: number, n: number, ratePerS: number, coverage = 1): number {
  let sum = 0;
  for (let j = 0; j <= n - k; j++) sum += coverage ** j / ((n - j) * ratePerS);
  return sum;
}

/** A reliability block diagram: units with exponential lifetimes or fixed reliabilities, composed. */
export type Block =
  | { kind: 'unit'; name?: string; ratePerS: number }
  | { kind: 'fixed'; name?: string; reliability: number }
  | { kind: 'series'; blocks: Block[] }
  | { kind: 'parallel'; blocks: Block[] }
  | { kind: 'k-of-n'; k: number; blocks: Block[]; coverage?: number };

export const unit = (ratePerS: number, name?: string): Block => (name === undefined ? { kind: 'unit', ratePerS } : { kind: 'unit', ratePerS, name });
export const fixed = (reliability: number, name?: string): Block => (name === undefined ? { kind: 'fixed', reliability } : { kind: 'fixed', reliability, name });
export const series = (...blocks: Block[]): Block => ({ kind: 'series', blocks });
export const parallel = (...blocks: Block[]): Block => ({ kind: 'parallel', blocks });
export const kOfN = (k: number, blocks: Block[], coverage?: number): Block =>
  (coverage === undefined ? { kind: 'k-of-n', k, blocks } : { kind: 'k-of-n', k, blocks, coverage });

/** R(t) of a block diagram, the blocks independent of each other. */
export function blockReliability(block: Block, tS: number): number {
  switch (block.kind) {
    case 'unit': return exponentialReliability(block.ratePerS, tS);
    case 'fixed': return block.reliability;
    case 'series': return seriesReliability(block.blocks.map((b) => blockReliability(b, tS)));
    case 'parallel': return parallelReliability(block.blocks.map((b) => blockReliability(b, tS)));
    case 'k-of-n': return kOfNReliability(block.k, block.blocks.map((b) => blockReliability(b, tS)), block.coverage ?? 1);
  }
}
