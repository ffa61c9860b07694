/**
 * Migration end to end on build/core.wasm, through the board runner and scenario
 * events: every strategy moves a memory-checking guest intact; a CPU-bound guest
 * ends exactly as an uninterrupted run does; a VM never runs on two processors; a
 * cancel in each protocol state, a refusing destination and a refusal by admission
 * all leave the VM running on the source; lost, corrupted, duplicated and reordered
 * frames only cost time. Everything is virtual time: no wall-clock assertion.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBoard } from '../host/board-runner.js';
import { COMPRESSING_STRATEGIES, formatMigrationReport, MIGRATION_STRATEGIES, MigrationController, ROUND_STRATEGIES } from '../host/migration.js';
import { CoreEvent, MigrationStat, MigrationState } from '../host/numbers.js';
import type { CancelState, MigrationBoard, MigrationParams, MigrationStrategy, ScenarioEvent } from '../host/migration.js';
import type { OutgoingFrame } from '../host/link-faults.js';
import { readScenario } from '../host/scenario.js';
import { crc32c } from '../host/stream-inspect.js';
import { MIB, migrate, pairBoard, runMigration, verifiedRounds } from './helpers/migration-board.js';
import type { MigrationRun } from './helpers/migration-board.js';
import { ROOT, hasCore } from './helpers/paths.js';
import { asCore } from './helpers/unsupported-core.js';

const MS = 1_000_000n;

/** What the memcheck VM can afford in these tests (no task set): generous, so admission is not the subject. */
const AFFORDABLE = { affordableNs: 200n * MS };

/** The VM moved, ran on the destination and was never seen running in two places; downtime within the bound. */
function expectCompleted(run: MigrationRun, to = 1): void {
  const { report, vm } = run;
  expect(report.message).toMatch(/completed/);
  expect(report.outcome).toBe('completed');
  expect(report.state).toBe('done');
  expect(report.violations).toEqual([]);
  expect(vm.processor).toBe(to);
  expect(vm.migratedFrom).toBe(0);
  expect(report.downtimeNs).toBeDefined();
  expect(report.downtimeNs!).toBeGreaterThan(0n);
  expect(report.downtimeNs!, `downtime ${report.downtimeNs} ns against the bound ${report.boundNs} ns`).toBeLessThanOrEqual(report.boundNs);
}

/** memcheck still runs (no mismatch: that would have ended it with SRST failure) and verified rounds after the migration. */
function expectMemoryIntact(run: MigrationRun): void {
  expect(run.result.messages).toEqual([]);
  expect(run.vm.state).toBe('running');
  expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
  expect(verifiedRounds(run.vm.console)).toContain(10);
}

/** The VM was not moved and kept running on the source. */
function expectStayedOnSource(run: MigrationRun): void {
  expect(run.vm.processor).toBe(0);
  expect(run.vm.migratedFrom).toBeUndefined();
  expect(run.report.violations).toEqual([]);
  expect(run.report.downtimeNs).toBeUndefined();
}

/** A CPU-bound guest moves by trace-replay only to a destination that replays faster than it runs (docs/migration.md, "Trace-replay"). */
function fasterDestinationFor(strategy: MigrationStrategy): { destinationClockHz?: number } {
  return strategy === 'trace-replay' ? { destinationClockHz: 200_000_000 } : {};
}

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`migration on build/core.wasm${coreNote}`, () => {
  describe('every strategy', () => {
    for (const strategy of MIGRATION_STRATEGIES.filter((name) => name !== 'cold')) {
      it(`${strategy}: memcheck moves at 50 ms and verifies every page on the destination`, async () => {
        const run = await runMigration(pairBoard(fasterDestinationFor(strategy)), [migrate(50n * MS, strategy, AFFORDABLE)], { durationNs: 360n * MS });
        expectCompleted(run);
        expectMemoryIntact(run);
        const { report } = run;
        expect(report.startedAtNs).toBe(50n * MS);
        expect(report.bytesSent).toBeGreaterThan(BigInt(MIB)); // the whole 1 MiB region, at least
        // The destination applies each record as it arrives: it never held more than one
        // page record (32 pages) and the message that completed it.
        expect(report.destinationHeldBytes).toBeGreaterThan(0n);
        expect(report.destinationHeldBytes!).toBeLessThanOrEqual(BigInt(32 * 4096 + 4096));
        expect(report.timeline.map((entry) => entry.state)).toEqual(
          strategy === 'post-copy' ? ['preparing', 'blackout', 'post-copy', 'done'] : ['preparing', 'blackout', 'done'],
        );
        const times = report.timeline.map((entry) => entry.ns);
        expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(times);
        if (strategy === 'pre-copy' || strategy === 'throttled') {
          expect(report.rounds).toBeGreaterThan(0);
          expect(report.roundStats).toHaveLength(report.rounds);
          expect(report.roundStats[0]!.pages).toBeGreaterThanOrEqual(256n);
          expect(report.roundStats[0]!.dirtyBytesPerS).toBeGreaterThan(0n);
        }
        const termsNs = Object.values(report.bound).reduce((sum, term) => sum + term, 0n);
        expect(termsNs).toBe(report.boundNs);
      });
    }

    for (const strategy of MIGRATION_STRATEGIES.filter((name) => name !== 'cold')) {
      it(`${strategy}: cpu-small gives the checksum and instret of an uninterrupted run`, async () => {
        const board = pairBoard({ image: 'cpu-small.elf', ...fasterDestinationFor(strategy) });
        const plain = await runBoard({ board, limitNs: 1_000n * MS });
        const run = await runMigration(board, [migrate(10n * MS, strategy, AFFORDABLE)], { limitNs: 1_000n * MS });
        expectCompleted(run);
        const before = plain.vms[0]!;
        expect(before.outcome?.reason).toBe('shutdown');
        expect(run.vm.outcome).toEqual(before.outcome);
        expect(run.vm.instret).toBe(before.instret);
        const checksum = /checksum: 0x[0-9a-f]+/.exec(before.console)![0];
        expect(run.vm.console).toContain(checksum);
        expect(run.vm.console).toBe(before.console);
        expect(run.result.exitStatus).toBe(0);
      });
    }
  });

  describe('cold: stop, move the boot image, restart', () => {
    it('memcheck restarts from its entry on the destination: only the image crosses, and its rounds start again and verify', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'cold', AFFORDABLE)], { durationNs: 700n * MS });
      expectCompleted(run);
      const { report, vm } = run;
      expect(report.timeline.map((entry) => entry.state)).toEqual(['preparing', 'blackout', 'done']);
      // The image is memcheck's file bytes (its 1 MiB region is bss): a few pages, not the VM's 257 touched ones.
      expect(report.imagePages).toBeGreaterThan(0n);
      expect(report.imagePages!).toBeLessThan(8n);
      expect(report.blackoutBytes).toBeLessThan(BigInt(8 * 4096 + 4096));
      expect(report.bytesSent).toBeLessThan(BigInt(64 * 1024));
      expect(report.message).toMatch(/completed/);
      expect(formatMigrationReport(report)).toMatch(/restarted from its boot image \(\d+ pages\)/);
      // Started twice (its state was lost), then verified its rounds again on the destination.
      expect(vm.console.match(/rounds forever/g)).toHaveLength(2);
      expect(vm.console).not.toMatch(/MISMATCH|FAILED/);
      expect(verifiedRounds(vm.console.slice(vm.console.lastIndexOf('rounds forever')))).toContain(10);
      expect(run.result.messages).toEqual([]);
    });

    it('cpu-small restarts and ends as an uninterrupted run does, having run its first 10 ms twice', async () => {
      const board = pairBoard({ image: 'cpu-small.elf' });
      const plain = await runBoard({ board, limitNs: 1_000n * MS });
      const run = await runMigration(board, [migrate(10n * MS, 'cold', AFFORDABLE)], { limitNs: 1_000n * MS });
      expectCompleted(run);
      const before = plain.vms[0]!;
      expect(run.vm.outcome).toEqual(before.outcome);
      expect(run.vm.console).toBe(before.console); // it prints only at its end
      expect(run.vm.instret).toBeGreaterThan(before.instret); // counters are the board's: they carry on over the restart
    });

    it('cancelled in its blackout: the restart already happened, so the VM runs on at the source from its entry', async () => {
      const events: ScenarioEvent[] = [migrate(50n * MS, 'cold', AFFORDABLE), { kind: 'cancel', vm: 'g', inState: 'blackout' }];
      const run = await runMigration(pairBoard({ bandwidthBytesPerS: 1_000_000 }), events, { durationNs: 700n * MS });
      expect(run.report.outcome).toBe('cancelled');
      expectStayedOnSource(run);
      expect(run.vm.console.match(/rounds forever/g)).toHaveLength(2);
      expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
      expect(verifiedRounds(run.vm.console.slice(run.vm.console.lastIndexOf('rounds forever')))).toContain(10);
    });

    it('under every link fault at once, two seeds: completes within its bound, and the restarted VM verifies', async () => {
      for (const seed of [3, 4]) {
        const rates = { drop: 0.01, corrupt: 0.01, duplicate: 0.02, reorder: 0.01 };
        const run = await runMigration(pairBoard(), [migrate(50n * MS, 'cold', AFFORDABLE)], { durationNs: 700n * MS, linkFaults: rates, seed });
        expectCompleted(run);
        expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
        expect(verifiedRounds(run.vm.console.slice(run.vm.console.lastIndexOf('rounds forever')))).toContain(10);
      }
    });

    it('a VM that was not booted here (it arrived by a migration) has no image to restart from: refused', async () => {
      const events = [migrate(50n * MS, 'stop-copy', AFFORDABLE), migrate(150n * MS, 'cold', AFFORDABLE, 'g', 0)];
      const run = await runMigration(pairBoard(), events, { durationNs: 600n * MS });
      const [moved, cold] = run.result.migrations;
      expect(moved!.outcome).toBe('completed');
      expect(cold!.outcome).toBe('refused');
      expect(cold!.reason).toBe('no-image');
      expect(run.vm.processor).toBe(1);
      expectMemoryIntact(run);
    });
  });

  describe('warm: suspend first, then reserve, send the checkpoint and resume', () => {
    it('its bound has the PREPARE exchange the suspended VM waits out, and the VM stops before PREPARE goes', async () => {
      const warm = await runMigration(pairBoard(), [migrate(50n * MS, 'warm', AFFORDABLE)], { durationNs: 360n * MS });
      const stop = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', AFFORDABLE)], { durationNs: 360n * MS });
      expectCompleted(warm);
      expect(warm.report.bound.prepareNs).toBeGreaterThan(0n);
      expect(stop.report.bound.prepareNs).toBeUndefined();
      expect(warm.report.boundNs - stop.report.boundNs).toBe(warm.report.bound.prepareNs);
      // The stop comes at the start (the preparing state lasts no time), so the downtime covers PREPARE's round trip.
      const [preparing, blackout] = warm.report.timeline;
      expect(blackout!.ns).toBe(preparing!.ns);
      expect(warm.report.downtimeNs!).toBeGreaterThan(stop.report.downtimeNs!);
      expect(formatMigrationReport(warm.report)).toMatch(/\+ prepare \d/);
    });

    it('a destination that refuses (no RAM) resumes the suspended VM on the source', async () => {
      const board = pairBoard({ destinationRamBytes: 2 * MIB, destinationVms: [{ name: 'full', image: 'memcheck.elf', memoryBytes: 2 * MIB }] });
      const run = await runMigration(board, [migrate(50n * MS, 'warm', AFFORDABLE)], { durationNs: 360n * MS });
      expect(run.report.outcome).toBe('refused');
      expect(run.report.reason).toBe('destination-no-ram');
      expectStayedOnSource(run);
      expectMemoryIntact(run);
    });
  });

  describe('compress: each page by its class, the bound on what the blackout sends compressed', () => {
    for (const strategy of COMPRESSING_STRATEGIES) {
      it(`${strategy}: cpu-small compressed gives the checksum and instret of an uninterrupted run; every page counted in its class`, async () => {
        const board = pairBoard({ image: 'cpu-small.elf' });
        const plain = await runBoard({ board, limitNs: 1_000n * MS });
        const run = await runMigration(board, [migrate(10n * MS, strategy, { ...AFFORDABLE, compress: true })], { limitNs: 1_000n * MS });
        expectCompleted(run);
        const before = plain.vms[0]!;
        expect(run.vm.outcome).toEqual(before.outcome);
        expect(run.vm.instret).toBe(before.instret);
        expect(run.vm.console).toBe(before.console);
        const { report } = run;
        expect(report.params.compress).toBe(true);
        const c = report.compression!;
        expect(c.all.pages).toBe(report.pagesSent);
        expect(c.strong.pages + c.weak.pages).toBeGreaterThan(0n);
        expect(c.all.savedBytes).toBeGreaterThan(0n);
        expect(c.strong.ratio!).toBeGreaterThan(2);
        expect(report.bound.compressionNs).toBeGreaterThan(0n);
        const termsNs = Object.values(report.bound).reduce((sum, term) => sum + term, 0n);
        expect(termsNs).toBe(report.boundNs);
        expect(formatMigrationReport(report)).toMatch(/^ {2}compression {5}\d+ pages in \d+ bytes, \d+ saved/m);
      });
    }

    it('the blackout is bounded by what it sends compressed: fewer bytes than the same move uncompressed', async () => {
      const board = pairBoard({ image: 'cpu-small.elf' });
      const raw = await runMigration(board, [migrate(10n * MS, 'stop-copy', AFFORDABLE)], { limitNs: 1_000n * MS });
      const packed = await runMigration(board, [migrate(10n * MS, 'stop-copy', { ...AFFORDABLE, compress: true })], { limitNs: 1_000n * MS });
      expect(packed.report.blackoutBytes).toBeLessThan(raw.report.blackoutBytes);
      expect(packed.report.bytesSent).toBeLessThan(raw.report.bytesSent);
      expect(packed.report.bound.transferNs).toBeLessThanOrEqual(raw.report.bound.transferNs);
      expect(raw.report.compression).toBeUndefined();
    });

    it('memcheck (its pages do not compress) moves compressed and verifies every page; the codec work is in the bound and in the downtime', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', { ...AFFORDABLE, compress: true })], { durationNs: 420n * MS });
      expectCompleted(run);
      expectMemoryIntact(run);
      const c = run.report.compression!;
      expect(c.raw.pages).toBeGreaterThanOrEqual(256n);
      expect(run.report.bound.compressionNs!).toBeGreaterThan(0n);
      const plain = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', AFFORDABLE)], { durationNs: 360n * MS });
      expect(run.report.downtimeNs!).toBeGreaterThan(plain.report.downtimeNs!); // the codec's cycles were spent
    });

    it('cancelled in its blackout: the VM runs on at the source', async () => {
      const events: ScenarioEvent[] = [migrate(50n * MS, 'stop-copy', { ...AFFORDABLE, compress: true }), { kind: 'cancel', vm: 'g', inState: 'blackout' }];
      const run = await runMigration(pairBoard(), events, { durationNs: 360n * MS });
      expect(run.report.outcome).toBe('cancelled');
      expectStayedOnSource(run);
      expectMemoryIntact(run);
    });

    it('under every link fault at once, two seeds: pre-copy and warm complete within their bounds', async () => {
      for (const strategy of ['pre-copy', 'warm'] as const) {
        for (const seed of [5, 6]) {
          const rates = { drop: 0.01, corrupt: 0.01, duplicate: 0.02, reorder: 0.01 };
          const board = pairBoard({ image: 'cpu-small.elf' });
          const run = await runMigration(board, [migrate(10n * MS, strategy, { ...AFFORDABLE, compress: true })], { limitNs: 1_000n * MS, linkFaults: rates, seed });
          expectCompleted(run);
          expect(run.vm.console).toMatch(/checksum: 0x[0-9a-f]+/);
        }
      }
    });
  });

  describe('working-set ordering: coldest pages first, the predicted-hot set left for the blackout', () => {
    for (const strategy of ROUND_STRATEGIES) {
      it(`${strategy}: memcheck moves in working-set order and verifies every page; its bound holds`, async () => {
        const run = await runMigration(pairBoard(), [migrate(50n * MS, strategy, { ...AFFORDABLE, workingSet: true })], { durationNs: 360n * MS });
        expectCompleted(run);
        expectMemoryIntact(run);
        expect(run.report.params.workingSet).toBe(true);
        expect(run.report.heldPages).toBeDefined();
        expect(formatMigrationReport(run.report)).toMatch(/^ {2}working set {5}rounds in working-set order; \d+ predicted-hot pages/m);
      });
    }

    it('cpu-small gives the checksum and instret of an uninterrupted run', async () => {
      const board = pairBoard({ image: 'cpu-small.elf' });
      const plain = await runBoard({ board, limitNs: 1_000n * MS });
      const run = await runMigration(board, [migrate(10n * MS, 'pre-copy', { ...AFFORDABLE, workingSet: true, compress: true })], { limitNs: 1_000n * MS });
      expectCompleted(run);
      expect(run.vm.instret).toBe(plain.vms[0]!.instret);
      expect(run.vm.console).toBe(plain.vms[0]!.console);
    });

    it('cancelled in transfer: the VM runs on at the source', async () => {
      const events: ScenarioEvent[] = [migrate(50n * MS, 'pre-copy', { ...AFFORDABLE, workingSet: true }), { kind: 'cancel', vm: 'g', inState: 'transfer' }];
      const run = await runMigration(pairBoard(), events, { durationNs: 360n * MS });
      expect(run.report.outcome).toBe('cancelled');
      expectStayedOnSource(run);
      expectMemoryIntact(run);
    });

    it('under every link fault at once: completes within its bound, every page verified', async () => {
      const rates = { drop: 0.005, corrupt: 0.005, duplicate: 0.02, reorder: 0.005 };
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'pre-copy', { ...AFFORDABLE, workingSet: true })], { durationNs: 360n * MS, linkFaults: rates, seed: 7 });
      expectCompleted(run);
      expectMemoryIntact(run);
    });
  });

  describe('cancel in every state a technique has', () => {
    const cases: { name: string; strategy: MigrationStrategy; params: MigrationParams; states: CancelState[] }[] = [
      { name: 'cold', strategy: 'cold', params: {}, states: ['preparing', 'blackout', 'committing'] },
      { name: 'warm', strategy: 'warm', params: {}, states: ['preparing', 'blackout', 'committing'] },
      { name: 'compressed warm', strategy: 'warm', params: { compress: true }, states: ['preparing', 'blackout', 'committing'] },
      { name: 'compressed stop-copy', strategy: 'stop-copy', params: { compress: true }, states: ['preparing', 'blackout', 'committing'] },
      { name: 'compressed pre-copy', strategy: 'pre-copy', params: { compress: true }, states: ['preparing', 'transfer'] },
      { name: 'working-set pre-copy', strategy: 'pre-copy', params: { workingSet: true }, states: ['preparing', 'transfer', 'blackout', 'committing'] },
    ];
    for (const { name, strategy, params, states } of cases) {
      for (const state of states) {
        it(`${name}, in ${state}: ${state === 'committing' ? 'too late, it completes' : 'the VM runs on at the source'}`, async () => {
          const events: ScenarioEvent[] = [migrate(50n * MS, strategy, { ...AFFORDABLE, ...params }), { kind: 'cancel', vm: 'g', inState: state }];
          const run = await runMigration(pairBoard(), events, { durationNs: 360n * MS });
          expect(run.report.violations).toEqual([]);
          if (state === 'committing') {
            expect(run.report.cancel).toMatchObject({ state, result: 'too-late' });
            expectCompleted(run);
          } else {
            expect(run.report.cancel).toMatchObject({ state, result: 'cancelled' });
            expectStayedOnSource(run);
          }
          // A cold move restarts the VM at its blackout: from then on its rounds start again.
          if (strategy === 'cold' && state !== 'preparing') expect(run.vm.console.match(/rounds forever/g)).toHaveLength(2);
          else expectMemoryIntact(run);
          expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
        });
      }
    }
  });

  it('a VM whose next window comes seconds after the commit still has its downtime measured (the host waits out the bound)', async () => {
    // A 2.5 s major frame with one 100 ms window, and a stop late in it: the commit misses the window,
    // so the VM resumes on the destination in the next one, 2.4 s later.
    const board = pairBoard({ windows: [{ offsetNs: 0, durationNs: 100_000_000 }], majorFrameNs: 2_500_000_000 });
    const run = await runMigration(board, [migrate(90n * MS, 'stop-copy', { affordableNs: 5_000n * MS })], { endAfterMigrations: true, limitNs: 20_000n * MS });
    expectCompleted(run);
    expect(run.report.bound.scheduleNs).toBeGreaterThanOrEqual(2_400n * MS);
    expect(run.report.downtimeNs!).toBeGreaterThan(2_000n * MS);
  });

  describe('cancel', () => {
    const cases: { state: CancelState; strategy: MigrationStrategy }[] = [
      { state: 'preparing', strategy: 'pre-copy' },
      { state: 'transfer', strategy: 'pre-copy' },
      { state: 'blackout', strategy: 'stop-copy' },
      { state: 'preparing', strategy: 'cold' },
      { state: 'blackout', strategy: 'warm' },
    ];
    for (const { state, strategy } of cases) {
      it(`in ${state}: the VM runs on at the source, and a later migration still succeeds`, async () => {
        const events: ScenarioEvent[] = [
          migrate(50n * MS, strategy, AFFORDABLE),
          { kind: 'cancel', vm: 'g', inState: state },
          migrate(150n * MS, 'pre-copy', AFFORDABLE),
        ];
        // 600 ms: the destination's released reservation keeps a slot of its default schedule
        // (reported to the lead), so the VM runs there at half speed after the second move.
        const run = await runMigration(pairBoard(), events, { durationNs: 600n * MS });
        const [cancelled, again] = run.result.migrations;
        expect(cancelled!.cancel).toMatchObject({ state, result: 'cancelled' });
        expect(cancelled!.outcome).toBe('cancelled');
        expect(cancelled!.reason).toBe('cancelled');
        expect(cancelled!.violations).toEqual([]);
        expect(cancelled!.downtimeNs).toBeUndefined();
        expect(cancelled!.message).toMatch(new RegExp(`cancelled in ${state} state; the VM runs on the source`));
        // The destination dropped its reservation: the second migration is accepted and completes.
        expect(again!.outcome).toBe('completed');
        expect(again!.violations).toEqual([]);
        expect(again!.downtimeNs!).toBeLessThanOrEqual(again!.boundNs);
        expectMemoryIntact(run);
      });

      it(`in ${state}, alone: the VM never leaves the source and keeps verifying its memory`, async () => {
        const run = await runMigration(pairBoard(), [migrate(50n * MS, strategy, AFFORDABLE), { kind: 'cancel', vm: 'g', inState: state }], { durationNs: 360n * MS });
        expect(run.report.outcome).toBe('cancelled');
        expectStayedOnSource(run);
        expectMemoryIntact(run);
      });
    }

    // KNOWN CORE BUG (reported to the lead): a reservation the destination drops (cancel,
    // refusal, silence) keeps its partition windows, so the next migration of a VM with
    // windows to that processor is refused as a schedule conflict (and without windows
    // the dropped VM keeps a slot of the default schedule). Drop `.fails` once fixed.
    it('in transfer, then again: the destination gave the cancelled reservation\'s windows back', async () => {
      const board = pairBoard({ windows: [{ offsetNs: 0, durationNs: 10_000_000 }] });
      const events: ScenarioEvent[] = [
        migrate(50n * MS, 'pre-copy', AFFORDABLE),
        { kind: 'cancel', vm: 'g', inState: 'transfer' },
        migrate(150n * MS, 'pre-copy', AFFORDABLE),
      ];
      const run = await runMigration(board, events, { durationNs: 360n * MS });
      expect(run.result.migrations[1]!.outcome).toBe('completed');
    });

    it('in committing: refused as too late; the migration completes', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', AFFORDABLE), { kind: 'cancel', vm: 'g', inState: 'committing' }], { durationNs: 360n * MS });
      expect(run.report.cancel).toMatchObject({ state: 'committing', result: 'too-late' });
      expectCompleted(run);
      expectMemoryIntact(run);
    });

    it('in post-copy: refused as too late (the VM already runs on the destination)', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'post-copy', AFFORDABLE), { kind: 'cancel', vm: 'g', inState: 'post-copy' }], { durationNs: 360n * MS });
      expect(run.report.cancel).toMatchObject({ state: 'post-copy', result: 'too-late' });
      expectCompleted(run);
      expectMemoryIntact(run);
    });

    it('with nothing to cancel: said so, nothing changes', async () => {
      const run = await runMigration(pairBoard({ image: 'cpu-small.elf' }), [migrate(5n * MS, 'stop-copy', AFFORDABLE), { kind: 'cancel', vm: 'g', atNs: 25n * MS }], { limitNs: 1_000n * MS });
      expectCompleted(run);
      expect(run.report.cancel).toBeUndefined();
    });
  });

  describe('link faults (seeded): frames lost, corrupted, duplicated, reordered only cost time', () => {
    const kinds = [
      { kind: 'drop', rates: { drop: 0.005 }, counter: 'framesDropped' },
      { kind: 'corrupt', rates: { corrupt: 0.005 }, counter: 'framesCorrupted' },
      { kind: 'duplicate', rates: { duplicate: 0.02 }, counter: 'framesDuplicated' },
      { kind: 'reorder', rates: { reorder: 0.005 }, counter: 'framesReordered' },
    ] as const;
    for (const { kind, rates, counter } of kinds) {
      for (const strategy of ['stop-copy', 'pre-copy', 'post-copy', 'warm'] as const) {
        it(`${kind}, ${strategy}: completes within its bound, every page verified`, async () => {
          const run = await runMigration(pairBoard(), [migrate(50n * MS, strategy, AFFORDABLE)], { durationNs: 360n * MS, linkFaults: rates, seed: 2 });
          expectCompleted(run);
          expectMemoryIntact(run);
          const faulted = run.result.links.reduce((sum, link) => sum + link[counter], 0);
          expect(faulted, `${counter} on the links`).toBeGreaterThan(0);
          if (kind === 'duplicate') {
            // A duplicate is caught by its sequence number and dropped, never applied twice.
            expect(run.result.processors.reduce((sum, processor) => sum + processor.framesDropped, 0n)).toBeGreaterThan(0n);
          } else {
            expect(run.report.retransmissions).toBeGreaterThan(0n);
          }
        });
      }
    }

    it('all four at once, two seeds: the same guarantee', async () => {
      for (const seed of [3, 4]) {
        const run = await runMigration(pairBoard(), [migrate(50n * MS, 'pre-copy', AFFORDABLE)], {
          durationNs: 360n * MS, seed, linkFaults: { drop: 0.003, corrupt: 0.003, duplicate: 0.003, reorder: 0.003 },
        });
        expectCompleted(run);
        expectMemoryIntact(run);
      }
    });

    it('beyond the budget (reordering by a latency, 5 %): the blackout gives up before its bound; the VM runs on at the source', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', AFFORDABLE)], { durationNs: 360n * MS, linkFaults: { reorder: 0.05 } });
      expect(run.report.outcome).toBe('failed');
      expect(run.report.reason).toBe('blackout-overrun');
      expect(run.report.retransmissions).toBeGreaterThan(BigInt(run.report.params.retransmissions));
      expectStayedOnSource(run);
      expectMemoryIntact(run);
    });

    // KNOWN CORE BUG (reported to the lead): the blackout's overrun check compares the
    // time since the stop with the whole bound, so a blackout whose transfer ate the
    // retransmission budget and more still commits just before that deadline, and the
    // handshake, restore and schedule wait that follow push the downtime past the bound
    // (here 25.517 ms against 24.777 ms, 17 retransmissions). When the core aborts in
    // time this test passes: then drop `.fails`.
    it('beyond the budget (2 % lost): never down longer than the bound — fails until the core aborts the blackout in time', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', AFFORDABLE)], { durationNs: 360n * MS, linkFaults: { drop: 0.02 } });
      expect(run.report.violations).toEqual([]);
      expectMemoryIntact(run);
      if (run.report.outcome === 'completed') expect(run.report.downtimeNs!).toBeLessThanOrEqual(run.report.boundNs);
      else expectStayedOnSource(run);
    });

    it('is deterministic: the same seed gives the same migration, number for number', async () => {
      const once = async (): Promise<unknown> => (await runMigration(pairBoard(), [migrate(50n * MS, 'pre-copy', AFFORDABLE)], {
        durationNs: 120n * MS, seed: 7, linkFaults: { drop: 0.005, reorder: 0.005 },
      })).report;
      expect(await once()).toEqual(await once());
    });
  });

  describe('refusals leave the VM on the source, with the reason', () => {
    it('the destination has no RAM for it (processorSetRam)', async () => {
      const board = pairBoard({ destinationRamBytes: 2 * MIB, destinationVms: [{ name: 'full', image: 'memcheck.elf', memoryBytes: 2 * MIB }] });
      const run = await runMigration(board, [migrate(50n * MS, 'pre-copy', AFFORDABLE)], { durationNs: 360n * MS });
      expect(run.report).toMatchObject({ outcome: 'refused', state: 'refused', reason: 'destination-no-ram' });
      expect(run.report.message).toMatch(/refused: the destination has no RAM for the VM/);
      expectStayedOnSource(run);
      expectMemoryIntact(run);
      expect(run.result.vms.find((vm) => vm.name === 'full')!.processor).toBe(1);
    });

    it("the VM's windows overlap the destination's schedule", async () => {
      const board = pairBoard({
        windows: [{ offsetNs: 0, durationNs: 5_000_000 }],
        destinationVms: [{ name: 'busy', image: 'memcheck.elf', memoryBytes: 2 * MIB, windows: [{ offsetNs: 2_000_000, durationNs: 6_000_000 }] }],
      });
      const run = await runMigration(board, [migrate(50n * MS, 'stop-copy', AFFORDABLE)], { durationNs: 700n * MS });
      expect(run.report).toMatchObject({ outcome: 'refused', reason: 'destination-schedule-conflict' });
      expect(run.report.message).toMatch(/conflict with the destination's schedule/);
      expectStayedOnSource(run);
      expect(run.vm.state).toBe('running');
      expect(run.vm.console).not.toMatch(/MISMATCH/);
    });

    for (const strategy of ['stop-copy', 'pre-copy'] as const) {
      it(`${strategy}: a stream record damaged before it reached the link (frame CRC intact): the destination refuses the commit`, async () => {
        // Flip one byte in the body of the 40th DATA message and reseal the link frame, as a
        // faulty sender would: only the stream's own record CRC can catch it.
        let dataFrames = 0;
        const damage = (frame: OutgoingFrame): undefined => {
          const { bytes } = frame;
          const isData = frame.from === 0 && bytes[0] === 16 && bytes[16 + 4] === 2;
          if (!isData || ++dataFrames !== 40) return undefined;
          bytes[16 + 8 + 200] ^= 0x40;
          const sealed = crc32c(bytes.subarray(16), crc32c(bytes.subarray(0, 12)));
          new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, sealed, true);
          return undefined;
        };
        const run = await runMigration(pairBoard(), [migrate(50n * MS, strategy, AFFORDABLE)], { durationNs: 360n * MS, linkFaultModel: damage });
        expect(dataFrames).toBeGreaterThan(40);
        expect(run.report).toMatchObject({ outcome: 'failed', reason: 'restore-failed' });
        expectStayedOnSource(run);
        expectMemoryIntact(run);
      });
    }

    it('admission: the bound exceeds the affordable downtime; both numbers are reported', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'stop-copy', { affordableNs: 1n * MS })], { durationNs: 360n * MS });
      expect(run.report).toMatchObject({ outcome: 'refused', reason: 'bound-exceeds-affordable', affordableNs: 1n * MS });
      expect(run.report.boundNs).toBeGreaterThan(1n * MS);
      expect(run.report.message).toMatch(/refused: the downtime bound \d+\.\d{3} ms exceeds the affordable downtime 1\.000 ms/);
      expect(run.report.bytesSent).toBe(0n);
      expectStayedOnSource(run);
      expectMemoryIntact(run);
    });

    it('admission: no task set and no configured limit means no affordable downtime', async () => {
      const run = await runMigration(pairBoard(), [migrate(50n * MS, 'pre-copy')], { durationNs: 100n * MS });
      expect(run.report).toMatchObject({ outcome: 'refused', reason: 'no-affordable-downtime' });
      expect(run.report.affordableNs).toBeUndefined();
      expectStayedOnSource(run);
    });

    it('a request the core cannot start: to the processor the VM is on, or an unknown VM', async () => {
      const run = await runMigration(pairBoard(), [migrate(20n * MS, 'pre-copy', AFFORDABLE, 'g', 0), migrate(30n * MS, 'pre-copy', AFFORDABLE, 'nobody')], { durationNs: 40n * MS });
      const [self, unknown] = run.result.migrations;
      expect(self).toMatchObject({ outcome: 'refused', startStatus: -3 });
      expect(self!.message).toMatch(/g already runs on processor 0/);
      expect(unknown!.message).toMatch(/no VM named nobody/);
      expectStayedOnSource(run);
    });

    it('a start the core turns down drops the parameters set for it: the next migration runs with the defaults', async () => {
      const events = [migrate(20n * MS, 'pre-copy', { ...AFFORDABLE, compress: true, workingSet: true, maxRounds: 3 }, 'g', 0), migrate(30n * MS, 'stop-copy', AFFORDABLE)];
      const run = await runMigration(pairBoard(), events, { durationNs: 360n * MS });
      const [self, next] = run.result.migrations;
      expect(self).toMatchObject({ outcome: 'refused', startStatus: -3 });
      expect(next!.outcome).toBe('completed');
      expect(next!.params).toMatchObject({ compress: false, workingSet: false, maxRounds: 30 });
      expect(next!.compression).toBeUndefined();
    });
  });

  it('the default scenario (npm start): ctl0 migrates live within the slack of its task set, no deadline missed', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'quad-migrate.json'));
    const result = await runBoard({ board: scenario.board, events: scenario.events, durationNs: 2_500n * MS });
    const [report] = result.migrations;
    expect(report).toMatchObject({ vm: 'ctl0', from: 0, to: 3, strategy: 'pre-copy', outcome: 'completed' });
    expect(report!.params.affordableNs).toBeUndefined();
    const ctl0 = result.vms.find((vm) => vm.name === 'ctl0')!;
    expect(report!.affordableNs).toBe(ctl0.stats.slackNs);
    expect(report!.boundNs).toBeLessThanOrEqual(report!.affordableNs!);
    expect(report!.downtimeNs!).toBeLessThanOrEqual(report!.boundNs);
    expect(report!.violations).toEqual([]);
    expect(ctl0).toMatchObject({ processor: 3, migratedFrom: 0, state: 'running' });
    for (const vm of result.vms) expect(vm.stats.deadlineMisses, vm.name).toBe(0n);
    // It kept controlling after the move: report lines continue past 2 s.
    expect(ctl0.console).toMatch(/ctl control: t=2400 /);
    expect(result.exitStatus).toBe(0);
  });
});

describe('the never-on-two-processors check', () => {
  /**
   * One scripted migration (id 7) from processor 0 to 1: at each boundary the cores report
   * the events of that step and both copies' instruction counts.
   */
  interface Step { events?: [kind: number, processor: number, vm: number, a?: bigint][]; source: bigint; destination: bigint }
  function scripted(steps: Step[], strategy: MigrationStrategy): { controller: MigrationController; run(): void } {
    let at = 0;
    let controller: MigrationController;
    const emit = (step: Step): void => {
      for (const [kind, processor, vm, a] of step.events ?? []) controller.onCoreEvent(processor, kind, 7, vm, BigInt(at), a ?? 0n, 0n);
    };
    const core = (side: 'source' | 'destination') => asCore({
      migrationStat: (_id: number, key: number) => (key === MigrationStat.state ? BigInt(MigrationState.transfer) : 0n),
      migrationIncomingStat: () => 0n,
      migrationStart: () => { emit(steps[0]!); return 0; },
      migrationSetParam: () => 0,
      vmInstret: () => steps[at]![side],
      vmExit: () => 0,
    });
    const cores = [core('source'), core('destination')];
    const board: MigrationBoard = { core: (id) => cores[id], locate: () => ({ processor: 0, vmId: 0 }) };
    controller = new MigrationController([migrate(0n, strategy, AFFORDABLE)], board);
    return {
      controller,
      run: () => {
        for (; at < steps.length; at++) {
          if (at > 0) emit(steps[at]!);
          controller.atBoundary(BigInt(at));
        }
        controller.finish(BigInt(at));
      },
    };
  }

  it('flags a quantum in which both copies retired instructions', () => {
    const { controller, run } = scripted([
      { events: [[CoreEvent.migrationStarted, 0, 0]], source: 100n, destination: 0n },
      { events: [[CoreEvent.migrationReserved, 1, 0]], source: 200n, destination: 0n },
      { source: 300n, destination: 0n },
      { source: 400n, destination: 350n },
      { source: 500n, destination: 450n },
    ], 'pre-copy');
    run();
    const [report] = controller.reports();
    expect(report!.violations.join('\n')).toMatch(/retired instructions on processors 0 and 1 in the same quantum/);
  });

  it('flags the source running while the migration holds it (blackout)', () => {
    const { controller, run } = scripted([
      { events: [[CoreEvent.migrationStarted, 0, 0]], source: 100n, destination: 0n },
      { events: [[CoreEvent.migrationBlackout, 0, 0]], source: 200n, destination: 0n },
      { source: 200n, destination: 0n },
      { source: 300n, destination: 0n },
    ], 'stop-copy');
    run();
    expect(controller.reports()[0]!.violations.join('\n')).toMatch(/ran on the source \(processor 0\) while the migration held it/);
  });

  it('accepts a clean hand-over: the source stops, then the destination runs from the restored count', () => {
    const { controller, run } = scripted([
      { events: [[CoreEvent.migrationStarted, 0, 0]], source: 100n, destination: 0n },
      { events: [[CoreEvent.migrationReserved, 1, 0], [CoreEvent.migrationBlackout, 0, 0]], source: 150n, destination: 0n },
      { source: 150n, destination: 0n },
      { events: [[CoreEvent.migrationArrived, 1, 0], [CoreEvent.migrationCommitted, 0, 0], [CoreEvent.migrationFirstRun, 1, 0, 3n], [CoreEvent.migrationReleased, 0, 0]], source: 150n, destination: 150n },
      { source: 150n, destination: 250n },
    ], 'stop-copy');
    run();
    const [report] = controller.reports();
    expect(report!.violations).toEqual([]);
    expect(report!.outcome).toBe('completed');
  });
});
