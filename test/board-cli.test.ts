/** `ferry run --board` as a user runs it: bin/ferry.js on build/core.wasm. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runFerry } from './helpers/ferry-cli.js';
import type { FerryResult } from './helpers/ferry-cli.js';
import { HELLO_ELF, ROOT, hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest } from './helpers/test-guests.js';

let dir: string;

function file(name: string, contents: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-board-cli-'));
  file('ok.elf', printAndShutdownGuest('ok\n'));
  file('fail.elf', printAndShutdownGuest('bad\n', 1));
  file('spin.elf', spinningGuest());
  file('partial.elf', printAndShutdownGuest('no newline'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A one-processor board with the given VMs (name → image in the suite's directory). */
function boardFile(name: string, vms: Record<string, string>): string {
  return file(name, JSON.stringify({
    processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 1 << 20 }],
    vms: Object.entries(vms).map(([vm, image]) => ({ name: vm, image, memoryBytes: 65536, processor: 0 })),
  }));
}

function expectUsageError(result: FerryResult, pattern: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(/^ferry: error: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stdout).toBe('');
}

describe('ferry run --board refuses bad input with exit 2 and one line', () => {
  it('a board that breaks the schema names the JSON pointer and what was expected', () => {
    const bad = file('x.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 1 << 20 }],
      vms: [{ name: 'a', image: 'ok.elf', memoryBytes: 5000, processor: 0 }],
    }));
    expectUsageError(runFerry(['run', '--board', bad]), /^ferry: error: board .*x\.json: \/vms\/0\/memoryBytes: must be a multiple of 4096, not 5000\n$/);
  });

  it('a board with inconsistent parts', () => {
    const bad = file('y.json', JSON.stringify({
      processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 1 << 20 }],
      vms: [{ name: 'a', image: 'ok.elf', memoryBytes: 65536, processor: 3 }],
    }));
    expectUsageError(runFerry(['run', '--board', bad]), /y\.json: \/vms\/0\/processor: no processor with id 3 \(the board has only 0\)/);
  });

  it('a VM image that does not exist', () => {
    expectUsageError(runFerry(['run', '--board', boardFile('m.json', { a: 'missing.elf' })]), /m\.json: \/vms\/0\/image: missing\.elf: cannot read the image \(no such file\)/);
  });

  it('a board without VMs and without an image', () => {
    const empty = file('empty.json', JSON.stringify({ processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 1 << 20 }] }));
    expectUsageError(runFerry(['run', '--board', empty]), /lists no VMs: give an image to run/);
  });

  it('options that do not fit the kind of run', () => {
    expectUsageError(runFerry(['run', '--board', boardFile('o.json', { a: 'ok.elf' }), '--mode', 'machine']), /--mode applies to an image/);
    expectUsageError(runFerry(['run', join(dir, 'ok.elf'), '--seed', '3']), /--seed applies to board runs/);
    expectUsageError(runFerry(['run', '--board', boardFile('o2.json', { a: 'ok.elf' }), '--summary', 'xml']), /--summary.*Expected table or json/);
    expectUsageError(runFerry(['run', '--board', boardFile('o3.json', { a: 'ok.elf' }), '--link-faults', 'lose=1']), /link faults: expected kind=probability/);
    expectUsageError(runFerry(['run', '--board', boardFile('o4.json', { a: 'ok.elf' }), '--duration', 'soon']), /--duration <time>.*"soon" is not a virtual time such as 100ms, 2s/);
    expectUsageError(runFerry(['run', '--board', boardFile('o5.json', { a: 'ok.elf' }), '--duration', '100']), /--duration <time>.*"100" has no unit: write it as 100ms, 2s/);
  });
});

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`ferry run --board on build/core.wasm${coreNote}`, () => {
  it('one VM: its console unchanged on stdout, the summary on stderr, exit 0', () => {
    const result = runFerry(['run', '--board', boardFile('one.json', { solo: 'ok.elf' })]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('ok\n');
    expect(lines(result.stderr)[0]).toMatch(/^board one: 1 processor, 1 VM, .* of virtual time, all VMs stopped$/);
    expect(lines(result.stderr)[2]).toMatch(/^solo\s+0\s+shutdown\s+\d+/);
  });

  it('several VMs: each console line prefixed with the VM name; an unfinished line gets its newline', () => {
    const result = runFerry(['run', '--board', boardFile('two.json', { first: 'ok.elf', second: 'partial.elf' }), '--no-summary']);
    expect(result.status, result.stderr).toBe(0);
    expect(lines(result.stdout).sort()).toEqual(['[first] ok', '[second] no newline']);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stderr).toBe('');
  });

  it('exit 1 when a VM fails, naming it', () => {
    const result = runFerry(['run', '--board', boardFile('f.json', { good: 'ok.elf', broken: 'fail.elf' }), '--no-summary']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('broken: shutdown: the guest reported a system failure (SRST reason 1)\n');
  });

  it('exit 124 when --max-cycles comes first; exit 0 at the end of --duration with VMs still running', () => {
    // The default schedule gives each VM half of a 10 ms frame: done runs first, then spinner.
    const board = boardFile('s.json', { done: 'ok.elf', spinner: 'spin.elf' });
    const byCycles = runFerry(['run', '--board', board, '--max-cycles', '700000', '--duration', '100ms', '--no-summary']);
    expect(byCycles.status).toBe(124);
    expect(byCycles.stderr).toBe('limit: 1 VM was still running after 7000000 ns of virtual time (700000 cycles of processor 0): spinner\n');
    const byTime = runFerry(['run', '--board', board, '--duration', '6.5ms']);
    expect(byTime.status, byTime.stderr).toBe(0);
    expect(lines(byTime.stderr)[0]).toBe('board s: 1 processor, 2 VMs, 6.5 ms of virtual time, ran for its duration');
    expect(byTime.stderr).toMatch(/^spinner\s+0\s+running\s/m);
    const tie = runFerry(['run', '--board', board, '--max-cycles', '650000', '--duration', '6.5ms', '--no-summary']);
    expect(tie.status).toBe(124);
  });

  it('an image with --duration runs that long and exits 0', () => {
    const result = runFerry(['run', join(dir, 'spin.elf'), '--duration', '0.1ms', '--instret']);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^instret: 10000\n$/);
    expect(runFerry(['run', join(dir, 'spin.elf'), '--duration', '1ms', '--max-cycles', '500']).status).toBe(124);
  });

  it('--summary prints the table on stdout after the consoles; --summary json and --json print JSON alone on stdout', () => {
    const board = boardFile('sum.json', { solo: 'ok.elf' });
    const table = runFerry(['run', '--board', board, '--summary']);
    expect(table.status).toBe(0);
    expect(table.stderr).toBe('');
    expect(lines(table.stdout)[0]).toBe('ok');
    expect(lines(table.stdout)[1]).toMatch(/^board sum: /);
    const json = runFerry(['run', '--board', board, '--summary', 'json']);
    expect(json.status).toBe(0);
    expect(json.stderr).toBe('ok\n');
    expect(runFerry(['run', '--board', board, '--json']).stdout).toBe(json.stdout);
    const parsed = JSON.parse(json.stdout) as { board: string; exitStatus: number; vms: { name: string; instret: number; stats: Record<string, unknown> }[] };
    expect(parsed).toMatchObject({ board: 'sum', exitStatus: 0 });
    expect(parsed.vms[0]!.name).toBe('solo');
    expect(parsed.vms[0]!.instret).toBeGreaterThan(0);
    expect(Object.keys(parsed.vms[0]!.stats)).toEqual([
      'windowsUsed', 'windowOverruns', 'lateInterrupts', 'latenessCycles', 'deadlineMisses', 'jobsCompleted',
      'slackNs', 'hypercalls', 'framesSent', 'framesReceived', 'framesDropped', 'metricLast', 'metricPeak', 'metricReports',
    ]);
  });

  it('--trace records VM switches, hypercalls and exits with virtual time, between run-start and run-end', () => {
    const trace = join(dir, 'board.jsonl');
    const result = runFerry(['run', '--board', boardFile('t.json', { a: 'ok.elf', b: 'ok.elf' }), '--trace', trace, '--no-summary']);
    expect(result.status).toBe(0);
    const records = lines(readFileSync(trace, 'utf8')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = new Set(records.map((record) => record['event']));
    for (const event of ['run-start', 'vm-load', 'vm-switch', 'hypercall', 'vm-exit', 'run-end']) expect(events, event).toContain(event);
    expect(records[0]!['event']).toBe('run-start');
    expect(records.at(-1)!['event']).toBe('run-end');
    const exits = records.filter((record) => record['event'] === 'vm-exit');
    expect(exits.map((record) => record['vm']).sort()).toEqual(['a', 'b']);
    for (const record of records) expect(typeof record['ns']).toBe('number');
    const hypercall = records.find((record) => record['event'] === 'hypercall')!;
    expect(hypercall).toMatchObject({ cpu: 0, vm: 'a' });
    expect(hypercall['cycles']).toBe((hypercall['ns'] as number) / 10);
  });

  it('an image with --board runs as VM 0 on the board\'s first processor, with its memory', () => {
    const result = runFerry(['run', HELLO_ELF, '--board', join(ROOT, 'boards', 'quad.json'), '--trace', join(dir, 'img.jsonl')]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Hello/);
    const start = JSON.parse(lines(readFileSync(join(dir, 'img.jsonl'), 'utf8'))[0]!) as Record<string, unknown>;
    expect(start).toMatchObject({ event: 'start', clockHz: 100_000_000, ramBytes: 1 << 20 });
  });

  it('boards/quad.json runs every VM for --duration; the summary lists them all', () => {
    const result = runFerry(['run', '--board', join(ROOT, 'boards', 'quad.json'), '--duration', '120ms']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^board quad: 4 processors, \d+ VMs, 120 ms of virtual time, ran for its duration$/m);
    for (const line of lines(result.stdout)) expect(line).toMatch(/^\[[a-z0-9]+\] /);
    const board = JSON.parse(readFileSync(join(ROOT, 'boards', 'quad.json'), 'utf8')) as { vms: { name: string }[] };
    for (const vm of board.vms) expect(result.stderr).toMatch(new RegExp(`^${vm.name}\\s`, 'm'));
  });
});
