/**
 * `ferry migrate` and `ferry run --scenario` as a user runs them (bin/ferry.js):
 * the report, --json, the exit statuses of docs/migration.md ("Using it"), and
 * one-line errors for bad options and bad scenario files.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFerry } from './helpers/ferry-cli.js';
import { GUESTS, MIB } from './helpers/migration-board.js';
import { ROOT, hasCore } from './helpers/paths.js';

const QUAD = join(ROOT, 'boards', 'quad.json');
const dir = mkdtempSync(join(tmpdir(), 'ferry-migrate-'));
const PAIR = join(dir, 'pair.json');
writeFileSync(PAIR, JSON.stringify({
  name: 'pair',
  processors: [{ id: 0, clockHz: 100_000_000, ramBytes: 16 * MIB }, { id: 1, clockHz: 100_000_000, ramBytes: 16 * MIB }],
  links: [{ from: 0, to: 1, bandwidthBytesPerS: 100_000_000, latencyNs: 50_000, mtuBytes: 1500 }],
  vms: [{ name: 'g', image: join(GUESTS, 'memcheck.elf'), memoryBytes: 2 * MIB, processor: 0 }],
}));

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`ferry migrate${coreNote}`, () => {
  it('migrates a control VM live within its slack and prints the report: exit 0', () => {
    const result = runFerry(['migrate', QUAD, '--vm', 'ctl0', '--to', '3', '--at', '200ms', '--threshold', '16384']);
    expect(result.stderr).toMatch(/^board quad: 4 processors, 8 VMs, [\d.]+ ms of virtual time, stopped after its migrations$/m);
    expect(result.status).toBe(0);
    const report = result.stdout.slice(result.stdout.indexOf('migration of ctl0'));
    expect(report).toMatch(/^migration of ctl0 from processor 0 to 3 \(pre-copy\) completed: downtime [\d.]+ (us|ms), bound [\d.]+ ms$/m);
    expect(report).toMatch(/^ {2}bound {11}[\d.]+ ms = transfer [\d.]+ (us|ms) \+ handshake [\d.]+ us \+ retransmissions [\d.]+ (us|ms) \+ restore [\d.]+ us \+ schedule 3\.000 ms \(destination at 100 MHz\)$/m);
    expect(report).toMatch(/^ {2}affordable {6}6\.980 ms \(the VM's own: the board's affordableDowntime, else its task set's slack\)$/m);
    expect(report).toMatch(/^ {2}downtime {8}[\d.]+ (us|ms) measured, 0\.\d{3} of the bound$/m);
    expect(report).toMatch(/^ {2}rounds {10}\d+$/m);
    expect(report).toMatch(/^ {2}round {2}pages {2}dirty rate$/m);
    // The consoles come first, prefixed; ctl0 prints from processor 3 after the move.
    expect(result.stdout.indexOf('[ctl0] rtos:')).toBeLessThan(result.stdout.indexOf('migration of ctl0'));
    expect(result.stderr).toMatch(/^ctl0 +3 +running/m);
  });

  it('--json: the report and the run, and nothing else, on stdout', () => {
    const result = runFerry(['migrate', PAIR, '--vm', '0', '--to', '1', '--at', '50ms', '--strategy', 'stop-copy', '--affordable-ns', '100000000', '--json']);
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout) as { migration: Record<string, unknown>; run: { vms: { name: string; processor: number }[] } };
    expect(json.migration).toMatchObject({ vm: 'g', from: 0, to: 1, strategy: 'stop-copy', outcome: 'completed', state: 'done', reason: 'none' });
    expect(json.migration['downtimeNs']).toBeLessThanOrEqual(json.migration['boundNs'] as number);
    expect(Object.keys(json.migration['bound'] as object)).toEqual(['transferNs', 'handshakeNs', 'retransmitNs', 'restoreNs', 'scheduleNs']);
    expect(json.run.vms[0]).toMatchObject({ name: 'g', processor: 1 });
    expect(result.stderr).toMatch(/^memcheck: 1024 KiB/m); // the console moved to stderr
  });

  it('--strategy cold and warm: each completes with its own report (the image restarted; the PREPARE exchange in the bound)', () => {
    const cold = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'cold', '--affordable', '100ms']);
    expect(cold.status).toBe(0);
    expect(cold.stdout).toMatch(/^migration of g from processor 0 to 1 \(cold\) completed: downtime /m);
    expect(cold.stdout).toMatch(/^ {2}cold {12}restarted from its boot image \(\d+ pages\) at the stop/m);
    const warm = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'warm', '--affordable', '100ms', '--json']);
    expect(warm.status).toBe(0);
    const json = JSON.parse(warm.stdout) as { migration: { strategy: string; bound: Record<string, number>; boundNs: number; downtimeNs: number } };
    expect(json.migration.strategy).toBe('warm');
    expect(json.migration.bound['prepareNs']).toBeGreaterThan(0);
    expect(json.migration.downtimeNs).toBeLessThanOrEqual(json.migration.boundNs);
  });

  it('--strategy trace-replay: a control VM moves (exit 0, the digests in the report); memcheck, as fast as its destination, is refused with the rates (exit 4)', () => {
    const moved = runFerry(['migrate', QUAD, '--vm', 'ctl0', '--to', '3', '--at', '2s', '--strategy', 'trace-replay']);
    expect(moved.status).toBe(0);
    expect(moved.stdout).toMatch(/^migration of ctl0 from processor 0 to 3 \(trace-replay\) completed: downtime /m);
    expect(moved.stdout).toMatch(/^ {2}trace-replay {4}log \d+ bytes \(\d+ inputs\) .*digest (0x[0-9a-f]{8}) here, \1 there \(identical\)$/m);
    expect(moved.stdout).toMatch(/\+ replay [\d.]+ us/);
    const refused = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'trace-replay', '--affordable', '200ms']);
    expect(refused.status).toBe(4);
    expect(refused.stdout).toMatch(/refused: the destination replays 100000000 instructions\/s .*no more than the VM executes here \(100000000\/s\): the replay would never catch up$/m);
    const packed = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'trace-replay', '--compress']);
    expect(packed.status).toBe(2);
  });

  it('--compress: the report gives each page class; with a strategy that sends its pages as they are, refused (exit 2, one line)', () => {
    const packed = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'stop-copy', '--compress', '--affordable', '200ms']);
    expect(packed.status).toBe(0);
    expect(packed.stdout).toMatch(/^ {2}compression {5}\d+ pages in \d+ bytes, -?\d+ saved .*raw \d+$/m);
    expect(packed.stdout).toMatch(/\+ compression [\d.]+ ms/);
    const refused = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'post-copy', '--compress']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^ferry: error: --compress: post-copy sends its pages as they are; compress with stop-copy, pre-copy, throttled, warm\n$/);
    const ordered = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'stop-copy', '--working-set']);
    expect(ordered.status).toBe(2);
    expect(ordered.stderr).toMatch(/^ferry: error: --working-set: stop-copy has no rounds to order; use it with pre-copy, throttled\n$/);
  });

  /** The same migration on the component runtime reports exactly what the plain module does. */
  function expectComponentAsModule(args: string[]): void {
    const module = runFerry(args);
    const component = runFerry([...args, '--runtime', 'component']);
    expect(module.status).toBe(0);
    expect(component.status).toBe(0);
    const migration = (result: { stdout: string }): unknown => (JSON.parse(result.stdout) as { migration: unknown }).migration;
    expect(migration(component)).toEqual(migration(module));
  }

  it.skipIf(!existsSync(join(ROOT, 'build', 'component', 'js', 'ferry-core.js')))('--runtime component migrates exactly as the plain module does', () => {
    expectComponentAsModule(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--strategy', 'pre-copy', '--affordable-ns', '100000000', '--json']);
  });

  it.skipIf(!existsSync(join(ROOT, 'build', 'component', 'js', 'ferry-core.js')))('--runtime component moves by trace-replay exactly as the plain module does (the same log, the same digests)', () => {
    expectComponentAsModule(['migrate', QUAD, '--vm', 'ctl0', '--to', '3', '--at', '500ms', '--strategy', 'trace-replay', '--json']);
  });

  it('a refusal by admission prints the bound and the affordable downtime: exit 4, the VM stays', () => {
    const result = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '20ms', '--strategy', 'stop-copy', '--affordable-ns', '1000000']);
    expect(result.status).toBe(4);
    expect(result.stdout).toMatch(/^migration of g from processor 0 to 1 \(stop-copy\) refused: the downtime bound [\d.]+ ms exceeds the affordable downtime 1\.000 ms$/m);
    expect(result.stdout).toMatch(/^ {2}affordable {6}1\.000 ms \(given for this move\)$/m);
    expect(result.stderr).toMatch(/^g +0 +running/m);
  });

  it('a destination with no free windows refuses: exit 4 with the reason', () => {
    const result = runFerry(['migrate', QUAD, '--vm', 'ctl0', '--to', '1', '--at', '100ms', '--affordable-ns', '50000000', '--no-summary']);
    expect(result.status).toBe(4);
    expect(result.stdout).toMatch(/refused: the VM's windows conflict with the destination's schedule$/m);
  });

  it('pre-copy that does not converge fails, the VM runs on at the source: exit 5', () => {
    const result = runFerry(['migrate', PAIR, '--vm', 'g', '--to', '1', '--at', '50ms', '--max-rounds', '1', '--threshold', '4096', '--affordable-ns', '15000000', '--no-summary']);
    expect(result.status).toBe(5);
    expect(result.stdout).toMatch(/^migration of g from processor 0 to 1 \(pre-copy\) failed: pre-copy did not converge; the VM runs on the source$/m);
    expect(result.stdout).toMatch(/^ {2}rounds {10}1$/m);
  });

  it('bad options: one line, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['--vm', 'nobody', '--to', '1', '--at', '1ms'], /--vm nobody: board pair has no such VM \(0 g\)/],
      [['--vm', 'g', '--to', '7', '--at', '1ms'], /--to 7: board pair has no such processor \(0, 1\)/],
      [['--vm', 'g', '--to', '1', '--at', '20'], /option '--at <time>' argument '20' is invalid/],
      [['--vm', 'g', '--to', '1', '--at', '1ms', '--strategy', 'teleport'], /argument 'teleport' is invalid. Allowed choices are stop-copy, pre-copy, throttled, post-copy, cold, warm/],
      [['--vm', 'g', '--to', '1'], /required option '--at <time>' not specified/],
    ];
    for (const [args, message] of cases) {
      const result = runFerry(['migrate', PAIR, ...args]);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });

  it('--help lists the exit statuses', () => {
    const result = runFerry(['migrate', '--help']);
    expect(result.status).toBe(0);
    for (const status of ['0', '1', '2', '3', '4', '5', '6']) expect(result.stdout).toMatch(new RegExp(`^ {2}${status} {4}`, 'm'));
    expect(result.stdout).toMatch(/--strategy <strategy>/);
  });
});

describe.skipIf(!hasCore())(`ferry run --scenario${coreNote}`, () => {
  it('scenarios/quad-migrate.json (npm start): the report beside the summary, no deadline missed', () => {
    const result = runFerry(['run', '--scenario', join(ROOT, 'scenarios', 'quad-migrate.json'), '--duration', '2.3s', '--summary']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^migration of ctl0 from processor 0 to 3 \(pre-copy\) completed: downtime [\d.]+ (us|ms), bound [\d.]+ ms$/m);
    expect(result.stdout).toMatch(/^board quad: 4 processors, 8 VMs, 2\.3 s of virtual time, ran for its duration$/m);
    const ctl0 = /^ctl0 +(\d+) +running +\d+ +\d+ +\d+ +\d+ +\d+ +(\d+) /m.exec(result.stdout);
    expect(ctl0?.[1]).toBe('3');
    expect(ctl0?.[2]).toBe('0');
    expect(result.stdout).toMatch(/^\[ctl0\] ctl control: t=2200 /m);
  });

  it('--summary json has the migrations', () => {
    const result = runFerry(['run', '--scenario', join(ROOT, 'scenarios', 'quad-migrate.json'), '--duration', '2.1s', '--summary', 'json']);
    expect(result.status).toBe(0);
    // stdout is the JSON document alone: the consoles went to stderr.
    const json = JSON.parse(result.stdout) as { migrations: { vm: string; outcome: string }[] };
    expect(json.migrations).toMatchObject([{ vm: 'ctl0', outcome: 'completed' }]);
  });

  it('a bad scenario file: the JSON pointer of each problem, exit 2', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({
      board: QUAD,
      duration: '5 seconds',
      events: [
        { at: '1s', migrate: { vm: 'ctl0', to: 3, strategy: 'teleport' } },
        { at: '1s', migrate: { vm: 'ctl0', to: 3 }, cancel: { vm: 'ctl0' } },
      ],
    }));
    const result = runFerry(['run', '--scenario', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ferry: error: scenario .*bad\.json: \/duration: must be a virtual time with a unit such as 100ms, 2s, 5000us, 1\.5ms or 250ns, not "5 seconds"; \/events\/0\/migrate\/strategy: must be one of "stop-copy", "pre-copy", "throttled", "post-copy", "cold", "warm", "trace-replay", not "teleport"; \/events\/1: an event has "at" and one of/);
  });

  it('a scenario naming a VM or processor its board lacks', () => {
    const path = join(dir, 'unknown.json');
    writeFileSync(path, JSON.stringify({ board: QUAD, events: [{ at: '1s', migrate: { vm: 'ctl9', to: 9 } }] }));
    const result = runFerry(['run', '--scenario', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/\/events\/0\/migrate\/vm: names no VM of board quad \(tx0, ctl0, .*\); \/events\/0\/migrate\/to: is no processor of board quad/);
  });

  it('--scenario with an image or --board is refused', () => {
    const result = runFerry(['run', '--scenario', join(ROOT, 'scenarios', 'quad-migrate.json'), '--board', QUAD]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--scenario names its own board/);
  });
});
