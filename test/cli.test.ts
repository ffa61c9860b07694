import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EM_X86_64, PHDR, RAM_BASE, SAMPLE_CODE, buildElf, patch32, phdrAt } from './helpers/elf-builder.js';
import { lines, runFerry } from './helpers/ferry-cli.js';
import type { FerryResult } from './helpers/ferry-cli.js';
import { HELLO_ELF, hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest, tohostGuest } from './helpers/test-guests.js';

let dir: string;

/** Writes a file into the suite's temporary directory and returns its path. */
function file(name: string, contents: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Exit 2 with exactly one line on stderr, `ferry: error: ...`, and no stack trace. */
function expectUsageError(result: FerryResult, pattern: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(/^ferry: error: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stdout).toBe('');
}

describe('ferry --help', () => {
  it('describes the run command and the exit statuses', () => {
    const result = runFerry(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/run \[options\] \[image\.elf\]/);
    for (const status of ['0 ', '1 ', '2 ', '124']) expect(result.stdout).toContain(`\n  ${status}`);
  });

  it('ferry run --help describes every option and the exit statuses', () => {
    const result = runFerry(['run', '--help']);
    expect(result.status).toBe(0);
    for (const option of ['--board <file>', '--mode <mode>', '--max-cycles <n>', '--trace <file>', '--instret', 'paravirtual', 'machine']) {
      expect(result.stdout).toContain(option);
    }
    expect(result.stdout).toContain('124  --max-cycles ran out');
  });
});

describe('ferry run refuses bad input with exit 2 and one line', () => {
  it('a text file', () => {
    expectUsageError(runFerry(['run', file('notes.txt', 'this is not a guest\n')]), /notes\.txt: not an ELF file/);
  });

  it('a truncated ELF', () => {
    expectUsageError(runFerry(['run', file('short.elf', buildElf().subarray(0, 30))]), /short\.elf: truncated: ELF header/);
  });

  it('an ELF whose segment runs past the end of the file', () => {
    const bytes = patch32(buildElf(), phdrAt(0) + PHDR.filesz, 0x10000);
    expectUsageError(runFerry(['run', file('cut.elf', bytes)]), /truncated: segment 0/);
  });

  it('an x86-64 executable', () => {
    expectUsageError(runFerry(['run', file('x86.elf', buildElf({ elfClass: 2, machine: EM_X86_64 }))]), /not a 32-bit ELF file \(ELFCLASS64, machine x86-64\)/);
    expectUsageError(runFerry(['run', file('x32.elf', buildElf({ machine: EM_X86_64 }))]), /not a RISC-V executable: machine is x86-64/);
  });

  it('a segment outside guest RAM', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: 0x1000, data: SAMPLE_CODE }] });
    expectUsageError(runFerry(['run', file('low.elf', bytes)]), /segment 1 at 0x1000 \(size 16 bytes\) lies outside guest RAM 0x80000000–0x807fffff/);
  });

  it('a nonexistent file', () => {
    expectUsageError(runFerry(['run', join(dir, 'missing.elf')]), /missing\.elf: cannot read the image \(no such file\)/);
  });

  it('a directory', () => {
    expectUsageError(runFerry(['run', dir]), /it is a directory/);
  });

  it('a bad --mode', () => {
    expectUsageError(runFerry(['run', '--mode', 'hyper', file('m.elf', buildElf())]), /--mode.*'hyper' is invalid.*paravirtual, machine/);
  });

  it('a bad --max-cycles', () => {
    expectUsageError(runFerry(['run', '--max-cycles', 'lots', file('c.elf', buildElf())]), /--max-cycles.*Expected a whole number/);
    expectUsageError(runFerry(['run', '--max-cycles', '0', file('c.elf', buildElf())]), /--max-cycles.*Expected at least 1/);
  });

  it('an unknown option, a missing argument, an unknown command', () => {
    expectUsageError(runFerry(['run', '--fast', file('u.elf', buildElf())]), /unknown option '--fast'/);
    expectUsageError(runFerry(['run']), /run needs an image \(ferry run <image\.elf>\) or a board/);
    expectUsageError(runFerry(['fly']), /unknown command 'fly'/);
  });

  it('a missing, non-JSON or ill-typed board file', () => {
    const image = file('b.elf', buildElf());
    expectUsageError(runFerry(['run', '--board', join(dir, 'none.json'), image]), /board .*none\.json: cannot read it \(no such file\)/);
    expectUsageError(runFerry(['run', '--board', file('bad.json', '{ processors: ['), image]), /board .*bad\.json: not valid JSON/);
    const typed = file('typed.json', JSON.stringify({ processors: [{ id: 0, clockHz: 'fast', ramBytes: 65536 }] }));
    expectUsageError(runFerry(['run', '--board', typed, image]), /typed\.json: \/processors\/0\/clockHz: must be a whole number, not "fast"/);
  });

  it('an image bigger than the board\'s VM', () => {
    const board = file('small.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 65536 }],
      vms: [{ name: 'small', image: 'b.elf', memoryBytes: 4096, processor: 0 }],
    }));
    const image = file('big.elf', buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE, memBytes: 0x3000 }] }));
    expectUsageError(runFerry(['run', '--board', board, image]), /image needs 12288 bytes but the VM has 4096/);
  });

  it('an unwritable trace file', () => {
    expectUsageError(runFerry(['run', '--trace', join(dir, 'no', 'such', 'dir.jsonl'), file('t.elf', buildElf())]), /trace .*cannot write it/);
  });
});

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`ferry run on build/core.wasm with inline test guests${coreNote}`, () => {
  it('writes the guest console to stdout unchanged and exits 0 after SRST shutdown', () => {
    const result = runFerry(['run', file('ok.elf', printAndShutdownGuest('ok\n\tdone'))]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('ok\n\tdone');
    expect(result.stderr).toBe('');
  });

  it('exits 1 after SRST system failure, saying so', () => {
    const result = runFerry(['run', file('fail.elf', printAndShutdownGuest('', 1))]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/system failure/);
  });

  it('exits 0 on tohost = 1 and 1 on an odd tohost, naming the failed test', () => {
    expect(runFerry(['run', file('pass.elf', tohostGuest(1))]).status).toBe(0);
    const failed = runFerry(['run', file('t5.elf', tohostGuest(11))]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toBe('tohost: test 5 failed\n');
  });

  it('exits 124 when --max-cycles runs out, with the cycle count', () => {
    const result = runFerry(['run', '--max-cycles', '1000', file('spin.elf', spinningGuest())]);
    expect(result.status).toBe(124);
    expect(result.stderr).toMatch(/after 1000 cycles/);
  });

  it('prints instret with --instret', () => {
    const result = runFerry(['run', '--instret', file('i.elf', printAndShutdownGuest('x'))]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^instret: [1-9]\d*\n$/);
  });

  it('writes start and exit events with --trace', () => {
    const trace = join(dir, 'run.jsonl');
    const result = runFerry(['run', '--trace', trace, file('tr.elf', printAndShutdownGuest('x'))]);
    expect(result.status).toBe(0);
    const events = lines(readFileSync(trace, 'utf8')).map((line) => JSON.parse(line) as Record<string, unknown>);
    // start, the core's events (docs/trace.md), exit.
    expect(events[0]!['event']).toBe('start');
    expect(events.at(-1)!['event']).toBe('exit');
    expect(events.filter((e) => e['event'] === 'hypercall').length).toBeGreaterThan(0);
    expect(events.find((e) => e['event'] === 'vm-exit')).toMatchObject({ cpu: 0, vm: 'tr', reason: 'shutdown', code: 0 });
    expect(events[0]).toMatchObject({ mode: 'paravirtual', ramBytes: 8 * 1024 * 1024, clockHz: 100_000_000, entry: RAM_BASE });
    expect(events.at(-1)).toMatchObject({ reason: 'shutdown', exitStatus: 0 });
    expect(events.at(-1)!['instret']).toBeGreaterThan(0);
  });

  it('takes the clock and RAM size from --board', () => {
    const board = file('board.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 25_000_000, ramBytes: 1 << 20 }],
      vms: [{ name: 'bd', image: 'bd.elf', memoryBytes: 65536, processor: 0 }],
    }));
    const trace = join(dir, 'board.jsonl');
    const result = runFerry(['run', '--board', board, '--trace', trace, file('bd.elf', printAndShutdownGuest(''))]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(lines(readFileSync(trace, 'utf8'))[0]!)).toMatchObject({ clockHz: 25_000_000, ramBytes: 65536 });
  });

  it('runs a machine guest in machine mode when asked', () => {
    const result = runFerry(['run', '--mode', 'machine', file('mm.elf', tohostGuest(1))]);
    expect(result.status).toBe(0);
  });
});

const helloNote = !existsSync(HELLO_ELF)
  ? ' — SKIPPED: guests/build/hello.elf not built (npm run build:guests)'
  : coreNote;

describe.skipIf(!existsSync(HELLO_ELF) || !hasCore())(`ferry run guests/build/hello.elf${helloNote}`, () => {
  it('prints the greeting and exits 0', () => {
    const result = runFerry(['run', HELLO_ELF]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/hello/i);
  });

  it('exits 124 with --max-cycles 1000', () => {
    const full = runFerry(['run', '--instret', HELLO_ELF]);
    const instret = Number(/instret: (\d+)/.exec(full.stderr)?.[1]);
    expect(instret, 'hello must run longer than the limit for this test').toBeGreaterThan(1000);
    const result = runFerry(['run', '--max-cycles', '1000', HELLO_ELF]);
    expect(result.status).toBe(124);
    expect(result.stderr).toMatch(/max-cycles: .*1000 cycles/);
  });
});
