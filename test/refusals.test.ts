/**
 * The refusal suite: every command, handed a wrong file, a truncated file, a FIFO,
 * a device, a directory, a file too large, a huge or unit-less value, or a file that
 * breaks a rule, exits 2 with one line on stderr naming what was wrong and where —
 * never a stack trace, a wasm trap (exit 3) or a hang (each case is bounded in time).
 * With --json the refusal is one JSON line. Most cases run the CLI in this process
 * (test/helpers/ferry-main.ts); a few go through bin/ferry.js as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IMAGE_FILE_BYTES, MAX_STREAM_FILE_BYTES } from '../host/input-file.js';
import { MAX_JSON_DEPTH, MAX_JSON_FILE_BYTES } from '../host/json-file.js';
import { MAX_PROCESSOR_RAM_BYTES, MAX_VM_RAM_BYTES, MAX_WINDOWS } from '../host/numbers.js';
import { RAM_BASE, SAMPLE_CODE, buildElf } from './helpers/elf-builder.js';
import { ferryMain } from './helpers/ferry-main.js';
import type { MainResult } from './helpers/ferry-main.js';
import { runFerry } from './helpers/ferry-cli.js';
import { hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest } from './helpers/test-guests.js';

/** A refusal must come at once: far below this even on a loaded machine. */
const CASE_TIMEOUT_MS = 20_000;

let dir: string;
const at = (name: string): string => join(dir, name);
const put = (name: string, contents: Uint8Array | string): string => {
  writeFileSync(at(name), contents);
  return at(name);
};

/** One processor, one VM of `image`; `extra` overrides top-level fields. */
function boardJson(extra: Record<string, unknown> = {}, vm: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 1 << 24 }],
    vms: [{ name: 'a', image: 'good.elf', memoryBytes: 1 << 20, processor: 0, ...vm }],
    ...extra,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-refusals-'));
  put('good.elf', printAndShutdownGuest('ok\n'));
  put('spin.elf', spinningGuest());
  put('board.json', JSON.stringify(boardJson(), null, 2));
  put('spin-board.json', JSON.stringify(boardJson({}, { image: 'spin.elf' })));
  put('scenario.json', JSON.stringify({ board: 'board.json', duration: '10ms' }));
  put('empty', '');
  put('notes.txt', 'this is not what you think\n');
  mkdirSync(at('folder'));
  for (const fifo of ['fifo', 'fifo.json', 'fifo.ferry']) spawnSync('mkfifo', [at(fifo)]);
  // Sparse files just past each cap: no disk is used, but the size is refused before any read.
  for (const [name, bytes] of [['huge.elf', MAX_IMAGE_FILE_BYTES + 1], ['huge.json', MAX_JSON_FILE_BYTES + 1], ['huge.ferry', MAX_STREAM_FILE_BYTES + 1]] as const) {
    put(name, '');
    truncateSync(at(name), bytes);
  }
  put('cut.elf', buildElf().subarray(0, 40));
  put('cut.json', JSON.stringify(boardJson(), null, 2).slice(0, 60));
  put('results-cut.jsonl', '{"trial": 1, "seed"');
  if (hasCore()) {
    const made = await ferryMain(['checkpoint', at('spin.elf'), '--at-cycle', '5000', '-o', at('good.ferry')]);
    if (made.status !== 0) throw new Error(`could not make a stream: ${made.stderr}`);
    const stream = readFileSync(at('good.ferry'));
    put('cut.ferry', stream.subarray(0, stream.length - 20));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exit 2, exactly one line on stderr saying `ferry: error: ...` that matches, no stack trace, nothing on stdout. */
function expectRefused(result: MainResult, pattern: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr.endsWith('\n'), result.stderr).toBe(true);
  expect(result.stderr.trimEnd().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(/^ferry: error: /);
  expect(result.stderr).not.toMatch(/\n\s+at |RuntimeError|unreachable/);
  expect(result.stderr).toMatch(pattern);
  expect(result.stdout).toBe('');
}

interface Case {
  name: string;
  args: () => string[];
  pattern: RegExp;
  /** Needs build/core.wasm (the refusal comes from a run or a stream). */
  core?: boolean;
}

const fileCases: Case[] = [
  // ferry run <image>
  { name: 'run: a missing image', args: () => ['run', at('none.elf')], pattern: /none\.elf: cannot read the image \(no such file\)/ },
  { name: 'run: a directory', args: () => ['run', at('folder')], pattern: /folder: cannot read the image \(it is a directory\)/ },
  { name: 'run: a FIFO', args: () => ['run', at('fifo')], pattern: /fifo: cannot read the image \(it is a FIFO, not a regular file\)/ },
  { name: 'run: a device', args: () => ['run', '/dev/zero'], pattern: /\/dev\/zero: cannot read the image \(it is a character device, not a regular file\)/ },
  { name: 'run: an empty file', args: () => ['run', at('empty')], pattern: /empty: not an ELF file \(the file is empty\)/ },
  { name: 'run: a text file', args: () => ['run', at('notes.txt')], pattern: /notes\.txt: not an ELF file \(no \\x7fELF magic/ },
  { name: 'run: a truncated ELF', args: () => ['run', at('cut.elf')], pattern: /cut\.elf: truncated: ELF header at offset 0x0 \(52 bytes\)/ },
  { name: 'run: an image past the size cap', args: () => ['run', at('huge.elf')], pattern: /huge\.elf: cannot read the image \(it is \d+ B, more than the 320 MiB Ferry reads\)/ },
  // ferry run --board / --scenario
  { name: 'run --board: a missing board', args: () => ['run', '--board', at('none.json')], pattern: /board .*none\.json: cannot read it \(no such file\)/ },
  { name: 'run --board: a FIFO', args: () => ['run', '--board', at('fifo.json')], pattern: /board .*fifo\.json: cannot read it \(it is a FIFO, not a regular file\)/ },
  { name: 'run --board: a directory', args: () => ['run', '--board', at('folder')], pattern: /board .*folder: cannot read it \(it is a directory\)/ },
  { name: 'run --board: a device', args: () => ['run', '--board', '/dev/zero'], pattern: /board \/dev\/zero: cannot read it \(it is a character device/ },
  { name: 'run --board: an empty file', args: () => ['run', '--board', at('empty')], pattern: /board .*empty: not valid JSON at line 1, column 1: a value was expected/ },
  { name: 'run --board: a truncated board', args: () => ['run', '--board', at('cut.json')], pattern: /board .*cut\.json: not valid JSON at line \d+, column \d+/ },
  { name: 'run --board: a board past the size cap', args: () => ['run', '--board', at('huge.json')], pattern: /board .*huge\.json: cannot read it \(it is \d+ B, more than the 4 MiB Ferry reads\)/ },
  { name: 'run --scenario: a FIFO', args: () => ['run', '--scenario', at('fifo.json')], pattern: /scenario .*fifo\.json: cannot read it \(it is a FIFO/ },
  { name: 'run --scenario: a truncated scenario', args: () => ['run', '--scenario', at('cut.json')], pattern: /scenario .*cut\.json: not valid JSON at line/ },
  { name: 'run --scenario: a text file', args: () => ['run', '--scenario', at('notes.txt')], pattern: /scenario .*notes\.txt: not valid JSON at line 1, column 1/ },
  // ferry checkpoint
  { name: 'checkpoint: a FIFO image', args: () => ['checkpoint', at('fifo'), '--at-cycle', '100', '-o', at('x.ferry')], pattern: /fifo: cannot read the image \(it is a FIFO/ },
  { name: 'checkpoint: a FIFO board', args: () => ['checkpoint', at('fifo.json'), '--at-cycle', '100', '-o', at('x.ferry')], pattern: /board .*fifo\.json: cannot read it \(it is a FIFO/ },
  { name: 'checkpoint: a truncated image', args: () => ['checkpoint', at('cut.elf'), '--duration', '1ms', '-o', at('x.ferry')], pattern: /cut\.elf: truncated/ },
  { name: 'checkpoint: output into a directory', args: () => ['checkpoint', at('spin.elf'), '--duration', '1ms', '-o', at('folder')], pattern: /folder: cannot write the stream \(it is a directory\)/ },
  { name: 'checkpoint: output to a FIFO', args: () => ['checkpoint', at('spin.elf'), '--duration', '1ms', '-o', at('fifo')], pattern: /fifo: cannot write the stream \(it is not a regular file\)/ },
  // Found by test/cli-fuzz.test.ts: an empty trace name was an internal error (exit 3).
  { name: 'run: an empty --trace name', args: () => ['run', at('good.elf'), '--trace', ''], pattern: /--trace: give a file name \(it is empty\)/ },
  { name: 'checkpoint: an empty --output name', args: () => ['checkpoint', at('spin.elf'), '--duration', '1ms', '-o', ''], pattern: /--output: give a file name \(it is empty\)/ },
  { name: 'checkpoint: no time given', args: () => ['checkpoint', at('spin.elf'), '-o', at('x.ferry')], pattern: /give the checkpoint's time: --duration <time> or --at-cycle <n>/ },
  // ferry restore / inspect
  { name: 'restore: a missing stream', args: () => ['restore', at('none.ferry')], pattern: /none\.ferry: cannot read the stream \(no such file\)/ },
  { name: 'restore: a FIFO', args: () => ['restore', at('fifo.ferry')], pattern: /fifo\.ferry: cannot read the stream \(it is a FIFO/ },
  { name: 'restore: a device', args: () => ['restore', '/dev/zero'], pattern: /\/dev\/zero: cannot read the stream \(it is a character device/ },
  { name: 'restore: a stream past the size cap', args: () => ['restore', at('huge.ferry')], pattern: /huge\.ferry: cannot read the stream \(it is \d+ B, more than the 512 MiB Ferry reads\)/ },
  { name: 'restore: an empty file', args: () => ['restore', at('empty')], pattern: /empty: stream refused: header: truncated/, core: true },
  { name: 'restore: a text file', args: () => ['restore', at('notes.txt')], pattern: /notes\.txt: stream refused: header: /, core: true },
  { name: 'restore: a truncated stream', args: () => ['restore', at('cut.ferry')], pattern: /cut\.ferry: stream refused: .*offset 0x[0-9a-f]+/, core: true },
  { name: 'inspect: a directory', args: () => ['inspect', at('folder')], pattern: /folder: cannot read the stream \(it is a directory/ },
  { name: 'inspect: a FIFO', args: () => ['inspect', at('fifo.ferry')], pattern: /cannot read the stream \(it is a FIFO/ },
  // ferry migrate / analyze / report
  { name: 'migrate: a FIFO board', args: () => ['migrate', at('fifo.json'), '--vm', 'a', '--to', '1', '--at', '1ms'], pattern: /board .*fifo\.json: cannot read it \(it is a FIFO/ },
  { name: 'migrate: a truncated board', args: () => ['migrate', at('cut.json'), '--vm', 'a', '--to', '1', '--at', '1ms'], pattern: /board .*cut\.json: not valid JSON/ },
  { name: 'analyze: a FIFO board', args: () => ['analyze', at('fifo.json')], pattern: /board .*fifo\.json: cannot read it \(it is a FIFO/ },
  { name: 'analyze: a text file', args: () => ['analyze', at('notes.txt')], pattern: /board .*notes\.txt: not valid JSON/ },
  { name: 'report: a FIFO', args: () => ['report', at('fifo'), '-o', at('r')], pattern: /results .*fifo: cannot read it \(it is a FIFO/ },
  { name: 'report: a directory', args: () => ['report', at('folder'), '-o', at('r')], pattern: /results .*folder: cannot read it \(it is a directory/ },
  { name: 'report: a truncated record', args: () => ['report', at('results-cut.jsonl'), '-o', at('r')], pattern: /results-cut\.jsonl:1: not valid JSON/ },
];

const valueCases: Case[] = [
  { name: 'restore: --max-cycles before the checkpoint\'s cycle', args: () => ['restore', at('good.ferry'), '--max-cycles', '10'], pattern: /--max-cycles 10 is not after the checkpoint's cycle 5000/, core: true },
  { name: 'inspect: a second stream it would not read', args: () => ['inspect', at('good.ferry'), at('good.ferry')], pattern: /too many arguments for 'inspect'\. Expected 1 argument but got 2/ },
  { name: 'run: a link fault kind given twice', args: () => ['run', '--board', at('board.json'), '--duration', '1ms', '--link-faults', 'drop=0.1,drop=0.2'], pattern: /link faults: drop is given twice/ },
  { name: 'run: --duration without a unit', args: () => ['run', at('good.elf'), '--duration', '2'], pattern: /'--duration <time>' argument '2' is invalid\. "2" has no unit: write it as 100ms, 2s/ },
  { name: 'run: a huge --duration', args: () => ['run', at('good.elf'), '--duration', '99999999999999999999s'], pattern: /'--duration <time>'.*is longer than the most Ferry runs/ },
  { name: 'run: --duration finer than a nanosecond', args: () => ['run', at('good.elf'), '--duration', '0.5ns'], pattern: /"0\.5ns" is finer than a nanosecond/ },
  { name: 'run: --duration 0', args: () => ['run', at('good.elf'), '--duration', '0s'], pattern: /"0s" must be longer than 0/ },
  { name: 'run: --max-cycles at 2^64', args: () => ['run', at('good.elf'), '--max-cycles', '18446744073709551616'], pattern: /--max-cycles.*Expected at least 1 and below 2\^64/ },
  { name: 'run: --memory past the largest VM', args: () => ['run', at('good.elf'), '--memory', '1GiB'], pattern: /--memory <size>.*from 4 KiB to 256 MiB, not 1 GiB/ },
  { name: 'run: --memory without a unit', args: () => ['run', at('good.elf'), '--memory', '16'], pattern: /--memory <size>.*"16" is not a size such as 16MiB/ },
  { name: 'run: --memory not whole pages', args: () => ['run', at('good.elf'), '--memory', '6000B'], pattern: /whole 4 KiB pages.*not 6000 B/ },
  { name: 'run: --memory on a board run', args: () => ['run', '--board', at('board.json'), '--memory', '16MiB'], pattern: /--memory applies to an image/ },
  { name: 'run: a huge --seed', args: () => ['run', '--board', at('board.json'), '--seed', '4294967296'], pattern: /--seed.*a whole number from 0 to 4294967295/ },
  { name: 'run: --duration and --duration-ms', args: () => ['run', at('good.elf'), '--duration', '1ms', '--duration-ms', '1'], pattern: /give --duration or --duration-ms, not both/ },
  { name: 'restore: --duration without a unit', args: () => ['restore', at('good.ferry'), '--duration', '5'], pattern: /'--duration <time>' argument '5' is invalid/ },
  { name: 'checkpoint: --at-cycle at 2^64', args: () => ['checkpoint', at('spin.elf'), '--at-cycle', '0x10000000000000000', '-o', at('x.ferry')], pattern: /--at-cycle.*below 2\^64/ },
  // Found by review: the list of checkpoint times was built before it was counted (a hang here).
  { name: 'checkpoint: a tiny step before a far cycle', args: () => ['checkpoint', at('spin.elf'), '--at-cycle', '1000000000000000', '--incremental-every', '1', '-o', at('x.ferry')], pattern: /--incremental-every 1 makes 1000000000000000 checkpoints; at most 10000/ },
  { name: 'checkpoint: both times', args: () => ['checkpoint', at('spin.elf'), '--at-cycle', '10', '--duration', '1ms', '-o', at('x.ferry')], pattern: /one of them/ },
  { name: 'migrate: a huge --to', args: () => ['migrate', at('board.json'), '--vm', 'a', '--to', '70000', '--at', '1ms'], pattern: /--to.*a whole number from 0 to 65535/ },
  { name: 'migrate: --at without a unit', args: () => ['migrate', at('board.json'), '--vm', 'a', '--to', '1', '--at', '1000'], pattern: /'--at <time>' argument '1000' is invalid\. "1000" has no unit/ },
  { name: 'migrate: a huge --at', args: () => ['migrate', at('board.json'), '--vm', 'a', '--to', '1', '--at', '9999999999999s'], pattern: /later than the most Ferry runs/ },
  { name: 'migrate: --affordable 0', args: () => ['migrate', at('board.json'), '--vm', 'a', '--to', '1', '--at', '1ms', '--affordable', '0ms'], pattern: /--affordable <time>.*must be longer than 0/ },
  { name: 'migrate: a huge --threshold', args: () => ['migrate', at('board.json'), '--vm', 'a', '--to', '1', '--at', '1ms', '--threshold', '99999999999999999999'], pattern: /--threshold.*a whole number from 0 to/ },
  { name: 'analyze: a huge --coverage', args: () => ['analyze', at('board.json'), '--coverage', '7'], pattern: /--coverage.*a coverage from 0 to 1/ },
  { name: 'report: a mission without a unit', args: () => ['report', at('results-cut.jsonl'), '--mission', '10'], pattern: /--mission.*a duration with a unit/ },
];

/** Board and scenario files that break a rule: the message names the pointer (and the line, in a file of several lines). */
const ruleCases: Case[] = [
  { name: 'a UTF-16 board', args: () => ['run', '--board', put('utf16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(boardJson()), 'utf16le')]))], pattern: /UTF-16 text .*save it as UTF-8/ },
  { name: 'a board that is not UTF-8', args: () => ['run', '--board', put('latin1.json', Buffer.from('{"name": "caf\xe9"}', 'latin1'))], pattern: /not UTF-8 text \(invalid byte sequence near offset 1[0-9]\)/ },
  { name: 'a key given twice', args: () => ['run', '--board', put('twice.json', '{\n  "processors": [{ "id": 0, "clockHz": 100000000, "ramBytes": 16777216,\n    "id": 1 }]\n}\n')], pattern: /\/processors\/0\/id: the key "id" is given twice in one object \(lines 2 and 3\)/ },
  { name: 'nesting past the limit', args: () => ['run', '--board', put('deep.json', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`)], pattern: new RegExp(`nested more than ${MAX_JSON_DEPTH} levels deep at line 1`) },
  { name: 'nesting a million deep', args: () => ['run', '--board', put('deeper.json', '['.repeat(1_000_000))], pattern: /nested more than \d+ levels deep/ },
  { name: 'a trailing comma', args: () => ['run', '--board', put('comma.json', '{\n  "processors": [],\n}\n')], pattern: /not valid JSON at line 3, column 1: a property name in double quotes was expected \(a trailing comma\?\)/ },
  { name: 'a comment', args: () => ['run', '--board', put('comment.json', '// my board\n{}\n')], pattern: /not valid JSON at line 1, column 1: comments are not allowed in JSON/ },
  { name: 'a VM past the largest RAM', args: () => ['run', '--board', put('bigvm.json', JSON.stringify(boardJson({ processors: [{ id: 0, clockHz: 1e8, ramBytes: 2 * MAX_VM_RAM_BYTES }] }, { memoryBytes: 2 * MAX_VM_RAM_BYTES }), null, 2))], pattern: /\/vms\/0\/memoryBytes: must be at most 268435456 \(256 MiB, the most RAM a VM may have\), not 536870912 \(line \d+\)/ },
  {
    name: 'VMs past what a core holds',
    args: () => ['run', '--board', put('bigcpu.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 1e8, ramBytes: 4 * MAX_PROCESSOR_RAM_BYTES }],
      vms: [0, 1, 2].map((i) => ({ name: `v${i}`, image: 'good.elf', memoryBytes: MAX_VM_RAM_BYTES, processor: 0 })),
    }))],
    pattern: /\/processors\/0: the VMs on processor 0 need 805306368 bytes .*more than the 512 MiB one processor's core holds/,
  },
  {
    name: 'more windows than a processor holds',
    args: () => ['run', '--board', put('windows.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 1e8, ramBytes: 1 << 24, majorFrameNs: 1e9 }],
      vms: [0, 1].map((v) => ({ name: `v${v}`, image: 'good.elf', memoryBytes: 4096, processor: 0, windows: Array.from({ length: MAX_WINDOWS / 2 + 1 }, (_, i) => ({ offsetNs: (v * 64 + i) * 1000, durationNs: 1000 })) })),
    }))],
    pattern: new RegExp(`/processors/0: its VMs have ${MAX_WINDOWS + 2} windows, but a processor holds at most ${MAX_WINDOWS}`),
  },
  {
    name: 'a channel deeper than a core holds',
    args: () => ['run', '--board', put('deepq.json', JSON.stringify({
      ...boardJson(),
      vms: [{ name: 'a', image: 'good.elf', memoryBytes: 4096, processor: 0 }, { name: 'b', image: 'good.elf', memoryBytes: 4096, processor: 0 }],
      channels: [{ name: 'q', kind: 'queuing', maxMessageBytes: 8192, depth: 100, source: { vm: 'a', port: 0 }, destination: { vm: 'b', port: 0 } }],
    }))],
    pattern: /\/channels\/0\/depth: must be at most 64 \(the deepest queuing channel\), not 100; \/channels\/0\/maxMessageBytes: must be at most 4096/,
  },
  {
    name: 'a link to a processor id a core cannot reach',
    args: () => ['run', '--board', put('peer.json', JSON.stringify({
      ...boardJson(),
      processors: [{ id: 0, clockHz: 1e8, ramBytes: 1 << 24 }, { id: 64, clockHz: 1e8, ramBytes: 1 << 24 }],
      links: [{ from: 0, to: 64, bandwidthBytesPerS: 1e6, latencyNs: 10000, mtuBytes: 1024 }],
    }))],
    pattern: /\/links\/0\/to: processor 64 cannot have links: a core has links to processor ids below 64 only/,
  },
  {
    name: 'more links than the schema admits',
    args: () => ['run', '--board', put('links.json', JSON.stringify({ ...boardJson(), links: Array.from({ length: 5000 }, () => ({ from: 0, to: 1, bandwidthBytesPerS: 1, latencyNs: 100, mtuBytes: 64 })) }))],
    pattern: /\/links: must have at most 4096 items/,
  },
  { name: 'an image with overlapping segments', args: () => ['run', put('overlap.elf', buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE, memBytes: 0x2000 }, { paddr: RAM_BASE + 0x1000, data: SAMPLE_CODE }] }))], pattern: /overlap\.elf: segments 0 and 1 overlap: 0x80000000–0x80001fff and 0x80001000–0x8000100f/ },
  { name: 'a misaligned tohost', args: () => ['run', put('tohost.elf', buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE, memBytes: 0x200 }], symbols: [{ name: 'tohost', value: RAM_BASE + 0x102 }] }))], pattern: /tohost\.elf: tohost symbol 0x80000102 is not 4-byte aligned/ },
  { name: 'a tohost word past the end of RAM', args: () => ['run', put('tohost-end.elf', buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }], symbols: [{ name: 'tohost', value: RAM_BASE + 0x4000 }] })), '--memory', '16KiB'], pattern: /tohost symbol 0x80004000 lies outside guest RAM 0x80000000–0x80003fff/ },
  { name: 'a misaligned entry point', args: () => ['run', put('entry.elf', buildElf({ entry: RAM_BASE + 2 }))], pattern: /entry\.elf: entry point 0x80000002 is not 4-byte aligned/ },
  { name: 'a scenario event after its duration', args: () => ['run', '--scenario', put('late.json', JSON.stringify({ board: 'board.json', duration: '10ms', events: [{ at: '20ms', migrate: { vm: 'a', to: 0 } }] }, null, 2))], pattern: /\/events\/0\/at: comes after the run's end \(duration 10ms\): it would never fire \(line \d+\)/ },
  { name: 'a scenario event after --duration', args: () => ['run', '--scenario', put('late2.json', JSON.stringify({ board: 'board.json', events: [{ at: '20ms', migrate: { vm: 'a', to: 0 } }] })), '--duration', '5ms'], pattern: /\/events\/0\/at: comes after the run's end \(--duration 5 ms\)/ },
  { name: 'a scenario time without a unit', args: () => ['run', '--scenario', put('unitless.json', JSON.stringify({ board: 'board.json', duration: '10' }))], pattern: /\/duration: must be a virtual time with a unit such as 100ms, 2s/ },
  { name: 'a scenario giving affordable twice', args: () => ['run', '--scenario', put('twice-afford.json', JSON.stringify({ board: 'board.json', events: [{ at: '1ms', migrate: { vm: 'a', to: 0, affordable: '5ms', affordableNs: 5 } }] }))], pattern: /\/events\/0\/migrate\/affordableNs: gives affordable a second time/ },
  { name: 'a duplicate key in a scenario', args: () => ['run', '--scenario', put('dup-scenario.json', '{\n  "board": "board.json",\n  "board": "other.json"\n}\n')], pattern: /scenario .*: \/board: the key "board" is given twice in one object \(lines 2 and 3\)/ },
];

describe('every command refuses a bad file with exit 2 and one line', () => {
  for (const testCase of fileCases) {
    it.skipIf(testCase.core === true && !hasCore())(testCase.name, async () => {
      expectRefused(await ferryMain(testCase.args()), testCase.pattern);
    }, CASE_TIMEOUT_MS);
  }
});

describe('every command refuses a bad or huge value with exit 2 and one line', () => {
  for (const testCase of valueCases) {
    it.skipIf(testCase.core === true && !hasCore())(testCase.name, async () => {
      expectRefused(await ferryMain(testCase.args()), testCase.pattern);
    }, CASE_TIMEOUT_MS);
  }
});

describe('files that break a rule are refused naming the rule and the place', () => {
  for (const testCase of ruleCases) {
    it(testCase.name, async () => {
      expectRefused(await ferryMain(testCase.args()), testCase.pattern);
    }, CASE_TIMEOUT_MS);
  }

  it('a board with a UTF-8 byte order mark is read as if it had none', async () => {
    const plain = await ferryMain(['run', '--board', at('board.json'), '--json']);
    const marked = await ferryMain(['run', '--board', put('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(at('board.json'))])), '--json']);
    expect(marked.status, marked.stderr).toBe(0);
    expect(marked.stdout.replace('"bom"', '"board"')).toBe(plain.stdout);
  }, CASE_TIMEOUT_MS);

  it('a tohost word ending on the last byte of RAM is accepted; two bytes later it is not', async () => {
    const elf = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }], symbols: [{ name: 'tohost', value: RAM_BASE + 0x4000 - 4 }] });
    const { checkImageFits } = await import('../host/loader.js');
    const { parseElf } = await import('../host/elf.js');
    expect(() => checkImageFits(parseElf(elf), 0x4000)).not.toThrow();
    const past = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }], symbols: [{ name: 'tohost', value: RAM_BASE + 0x4000 - 2 }] });
    expect(() => checkImageFits(parseElf(past), 0x4000)).toThrow(/not 4-byte aligned/);
  });
});

describe('with --json a refusal is one JSON line on stderr', () => {
  it.each([
    ['a missing board', () => ['run', '--board', at('none.json'), '--json'], /cannot read it \(no such file\)/],
    ['an unknown option', () => ['run', at('good.elf'), '--json', '--fast'], /unknown option '--fast'/],
    ['a bad value', () => ['migrate', at('board.json'), '--vm', 'a', '--to', '1', '--at', '5', '--json'], /"5" has no unit/],
    ['a FIFO stream', () => ['inspect', at('fifo.ferry'), '--json'], /it is a FIFO/],
    ['--json with --summary table', () => ['run', '--board', at('board.json'), '--json', '--summary', 'table'], /--json prints the summary as JSON/],
  ] as const)('%s', async (_name, args, pattern) => {
    const result = await ferryMain(args());
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as { error: { status: number; kind: string; message: string } };
    expect(parsed.error.status).toBe(2);
    expect(parsed.error.message).toMatch(pattern);
  }, CASE_TIMEOUT_MS);
});

describe('outputs are written whole or not at all', () => {
  it('a run refused for bad input leaves an earlier trace as it was, and no partial file', async () => {
    const trace = put('kept.jsonl', 'earlier trace\n');
    expectRefused(await ferryMain(['run', '--board', at('cut.json'), '--trace', trace]), /not valid JSON/);
    expect(readFileSync(trace, 'utf8')).toBe('earlier trace\n');
    const refusedImage = await ferryMain(['run', at('cut.elf'), '--trace', trace]);
    expect(refusedImage.status).toBe(2);
    expect(readFileSync(trace, 'utf8')).toBe('earlier trace\n');
    expect(spawnSync('ls', ['-a', dir], { encoding: 'utf8' }).stdout).not.toMatch(/\.partial/);
  }, CASE_TIMEOUT_MS);

  it('a trace into a FIFO or a directory is refused before the run, without waiting for a reader', async () => {
    expectRefused(await ferryMain(['run', at('good.elf'), '--trace', at('fifo')]), /trace .*fifo: cannot write it \(it is not a regular file\)/);
    expectRefused(await ferryMain(['run', at('good.elf'), '--trace', at('folder')]), /trace .*folder: cannot write it \(it is a directory\)/);
    expectRefused(await ferryMain(['run', at('good.elf'), '--trace', at('no/such/dir.jsonl')]), /trace .*dir\.jsonl: cannot write it \(no such file\)/);
  }, CASE_TIMEOUT_MS);

  it.skipIf(!hasCore())('a finished run replaces the trace in one step', async () => {
    const trace = put('replaced.jsonl', 'earlier trace\n');
    const result = await ferryMain(['run', at('good.elf'), '--trace', trace]);
    expect(result.status, result.stderr).toBe(0);
    const lines = readFileSync(trace, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string });
    expect(lines[0]!.event).toBe('start');
    expect(lines.at(-1)!.event).toBe('exit');
  }, CASE_TIMEOUT_MS);
});

describe('through bin/ferry.js, as a user runs it', () => {
  it('a FIFO, a device and a broken board: exit 2, one line, no stack trace, no hang', () => {
    const twice = put('bin-twice.json', '{ "processors": [], "processors": [] }');
    for (const args of [['run', at('fifo')], ['restore', '/dev/zero'], ['run', '--board', twice], ['inspect', at('fifo.ferry')]]) {
      const result = runFerry(args, CASE_TIMEOUT_MS);
      expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^ferry: error: /);
    }
  }, 4 * CASE_TIMEOUT_MS);
});
