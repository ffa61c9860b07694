/**
 * What the unit convention and --json give a user: --duration 2s and --memory 16MiB
 * do what their older spellings did, checkpoint and restore take a duration and a
 * trace, every --json is one JSON document on stdout, and the summary's JSON reads
 * the guest's metric signed. In this process (test/helpers/ferry-main.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardRunResult } from '../host/board-runner.js';
import { summaryJson } from '../host/summary.js';
import { formatSize, parseSize, parseVirtualTime } from '../host/time-units.js';
import { GUESTS } from './helpers/collector-guest.js';
import { ferryMain } from './helpers/ferry-main.js';
import { hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest } from './helpers/test-guests.js';

let dir: string;
const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-cli-options-'));
  writeFileSync(at('spin.elf'), spinningGuest());
  writeFileSync(at('ok.elf'), printAndShutdownGuest('ok\n'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('times and sizes with units', () => {
  it('parses every unit exactly, to the nanosecond and the byte', () => {
    expect(parseVirtualTime('2s')).toBe(2_000_000_000n);
    expect(parseVirtualTime('5000us')).toBe(5_000_000n);
    expect(parseVirtualTime('5000µs')).toBe(5_000_000n);
    expect(parseVirtualTime('1.5ms')).toBe(1_500_000n);
    expect(parseVirtualTime('2min')).toBe(120_000_000_000n);
    expect(parseVirtualTime('0.000000001s')).toBe(1n);
    expect(parseVirtualTime('1_000ns')).toBe(1000n);
    expect(parseVirtualTime('0.5ns')).toBeUndefined();
    expect(parseVirtualTime('2')).toBeUndefined();
    expect(parseVirtualTime('2 s')).toBeUndefined();
    expect(parseVirtualTime('-1s')).toBeUndefined();
    expect(parseSize('16MiB')).toBe(16n << 20n);
    expect(parseSize('1.5KiB')).toBe(1536n);
    expect(parseSize('0.3B')).toBeUndefined();
    expect(parseSize('16MB')).toBeUndefined();
    expect(formatSize(256 << 20)).toBe('256 MiB');
    expect(formatSize(5000)).toBe('5000 B');
  });
});

describe.skipIf(!hasCore())('the options with units run what their older spellings ran', () => {
  it('--duration 1ms is --duration-ms 1: the same cycles, exit 0, reason duration', async () => {
    const withUnit = await ferryMain(['run', at('spin.elf'), '--duration', '1ms', '--json']);
    const older = await ferryMain(['run', at('spin.elf'), '--duration-ms', '1', '--json']);
    expect(withUnit.status, withUnit.stderr).toBe(0);
    expect(older.stdout).toBe(withUnit.stdout);
    expect(JSON.parse(withUnit.stdout)).toMatchObject({ reason: 'duration', exitStatus: 0, cycles: 100_000 });
  });

  it('--memory 16KiB gives the VM 16 KiB, as the trace\'s start record shows', async () => {
    const trace = at('memory.jsonl');
    const result = await ferryMain(['run', at('ok.elf'), '--memory', '16KiB', '--trace', trace]);
    expect(result.status, result.stderr).toBe(0);
    const start = JSON.parse(readFileSync(trace, 'utf8').split('\n')[0]!) as { event: string; ramBytes: number };
    expect(start).toMatchObject({ event: 'start', ramBytes: 16384 });
  });

  it('run --json puts the console on stderr and one document on stdout', async () => {
    const result = await ferryMain(['run', at('ok.elf'), '--json']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('ok\n');
    expect(JSON.parse(result.stdout)).toMatchObject({ reason: 'shutdown', exitStatus: 0 });
  });

  it('checkpoint --duration 1ms writes the stream --at-cycle 100000 writes; --json says what it wrote', async () => {
    const byTime = await ferryMain(['checkpoint', at('spin.elf'), '--duration', '1ms', '-o', at('t.ferry'), '--json']);
    const byCycle = await ferryMain(['checkpoint', at('spin.elf'), '--at-cycle', '100000', '-o', at('c.ferry')]);
    expect(byTime.status, byTime.stderr).toBe(0);
    expect(byCycle.status, byCycle.stderr).toBe(0);
    expect(readFileSync(at('t.ferry'))).toEqual(readFileSync(at('c.ferry')));
    expect(JSON.parse(byTime.stdout)).toMatchObject({ file: at('t.ferry'), bytes: readFileSync(at('t.ferry')).length, checkpoints: [{ kind: 'full', atCycles: 100_000 }] });
  });

  it('restore --duration runs on that long after the checkpoint; --trace records the restored run', async () => {
    const stream = at('cpu.ferry');
    expect((await ferryMain(['checkpoint', join(GUESTS, 'cpu-small.elf'), '--at-cycle', '200000', '-o', stream])).status).toBe(0);
    const trace = at('restore.jsonl');
    const result = await ferryMain(['restore', stream, '--duration', '1ms', '--trace', trace, '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ stream, reason: 'duration', exitStatus: 0, resumedAtCycles: 200_000, cycles: 300_000 });
    const records = readFileSync(trace, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; cycles: number; cpu: number });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((record) => record.cpu === 0 && record.cycles >= 200_000 && record.cycles <= 300_000)).toBe(true);
  });

  it('checkpoint --trace records the run up to the checkpoint, restore the rest', async () => {
    const trace = at('checkpoint.jsonl');
    expect((await ferryMain(['checkpoint', join(GUESTS, 'timer.elf'), '--duration', '3ms', '--trace', trace, '-o', at('timer.ferry')])).status).toBe(0);
    const records = readFileSync(trace, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; ns: number });
    expect(records.some((record) => record.event === 'interrupt')).toBe(true);
    expect(records.every((record) => record.ns <= 3_000_000)).toBe(true);
  });
});

describe('the summary\'s JSON', () => {
  it('reads the guest\'s metric signed and "no slack" as null', () => {
    const stats = { slackNs: 2n ** 64n - 1n, metricLast: 2n ** 64n - 1500n, metricPeak: 2n ** 64n - 2500n, metricReports: 2n };
    const result = { board: 'b', vms: [{ name: 'a', console: '', stats }] } as unknown as BoardRunResult;
    const json = JSON.parse(summaryJson(result)) as { vms: { stats: Record<string, unknown>; console?: string }[] };
    expect(json.vms[0]!.stats).toEqual({ slackNs: null, metricLast: -1500, metricPeak: -2500, metricReports: 2 });
    expect(json.vms[0]!.console).toBeUndefined();
  });
});
