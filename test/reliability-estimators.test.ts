/**
 * The estimators: Clopper–Pearson and Wilson intervals, the zero-failure
 * bound, Kaplan–Meier with Greenwood's variance — against closed forms, hand
 * calculations and (when python3 has scipy) scipy as an independent oracle.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clopperPearson, wilson, zeroFailureUpperBound } from '../host/reliability/binomial-intervals.js';
import { kaplanMeier, survivalAt } from '../host/reliability/kaplan-meier.js';
import { logGamma, normalCdf, normalQuantile, regularizedBeta } from '../host/reliability/special-functions.js';

/** P(X ≤ x) for X ~ Binomial(n, p), summed term by term (an independent path to the beta function). */
function binomialCdf(x: number, n: number, p: number): number {
  // In logs: (1 − p)^n underflows for p near 1.
  let logTerm = n * Math.log1p(-p);
  let sum = Math.exp(logTerm);
  for (let k = 1; k <= x; k++) {
    logTerm += Math.log((n - k + 1) / k) + Math.log(p) - Math.log1p(-p);
    sum += Math.exp(logTerm);
  }
  return sum;
}

const CASES: [number, number][] = [[0, 10], [5, 20], [3, 1000], [997, 1000], [10, 10], [1, 2], [40, 57]];

describe('special functions', () => {
  it('ln Γ at integers and ½, Φ and its inverse', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(101)).toBeCloseTo([...Array(100).keys()].reduce((sum, k) => sum + Math.log(k + 1), 0), 10);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalQuantile(normalCdf(1.2345))).toBeCloseTo(1.2345, 12);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
  });

  it('the incomplete beta function equals the binomial tail: I_{1−p}(n−x, x+1) = P(X ≤ x)', () => {
    for (const [x, n] of [[3, 10], [0, 7], [50, 120], [199, 200]] as const) {
      for (const p of [0.01, 0.3, 0.77]) expect(regularizedBeta(1 - p, n - x, x + 1)).toBeCloseTo(binomialCdf(x, n, p), 12);
    }
  });
});

describe('binomial intervals', () => {
  it('Clopper–Pearson 0/10 at 95 %: upper 1 − 0.025^{1/10} = 0.3085; n/n: lower 0.025^{1/n}', () => {
    expect(clopperPearson(0, 10).upper).toBeCloseTo(1 - 0.025 ** 0.1, 12);
    expect(clopperPearson(0, 10).upper).toBeCloseTo(0.3085, 4);
    expect(clopperPearson(10, 10).lower).toBeCloseTo(0.025 ** 0.1, 12);
  });

  it('Clopper–Pearson limits are where the binomial tails are α/2', () => {
    for (const [x, n] of CASES) {
      const { lower, upper } = clopperPearson(x, n);
      if (x < n) expect(binomialCdf(x, n, upper)).toBeCloseTo(0.025, 10);
      if (x > 0) expect(1 - binomialCdf(x - 1, n, lower)).toBeCloseTo(0.025, 10);
    }
  });

  it('Wilson limits solve the score equation |p̂ − p| = z·√(p(1−p)/n)', () => {
    const z = normalQuantile(0.975);
    for (const [x, n] of CASES.filter(([x, n]) => x > 0 && x < n)) {
      const { lower, upper } = wilson(x, n);
      for (const p of [lower, upper]) expect(Math.abs(x / n - p)).toBeCloseTo(z * Math.sqrt((p * (1 - p)) / n), 12);
    }
  });

  it('zero failures in 10,000 trials: < 3.0e-4 at 95 % (one-sided), the Clopper–Pearson upper limit at 90 % two-sided', () => {
    expect(zeroFailureUpperBound(10_000)).toBeCloseTo(2.9953e-4, 8);
    expect(zeroFailureUpperBound(10_000)).toBeCloseTo(clopperPearson(0, 10_000, 0.9).upper, 12);
    expect(() => zeroFailureUpperBound(0)).toThrow(/at least one trial/);
  });

  const scipy = spawnSync('python3', ['-c', 'import scipy'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!scipy)(`agrees with scipy.stats.beta.ppf (an independent oracle)${scipy ? '' : ' — SKIPPED: python3 with scipy not found'}`, () => {
    const program = `
import json, sys
from scipy.stats import beta, norm
out = []
for x, n in json.loads(sys.argv[1]):
    out.append([0.0 if x == 0 else float(beta.ppf(0.025, x, n - x + 1)), 1.0 if x == n else float(beta.ppf(0.975, x + 1, n - x))])
print(json.dumps({"cp": out, "z": float(norm.ppf(0.975))}))`;
    const result = spawnSync('python3', ['-c', program, JSON.stringify(CASES)], { encoding: 'utf8' });
    const oracle = JSON.parse(result.stdout) as { cp: [number, number][]; z: number };
    CASES.forEach(([x, n], i) => {
      const ours = clopperPearson(x, n);
      expect(ours.lower).toBeCloseTo(oracle.cp[i]![0], 10);
      expect(ours.upper).toBeCloseTo(oracle.cp[i]![1], 10);
    });
    expect(normalQuantile(0.975)).toBeCloseTo(oracle.z, 12);
  });
});

describe('Kaplan–Meier', () => {
  it('on uncensored data equals the empirical survival function', () => {
    const times = [3, 1, 4, 1, 5, 9, 2, 6];
    const km = kaplanMeier(times.map((timeS) => ({ timeS, event: true })));
    for (const t of [0, 1, 1.5, 2, 3, 4.5, 6, 8.9, 9, 10]) {
      expect(survivalAt(km, t).survival).toBeCloseTo(times.filter((x) => x > t).length / times.length, 14);
    }
  });

  it('with censoring: Ŝ and Greenwood\'s variance by hand (1, 2+, 3, 4+, 5)', () => {
    const km = kaplanMeier([1, 2, 3, 4, 5].map((timeS) => ({ timeS, event: timeS % 2 === 1 })), 0.95, 'plain');
    const at3 = km.steps.find((step) => step.timeS === 3)!;
    expect(at3.survival).toBeCloseTo((4 / 5) * (2 / 3), 14);
    expect(at3.variance).toBeCloseTo(((8 / 15) ** 2) * (1 / 20 + 1 / 6), 14);
    const half = normalQuantile(0.975) * Math.sqrt(at3.variance);
    expect(at3.lower).toBeCloseTo(8 / 15 - half, 12);
    expect(at3.upper).toBeCloseTo(Math.min(1, 8 / 15 + half), 12);
    expect(km.steps[km.steps.length - 1]!.survival).toBe(0);
  });

  it('before the first event the band is not a point: its lower limit is (α/2)^{1/n}, the Clopper–Pearson limit for n of n', () => {
    const km = kaplanMeier([...Array(100).keys()].map((i) => ({ timeS: 10 + i, event: i >= 50 })));
    expect(survivalAt(km, 5)).toMatchObject({ survival: 1, upper: 1 });
    expect(survivalAt(km, 5).lower).toBeCloseTo(0.025 ** (1 / 100), 14);
    expect(survivalAt(km, 12).lower).toBeCloseTo(0.025 ** (1 / 98), 14); // two censored by then
    expect(survivalAt(km, 80).upper).toBeLessThan(1);
  });

  it('log-log band: inside [0, 1], around Ŝ, and narrowing as trials grow', () => {
    const observations = (n: number): { timeS: number; event: boolean }[] => Array.from({ length: n }, (_, i) => ({ timeS: i % 10 === 0 ? i / n : 1, event: i % 10 === 0 }));
    const small = survivalAt(kaplanMeier(observations(100)), 0.99);
    const large = survivalAt(kaplanMeier(observations(10_000)), 0.99);
    for (const band of [small, large]) {
      expect(band.lower).toBeGreaterThan(0);
      expect(band.lower).toBeLessThan(band.survival);
      expect(band.upper).toBeGreaterThan(band.survival);
      expect(band.upper).toBeLessThan(1);
    }
    expect(large.upper - large.lower).toBeLessThan((small.upper - small.lower) / 5);
  });
});
