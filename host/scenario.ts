/**
 * Scenario files (scenarios/*.json): a board and what happens on it at virtual
 * times — migrations to start and to cancel — with the run's length, seed and link
 * faults. Read, validated against scenarios/schema.json (JSON Schema 2020-12, ajv)
 * and then against the board (VM names, processors); a bad file is refused with a
 * ScenarioError naming the file and the JSON pointer of each problem, as boards
 * are. docs/scenarios.md documents the format.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { longestMajorFrame, readBoard, slowestLink } from './board.js';
import { checkLoadPolicies, normaliseLoadPolicies } from './load-policies.js';
import type { RawLoadPolicies } from './load-policies.js';
import { linkBetween } from './board.js';
import type { Board } from './board.js';
import { describeSchemaError, formatProblems } from './board-schema.js';
import type { BoardProblem, LineOf } from './board-schema.js';
import { FerryError } from './errors.js';
import { InputFileError } from './input-file.js';
import { JsonTextError, readJsonFile } from './json-file.js';
import type { JsonDocument } from './json-file.js';
import { MAX_VIRTUAL_TIME_NS, TIME_EXAMPLES, parseVirtualTime } from './time-units.js';
import type { LinkFaultRates } from './link-faults.js';
import type { CancelState, MigrationParams, MigrationStrategy, ScenarioEvent } from './migration.js';
import { COMPRESSING_STRATEGIES, ROUND_STRATEGIES } from './migration.js';
import type { FaultEvent } from './faults.js';
import { packageRoot } from './package-root.js';
import { parseCampaignSection } from './scenario-campaign.js';
import type { CampaignJson, CampaignSection } from './scenario-campaign.js';

/** A scenario file is missing, unreadable, not JSON, or does not fit its board. */
export class ScenarioError extends FerryError {
  override name = 'ScenarioError';
}

export interface Scenario {
  /** The file it came from (as given), for messages. */
  path: string;
  name: string;
  description?: string;
  /** The board, read from the path the scenario gives (relative to the scenario file). */
  board: Board;
  /** The run's planned length. */
  durationNs?: bigint;
  seed?: number;
  linkFaults?: LinkFaultRates;
  events: ScenarioEvent[];
  /** Hardware faults at virtual times (host/faults.ts). */
  faults: FaultEvent[];
  /** Every event with a time, as the file gives it (for "comes after the run's end"). */
  timed: TimedEvent[];
  /** The random faults of `ferry campaign` (docs/campaigns.md); undefined without a campaign section. */
  campaign?: CampaignSection;
}

export interface TimedEvent {
  atNs: bigint;
  /** The JSON pointer of its time. */
  pointer: string;
}

/** The scenario file as JSON (scenarios/schema.json). */
interface ScenarioJson {
  name?: string;
  description?: string;
  board: string;
  duration?: string;
  seed?: number;
  linkFaults?: LinkFaultRates;
  events?: EventJson[];
  campaign?: CampaignJson;
  load?: RawLoadPolicies;
}

interface EventJson {
  at?: string;
  migrate?: {
    vm: string;
    to: number;
    strategy?: MigrationStrategy;
    maxRounds?: number;
    thresholdBytes?: number;
    throttleTarget?: number;
    throttleFloor?: number;
    affordable?: string;
    affordableNs?: number;
    retransmissions?: number;
    prepage?: string;
    prepageNs?: number;
    giveUpTimeouts?: number;
    compress?: boolean;
    workingSet?: boolean;
  };
  cancel?: { vm: string; inState?: CancelState };
  fail?: { processor: number };
  repair?: { processor: number };
  hang?: { processor: number; for?: string };
  warning?: { processor: number; lead: string };
  partition?: { groups: number[][]; for: string };
  slow?: { between: [number, number]; by: number; for: string };
  flip?: { vm?: string; address?: string; register?: number; between?: [number, number]; bit: number };
}

export function scenarioSchemaPath(): string {
  return join(packageRoot(), 'scenarios', 'schema.json');
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const schema = JSON.parse(readFileSync(scenarioSchemaPath(), 'utf8')) as object;
  // strictRequired off: an event's oneOf names properties its parent defines.
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false });
  compiled = ajv.compile(schema);
  return compiled;
}

/** The schema's problems with `value`, in document order, one per place. */
export function scenarioSchemaProblems(value: unknown): BoardProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  const problems: BoardProblem[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    // oneOf's branches explain themselves better than "must match exactly one schema".
    if (error.keyword === 'oneOf' || error.keyword === 'not') {
      const problem = /\/flip$/.test(error.instancePath)
        ? { pointer: error.instancePath, message: 'a flip names a VM and an address, a VM and a register, or a link ("between"), and one of them only' }
        : { pointer: error.instancePath, message: 'an event has "at" and one of migrate, fail, repair, hang, warning, partition, slow, flip; or "cancel" (with "at" or "inState")' };
      if (!seen.has(problem.pointer)) { seen.add(problem.pointer); problems.push(problem); }
      continue;
    }
    if (error.keyword === 'required' && /\/events\/\d+$/.test(error.instancePath)) continue;
    const problem = error.keyword === 'pattern'
      ? { pointer: error.instancePath, message: `must be a virtual time with a unit such as ${TIME_EXAMPLES}, not ${JSON.stringify(error.data)}` }
      : describeSchemaError(error);
    if (seen.has(problem.pointer)) continue;
    seen.add(problem.pointer);
    problems.push(problem);
  }
  return problems;
}

export { parseVirtualTime };

/** Reads a scenario file and the board it names; throws ScenarioError (or BoardError for the board) if unusable. */
export async function readScenario(path: string): Promise<Scenario> {
  const document = await readScenarioJson(path);
  refuseProblems(path, scenarioSchemaProblems(document.value), document.lineOf);
  const json = document.value as ScenarioJson;
  const board = await readBoard(resolve(dirname(path), json.board));
  return parseScenario(json, path, board, document.lineOf);
}

async function readScenarioJson(path: string): Promise<JsonDocument> {
  try {
    return await readJsonFile(path);
  } catch (error) {
    if (error instanceof InputFileError) throw new ScenarioError(`scenario ${path}: cannot read it (${error.reason})`);
    if (error instanceof JsonTextError) throw new ScenarioError(`scenario ${path}: ${error.message}`);
    throw error;
  }
}

/** A time field: ns, with a problem reported if it is finer than a nanosecond or beyond MAX_VIRTUAL_TIME_NS. */
function timeField(text: string, pointer: string, problems: BoardProblem[]): bigint | undefined {
  const ns = parseVirtualTime(text);
  if (ns === undefined) problems.push({ pointer, message: `is finer than a nanosecond: ${text}` });
  else if (ns > MAX_VIRTUAL_TIME_NS) problems.push({ pointer, message: `is longer than the most Ferry runs (1000000000s): ${text}` });
  else return ns;
  return undefined;
}

/** Checks a schema-valid scenario against its board and returns it typed. */
export function parseScenario(json: unknown, path: string, board: Board, lineOf?: LineOf): Scenario {
  refuseProblems(path, scenarioSchemaProblems(json), lineOf);
  const scenario = json as ScenarioJson;
  const problems: BoardProblem[] = [];
  const vmNames = new Set(board.vms.map((vm) => vm.name));
  const processors = new Set(board.processors.map((processor) => processor.id));
  const events: ScenarioEvent[] = [];
  const faults: FaultEvent[] = [];
  const timed: TimedEvent[] = [];
  (scenario.events ?? []).forEach((event, index) => {
    const at = `/events/${index}`;
    const atNs = event.at === undefined ? undefined : timeField(event.at, `${at}/at`, problems);
    if (atNs !== undefined) timed.push({ atNs, pointer: `${at}/at` });
    const fault = faultOf(event, at, atNs ?? 0n, board, problems);
    if (fault !== undefined) { faults.push(fault); return; }
    if (event.migrate !== undefined) {
      const migrate = event.migrate;
      if (!vmNames.has(migrate.vm)) problems.push({ pointer: `${at}/migrate/vm`, message: `names no VM of board ${board.name} (${[...vmNames].join(', ')})` });
      if (!processors.has(migrate.to)) problems.push({ pointer: `${at}/migrate/to`, message: `is no processor of board ${board.name}` });
      const params: MigrationParams = {};
      if (migrate.maxRounds !== undefined) params.maxRounds = migrate.maxRounds;
      if (migrate.thresholdBytes !== undefined) params.thresholdBytes = migrate.thresholdBytes;
      if (migrate.throttleTarget !== undefined) params.throttleTarget = migrate.throttleTarget;
      if (migrate.throttleFloor !== undefined) params.throttleFloor = migrate.throttleFloor;
      for (const [unit, ns] of [['affordable', 'affordableNs'], ['prepage', 'prepageNs']] as const) {
        if (migrate[unit] !== undefined && migrate[ns] !== undefined) problems.push({ pointer: `${at}/migrate/${ns}`, message: `gives ${unit} a second time: keep "${unit}" (with a unit) only` });
      }
      const affordableNs = migrate.affordable === undefined ? migrate.affordableNs : timeField(migrate.affordable, `${at}/migrate/affordable`, problems);
      if (affordableNs !== undefined) params.affordableNs = BigInt(affordableNs);
      if (migrate.retransmissions !== undefined) params.retransmissions = migrate.retransmissions;
      const prepageNs = migrate.prepage === undefined ? migrate.prepageNs : timeField(migrate.prepage, `${at}/migrate/prepage`, problems);
      if (prepageNs !== undefined) params.prepageNs = BigInt(prepageNs);
      if (migrate.giveUpTimeouts !== undefined) params.giveUpTimeouts = migrate.giveUpTimeouts;
      if (migrate.compress !== undefined) {
        if (migrate.compress && !COMPRESSING_STRATEGIES.includes(migrate.strategy ?? 'pre-copy')) {
          problems.push({ pointer: `${at}/migrate/compress`, message: `does not apply to ${migrate.strategy}: compress with ${COMPRESSING_STRATEGIES.join(', ')}` });
        }
        params.compress = migrate.compress;
      }
      if (migrate.workingSet !== undefined) {
        if (migrate.workingSet && !ROUND_STRATEGIES.includes(migrate.strategy ?? 'pre-copy')) {
          problems.push({ pointer: `${at}/migrate/workingSet`, message: `does not apply to ${migrate.strategy}: it has no rounds (use ${ROUND_STRATEGIES.join(', ')})` });
        }
        params.workingSet = migrate.workingSet;
      }
      events.push({ kind: 'migrate', atNs: atNs ?? 0n, vm: migrate.vm, to: migrate.to, strategy: migrate.strategy ?? 'pre-copy', params });
    } else if (event.cancel !== undefined) {
      const cancel = event.cancel;
      if (!vmNames.has(cancel.vm)) problems.push({ pointer: `${at}/cancel/vm`, message: `names no VM of board ${board.name} (${[...vmNames].join(', ')})` });
      if (event.at === undefined && cancel.inState === undefined) problems.push({ pointer: at, message: 'a cancel needs "at", "inState" or both' });
      events.push({ kind: 'cancel', vm: cancel.vm, ...(atNs === undefined ? {} : { atNs }), ...(cancel.inState === undefined ? {} : { inState: cancel.inState }) });
    }
  });
  let durationNs: bigint | undefined;
  if (scenario.duration !== undefined) {
    durationNs = timeField(scenario.duration, '/duration', problems);
    if (durationNs !== undefined && durationNs < 1n) problems.push({ pointer: '/duration', message: 'must be more than 0' });
  }
  if (durationNs !== undefined && durationNs > 0n) problems.push(...eventsAfter(timed, durationNs, `the run's end (duration ${scenario.duration})`));
  const campaign = scenario.campaign === undefined ? undefined : parseCampaignSection(scenario.campaign, board, durationNs, problems);
  // The scenario's load policies replace the board's for this run.
  const load = scenario.load === undefined ? undefined : normaliseLoadPolicies(scenario.load);
  if (load !== undefined) checkLoadPolicies(load, slowestLink(board), longestMajorFrame(board), (pointer, message) => problems.push({ pointer, message }));
  refuseProblems(path, problems, lineOf);
  return {
    path,
    name: scenario.name ?? path.replace(/^.*\//, '').replace(/\.json$/i, ''),
    ...(scenario.description === undefined ? {} : { description: scenario.description }),
    board: load === undefined ? board : { ...board, load },
    ...(durationNs === undefined ? {} : { durationNs }),
    ...(scenario.seed === undefined ? {} : { seed: scenario.seed }),
    ...(scenario.linkFaults === undefined ? {} : { linkFaults: scenario.linkFaults }),
    events,
    faults,
    timed,
    ...(campaign === undefined ? {} : { campaign }),
  };
}

/** A fault event of the file, checked against the board; undefined if `event` is not a fault. */
function faultOf(event: EventJson, at: string, atNs: bigint, board: Board, problems: BoardProblem[]): FaultEvent | undefined {
  const processors = new Set(board.processors.map((processor) => processor.id));
  const processor = (id: number, pointer: string): number => {
    if (!processors.has(id)) problems.push({ pointer, message: `is no processor of board ${board.name}` });
    return id;
  };
  const time = (text: string, pointer: string): bigint => {
    const ns = timeField(text, pointer, problems) ?? 0n;
    if (ns === 0n) problems.push({ pointer, message: 'must be longer than 0' });
    return ns;
  };
  const link = (pair: [number, number], pointer: string): [number, number] => {
    processor(pair[0], `${pointer}/0`);
    processor(pair[1], `${pointer}/1`);
    if (linkBetween(board, pair[0], pair[1]) === undefined) problems.push({ pointer, message: `processors ${pair[0]} and ${pair[1]} have no link` });
    return pair;
  };
  const vm = (name: string, pointer: string): string => {
    if (!board.vms.some((candidate) => candidate.name === name)) problems.push({ pointer, message: `names no VM of board ${board.name}` });
    return name;
  };
  if (event.fail !== undefined) return { kind: 'fail', atNs, processor: processor(event.fail.processor, `${at}/fail/processor`) };
  if (event.repair !== undefined) return { kind: 'repair', atNs, processor: processor(event.repair.processor, `${at}/repair/processor`) };
  if (event.hang !== undefined) {
    const hang = event.hang;
    return { kind: 'hang', atNs, processor: processor(hang.processor, `${at}/hang/processor`), ...(hang.for === undefined ? {} : { forNs: time(hang.for, `${at}/hang/for`) }) };
  }
  if (event.warning !== undefined) {
    return { kind: 'warning', atNs, processor: processor(event.warning.processor, `${at}/warning/processor`), leadNs: time(event.warning.lead, `${at}/warning/lead`) };
  }
  if (event.partition !== undefined) {
    const seen = new Map<number, number>();
    event.partition.groups.forEach((group, g) => group.forEach((id, i) => {
      processor(id, `${at}/partition/groups/${g}/${i}`);
      const other = seen.get(id);
      if (other !== undefined && other !== g) problems.push({ pointer: `${at}/partition/groups/${g}/${i}`, message: `processor ${id} is in group ${other} already` });
      seen.set(id, g);
    }));
    return { kind: 'partition', atNs, groups: event.partition.groups, forNs: time(event.partition.for, `${at}/partition/for`) };
  }
  if (event.slow !== undefined) {
    return { kind: 'slow', atNs, between: link(event.slow.between, `${at}/slow/between`), by: event.slow.by, forNs: time(event.slow.for, `${at}/slow/for`) };
  }
  if (event.flip !== undefined) {
    const flip = event.flip;
    const bitAt = `${at}/flip/bit`;
    if (flip.between !== undefined) return { kind: 'flip-frame', atNs, between: link(flip.between, `${at}/flip/between`), bit: flip.bit };
    const name = vm(flip.vm!, `${at}/flip/vm`);
    if (flip.register !== undefined) {
      if (flip.bit > 31) problems.push({ pointer: bitAt, message: `a register has bits 0-31, not ${flip.bit}` });
      return { kind: 'flip-register', atNs, vm: name, register: flip.register, bit: flip.bit };
    }
    if (flip.bit > 7) problems.push({ pointer: bitAt, message: `a byte of RAM has bits 0-7, not ${flip.bit}` });
    return { kind: 'flip-ram', atNs, vm: name, address: Number.parseInt(flip.address!, 16), bit: flip.bit };
  }
  return undefined;
}

/**
 * Events that would never fire: their time is after `endNs`, when the run stops.
 * (An event at the end itself fires: the run's last boundary is at its end.)
 */
export function eventsAfter(timed: readonly TimedEvent[], endNs: bigint, end: string): BoardProblem[] {
  return timed.filter((event) => event.atNs > endNs).map((event) => ({ pointer: event.pointer, message: `comes after ${end}: it would never fire` }));
}

function refuseProblems(path: string, problems: BoardProblem[], lineOf?: LineOf): void {
  if (problems.length === 0) return;
  throw new ScenarioError(`scenario ${path}: ${formatProblems(problems, lineOf)}`);
}
