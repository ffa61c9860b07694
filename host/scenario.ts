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
import { readBoard } from './board.js';
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
import { packageRoot } from './package-root.js';

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
  };
  cancel?: { vm: string; inState?: CancelState };
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
      const problem = { pointer: error.instancePath, message: 'an event needs "at" and "migrate", or "cancel" (with "at" or "inState"), not both' };
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
  (scenario.events ?? []).forEach((event, index) => {
    const at = `/events/${index}`;
    const atNs = event.at === undefined ? undefined : timeField(event.at, `${at}/at`, problems);
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
  if (durationNs !== undefined && durationNs > 0n) problems.push(...eventsAfter(events, durationNs, `the run's end (duration ${scenario.duration})`));
  refuseProblems(path, problems, lineOf);
  return {
    path,
    name: scenario.name ?? path.replace(/^.*\//, '').replace(/\.json$/i, ''),
    ...(scenario.description === undefined ? {} : { description: scenario.description }),
    board,
    ...(durationNs === undefined ? {} : { durationNs }),
    ...(scenario.seed === undefined ? {} : { seed: scenario.seed }),
    ...(scenario.linkFaults === undefined ? {} : { linkFaults: scenario.linkFaults }),
    events,
  };
}

/**
 * Events that would never fire: their time is after `endNs`, when the run stops.
 * (An event at the end itself fires: the run's last boundary is at its end.)
 */
export function eventsAfter(events: readonly ScenarioEvent[], endNs: bigint, end: string): BoardProblem[] {
  const problems: BoardProblem[] = [];
  events.forEach((event, index) => {
    if (event.atNs !== undefined && event.atNs > endNs) problems.push({ pointer: `/events/${index}/at`, message: `comes after ${end}: it would never fire` });
  });
  return problems;
}

function refuseProblems(path: string, problems: BoardProblem[], lineOf?: LineOf): void {
  if (problems.length === 0) return;
  throw new ScenarioError(`scenario ${path}: ${formatProblems(problems, lineOf)}`);
}
