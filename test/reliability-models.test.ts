/**
 * The reliability library against textbook values and identities (Trivedi,
 * "Probability and Statistics with Reliability, Queuing and Computer Science
 * Applications"; Siewiorek & Swarz, "Reliable Computer Systems"). Every
 * expected figure below is either a value printed in those texts or an
 * independent closed form; the library computes the other side.
 */
import { describe, expect, it } from 'vitest';
import {
  blockReliability, fixed, kOfN, kOfNIdentical, kOfNMttfS, kOfNReliability, parallel, parallelReliability, series,
  seriesReliability, unit,
} from '../host/reliability/combinatorial.js';
import { generator, meanTimeToAbsorption, steadyState, transient } from '../host/reliability/ctmc.js';
import { exponentialMttfS, exponentialReliability, repairableAvailability, repairableAvailabilityAt } from '../host/reliability/exponential.js';
import { andGate, basicEvent, kOfNGate, orGate, topEventProbability } from '../host/reliability/fault-tree.js';
import { solveLinear } from '../host/reliability/linear.js';
import { coldStandbyMttfS, coldStandbyReliability, warmStandbyMttfS, warmStandbyReliability } from '../host/reliability/standby.js';
import { hoursToS, parseDurationS, parseRatePerS, perHourToPerS, sToHours } from '../host/reliability/units.js';

const lambda = perHourToPerS(1e-3);
const t100h = hoursToS(100);

describe('exponential units and unit conversion', () => {
  it('parses rates and durations with units into per-second and seconds', () => {
    expect(parseRatePerS('2e-5/h')).toBeCloseTo(2e-5 / 3600, 20);
    expect(parseRatePerS('0.05/s')).toBe(0.05);
    expect(parseRatePerS('1/y')).toBeCloseTo(1 / (8760 * 3600), 20);
    expect(parseDurationS('10h')).toBe(36_000);
    expect(parseDurationS('20ms')).toBeCloseTo(0.02, 15);
    expect(parseDurationS('10y')).toBe(10 * 8760 * 3600);
    for (const bad of ['2e-5', 'h', '5/week', '-1/h', '1 h', '']) expect(parseRatePerS(bad) ?? parseDurationS(bad)).toBeUndefined();
  });

  it('simplex: R = e^{-λt}, MTTF = 1/λ = 1000 h', () => {
    expect(exponentialReliability(lambda, t100h)).toBeCloseTo(Math.exp(-0.1), 14);
    expect(sToHours(exponentialMttfS(lambda))).toBeCloseTo(1000, 9);
  });
});

describe('combinatorial models', () => {
  const r = exponentialReliability(lambda, t100h);

  it('TMR (2-of-3), λ = 1e-3/h, t = 100 h: R = 0.974555818, MTTF = 833.33 h', () => {
    expect(kOfNIdentical(2, 3, r)).toBeCloseTo(0.974555818, 9);
    expect(sToHours(kOfNMttfS(2, 3, lambda))).toBeCloseTo(833.333333, 5);
  });

  it('duplex with coverage c = 0.9: R = 0.973722750, MTTF = 1400 h', () => {
    expect(kOfNIdentical(1, 2, r, 0.9)).toBeCloseTo(0.97372275, 9);
    expect(sToHours(kOfNMttfS(1, 2, lambda, 0.9))).toBeCloseTo(1400, 8);
  });

  it('identities: c = 1 duplex is 1-of-2 parallel; k = n is series; k = 1 is parallel', () => {
    const rs = [0.9, 0.8, 0.95, 0.7];
    expect(kOfNIdentical(1, 2, r, 1)).toBeCloseTo(parallelReliability([r, r]), 15);
    expect(kOfNReliability(4, rs)).toBeCloseTo(seriesReliability(rs), 15);
    expect(kOfNReliability(1, rs)).toBeCloseTo(parallelReliability(rs), 15);
    // 2-of-3 of different units, by enumerating the 8 states by hand.
    const [a, b, c] = [0.9, 0.8, 0.7];
    expect(kOfNReliability(2, [a, b, c])).toBeCloseTo(a * b * c + a * b * (1 - c) + a * (1 - b) * c + (1 - a) * b * c, 15);
    // With coverage, each tolerated failure is covered with probability c.
    expect(kOfNReliability(2, [a, b, c], 0.5)).toBeCloseTo(a * b * c + 0.5 * (a * b * (1 - c) + a * (1 - b) * c + (1 - a) * b * c), 15);
  });

  it('simplex and TMR cross at t = ln 2 / λ', () => {
    const crossS = Math.log(2) / lambda;
    const tmr = (tS: number): number => kOfNIdentical(2, 3, exponentialReliability(lambda, tS));
    expect(tmr(crossS)).toBeCloseTo(exponentialReliability(lambda, crossS), 14);
    expect(tmr(crossS * 0.9)).toBeGreaterThan(exponentialReliability(lambda, crossS * 0.9));
    expect(tmr(crossS * 1.1)).toBeLessThan(exponentialReliability(lambda, crossS * 1.1));
  });

  it('block diagrams compose: series of a TMR block and a parallel pair equals the product of closed forms', () => {
    const tmr = kOfN(2, [unit(lambda), unit(lambda), unit(lambda)]);
    const diagram = series(tmr, parallel(unit(2 * lambda), fixed(0.5)));
    const pair = 1 - (1 - exponentialReliability(2 * lambda, t100h)) * 0.5;
    expect(blockReliability(diagram, t100h)).toBeCloseTo((3 * r * r - 2 * r ** 3) * pair, 14);
  });
});

describe('standby', () => {
  const dormant = lambda / 10;
  it('cold standby of two units: R = e^{-λt}(1 + cλt), MTTF = (1 + c)/λ', () => {
    expect(coldStandbyReliability(2, lambda, 0.9, t100h)).toBeCloseTo(Math.exp(-0.1) * (1 + 0.9 * 0.1), 14);
    expect(sToHours(coldStandbyMttfS(2, lambda, 0.9))).toBeCloseTo(1900, 8);
  });

  it('warm standby (CTMC) agrees with the two-unit closed form e^{-λt}(1 + (cλ/λs)(1 − e^{-λs t}))', () => {
    const closed = Math.exp(-lambda * t100h) * (1 + ((0.9 * lambda) / dormant) * (1 - Math.exp(-dormant * t100h)));
    expect(warmStandbyReliability(2, lambda, dormant, 0.9, t100h)).toBeCloseTo(closed, 11);
    expect(warmStandbyMttfS(2, lambda, dormant, 0.9)).toBeCloseTo(1 / lambda + 0.9 / (lambda + dormant), 3);
  });

  it('warm standby tends to cold standby as λs → 0 and to the hot pair with switch coverage as λs → λ', () => {
    expect(warmStandbyReliability(3, lambda, 1e-12 * lambda, 0.95, t100h)).toBeCloseTo(coldStandbyReliability(3, lambda, 0.95, t100h), 9);
    // λs = λ and c = 1: a hot 1-of-2 parallel pair.
    expect(warmStandbyReliability(2, lambda, lambda, 1, t100h)).toBeCloseTo(parallelReliability([Math.exp(-0.1), Math.exp(-0.1)]), 11);
  });
});

describe('fault trees', () => {
  it('AND/OR/k-of-n gates over events that appear once', () => {
    const tree = orGate(andGate(basicEvent('a', 0.1), basicEvent('b', 0.2)), kOfNGate(2, [basicEvent('c', 0.3), basicEvent('d', 0.3), basicEvent('e', 0.3)]));
    const twoOfThree = 3 * 0.09 * 0.7 + 0.027;
    expect(topEventProbability(tree)).toBeCloseTo(1 - (1 - 0.02) * (1 - twoOfThree), 15);
  });

  it('a repeated event is handled exactly (Shannon expansion), where the naive product would be wrong', () => {
    // (a AND b) OR (a AND c) = a AND (b OR c).
    const tree = orGate(andGate(basicEvent('a', 0.5), basicEvent('b', 0.4)), andGate(basicEvent('a', 0.5), basicEvent('c', 0.3)));
    const exact = 0.5 * (1 - 0.6 * 0.7);
    const naive = 1 - (1 - 0.2) * (1 - 0.15);
    expect(topEventProbability(tree)).toBeCloseTo(exact, 15);
    expect(Math.abs(naive - exact)).toBeGreaterThan(0.01);
  });

  it('refuses an event given two different probabilities', () => {
    expect(() => topEventProbability(orGate(basicEvent('a', 0.1), basicEvent('a', 0.2)))).toThrow(/event a appears with probabilities 0.1 and 0.2/);
  });
});

describe('CTMC solver', () => {
  const mu = perHourToPerS(0.1);

  it('two active units, one repairman, λ = 1e-3/h, μ = 0.1/h: MTTF = 51,500 h (first passage); closed form (3λ+μ)/(2λ²)', () => {
    const q = generator(3, [
      { from: 0, to: 1, ratePerS: 2 * lambda },
      { from: 1, to: 0, ratePerS: mu },
      { from: 1, to: 2, ratePerS: lambda },
    ]);
    expect(sToHours(meanTimeToAbsorption(q, [1, 0, 0], [0, 1]))).toBeCloseTo(51_500, 5);
    expect(meanTimeToAbsorption(q, [1, 0, 0], [0, 1])).toBeCloseTo((3 * lambda + mu) / (2 * lambda * lambda), 0);
  });

  it('uniformization agrees with the closed form A(t) of a 2-state repairable unit, short and long horizons', () => {
    const q = generator(2, [{ from: 0, to: 1, ratePerS: lambda }, { from: 1, to: 0, ratePerS: mu }]);
    for (const tHours of [0.5, 10, 100, 1000, 100_000, 10 * 8760]) {
      const result = transient(q, [1, 0], hoursToS(tHours), 1e-12);
      expect(result.truncationBound).toBeLessThanOrEqual(1e-12);
      expect(result.p[0]).toBeCloseTo(repairableAvailabilityAt(lambda, mu, hoursToS(tHours)), 11);
      // The mass a truncated series misses is what the bound speaks of (a loose tolerance, so rounding is negligible beside it).
      const loose = transient(q, [1, 0], hoursToS(tHours), 1e-6);
      const missing = 1 - loose.p[0]! - loose.p[1]!;
      expect(loose.truncationBound).toBeLessThanOrEqual(1e-6);
      expect(missing).toBeGreaterThan(-1e-13);
      expect(missing).toBeLessThanOrEqual(loose.truncationBound + 1e-13);
      expect(loose.p[0]).toBeCloseTo(repairableAvailabilityAt(lambda, mu, hoursToS(tHours)), 5);
    }
  });

  it('uniformization agrees with e^{-λt} for a pure-death chain and with TMR for a 3-unit chain without repair', () => {
    const q = generator(3, [{ from: 0, to: 1, ratePerS: 3 * lambda }, { from: 1, to: 2, ratePerS: 2 * lambda }]);
    const p = transient(q, [1, 0, 0], t100h).p;
    const r = Math.exp(-0.1);
    expect(p[0]! + p[1]!).toBeCloseTo(3 * r * r - 2 * r ** 3, 12);
    expect(p[0]).toBeCloseTo(r ** 3, 12);
  });

  it('steady-state availability μ/(λ+μ)', () => {
    const q = generator(2, [{ from: 0, to: 1, ratePerS: lambda }, { from: 1, to: 0, ratePerS: mu }]);
    expect(steadyState(q)[0]).toBeCloseTo(repairableAvailability(lambda, mu), 14);
    expect(repairableAvailability(lambda, mu)).toBeCloseTo(0.1 / 0.101, 14);
  });

  it('Gaussian elimination pivots (a zero on the diagonal) and refuses a singular system', () => {
    expect(solveLinear([[0, 1], [1, 0]], [2, 3])).toEqual([3, 2]);
    expect(() => solveLinear([[1, 2], [2, 4]], [1, 2])).toThrow(/singular/);
  });
});
