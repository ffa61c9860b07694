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
import type { CoverageBand } from './comparison.js';

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
  migration: { reliability: BandFigures; mttfS: BandFigures; availability?: BandFigures };
  tolerance: ToleranceRow[];
}

export function analyzeBoard(board: Board, options: AnalyzeOptions): BoardAnalysis {
  const input = boardModelInput(board, options.rates);
  const model = new BoardModel(input);
  const band = (f: (c: number) => number): BandFigures => ({ low: f(options.coverage.low), estimate: f(options.coverage.estimate), high: f(options.coverage.high) });
  const result: BoardAnalysis = {
    board: board.name,
    processors: input.processors.map(({ id, failureRatePerS, repairTimeS }) => (repairTimeS === undefined ? { id, failureRatePerS } : { id, failureRatePerS, repairTimeS })),
    vms: input.vms.length,
    protectedVms: input.vms.filter((vm) => vm.relocatable).length,
    tS: options.tS,
    coverage: options.coverage,
    static: { reliability: model.staticReliability(options.tS), mttfS: model.staticMttfS() },
    migration: { reliability: band((c) => model.migrationReliability([options.tS], c)[0]!), mttfS: band((c) => model.migrationMttfS(c)) },
    tolerance: model.toleranceTable(),
  };
  const staticAvailability = model.staticAvailability();
  if (staticAvailability !== undefined) result.static.availability = staticAvailability;
  if (model.hasRepair()) result.migration.availability = band((c) => model.migrationAvailability(c)!);
  return result;
}

