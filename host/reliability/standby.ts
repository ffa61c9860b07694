/**
 * Standby redundancy: one active unit, the others spares that take over when
 * it fails, each switch-over succeeding with probability c (switch coverage).
 * Cold spares do not fail while waiting; warm spares fail at a dormant rate
 * λs < λ; a spare's own failure is assumed detected (it needs no switch).
 * Trivedi §3.5 (standby) and §8.3; Siewiorek & Swarz ch. 5.
 */
import { generator, meanTimeToAbsorption, transient } from './ctmc.js';
import type { Transition } from './ctmc.js';

/** Cold standby with n units in all: R(t) = e^{−λt}·Σ_{i=0}^{n−1} (cλt)^i / i!. */
export function coldStandbyReliability(units: number, ratePerS: number, coverage: number, tS: number): number {
  let term = 1;
  let sum = 1;
  for (let i = 1; i < units; i++) {
    term *= (coverage * ratePerS * tS) / i;
    sum += term;
  }
  return Math.exp(-ratePerS * tS) * sum;
}

/** Cold standby MTTF: each of the n−1 switches is reached with probability c^i, so Σ_{i=0}^{n−1} c^i/λ. */
export function coldStandbyMttfS(units: number, ratePerS: number, coverage: number): number {
  let sum = 0;
  for (let i = 0; i < units; i++) sum += coverage ** i / ratePerS;
  return sum;
}

/**
 * Warm standby as a CTMC: state j = units failed so far (0..n−1), state n =
 * system failed. In state j the active unit fails at λ (covered: on to j+1
 * if a spare is left), each of the n−1−j spares at λs (on to j+1).
 */
export function warmStandbyChain(units: number, ratePerS: number, dormantRatePerS: number, coverage: number): { q: number[][]; failed: number } {
  const failed = units;
  const transitions: Transition[] = [];
  for (let j = 0; j < units; j++) {
    const lastUnit = j === units - 1;
    transitions.push({ from: j, to: lastUnit ? failed : j + 1, ratePerS: ratePerS * (lastUnit ? 1 : coverage) });
    if (!lastUnit) transitions.push({ from: j, to: failed, ratePerS: ratePerS * (1 - coverage) });
    const spares = units - 1 - j;
    if (spares > 0) transitions.push({ from: j, to: j + 1, ratePerS: spares * dormantRatePerS });
  }
  return { q: generator(units + 1, transitions), failed };
}

export function warmStandbyReliability(units: number, ratePerS: number, dormantRatePerS: number, coverage: number, tS: number): number {
  const { q, failed } = warmStandbyChain(units, ratePerS, dormantRatePerS, coverage);
  return 1 - transient(q, start(units + 1), tS).p[failed]!;
}

export function warmStandbyMttfS(units: number, ratePerS: number, dormantRatePerS: number, coverage: number): number {
  const { q } = warmStandbyChain(units, ratePerS, dormantRatePerS, coverage);
  return meanTimeToAbsorption(q, start(units + 1), Array.from({ length: units }, (_, j) => j));
}

function start(states: number): number[] {
  const p = new Array<number>(states).fill(0);
  p[0] = 1;
  return p;
}
