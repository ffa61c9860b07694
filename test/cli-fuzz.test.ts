/**
 * The CLI's property test: mutated board and scenario files, mutated ELF images and
 * random command lines (seeded, so every failure replays) go through the whole CLI in
 * this process. Whatever the input, the answer is one of the command's documented
 * exit statuses and never 3 (a bug); a refusal (2) is one line, `ferry: error: ...`,
 * with no stack trace. Every run is bounded in virtual time (--max-cycles, --duration),
 * so a case is milliseconds.
 *
 *   FERRY_CLI_FUZZ_CASES=2000 FERRY_CLI_FUZZ_SEED=9 npx vitest run test/cli-fuzz.test.ts
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_STATUSES } from '../host/commands/exit-status.js';
import { Prng } from '../host/prng.js';
import { ferryMain } from './helpers/ferry-main.js';
import type { MainResult } from './helpers/ferry-main.js';
import { hasCore, ROOT } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest, tohostGuest } from './helpers/test-guests.js';

const CASES = Number(process.env['FERRY_CLI_FUZZ_CASES'] ?? 120);
const SEED = Number(process.env['FERRY_CLI_FUZZ_SEED'] ?? 1);
/** Each kind of input gets this long in all (the cases are far quicker; this only stops a hang). */
const KIND_TIMEOUT_MS = 240_000;
/** Virtual time every fuzzed run is bounded by. */
const BOUNDS = ['--max-cycles', '200000', '--duration', '2ms'];

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-cli-fuzz-'));
  writeFileSync(join(dir, 'hello.elf'), readFileSync(join(ROOT, 'guests', 'build', 'hello.elf')));
  writeFileSync(join(dir, 'ok.elf'), printAndShutdownGuest('ok\n'));
  writeFileSync(join(dir, 'spin.elf'), spinningGuest());
  writeFileSync(join(dir, 'pass.elf'), tohostGuest(1));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exit statuses seen per kind of input (printed with FERRY_CLI_FUZZ_REPORT=1: how deep the mutants reach). */
const seen = new Map<string, Map<number, number>>();

function count(kind: string, status: number): void {
  const statuses = seen.get(kind) ?? new Map<number, number>();
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  seen.set(kind, statuses);
}

afterAll(() => {
  if (process.env['FERRY_CLI_FUZZ_REPORT'] === undefined) return;
  for (const [kind, statuses] of seen) console.log(`${kind}: ${[...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `exit ${status} × ${n}`).join(', ')}`);
});

/** The property: a documented status for the command, never 3; a refusal is one clean line. */
function expectClean(command: keyof typeof EXIT_STATUSES, result: MainResult, input: string): void {
  const allowed = EXIT_STATUSES[command]!.map(([status]) => status).filter((status) => status !== 3);
  expect(allowed, `${input}\n${result.stderr}`).toContain(result.status);
  if (result.status === 2) {
    // With --json the guests' consoles share stderr (a refusal found mid-run comes after them): Ferry's own line is the last.
    const lines = result.stderr.trimEnd().split('\n');
    const jsonMode = /\{"error":/.test(lines.at(-1)!);
    if (!jsonMode) expect(lines, `${input}\n${result.stderr}`).toHaveLength(1);
    if (jsonMode) expect((JSON.parse(lines.at(-1)!) as { error: { status: number } }).error.status, input).toBe(2);
    else expect(result.stderr, input).toMatch(/^ferry: error: /);
  }
  expect(result.stderr, input).not.toMatch(/internal error|\n\s+at |RuntimeError/);
}

// ------------------------------------------------------------------ mutations

const JSON_TOKENS = ['{', '}', '[', ']', ',', ':', '"', '0', '-1', '1e999', '4096', '4294967296', '0.5', 'true', 'null', '"x"', '\\', '\n', '\ufeff', '"id"', '"vms"', '"windows"', '[]', '{}'];
const NUMBERS = ['0', '-1', '1', '3', '63', '64', '65', '4095', '4096', '65536', '268435456', '268439552', '536870912', '1e21', '9007199254740993', '1.5', '-0', '4294967295', '4294967296'];

/** One random edit of JSON text: a token in, a slice out or doubled, a number replaced, a key renamed. */
function mutateJson(text: string, prng: Prng): string {
  const at = prng.nextBelow(text.length + 1);
  switch (prng.nextBelow(6)) {
    case 0: return text.slice(0, at) + JSON_TOKENS[prng.nextBelow(JSON_TOKENS.length)]! + text.slice(at);
    case 1: return text.slice(0, at) + text.slice(at + 1 + prng.nextBelow(20));
    case 2: {
      const end = Math.min(text.length, at + 1 + prng.nextBelow(60));
      return text.slice(0, end) + text.slice(at, end) + text.slice(end);
    }
    case 3: {
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e\d+)?/g)];
      const target = numbers[prng.nextBelow(Math.max(1, numbers.length))];
      if (target === undefined) return text;
      return text.slice(0, target.index) + NUMBERS[prng.nextBelow(NUMBERS.length)]! + text.slice(target.index + target[0].length);
    }
    case 4: {
      const keys = [...text.matchAll(/"([a-zA-Z]+)":/g)];
      const target = keys[prng.nextBelow(Math.max(1, keys.length))];
      if (target === undefined) return text;
      const others = keys.map((key) => key[1]!);
      return text.slice(0, target.index) + `"${others[prng.nextBelow(others.length)]}":` + text.slice(target.index + target[0].length);
    }
    default: {
      const strings = [...text.matchAll(/"([^"\\]*)"/g)];
      const target = strings[prng.nextBelow(Math.max(1, strings.length))];
      if (target === undefined) return text;
      const replacement = ['"5ms"', '"0s"', '"1e3s"', '"machine"', '"queuing"', '"sampling"', '"none"', '"../x.elf"', '"spin.elf"', '"pass.elf"', '""'][prng.nextBelow(11)]!;
      return text.slice(0, target.index) + replacement + text.slice(target.index + target[0].length);
    }
  }
}

/** A few edits: half of the time to the text (the parser), half to the values (the checks, the core). */
function mutateJsonTimes(text: string, prng: Prng): string {
  if (prng.nextBelow(2) === 0) return JSON.stringify(mutateValueTimes(JSON.parse(text) as unknown, prng), null, 2);
  let mutated = text;
  for (let i = 1 + prng.nextBelow(3); i > 0; i--) mutated = mutateJson(mutated, prng);
  return mutated;
}

const VALUES: unknown[] = [0, -1, 1, 3, 63, 64, 65, 100, 999, 1000, 4095, 4096, 65536, 1048576, 268435456, 268439552, 536870912, 4294967295, 4294967296, 1e12, 1e21, 0.5, true, null, '', 'a', 'c', '5ms', '0s', 'machine', 'sampling', [], {}];

/** 1–4 structural edits: a value replaced, a key removed, an array element repeated. */
function mutateValueTimes(value: unknown, prng: Prng): unknown {
  for (let i = 1 + prng.nextBelow(4); i > 0; i--) {
    const places: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach((child, index) => { places.push({ parent: node, key: index }); walk(child); });
      else if (node !== null && typeof node === 'object') for (const [key, child] of Object.entries(node)) { places.push({ parent: node as Record<string, unknown>, key }); walk(child); }
    };
    walk(value);
    const place = places[prng.nextBelow(places.length)];
    if (place === undefined) return value;
    const { parent, key } = place;
    const choice = prng.nextBelow(4);
    if (choice === 0 && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]), ...(prng.nextBelow(4) === 0 ? Array.from({ length: 70 }, () => structuredClone(parent[key as number])) : []));
    else if (choice === 1 && !Array.isArray(parent)) delete parent[key as string];
    else (parent as Record<string | number, unknown>)[key] = structuredClone(VALUES[prng.nextBelow(VALUES.length)]);
  }
  return value;
}

/** A board of two processors, a link, windows, a channel: many rules to break. */
function baseBoardText(): string {
  return JSON.stringify({
    processors: [{ id: 0, clockHz: 100000000, ramBytes: 16777216, majorFrameNs: 10000000 }, { id: 1, clockHz: 50000000, ramBytes: 8388608 }],
    links: [{ from: 0, to: 1, bandwidthBytesPerS: 12500000, latencyNs: 10000, mtuBytes: 1024 }],
    vms: [
      { name: 'a', image: 'hello.elf', memoryBytes: 1048576, processor: 0, windows: [{ offsetNs: 0, durationNs: 5000000 }] },
      { name: 'b', image: 'ok.elf', memoryBytes: 65536, processor: 0, windows: [{ offsetNs: 5000000, durationNs: 5000000 }] },
      { name: 'c', image: 'spin.elf', kind: 'paravirtual', memoryBytes: 65536, processor: 1 },
    ],
    channels: [{ name: 'q', kind: 'queuing', maxMessageBytes: 64, depth: 4, source: { vm: 'a', port: 0 }, destination: { vm: 'c', port: 1 } }],
  }, null, 2);
}

/** ELF bytes with a few bytes changed, mostly in the headers where the layout is. */
function mutateElf(bytes: Uint8Array, prng: Prng): Uint8Array {
  const copy = new Uint8Array(bytes);
  for (let i = 1 + prng.nextBelow(4); i > 0; i--) {
    const at = prng.nextBelow(2) === 0 ? prng.nextBelow(Math.min(copy.length, 52 + 4 * 32)) : prng.nextBelow(copy.length);
    copy[at] = prng.nextBelow(4) === 0 ? 0xff : prng.nextBelow(256);
  }
  return prng.nextBelow(8) === 0 ? copy.subarray(0, prng.nextBelow(copy.length)) : copy;
}

const OPTION_VALUES = ['0', '1', '5', '2s', '1ms', '0.5ns', '1e3s', '99999999999999999999s', '16MiB', '1GiB', '4KiB', '-1', '0x10', 'json', 'table', 'drop=0.5', 'drop=2', 'pre-copy', 'teleport', 'a', 'c', '', '18446744073709551616'];
const RUN_OPTIONS = ['--board', '--mode', '--memory', '--duration', '--duration-ms', '--max-cycles', '--instret', '--json', '--summary', '--no-summary', '--seed', '--link-faults', '--runtime', '--scenario'];
const MIGRATE_OPTIONS = ['--vm', '--to', '--at', '--strategy', '--json', '--max-rounds', '--threshold', '--throttle-target', '--affordable', '--affordable-ns', '--prepage', '--retransmissions', '--duration', '--seed', '--link-faults', '--no-summary'];

const CHECKPOINT_OPTIONS = ['--vm', '--incremental-every', '--board', '--mode', '--memory', '--json', '--trace'];
const RESTORE_OPTIONS = ['--board', '--duration', '--max-cycles', '--instret', '--json', '--trace'];
/** Values that keep a checkpoint or restore short: its time is what the user asks for, so no huge ones here. */
const SHORT_VALUES = ['0', '1', '7', '1000', '50000', '1ms', '0.5ns', '2', 'a', 'c', '16MiB', '1GiB', 'machine', ''];

/** An option and its value; a file Ferry would write (--trace) goes into the test's folder, never the checkout. */
function optionAndValue(option: string, value: string): string[] {
  return [option, option === '--trace' && value !== '' ? join(dir, value) : value];
}

/** A random command line: real options with values good and bad, some repeated, some missing. */
function randomArgs(prng: Prng, board: string): { command: 'run' | 'migrate' | 'checkpoint' | 'restore' | 'inspect'; args: string[] } {
  const pick = <T>(list: readonly T[]): T => list[prng.nextBelow(list.length)]!;
  const kind = prng.nextBelow(6);
  if (kind === 0) {
    const source = prng.nextBelow(2) === 0 ? board : join(dir, pick(['hello.elf', 'spin.elf', 'pass.elf']));
    const args = ['checkpoint', source, '-o', join(dir, 'fuzz.ferry'), ...(prng.nextBelow(2) === 0 ? ['--at-cycle', pick(['1', '1000', '50000', '0', 'x'])] : ['--duration', pick(['1us', '100us', '1ms', '1'])])];
    for (let i = prng.nextBelow(3); i > 0; i--) args.push(...optionAndValue(pick(CHECKPOINT_OPTIONS), pick(SHORT_VALUES)));
    return { command: 'checkpoint', args };
  }
  if (kind === 1) {
    const args = [pick(['restore', 'inspect'] as const), join(dir, pick(['fuzz.ferry', 'hello.elf', 'args-board.json']))];
    if (args[0] === 'restore') for (let i = prng.nextBelow(3); i > 0; i--) args.push(...optionAndValue(pick(RESTORE_OPTIONS), pick(SHORT_VALUES)));
    return { command: args[0] as 'restore' | 'inspect', args: args[0] === 'restore' ? [...args, '--max-cycles', '300000'] : args };
  }
  if (kind === 2) {
    const args = ['migrate', board, '--vm', pick(['a', 'b', 'c', '0', '7']), '--to', pick(['0', '1', '2']), '--at', pick(['0s', '1ms', '5ms', '3'])];
    for (let i = prng.nextBelow(4); i > 0; i--) args.push(pick(MIGRATE_OPTIONS), pick(OPTION_VALUES));
    return { command: 'migrate', args: [...args, '--duration', '5ms'] };
  }
  const args = ['run'];
  if (prng.nextBelow(2) === 0) args.push(join(dir, pick(['hello.elf', 'ok.elf', 'spin.elf', 'pass.elf'])));
  for (let i = prng.nextBelow(5); i > 0; i--) {
    const option = pick(RUN_OPTIONS);
    args.push(option);
    if (!['--instret', '--json', '--no-summary'].includes(option)) args.push(option === '--board' ? board : pick(OPTION_VALUES));
  }
  return { command: 'run', args: [...args, ...BOUNDS] };
}

// ------------------------------------------------------------------ the runs

describe.skipIf(!hasCore())('the CLI on random inputs: a documented exit status, never 3, one clean line when it refuses', () => {
  it(`${CASES} mutated board files`, async () => {
    const prng = new Prng(SEED, 1);
    const base = baseBoardText();
    for (let i = 0; i < CASES; i++) {
      const text = mutateJsonTimes(base, prng);
      const path = join(dir, 'board.json');
      writeFileSync(path, text);
      const result = await ferryMain(['run', '--board', path, '--no-summary', ...BOUNDS]);
      expectClean('run', result, `seed ${SEED} case ${i}: ${text}`);
      count('boards', result.status);
    }
    const statuses = seen.get('boards')!;
    // The mutations reach past the parser: some boards run (0/1/124), most are refused (2).
    expect(statuses.get(2) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(0) ?? 0) + (statuses.get(1) ?? 0) + (statuses.get(124) ?? 0)).toBeGreaterThan(0);
  }, KIND_TIMEOUT_MS);

  it(`${CASES} mutated scenario files`, async () => {
    const prng = new Prng(SEED, 2);
    writeFileSync(join(dir, 'scenario-board.json'), baseBoardText());
    const base = JSON.stringify({
      board: 'scenario-board.json', duration: '2ms', seed: 3, linkFaults: { drop: 0.1 },
      events: [{ at: '1ms', migrate: { vm: 'c', to: 0, strategy: 'stop-copy', affordable: '5ms' } }, { at: '1ms', cancel: { vm: 'c', inState: 'transfer' } }],
    }, null, 2);
    for (let i = 0; i < CASES; i++) {
      const text = mutateJsonTimes(base, prng);
      const path = join(dir, 'scenario.json');
      writeFileSync(path, text);
      const result = await ferryMain(['run', '--scenario', path, '--no-summary', '--max-cycles', '200000']);
      expectClean('run', result, `seed ${SEED} case ${i}: ${text}`);
      count('scenarios', result.status);
    }
  }, KIND_TIMEOUT_MS);

  it(`${CASES} mutated images`, async () => {
    const prng = new Prng(SEED, 3);
    const bases = ['hello.elf', 'ok.elf', 'pass.elf'].map((name) => readFileSync(join(dir, name)));
    for (let i = 0; i < CASES; i++) {
      const bytes = mutateElf(bases[i % bases.length]!, prng);
      const path = join(dir, 'mutant.elf');
      writeFileSync(path, bytes);
      const result = await ferryMain(['run', path, ...BOUNDS]);
      expectClean('run', result, `seed ${SEED} case ${i}: ${Buffer.from(bytes.subarray(0, 180)).toString('hex')}`);
      count('images', result.status);
    }
  }, KIND_TIMEOUT_MS);

  it(`${CASES} random command lines`, async () => {
    const prng = new Prng(SEED, 4);
    const board = join(dir, 'args-board.json');
    writeFileSync(board, baseBoardText());
    for (let i = 0; i < CASES; i++) {
      const { command, args } = randomArgs(prng, board);
      const result = await ferryMain(args);
      expectClean(command, result, `seed ${SEED} case ${i}: ferry ${args.join(' ')}`);
      count(`command lines (${command})`, result.status);
    }
  }, KIND_TIMEOUT_MS);
});
