/**
 * The reliability model of a board (docs/reliability.md, "From a board"):
 *
 * - static mapping (no migration): every processor that holds a VM must
 *   survive; a series system, R(t) = exp(−Σ λ_i t), MTTF = 1/Σ λ_i;
 * - with migration/failover: a CTMC over the sets F of failed processors the
 *   board survives (placement.ts decides which). A processor that holds VMs
 *   fails into F ∪ {i} with probability c — the failure is covered: detected
 *   and its VMs moved within their bounds — and into system failure with
 *   1 − c; a processor that holds none needs no failover. With repair
 *   (repairTime on a processor), F → F \ {j} at μ_j = 1/repairTime_j, one
 *   repair crew per processor.
 *
 * R(t) is the chain's transient solution (uniformization), MTTF its mean time
 * to absorption (first passage; without repair the chain is acyclic and the
 * first-passage equations are solved by back-substitution over the sets).
 * Availability needs repair on every processor: after a system failure the
 * board is down until all its failed processors are repaired (a restart of
 * the whole service), which gives a finite, irreducible chain.
 */
import { generator, meanTimeToAbsorption, steadyState, transientCurve } from './ctmc.js';
import type { Transition } from './ctmc.js';
import { PlacementSearch } from './placement.js';
import type { BoardModelInput } from './placement.js';
import { ModelLimitError } from './model-limit-error.js';

export type { BoardModelInput, ModelProcessor, ModelVm } from './placement.js';

/** Dense solves (MTTF with repair, availability) are limited to boards this small (2^8 failure sets). */
export const MAX_DENSE_PROCESSORS = 8;
/** Truncation error allowed in a transient solution: far below any figure the report prints. */
const TRANSIENT_TOLERANCE = 1e-13;

export interface ToleranceRow {
  /** Number of failed processors. */
  failures: number;
  /** Of the C(n, failures) sets of that size, how many the board survives (with perfect coverage). */
  survived: number;
  sets: number;
}

interface FailureStep {
  /** Index of the processor that fails. */
  processor: number;
  /** The next set of failed processors, or undefined: the system fails. */
  to: number | undefined;
  ratePerS: number;
}

export class BoardModel {
  readonly search: PlacementSearch;
  /** The sets of failed processors the board survives, reachable one failure at a time from none; index 0 is the empty set. */
  readonly upStates: number[];
  private readonly stateIndex: Map<number, number>;

  constructor(readonly input: BoardModelInput) {
    for (const processor of input.processors) {
      if (!(processor.failureRatePerS >= 0) || !Number.isFinite(processor.failureRatePerS)) {
        throw new RangeError(`processor ${processor.id}: the failure rate must be a finite rate ≥ 0, not ${processor.failureRatePerS}`);
      }
    }
    this.search = new PlacementSearch(input);
    this.upStates = reachableUpStates(this.search);
    this.stateIndex = new Map(this.upStates.map((mask, index) => [mask, index]));
  }

  get processors(): BoardModelInput['processors'] {
    return this.input.processors;
  }

  /** Σ λ of the processors that hold VMs: the static mapping's failure rate. */
  staticRatePerS(): number {
    const home = this.search.homeMask();
    return this.processors.reduce((sum, processor, i) => sum + ((home >> i) & 1 ? processor.failureRatePerS : 0), 0);
  }

  staticReliability(tS: number): number {
    return Math.exp(-this.staticRatePerS() * tS);
  }

  staticMttfS(): number {
    return 1 / this.staticRatePerS();
  }

  /** Π μ/(λ+μ) over the processors that hold VMs; undefined unless each of them has a repair time. */
  staticAvailability(): number | undefined {
    const home = this.search.homeMask();
    let product = 1;
    for (const [i, processor] of this.processors.entries()) {
      if (!((home >> i) & 1)) continue;
      if (processor.repairTimeS === undefined) return undefined;
      product *= 1 / (1 + processor.failureRatePerS * processor.repairTimeS);
    }
    return product;
  }

  /** True when every processor has a repair time (the chain then has repair transitions). */
  hasRepair(): boolean {
    return this.processors.every((processor) => processor.repairTimeS !== undefined);
  }

  /** R(t) with migration at coverage c, at each of `timesS` (ascending). */
  migrationReliability(timesS: number[], coverage: number): number[] {
    const { transitions, down } = this.reliabilityChain(coverage);
    const p0 = new Array<number>(down + 1).fill(0);
    p0[0] = 1;
    return transientCurve(down + 1, transitions, p0, timesS, TRANSIENT_TOLERANCE).p.map((p) => 1 - p[down]!);
  }

  /** MTTF with migration at coverage c (with repair when every processor has a repair time). */
  migrationMttfS(coverage: number): number {
    if (!this.hasRepairTransitions()) return this.acyclicMttfS(coverage);
    this.requireDense('an MTTF with repair');
    const { transitions, down } = this.reliabilityChain(coverage);
    const p0 = new Array<number>(down + 1).fill(0);
    p0[0] = 1;
    return meanTimeToAbsorption(generator(down + 1, transitions), p0, this.upStates.map((_, i) => i));
  }

  /** Steady-state availability with migration at coverage c; undefined without repair on every processor. */
  migrationAvailability(coverage: number): number | undefined {
    if (!this.hasRepair()) return undefined;
    this.requireDense('an availability');
    const { q, upCount } = this.availabilityChain(coverage);
    return steadyState(q).slice(0, upCount).reduce((sum, p) => sum + p, 0);
  }

  /** For each number of failures, how many sets of failed processors the board survives (perfect coverage). */
  toleranceTable(): ToleranceRow[] {
    const n = this.processors.length;
    const rows: ToleranceRow[] = Array.from({ length: n }, (_, k) => ({ failures: k + 1, survived: 0, sets: 0 }));
    for (let mask = 1; mask < 1 << n; mask++) {
      const row = rows[popcount(mask) - 1]!;
      row.sets++;
      if (this.search.isUp(mask)) row.survived++;
    }
    return rows;
  }

  /** Transitions among the up states (index as in upStates), state upStates.length = system failed. */
  private reliabilityChain(coverage: number): { transitions: Transition[]; down: number } {
    const down = this.upStates.length;
    const transitions: Transition[] = [];
    this.upStates.forEach((mask, from) => {
      for (const step of this.failureSteps(mask, coverage)) {
        transitions.push({ from, to: step.to === undefined ? down : this.stateIndex.get(step.to)!, ratePerS: step.ratePerS });
      }
      for (const { to, ratePerS } of this.repairSteps(mask)) transitions.push({ from, to: this.stateIndex.get(to)!, ratePerS });
    });
    return { transitions, down };
  }

  /** Where a failure of processor `processor` in state `mask` leads: another up state (to), or system failure (to undefined). */
  private failureSteps(mask: number, coverage: number): FailureStep[] {
    const steps: FailureStep[] = [];
    this.processors.forEach((processor, i) => {
      if ((mask >> i) & 1 || processor.failureRatePerS === 0) return;
      const next = mask | (1 << i);
      const covered = this.search.hosts(mask, i) ? coverage : 1;
      const survivable = this.search.isUp(next);
      if (survivable && covered > 0) steps.push({ processor: i, to: next, ratePerS: processor.failureRatePerS * covered });
      const lost = survivable ? 1 - covered : 1;
      if (lost > 0) steps.push({ processor: i, to: undefined, ratePerS: processor.failureRatePerS * lost });
    });
    return steps;
  }

  private repairSteps(mask: number): { to: number; ratePerS: number }[] {
    const steps: { to: number; ratePerS: number }[] = [];
    this.processors.forEach((processor, j) => {
      if ((mask >> j) & 1 && processor.repairTimeS !== undefined) steps.push({ to: mask & ~(1 << j), ratePerS: 1 / processor.repairTimeS });
    });
    return steps;
  }

  private hasRepairTransitions(): boolean {
    return this.processors.some((processor) => processor.repairTimeS !== undefined);
  }

  /**
   * Without repair the sets only grow: T(F) = (1 + Σ r_{F→F'}·T(F')) / exit(F),
   * solved from the largest sets down (the first-passage system, triangular).
   */
  private acyclicMttfS(coverage: number): number {
    const order = [...this.upStates].sort((a, b) => popcount(b) - popcount(a) || a - b);
    const expected = new Map<number, number>();
    for (const mask of order) {
      const steps = this.failureSteps(mask, coverage);
      const exit = steps.reduce((sum, step) => sum + step.ratePerS, 0);
      const onward = steps.reduce((sum, step) => sum + (step.to === undefined ? 0 : step.ratePerS * expected.get(step.to)!), 0);
      expected.set(mask, exit === 0 ? Infinity : (1 + onward) / exit);
    }
    return expected.get(0)!;
  }

  /**
   * The availability chain: the up states, then one down state per non-empty
   * set of failed processors. Failures go on while down; repairs too; the
   * board comes back up when the last failed processor is repaired.
   */
  private availabilityChain(coverage: number): { q: number[][]; upCount: number } {
    const upCount = this.upStates.length;
    const n = this.processors.length;
    const downIndex = (mask: number): number => upCount + mask - 1;
    const transitions: Transition[] = [];
    this.upStates.forEach((mask, from) => {
      for (const step of this.failureSteps(mask, coverage)) {
        const to = step.to === undefined ? downIndex(mask | (1 << step.processor)) : this.stateIndex.get(step.to)!;
        transitions.push({ from, to, ratePerS: step.ratePerS });
      }
      for (const { to, ratePerS } of this.repairSteps(mask)) transitions.push({ from, to: this.stateIndex.get(to)!, ratePerS });
    });
    for (let mask = 1; mask < 1 << n; mask++) {
      const from = downIndex(mask);
      this.processors.forEach((processor, i) => {
        const bit = 1 << i;
        if (mask & bit) transitions.push({ from, to: mask === bit ? 0 : downIndex(mask & ~bit), ratePerS: 1 / processor.repairTimeS! });
        else if (processor.failureRatePerS > 0) transitions.push({ from, to: downIndex(mask | bit), ratePerS: processor.failureRatePerS });
      });
    }
    return { q: generator(upCount + (1 << n) - 1, transitions), upCount };
  }

  private requireDense(what: string): void {
    if (this.processors.length > MAX_DENSE_PROCESSORS) {
      throw new ModelLimitError(`${what} is computed for boards of at most ${MAX_DENSE_PROCESSORS} processors (a dense chain of 2^n states), not ${this.processors.length}`);
    }
  }
}

export function boardModel(input: BoardModelInput): BoardModel {
  return new BoardModel(input);
}

function reachableUpStates(search: PlacementSearch): number[] {
  const n = search.processorCount;
  const seen = new Set<number>([0]);
  const queue = [0];
  if (!search.isUp(0)) throw new RangeError('the board does not fit as configured: some processor\'s VMs exceed its RAM or schedule');
  for (let head = 0; head < queue.length; head++) {
    const mask = queue[head]!;
    for (let i = 0; i < n; i++) {
      const next = mask | (1 << i);
      if (next === mask || seen.has(next) || !search.isUp(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return queue;
}

function popcount(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count++;
  return count;
}
