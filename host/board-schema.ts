/**
 * Validates a parsed board file against boards/schema.json (JSON Schema
 * 2020-12, with ajv) and words each problem as `<JSON pointer>: <what was
 * expected>`, e.g. `/vms/2/memoryBytes: must be a multiple of 4096, not 5000`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { packageRoot } from './package-root.js';
import { DURATION_PATTERN, RATE_PATTERN } from './reliability/units.js';

/** One problem in a board file: where (a JSON pointer, '/' for the whole file) and what. */
export interface BoardProblem {
  pointer: string;
  message: string;
}

/** At most this many problems are reported for one file: the first ones say the most. */
export const MAX_REPORTED_PROBLEMS = 5;

/** The line of the value at a JSON pointer in the file's text, if known (host/json-file.ts). */
export type LineOf = (pointer: string) => number | undefined;

/**
 * The first MAX_REPORTED_PROBLEMS problems as one line: `<pointer>: <message> (line N)`
 * joined by "; ". The line is that of the value at the pointer, or of the nearest
 * enclosing value the file has (a missing property's object).
 */
export function formatProblems(problems: readonly BoardProblem[], lineOf?: LineOf): string {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS).map((problem) => {
    const line = lineOf === undefined ? undefined : nearestLine(problem.pointer, lineOf);
    return `${problem.pointer || '/'}: ${problem.message}${line === undefined ? '' : ` (line ${line})`}`;
  });
  const more = problems.length > MAX_REPORTED_PROBLEMS ? `; and ${problems.length - MAX_REPORTED_PROBLEMS} more` : '';
  return `${shown.join('; ')}${more}`;
}

function nearestLine(pointer: string, lineOf: LineOf): number | undefined {
  for (let at = pointer; ; at = at.slice(0, at.lastIndexOf('/'))) {
    const line = lineOf(at);
    if (line !== undefined || at === '') return line;
  }
}

let compiled: ValidateFunction | undefined;

export function boardSchemaPath(): string {
  return join(packageRoot(), 'boards', 'schema.json');
}

function validator(): ValidateFunction {
  compiled ??= compileSchemaFile(boardSchemaPath());
  return compiled;
}

/**
 * A JSON Schema file compiled with ajv (2020-12, strict, every error).
 * verbose: errors carry the offending value and the schema around it, for describeSchemaError.
 */
export function compileSchemaFile(path: string, options: { allowUnionTypes?: boolean } = {}): ValidateFunction {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as object;
  return new Ajv2020({ allErrors: true, verbose: true, strict: true, ...options }).compile(schema);
}

/** The schema's problems with `value`, in document order; empty when it conforms. */
export function schemaProblems(value: unknown): BoardProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  const problems: BoardProblem[] = [];
  // One problem per place: the first the schema finds (e.g. "at least 4096" before "a multiple of 4096").
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const problem = describeSchemaError(error);
    if (seen.has(problem.pointer)) continue;
    seen.add(problem.pointer);
    problems.push(problem);
  }
  return problems;
}

/** One ajv error as `<pointer>: <what was expected>` (also used for scenario files). */
export function describeSchemaError(error: ErrorObject): BoardProblem {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const actual = error.data === undefined ? '' : `, not ${shortJson(error.data)}`;
  switch (error.keyword) {
    case 'required':
      return { pointer: `${at}/${escapePointer(String(params['missingProperty']))}`, message: 'is required' };
    case 'additionalProperties': {
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return {
        pointer: `${at}/${escapePointer(String(params['additionalProperty']))}`,
        message: `unknown property${allowed.length > 0 ? ` (expected one of ${allowed.join(', ')})` : ''}`,
      };
    }
    case 'type':
      return { pointer: at, message: `must be ${article(String(params['type']))}${actual}` };
    case 'multipleOf':
      return { pointer: at, message: `must be a multiple of ${String(params['multipleOf'])}${actual}` };
    case 'minimum':
      return { pointer: at, message: `must be at least ${String(params['limit'])}${actual}` };
    case 'maximum':
      return { pointer: at, message: `must be at most ${String(params['limit'])}${actual}` };
    case 'enum':
      return { pointer: at, message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${actual}` };
    case 'pattern':
      return { pointer: at, message: `${PATTERN_MESSAGES[String(params['pattern'])] ?? NAME_MESSAGE}${actual}` };
    case 'uniqueItems':
      return { pointer: at, message: `must not list an item twice (items ${String(params['j'])} and ${String(params['i'])} are the same)` };
    case 'minItems':
      return { pointer: at, message: `must have at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}` };
    case 'maxItems':
      return { pointer: at, message: `must have at most ${String(params['limit'])} items` };
    case 'minLength':
      return { pointer: at, message: params['limit'] === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters long` };
    case 'maxLength':
      return { pointer: at, message: `must be at most ${String(params['limit'])} characters long` };
    default:
      return { pointer: at, message: error.message ?? `fails ${error.keyword}` };
  }
}

const NAME_MESSAGE = "must be a name: a letter, then letters, digits, '_', '.' or '-'";

/** What each of the schema's string patterns stands for (the schema's own patterns, checked equal in test/board-reliability-fields.test.ts). */
const PATTERN_MESSAGES: Record<string, string> = {
  [RATE_PATTERN]: 'must be a rate such as 2e-5/h or 0.05/s',
  [DURATION_PATTERN]: 'must be a duration such as 10h, 30min or 20ms',
};

function article(type: string): string {
  const name = type === 'integer' ? 'whole number' : type;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/** RFC 6901: '~' and '/' in a key. */
export function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`;
}
