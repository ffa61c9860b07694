/**
 * A board file (host/board.ts) as the reliability model's input: each
 * processor's RAM and failure rate (and repair time), each VM's RAM, schedule
 * utilisation and where its protection lets it go. The rates come from the
 * board's failureRate fields, or from elsewhere (a campaign's accelerated
 * rates, a --rate-per-hour given by the user).
 */
import type { Board, BoardVm } from '../board.js';
import { ConfigError } from '../errors.js';
import type { BoardModelInput, ModelVm } from './placement.js';

/** Per processor id: the rate to use instead of the board's (and the repair time). */
export type ProcessorRateOverrides = Map<number, { failureRatePerS: number; repairTimeS?: number }>;

export type RateSource =
  | { kind: 'board' }
  | { kind: 'uniform'; failureRatePerS: number }
  | { kind: 'per-processor'; rates: ProcessorRateOverrides; what: string };

export function boardModelInput(board: Board, source: RateSource = { kind: 'board' }): BoardModelInput {
  const processors = board.processors.map((processor) => {
    const rate = rateFor(processor.id, processor.failureRatePerS, processor.repairTimeS, source, board);
    return { id: processor.id, ramBytes: processor.ramBytes, ...rate };
  });
  return { processors, vms: board.vms.map((vm) => modelVm(vm, board)) };
}

function rateFor(id: number, boardRate: number | undefined, boardRepair: number | undefined, source: RateSource, board: Board): { failureRatePerS: number; repairTimeS?: number } {
  const withRepair = (failureRatePerS: number, repairTimeS: number | undefined): { failureRatePerS: number; repairTimeS?: number } =>
    (repairTimeS === undefined ? { failureRatePerS } : { failureRatePerS, repairTimeS });
  switch (source.kind) {
    case 'uniform': return withRepair(source.failureRatePerS, boardRepair);
    case 'per-processor': {
      const given = source.rates.get(id);
      if (given === undefined) throw new ConfigError(`${source.what} gives no rate for processor ${id} of board ${board.name}`);
      return withRepair(given.failureRatePerS, given.repairTimeS);
    }
    case 'board':
      if (boardRate === undefined) {
        throw new ConfigError(`board ${board.name}: processor ${id} has no failureRate (give one in the board file, docs/boards.md, or a rate on the command line)`);
      }
      return withRepair(boardRate, boardRepair);
  }
}

function modelVm(vm: BoardVm, board: Board): ModelVm {
  const frameNs = board.processors.find((processor) => processor.id === vm.processor)?.majorFrameNs;
  const windowNs = vm.windows.reduce((sum, window) => sum + window.durationNs, 0);
  const protection = vm.protection;
  const relocatable = protection !== undefined && !protection.policies.includes('none');
  const targets = protection === undefined ? [] : [...(protection.backup === undefined ? [] : [protection.backup]), ...protection.spares];
  const modelled: ModelVm = {
    name: vm.name,
    memoryBytes: vm.memoryBytes,
    processor: vm.processor,
    utilisation: frameNs === undefined || windowNs === 0 ? 0 : windowNs / frameNs,
    relocatable,
  };
  if (targets.length > 0) modelled.allowed = targets;
  return modelled;
}

/** True if some VM of the board can fail over (its protection is not "none"). */
export function hasProtection(input: BoardModelInput): boolean {
  return input.vms.some((vm) => vm.relocatable);
}
