/**
 * A scenario's `campaign` section (docs/campaigns.md): the rates and distributions each
 * trial of `ferry campaign` draws its faults from. The schema (scenarios/schema.json)
 * checks the shapes; this file checks what it cannot say — against the board — and
 * reports each problem with its JSON pointer, as the rest of the scenario is checked.
 */
import type { Board } from './board.js';
import type { BoardProblem } from './board-schema.js';
import type { LinkFaultRates } from './link-faults.js';
import { MAX_VIRTUAL_TIME_NS, parseVirtualTime } from './time-units.js';

/** How a processor's time to fail-stop is drawn. */
export type FailStopDistribution =
  | { distribution: 'exponential'; perS: number }
  | { distribution: 'weibull'; shape: number; scaleNs: bigint };

export interface CampaignSection {
  /** The virtual time each trial runs. */
  horizonNs: bigint;
  /** A trial needing more lockstep quanta ends as a timeout (deterministic: quanta, not wall time). */
  maxSteps?: number;
  /** Processors that may fail, hang or warn. */
  processors: number[];
  /** Only the first this many processor faults of a trial are kept (a fault hypothesis); undefined: all. */
  maxProcessorFaults?: number;
  /** Per processor id (only those in `processors`). */
  failStop: Map<number, FailStopDistribution>;
  hang?: { perS: number; forNs?: bigint };
  warning?: { perS: number; leadNs: bigint };
  /** A failed processor is repaired after a time drawn from this (its mean is the record's repairNs), then may fail again. */
  repair?: { distribution: 'exponential' | 'fixed'; timeNs: bigint };
  links?: LinkFaultRates;
  partitions?: { perS: number; forNs: bigint };
  slowdowns?: { perS: number; by: number; forNs: bigint };
  flips?: { ramPerS: number; registerPerS: number; framePerS: number; vms: string[] };
}

/** The section as JSON (after the schema). */
export interface CampaignJson {
  horizon?: string;
  maxSteps?: number;
  processors?: number[];
  maxProcessorFaults?: number;
  failStop?: { distribution: 'exponential' | 'weibull'; perS?: number; acceleration?: number; shape?: number; scale?: string };
  hang?: { perS: number; for?: string };
  warning?: { perS: number; lead: string };
  repair?: { time: string; distribution?: 'exponential' | 'fixed' };
  links?: LinkFaultRates;
  partitions?: { perS: number; for: string };
  slowdowns?: { perS: number; by: number; for: string };
  flips?: { ramPerS?: number; registerPerS?: number; framePerS?: number; vms?: string[] };
}

/** Checks the section against the board; problems go to `problems`, undefined if any. */
export function parseCampaignSection(json: CampaignJson, board: Board, durationNs: bigint | undefined, problems: BoardProblem[]): CampaignSection | undefined {
  const start = problems.length;
  const time = (text: string, pointer: string): bigint => {
    const ns = parseVirtualTime(text);
    if (ns === undefined) problems.push({ pointer, message: `is finer than a nanosecond: ${text}` });
    else if (ns > MAX_VIRTUAL_TIME_NS) problems.push({ pointer, message: `is longer than the most Ferry runs (1000000000s): ${text}` });
    else if (ns === 0n) problems.push({ pointer, message: 'must be longer than 0' });
    else return ns;
    return 1n;
  };
  let horizonNs = durationNs;
  if (json.horizon !== undefined) horizonNs = time(json.horizon, '/campaign/horizon');
  if (horizonNs === undefined) problems.push({ pointer: '/campaign', message: 'needs "horizon" (or the scenario a "duration"): how long each trial runs' });
  const ids = new Set(board.processors.map((processor) => processor.id));
  const processors = json.processors ?? board.processors.map((processor) => processor.id);
  (json.processors ?? []).forEach((id, index) => {
    if (!ids.has(id)) problems.push({ pointer: `/campaign/processors/${index}`, message: `is no processor of board ${board.name}` });
  });
  const failStop = failStopOf(json, board, processors, time, problems);
  const section: CampaignSection = { horizonNs: horizonNs ?? 1n, processors, failStop };
  if (json.maxSteps !== undefined) section.maxSteps = json.maxSteps;
  if (json.maxProcessorFaults !== undefined) section.maxProcessorFaults = json.maxProcessorFaults;
  if (json.hang !== undefined) {
    section.hang = { perS: json.hang.perS, ...(json.hang.for === undefined ? {} : { forNs: time(json.hang.for, '/campaign/hang/for') }) };
  }
  if (json.warning !== undefined) section.warning = { perS: json.warning.perS, leadNs: time(json.warning.lead, '/campaign/warning/lead') };
  if (json.repair !== undefined) {
    if (json.failStop === undefined) problems.push({ pointer: '/campaign/repair', message: 'repairs what fails: it needs "failStop"' });
    section.repair = { distribution: json.repair.distribution ?? 'exponential', timeNs: time(json.repair.time, '/campaign/repair/time') };
  }
  if (json.links !== undefined) section.links = json.links;
  if (json.partitions !== undefined) {
    if (board.processors.length < 2) problems.push({ pointer: '/campaign/partitions', message: 'a partition needs two processors at least' });
    section.partitions = { perS: json.partitions.perS, forNs: time(json.partitions.for, '/campaign/partitions/for') };
  }
  if (json.slowdowns !== undefined) {
    if (board.links.length === 0) problems.push({ pointer: '/campaign/slowdowns', message: `board ${board.name} has no link to slow down` });
    section.slowdowns = { perS: json.slowdowns.perS, by: json.slowdowns.by, forNs: time(json.slowdowns.for, '/campaign/slowdowns/for') };
  }
  if (json.flips !== undefined) section.flips = flipsOf(json.flips, board, problems);
  return problems.length === start ? section : undefined;
}

function failStopOf(
  json: CampaignJson, board: Board, processors: readonly number[], time: (text: string, pointer: string) => bigint, problems: BoardProblem[],
): Map<number, FailStopDistribution> {
  const result = new Map<number, FailStopDistribution>();
  const spec = json.failStop;
  if (spec === undefined) return result;
  const at = '/campaign/failStop';
  const extra = (names: readonly (keyof typeof spec)[]): void => {
    for (const name of names) if (spec[name] !== undefined) problems.push({ pointer: `${at}/${name}`, message: `does not go with distribution "${spec.distribution}"` });
  };
  if (spec.distribution === 'weibull') {
    extra(['perS', 'acceleration']);
    if (spec.shape === undefined || spec.scale === undefined) {
      problems.push({ pointer: at, message: 'a Weibull distribution needs "shape" and "scale"' });
      return result;
    }
    const scaleNs = time(spec.scale, `${at}/scale`);
    for (const id of processors) result.set(id, { distribution: 'weibull', shape: spec.shape, scaleNs });
    return result;
  }
  extra(['shape', 'scale']);
  if ((spec.perS === undefined) === (spec.acceleration === undefined)) {
    problems.push({ pointer: at, message: 'an exponential distribution needs "perS" (a rate per virtual second) or "acceleration" (times the board\'s failureRate), one of them' });
    return result;
  }
  for (const id of processors) {
    if (spec.perS !== undefined) { result.set(id, { distribution: 'exponential', perS: spec.perS }); continue; }
    const processor = board.processors.find((candidate) => candidate.id === id);
    if (processor === undefined) continue;
    if (processor.failureRatePerS === undefined) {
      problems.push({ pointer: `${at}/acceleration`, message: `processor ${id} of board ${board.name} has no failureRate to accelerate (give it one, or give "perS")` });
      continue;
    }
    result.set(id, { distribution: 'exponential', perS: processor.failureRatePerS * spec.acceleration! });
  }
  return result;
}

function flipsOf(json: NonNullable<CampaignJson['flips']>, board: Board, problems: BoardProblem[]): NonNullable<CampaignSection['flips']> {
  const names = new Set(board.vms.map((vm) => vm.name));
  (json.vms ?? []).forEach((name, index) => {
    if (!names.has(name)) problems.push({ pointer: `/campaign/flips/vms/${index}`, message: `names no VM of board ${board.name} (${[...names].join(', ')})` });
  });
  if ((json.ramPerS ?? 0) + (json.registerPerS ?? 0) > 0 && board.vms.length === 0) problems.push({ pointer: '/campaign/flips', message: `board ${board.name} has no VM to flip bits in` });
  if ((json.framePerS ?? 0) > 0 && board.links.length === 0) problems.push({ pointer: '/campaign/flips/framePerS', message: `board ${board.name} has no link` });
  return { ramPerS: json.ramPerS ?? 0, registerPerS: json.registerPerS ?? 0, framePerS: json.framePerS ?? 0, vms: json.vms ?? board.vms.map((vm) => vm.name) };
}
