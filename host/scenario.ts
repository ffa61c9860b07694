/**
 * Scenario files (scenarios/*.json): a board and what happens on it at virtual
 * times — migrations to start and to cancel — with the run's length, seed and link
 * faults. Read, validated against scenarios/schema.json (JSON Schema 2020-12, ajv)
 * and then against the board (VM names, processors); a bad file is refused with a
 * ScenarioError naming the file and the JSON pointer of each problem, as boards
 * are. docs/scenarios.md documents the format.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { readBoard } from './board.js';
import type { Board } from './board.js';
import { MAX_REPORTED_PROBLEMS, describeSchemaError } from './board-schema.js';
import type { BoardProblem } from './board-schema.js';
import { FerryError } from './errors.js';
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
    affordableNs?: number;
    retransmissions?: number;
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
      ? { pointer: error.instancePath, message: `must be a virtual time with a unit such as 20ms, 1.5s, 250us or 100ns, not ${JSON.stringify(error.data)}` }
      : describeSchemaError(error);
    if (seen.has(problem.pointer)) continue;
    seen.add(problem.pointer);
    problems.push(problem);
  }
  return problems;
}

/** "20ms", "1.5s", "250us", "100ns" → ns. Undefined if it is not such a time. */
export function parseVirtualTime(text: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d+))?(ns|us|ms|s)$/.exec(text.trim().replaceAll('_', ''));
  if (match === null) return undefined;
  const digits = { ns: 0, us: 3, ms: 6, s: 9 }[match[3] as 'ns' | 'us' | 'ms' | 's'];
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined; // finer than a nanosecond
  return BigInt(match[1]!) * 10n ** BigInt(digits) + (fraction === '' ? 0n : BigInt(fraction.padEnd(digits, '0')));
}

/** Reads a scenario file and the board it names; throws ScenarioError (or BoardError for the board) if unusable. */
export async function readScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScenarioError(`scenario ${path}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(error))})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${path}: not valid JSON (${(error as Error).message})`);
  }
  refuseProblems(path, scenarioSchemaProblems(value));
  const json = value as ScenarioJson;
  const board = await readBoard(resolve(dirname(path), json.board));
  return parseScenario(json, path, board);
}

/** Checks a schema-valid scenario against its board and returns it typed. */
export function parseScenario(json: unknown, path: string, board: Board): Scenario {
  refuseProblems(path, scenarioSchemaProblems(json));
  const scenario = json as ScenarioJson;
  const problems: BoardProblem[] = [];
  const vmNames = new Set(board.vms.map((vm) => vm.name));
  const processors = new Set(board.processors.map((processor) => processor.id));
  const events: ScenarioEvent[] = [];
  (scenario.events ?? []).forEach((event, index) => {
    const at = `/events/${index}`;
    const atNs = event.at === undefined ? undefined : parseVirtualTime(event.at);
    if (event.at !== undefined && atNs === undefined) problems.push({ pointer: `${at}/at`, message: `is finer than a nanosecond: ${event.at}` });
    if (event.migrate !== undefined) {
      const migrate = event.migrate;
      if (!vmNames.has(migrate.vm)) problems.push({ pointer: `${at}/migrate/vm`, message: `names no VM of board ${board.name} (${[...vmNames].join(', ')})` });
      if (!processors.has(migrate.to)) problems.push({ pointer: `${at}/migrate/to`, message: `is no processor of board ${board.name}` });
      const params: MigrationParams = {};
      if (migrate.maxRounds !== undefined) params.maxRounds = migrate.maxRounds;
      if (migrate.thresholdBytes !== undefined) params.thresholdBytes = migrate.thresholdBytes;
      if (migrate.throttleTarget !== undefined) params.throttleTarget = migrate.throttleTarget;
      if (migrate.throttleFloor !== undefined) params.throttleFloor = migrate.throttleFloor;
      if (migrate.affordableNs !== undefined) params.affordableNs = BigInt(migrate.affordableNs);
      if (migrate.retransmissions !== undefined) params.retransmissions = migrate.retransmissions;
      if (migrate.prepageNs !== undefined) params.prepageNs = BigInt(migrate.prepageNs);
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
    durationNs = parseVirtualTime(scenario.duration);
    if (durationNs === undefined) problems.push({ pointer: '/duration', message: `is finer than a nanosecond: ${scenario.duration}` });
    else if (durationNs < 1n) problems.push({ pointer: '/duration', message: 'must be more than 0' });
  }
  refuseProblems(path, problems);
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

function refuseProblems(path: string, problems: BoardProblem[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS).map((problem) => `${problem.pointer || '/'}: ${problem.message}`);
  const more = problems.length > MAX_REPORTED_PROBLEMS ? `; and ${problems.length - MAX_REPORTED_PROBLEMS} more` : '';
  throw new ScenarioError(`scenario ${path}: ${shown.join('; ')}${more}`);
}
