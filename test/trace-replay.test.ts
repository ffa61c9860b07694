/**
 * Trace-replay migration (docs/migration.md, "Trace-replay") end to end on
 * build/core.wasm: a checkpoint, then the log of the VM's inputs while the destination
 * replays it; the blackout sends the log's tail and the state. The replayed VM must be
 * byte-identical to the source's at the switch (the two digests), the downtime within its
 * bound, and a VM whose log outruns the replay is refused with the numbers. Virtual time
 * only: no wall-clock assertion.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { formatMigrationReport } from '../host/migration.js';
import { readScenario } from '../host/scenario.js';
import type { CancelState, ScenarioEvent } from '../host/migration.js';
import type { LinkFaultRates } from '../host/link-faults.js';
import { bootGuest, runTo, takeStream } from './helpers/collector-guest.js';
import { runFerry } from './helpers/ferry-cli.js';
import { guaranteeBoard, probesHealthy } from './helpers/guarantee-board.js';
import { replayStream } from './helpers/replay-stream.js';
import { MIB, migrate, pairBoard, runMigration, verifiedRounds } from './helpers/migration-board.js';
import type { MigrationRun } from './helpers/migration-board.js';
import { hasCore, ROOT } from './helpers/paths.js';

const MS = 1_000_000n;
const AFFORDABLE = { affordableNs: 200n * MS };
/** memcheck never idles: its replay catches up only on a destination that runs faster (here twice). */
const FAST = { destinationClockHz: 200_000_000 };

function expectCompleted(run: MigrationRun, to = 1): void {
  const { report, vm } = run;
  expect(report.outcome, report.message).toBe('completed');
  expect(report.violations).toEqual([]);
  expect(vm.processor).toBe(to);
  expect(report.downtimeNs!, `downtime ${report.downtimeNs} ns against the bound ${report.boundNs} ns`).toBeLessThanOrEqual(report.boundNs);
  const termsNs = Object.values(report.bound).reduce((sum, term) => sum + term, 0n);
  expect(termsNs).toBe(report.boundNs);
  // The switch: the replayed VM is byte for byte the source's (RAM and vCPU), by digest.
  const replay = report.replay!;
  expect(replay.destinationDigest).toBe(replay.sourceDigest);
  expect(replay.stopPosition).toBeGreaterThanOrEqual(replay.checkpointPosition);
  expect(replay.replayedInstructions).toBe(replay.stopPosition - replay.checkpointPosition);
  expect(report.bound.replayNs).toBeGreaterThan(0n);
}

function expectMemoryIntact(run: MigrationRun, round = 10): void {
  expect(run.result.messages).toEqual([]);
  expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
  expect(verifiedRounds(run.vm.console)).toContain(round);
}

function expectStayedOnSource(run: MigrationRun): void {
  expect(run.vm.processor).toBe(0);
  expect(run.vm.migratedFrom).toBeUndefined();
  expect(run.report.violations).toEqual([]);
  expect(run.report.downtimeNs).toBeUndefined();
}

/** boards/quad.json (control guests: timer interrupts, time reads, hypercalls, channels), its link slowed to `bandwidth`. */
async function quad(bandwidthBytesPerS?: number): Promise<Board> {
  const board = await readBoard(join(ROOT, 'boards', 'quad.json'));
  return bandwidthBytesPerS === undefined ? board : { ...board, links: board.links.map((link) => ({ ...link, bandwidthBytesPerS })) };
}

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`trace-replay migration${coreNote}`, () => {
  it('memcheck moves by checkpoint and log to a faster destination and verifies every page there; the digests match', async () => {
    const run = await runMigration(pairBoard(FAST), [migrate(50n * MS, 'trace-replay', AFFORDABLE)], { durationNs: 360n * MS });
    expectCompleted(run);
    expectMemoryIntact(run, 20);
    const { report } = run;
    // One checkpoint of the 1 MiB region (and memcheck's code and stack), then the log: no page crosses twice, none in the blackout.
    expect(report.pagesSent).toBeGreaterThanOrEqual(256n);
    expect(report.pagesSent).toBeLessThan(300n);
    expect(report.bytesSent).toBeGreaterThan(1024n * 1024n);
    expect(report.bytesSent).toBeLessThan(1200n * 1024n);
    expect(report.blackoutBytes).toBeLessThan(4096n);
    expect(report.replay!.replayInstructionsPerS).toBe(200_000_000n);
    expect(formatMigrationReport(report)).toMatch(/trace-replay +log \d+ bytes .* \(identical\)/);
  });

  it('control guests with timer interrupts, time reads, hypercalls and a channel: every input replays, nothing is lost or repeated', async () => {
    // ctl0 (timer-driven, no channel) and tx2 (the source of queuing channel speed2), each on its own run.
    for (const [vm, to] of [['ctl0', 3], ['tx2', 3]] as const) {
      const board = await quad();
      const plain = await runBoard({ board, limitNs: 3_000n * MS });
      const result = await runBoard({ board, limitNs: 3_000n * MS, events: [{ kind: 'migrate', atNs: 2_000n * MS, vm, to, strategy: 'trace-replay', params: {} }] });
      const report = result.migrations[0]!;
      expect(report.outcome, report.message).toBe('completed');
      expect(report.violations).toEqual([]);
      expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
      expect(report.replay!.logEntries).toBeGreaterThan(0n);
      expect(report.replay!.destinationDigest).toBe(report.replay!.sourceDigest);
      expect(result.vms.find((v) => v.name === vm)!.processor).toBe(to);
      // Every message of every channel delivered once, as in the run without the move.
      for (const channel of result.channels) {
        const before = plain.channels.find((c) => c.name === channel.name)!;
        expect(channel.sent, channel.name).toBe(before.sent);
        expect(channel.delivered, channel.name).toBeGreaterThanOrEqual(before.delivered - 1n);
        expect(channel.duplicates, channel.name).toBe(0n);
      }
    }
  });

  it('scenarios/quad-trace-replay.json: ctl0 and the channel source tx2 move by trace-replay within their slack, no deadline missed, speed2 intact', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'quad-trace-replay.json'));
    const result = await runBoard({ board: scenario.board, events: scenario.events, durationNs: 3_300n * MS });
    expect(result.migrations.map((report) => [report.vm, report.outcome])).toEqual([['ctl0', 'completed'], ['tx2', 'completed']]);
    for (const report of result.migrations) {
      expect(report.boundNs).toBeLessThanOrEqual(report.affordableNs!); // the task set's slack
      expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
      expect(report.replay!.destinationDigest).toBe(report.replay!.sourceDigest);
    }
    for (const vm of result.vms) expect(vm.stats.deadlineMisses, vm.name).toBe(0n);
    const speed2 = result.channels.find((c) => c.name === 'speed2')!;
    expect(speed2.duplicates).toBe(0n);
    expect(speed2.delivered + 1n).toBeGreaterThanOrEqual(speed2.sent);
  });

  it('a receiving VM on a slow link: the messages it took while its checkpoint crossed come from the log, byte for byte', async () => {
    // rx1b takes local1's messages every 10 ms; at 100 kB/s its checkpoint takes most of a second.
    const board = await quad(100_000);
    const result = await runBoard({
      board, limitNs: 8_000n * MS,
      events: [{ kind: 'migrate', atNs: 2_000n * MS, vm: 'rx1b', to: 3, strategy: 'trace-replay', params: { affordableNs: 1_000n * MS } }],
    });
    const report = result.migrations[0]!;
    expect(report.outcome, formatMigrationReport(report)).toBe('completed');
    expect(report.violations).toEqual([]);
    expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
    expect(report.replay!.logEntries).toBeGreaterThan(50n); // hypercalls with message bytes, time reads, interrupts
    expect(report.replay!.destinationDigest).toBe(report.replay!.sourceDigest);
    const local1 = result.channels.find((c) => c.name === 'local1')!;
    expect(local1.delivered).toBe(local1.sent);
  });

  it('a machine guest (CLINT mtime loads, UART output) and a paravirtual timer guest: every line printed once, the run ends as without the move', async () => {
    for (const image of ['virt.elf', 'timer.elf']) {
      // A slow link, so that the checkpoint's transfer spans ticks: their inputs are logged and replayed.
      const board = pairBoard({ image, memoryBytes: MIB, bandwidthBytesPerS: 10_000_000 });
      const plain = await runBoard({ board, limitNs: 30n * MS });
      const run = await runMigration(board, [migrate(2_500_000n, 'trace-replay', { affordableNs: 50n * MS })], { limitNs: 30n * MS });
      expectCompleted(run);
      expect(run.report.replay!.logEntries, image).toBeGreaterThan(0n);
      expect(run.vm.outcome).toEqual(plain.vms[0]!.outcome);
      // The same lines (a tick's time may show the downtime): the replay printed nothing twice.
      const shape = (console: string): string[] => console.split('\n').map((line) => line.replace(/=\d+.*$/, ''));
      expect(shape(run.vm.console)).toEqual(shape(plain.vms[0]!.console));
    }
  });

  it('probes across a queuing channel, under link faults: the receiver and then the sender move by trace-replay, every message seen once and in order', async () => {
    // probe-rx checks every message's sequence number; both probes never idle and read their
    // clock all the time: they move to processors twice as fast.
    const board = guaranteeBoard({
      processors: [{}, {}, { clockHz: 200_000_000 }, { clockHz: 200_000_000 }],
      vms: [{ name: 'tx', image: 'probe-tx.elf', processor: 0 }, { name: 'rx', image: 'probe-rx.elf', processor: 1 }],
      channels: [{ name: 'seq', kind: 'queuing', from: 'tx', to: 'rx' }],
    });
    for (const seed of [1, 2]) {
      const result = await runBoard({
        board, durationNs: 600n * MS, seed, linkFaults: { drop: 0.01, corrupt: 0.01 },
        events: [
          { kind: 'migrate', atNs: 100n * MS, vm: 'rx', to: 2, strategy: 'trace-replay', params: { affordableNs: 100n * MS } },
          { kind: 'migrate', atNs: 300n * MS, vm: 'tx', to: 3, strategy: 'trace-replay', params: { affordableNs: 100n * MS } },
        ],
      });
      expect(probesHealthy(result), `seed ${seed}`).toEqual([]);
      for (const report of result.migrations) {
        expect(report.outcome, report.message).toBe('completed');
        expect(report.violations).toEqual([]);
        expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
        expect(report.replay!.logEntries).toBeGreaterThan(100n);
        expect(report.replay!.destinationDigest).toBe(report.replay!.sourceDigest);
      }
      const seq = result.channels.find((c) => c.name === 'seq')!;
      expect(seq.sent).toBeGreaterThan(300n);
      expect(seq.delivered + 4n).toBeGreaterThanOrEqual(seq.sent);
      expect(result.vms.map((vm) => vm.processor)).toEqual([3, 2]);
    }
  });

  it('back and forth four times, equal clocks: a control VM that sleeps between its periods replays faster than it runs', async () => {
    const board = pairBoard({ image: 'control.elf', memoryBytes: MIB });
    const events = [100n, 250n, 400n, 550n].map((at, i) => migrate(at * MS, 'trace-replay', { affordableNs: 50n * MS }, 'g', (i + 1) % 2));
    const result = await runBoard({ board, durationNs: 700n * MS, events });
    expect(result.migrations).toHaveLength(4);
    for (const report of result.migrations) {
      expect(report.outcome, report.message).toBe('completed');
      expect(report.violations).toEqual([]);
      expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
      expect(report.replay!.destinationDigest).toBe(report.replay!.sourceDigest);
      expect(report.replay!.sourceInstructionsPerS).toBeLessThan(report.replay!.replayInstructionsPerS);
    }
    const vm = result.vms.find((v) => v.name === 'g')!;
    expect(vm.processor).toBe(0);
    expect(vm.state).toBe('running');
  });

  it('refused when the VM runs as fast as the destination can replay it: the reason gives the rates', async () => {
    const run = await runMigration(pairBoard(), [migrate(50n * MS, 'trace-replay', AFFORDABLE)], { durationNs: 360n * MS });
    expect(run.report.outcome).toBe('refused');
    expect(run.report.reason).toBe('replay-slower-than-vm');
    expect(run.report.replay!.sourceInstructionsPerS).toBe(100_000_000n);
    expect(run.report.replay!.replayInstructionsPerS).toBe(100_000_000n);
    expect(run.report.message).toMatch(/refused: the destination replays 100000000 instructions\/s .*no more than the VM executes here \(100000000\/s\)/);
    expectStayedOnSource(run);
    expectMemoryIntact(run);
  });

  it('refused before PREPARE when the log grows faster than the link can carry of it', async () => {
    // ctl0's log grows at some 30 kB/s; a link share of 0.1 % of 9.3 MB/s carries 9 kB/s.
    const result = await runBoard({
      board: await quad(), limitNs: 2_100n * MS,
      events: [{ kind: 'migrate', atNs: 2_000n * MS, vm: 'ctl0', to: 3, strategy: 'trace-replay', params: { throttleTarget: 0.001 } }],
    });
    const report = result.migrations[0]!;
    expect(report.outcome).toBe('refused');
    expect(report.reason).toBe('log-rate-exceeds-replay-rate');
    expect(report.replay!.logRateBytesPerS).toBeGreaterThanOrEqual(report.replay!.replayRateBytesPerS);
    expect(report.replay!.replayInstructionsPerS).toBe(0n); // the destination was never asked
    expect(report.destinationClockHz).toBeUndefined();
  });

  it('a bit flipped in the source VM while it is logged (not an input): the digests differ, the switch is refused, the VM runs on at the source', async () => {
    const run = await runMigration(pairBoard(FAST), [migrate(50n * MS, 'trace-replay', AFFORDABLE)], {
      durationNs: 90n * MS,
      faults: [{ kind: 'flip-ram', atNs: 60n * MS, vm: 'g', address: 0x8000_2000 + 0xF_F000, bit: 3 }],
    });
    expect(run.report.outcome, run.report.message).toBe('failed');
    expect(run.report.reason).toBe('replay-diverged');
    expect(run.report.replay!.destinationDigest).not.toBe(run.report.replay!.sourceDigest);
    expectStayedOnSource(run);
  });

  describe('cancel in every state', () => {
    for (const state of ['preparing', 'transfer', 'blackout', 'committing'] as CancelState[]) {
      it(`in ${state}: ${state === 'committing' ? 'too late, it completes' : 'the VM runs on at the source'}`, async () => {
        const events: ScenarioEvent[] = [migrate(50n * MS, 'trace-replay', AFFORDABLE), { kind: 'cancel', vm: 'g', inState: state }];
        const run = await runMigration(pairBoard(FAST), events, { durationNs: 360n * MS });
        expect(run.report.violations).toEqual([]);
        if (state === 'committing') {
          expect(run.report.cancel).toMatchObject({ state, result: 'too-late' });
          expectCompleted(run);
        } else {
          expect(run.report.cancel).toMatchObject({ state, result: 'cancelled' });
          expectStayedOnSource(run);
        }
        expectMemoryIntact(run);
      });
    }

    it('cancelled in transfer, then moved again by trace-replay: the second log starts from a new checkpoint', async () => {
      const events: ScenarioEvent[] = [
        migrate(50n * MS, 'trace-replay', AFFORDABLE), { kind: 'cancel', vm: 'g', inState: 'transfer' }, migrate(150n * MS, 'trace-replay', AFFORDABLE),
      ];
      const result = await runBoard({ board: pairBoard(FAST), events, durationNs: 400n * MS });
      const [cancelled, again] = result.migrations;
      expect(cancelled!.outcome).toBe('cancelled');
      expect(again!.outcome, again!.message).toBe('completed');
      expect(again!.replay!.destinationDigest).toBe(again!.replay!.sourceDigest);
      expect(result.vms.find((vm) => vm.name === 'g')!.processor).toBe(1);
    });
  });

  describe('link faults only cost time; the bound holds', () => {
    const kinds: { kind: string; rates: LinkFaultRates }[] = [
      { kind: 'drop', rates: { drop: 0.01 } },
      { kind: 'corrupt', rates: { corrupt: 0.005 } },
      { kind: 'all four', rates: { drop: 0.003, corrupt: 0.003, duplicate: 0.003, reorder: 0.003 } },
    ];
    for (const { kind, rates } of kinds) {
      it(`${kind}: completes within its bound, every page verified, the digests match`, async () => {
        const run = await runMigration(pairBoard(FAST), [migrate(50n * MS, 'trace-replay', AFFORDABLE)], { durationNs: 360n * MS, linkFaults: rates, seed: 2 });
        expectCompleted(run);
        expectMemoryIntact(run);
        expect(run.report.retransmissions).toBeGreaterThan(0n);
      });
    }
  });

  it('the bound is never exceeded: ten seeds of link faults, three start times', async () => {
    let completed = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
      const atNs = BigInt(20 + (seed % 3) * 17) * MS;
      const run = await runMigration(pairBoard(FAST), [migrate(atNs, 'trace-replay', AFFORDABLE)], {
        durationNs: 300n * MS, seed, linkFaults: { drop: 0.002, corrupt: 0.002 },
      });
      expect(run.report.violations, `seed ${seed}`).toEqual([]);
      if (run.report.outcome === 'completed') {
        completed++;
        expect(run.report.downtimeNs!, `seed ${seed}`).toBeLessThanOrEqual(run.report.boundNs);
        expect(run.report.replay!.destinationDigest, `seed ${seed}`).toBe(run.report.replay!.sourceDigest);
      } else {
        expect(run.vm.processor, `seed ${seed}`).toBe(0); // gave up within its bound: the VM runs on at the source
      }
      expect(run.vm.console).not.toMatch(/MISMATCH|FAILED/);
    }
    expect(completed).toBeGreaterThanOrEqual(8);
  });

  it('ferry inspect reads a version-4 stream: each INPUT_LOG with its inputs and instructions; ferry restore refuses it whole', async () => {
    const source = await bootGuest('cpu-small.elf', { ramBytes: 256 * 1024 });
    runTo(source.core, 150_000n);
    const file = join(mkdtempSync(join(tmpdir(), 'ferry-replay-')), 'replay.ferry');
    writeFileSync(file, replayStream(takeStream(source.core, source.vm)));
    const inspected = runFerry(['inspect', file]);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(/header +24 +Ferry stream version 4, little-endian/);
    expect(inspected.stdout).toMatch(/INPUT_LOG \(0x00000030\) +144 +3 inputs, instructions 150000 to 150100$/m);
    expect(inspected.stdout).toMatch(/INPUT_LOG \(0x00000030\) +128 +final, 3 inputs, instructions 150100 to 150200, state digest 0xdeadbeef$/m);
    const restored = runFerry(['restore', file]);
    expect(restored.status).not.toBe(0);
    expect(restored.stderr).toMatch(/a trace-replay stream \(INPUT_LOG records\)/);
  });
});
