/**
 * `ferry analyze` as a library function: the board model's figures alone —
 * R(t), MTTF and (with repair) availability, with and without migration — at
 * a coverage given, assumed, or measured in a campaign (then as a band).
 */
import type { Board } from '../board.js';
import { boardModelInput } from './board-input.js';
import type { RateSource } from './board-input.js';
import { BoardModel } from './board-model.js';
import type { ToleranceRow } from './board-model.js';
import { atCoverages } from './comparison.js';
import type { CoverageBand } from './comparison.js';
import { withinModelLimits } from './model-limit-error.js';

export interface AnalyzeOptions {
  tS: number;
  coverage: CoverageBand;
  rates: RateSource;
}

export interface BandFigures {
  low: number;
  estimate: number;
  high: number;
}

export interface BoardAnalysis {
  board: string;
  processors: { id: number; failureRatePerS: number; repairTimeS?: number }[];
  vms: number;
  protectedVms: number;
  tS: number;
  coverage: CoverageBand;
  static: { reliability: number; mttfS: number; availability?: number };
  /** A figure is undefined where it is beyond the model's limits (see notes). */
  migration: { reliability?: BandFigures; mttfS?: BandFigures; availability?: BandFigures };
  tolerance: ToleranceRow[];
  /** Figures left out, and why (a model's limits). */
  notes: string[];
}

export function analyzeBoard(board: Board, options: AnalyzeOptions): BoardAnalysis {
  const input = boardModelInput(board, options.rates);
  const model = new BoardModel(input);
  const band = (f: (c: number) => number): BandFigures => {
    const [low, estimate, high] = atCoverages(options.coverage, f);
    return { low, estimate, high };
  };
  const result: BoardAnalysis = {
    board: board.name,
    processors: input.processors.map(({ id, failureRatePerS, repairTimeS }) => (repairTimeS === undefined ? { id, failureRatePerS } : { id, failureRatePerS, repairTimeS })),
    vms: input.vms.length,
    protectedVms: input.vms.filter((vm) => vm.relocatable).length,
    tS: options.tS,
    coverage: options.coverage,
    static: { reliability: model.staticReliability(options.tS), mttfS: model.staticMttfS() },
    migration: {},
    tolerance: model.toleranceTable(),
    notes: [],
  };
  const reliability = withinModelLimits(() => band((c) => model.migrationReliability([options.tS], c)[0]!), result.notes);
  if (reliability !== undefined) result.migration.reliability = reliability;
  const mttf = withinModelLimits(() => band((c) => model.migrationMttfS(c)), result.notes);
  if (mttf !== undefined) result.migration.mttfS = mttf;
  const staticAvailability = model.staticAvailability();
  if (staticAvailability !== undefined) result.static.availability = staticAvailability;
  if (model.hasRepair()) {
    const availability = withinModelLimits(() => band((c) => model.migrationAvailability(c)!), result.notes);
    if (availability !== undefined) result.migration.availability = availability;
  }
  return result;
}

