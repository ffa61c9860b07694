/**
 * Ferry's promises under the faults that used to break them (one block per defect of the
 * guarantees issue): queuing channels deliver every message exactly once and in order
 * over lossy links, or say their link is dead; downtime is measured and bounded across
 * processors with different clocks and schedules; every completed migration's measured
 * downtime is the gap the guest itself saw; a processor takes any number of arrivals; a
 * stalled VM ends a restore; post-copy sends each page once; a busy destination refuses
 * at once; relays are freed. The probe guest (guests/probe) checks memory, its own clock
 * and channel order from inside. Everything is virtual time.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardRunResult } from '../host/board-runner.js';
import type { LinkFaultModel } from '../host/link-faults.js';
import type { MigrationReport, MigrationStrategy, ScenarioEvent } from '../host/migration.js';
import { checkpointGuest, restoreGuest } from '../host/checkpoint.js';
import { buildElf, RAM_BASE } from './helpers/elf-builder.js';
import { gapAcross, guaranteeBoard, probeGaps, probesHealthy } from './helpers/guarantee-board.js';
import { MIB } from './helpers/migration-board.js';
import { ROOT, hasCore } from './helpers/paths.js';
import { assemble } from './helpers/rv32.js';

const MS = 1_000_000n;
const US = 1_000n;
/** The probe reads its clock at least this often at 50 MHz (one step of its loop): the tolerance of a gap. */
const PROBE_ITERATION_NS = 40n * US;

function channel(result: BoardRunResult, name: string): BoardRunResult['channels'][number] {
  return result.channels.find((candidate) => candidate.name === name)!;
}

function migrateAt(atNs: bigint, vm: string, to: number, strategy: MigrationStrategy, affordableNs = 50n * MS): ScenarioEvent {
  return { kind: 'migrate', atNs, vm, to, strategy, params: { affordableNs, thresholdBytes: 16_384 } };
}

/**
 * Completed within its bound, and the downtime is the gap the probe saw — to one step of
 * its loop, plus (post-copy) the time it then waited for pages it did not have yet.
 */
function expectKeptAndSeen(report: MigrationReport, console: string): void {
  expect(report.outcome, report.message).toBe('completed');
  expect(report.violations).toEqual([]);
  expect(report.downtimeNs, report.message).toBeDefined();
  expect(report.downtimeNs!).toBeGreaterThan(0n);
  expect(report.downtimeNs!, `downtime ${report.downtimeNs} against bound ${report.boundNs}`).toBeLessThanOrEqual(report.boundNs);
  const gap = gapAcross(report, probeGaps(console), PROBE_ITERATION_NS);
  expect(gap, `the probe saw no gap across the stop at ${report.stopNs} ns`).toBeDefined();
  const difference = gap!.lengthNs - report.downtimeNs!;
  expect(difference, `guest gap ${gap!.lengthNs} ns, measured downtime ${report.downtimeNs} ns`).toBeGreaterThanOrEqual(0n);
  expect(difference).toBeLessThanOrEqual(PROBE_ITERATION_NS + (report.pageWaitNs ?? 0n));
}

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`guarantees under faults${coreNote}`, () => {
  describe('1. queuing channels deliver exactly once, in order, over any link', () => {
    it('the quad board at 5 % drop: tx2 -> rx3 gets all of its messages, none late', async () => {
      const board = await readBoard(join(ROOT, 'boards', 'quad.json'));
      const result = await runBoard({ board, durationNs: 3_000n * MS, linkFaults: { drop: 0.05 }, seed: 1 });
      const speed2 = channel(result, 'speed2');
      expect(speed2.sent).toBeGreaterThanOrEqual(295n);
      expect(speed2.delivered).toBe(speed2.sent);
      expect(speed2.retransmissions).toBeGreaterThan(0n);
      expect(speed2.linkDead).toBe(false);
      expect(speed2.lateDeliveries).toBe(0n);
      expect(speed2.worstDeliveryNs).toBeLessThanOrEqual(speed2.boundNs);
      expect(speed2.boundNs).toBeGreaterThan(0n);
    });

    it('drop, corrupt, duplicate and reorder at once: the receiving probe sees every message once, in order', async () => {
      const board = guaranteeBoard({
        processors: [{}, {}],
        vms: [{ name: 'tx', image: 'probe-tx.elf', processor: 0 }, { name: 'rx', image: 'probe-rx.elf', processor: 1 }],
        channels: [{ name: 'seq', kind: 'queuing', from: 'tx', to: 'rx' }],
      });
      for (const seed of [1, 2]) {
        const result = await runBoard({ board, durationNs: 1_000n * MS, seed, linkFaults: { drop: 0.05, corrupt: 0.02, duplicate: 0.05, reorder: 0.05 } });
        expect(probesHealthy(result)).toEqual([]);
        const seq = channel(result, 'seq');
        expect(seq.sent).toBeGreaterThan(800n);
        expect(seq.delivered + 4n).toBeGreaterThanOrEqual(seq.sent); // at most a window still on its way
        expect(seq.duplicates + seq.outOfOrder).toBeGreaterThan(0n);
        expect(seq.lateDeliveries).toBe(0n);
      }
    });

    it('a link cut for 300 ms: the channel reports its link dead, recovers, and loses nothing', async () => {
      const board = guaranteeBoard({
        processors: [{}, {}],
        vms: [{ name: 'tx', image: 'probe-tx.elf', processor: 0 }, { name: 'rx', image: 'probe-rx.elf', processor: 1 }],
        channels: [{ name: 'seq', kind: 'queuing', from: 'tx', to: 'rx' }],
      });
      const cut: LinkFaultModel = (frame) => (frame.sentNs >= 300n * MS && frame.sentNs < 600n * MS ? { drop: true } : undefined);
      const result = await runBoard({ board, durationNs: 1_000n * MS, linkFaultModel: cut });
      expect(probesHealthy(result)).toEqual([]);
      const seq = channel(result, 'seq');
      expect(seq.linkDeadEvents).toBe(1n);
      expect(seq.linkDead).toBe(false);
      expect(seq.delivered + 4n).toBeGreaterThanOrEqual(seq.sent);
      expect(seq.sent).toBeGreaterThan(600n);
    });

    it('a sampling channel under reordering: a stale sample never replaces a newer one', async () => {
      const board = guaranteeBoard({
        processors: [{}, {}],
        vms: [{ name: 'tx', image: 'probe-tx.elf', processor: 0 }, { name: 'rx', image: 'probe-rx-sampling.elf', processor: 1 }],
        channels: [{ name: 'latest', kind: 'sampling', from: 'tx', to: 'rx' }],
      });
      const result = await runBoard({ board, durationNs: 600n * MS, seed: 3, linkFaults: { reorder: 0.3 } });
      expect(probesHealthy(result)).toEqual([]); // the probe breaks off on a sample older than the last
      const latest = channel(result, 'latest');
      expect(latest.delivered).toBeGreaterThan(300n);
    });
  });

  describe('2. downtime across processors with different clocks', () => {
    for (const [from, to] of [[100_000_000, 50_000_000], [50_000_000, 100_000_000]] as const) {
      for (const strategy of ['stop-copy', 'pre-copy', 'post-copy', 'trace-replay'] as const) {
        it(`${from / 1e6} -> ${to / 1e6} MHz, ${strategy}: measured in board time, within a bound on the destination's clock`, async () => {
          const board = guaranteeBoard({ processors: [{ clockHz: from }, { clockHz: to }], vms: [{ name: 'g', image: 'probe.elf', processor: 0 }] });
          const result = await runBoard({ board, durationNs: 300n * MS, events: [migrateAt(100n * MS, 'g', 1, strategy)] });
          const [report] = result.migrations;
          if (strategy === 'trace-replay' && to < from) {
            // The probe never idles: a slower destination could not replay it as fast as it runs.
            expect(report).toMatchObject({ outcome: 'refused', reason: 'replay-slower-than-vm' });
            expect(report!.replay!.replayInstructionsPerS).toBe(BigInt(to));
            expect(probesHealthy(result)).toEqual([]);
            return;
          }
          expectKeptAndSeen(report!, result.vms[0]!.console);
          expect(report!.destinationClockHz).toBe(to);
          expect(probesHealthy(result)).toEqual([]);
        });
      }
    }
  });

  describe('3. the bound holds with equal clocks too', () => {
    it("(a) the destination's major frame is longer than the source's: its schedule term is the destination's wait", async () => {
      const window = [{ offsetNs: 0, durationNs: 2_000_000 }];
      const board = guaranteeBoard({
        processors: [{ majorFrameNs: 10_000_000 }, { majorFrameNs: 30_000_000 }],
        vms: [{ name: 'g', image: 'probe.elf', processor: 0, windows: window }],
      });
      for (const at of [100n, 104n, 108n]) {
        const result = await runBoard({ board, durationNs: 400n * MS, events: [migrateAt(at * MS, 'g', 1, 'stop-copy', 100n * MS)] });
        const [report] = result.migrations;
        expect(report!.bound.scheduleNs).toBeGreaterThanOrEqual(28n * MS);
        expectKeptAndSeen(report!, result.vms[0]!.console);
      }
    });

    it('(b) the destination runs other VMs under the default schedule: the term is its whole frame', async () => {
      const board = guaranteeBoard({
        processors: [{}, {}],
        vms: [{ name: 'g', image: 'probe.elf', processor: 0 }, { name: 'other', image: 'probe.elf', processor: 1 }, { name: 'third', image: 'probe.elf', processor: 1 }],
      });
      const result = await runBoard({ board, durationNs: 300n * MS, events: [migrateAt(100n * MS, 'g', 1, 'pre-copy')] });
      const [report] = result.migrations;
      expect(report!.bound.scheduleNs).toBe(10n * MS);
      expect(report!.outcome).toBe('completed');
      expect(report!.downtimeNs!).toBeLessThanOrEqual(report!.boundNs);
    });

    it('(c) post-copy under 5 % loss: the first instruction never waits for a page, the downtime stays within the bound', async () => {
      const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'probe.elf', processor: 0, memoryBytes: MIB }] });
      for (const seed of [1, 2, 3, 4, 5]) {
        const result = await runBoard({ board, durationNs: 300n * MS, seed, linkFaults: { drop: 0.05 }, events: [migrateAt(100n * MS, 'g', 1, 'post-copy')] });
        const [report] = result.migrations;
        if (report!.outcome !== 'completed') { expect(['failed']).toContain(report!.outcome); continue; }
        expectKeptAndSeen(report!, result.vms[0]!.console);
        expect(probesHealthy(result)).toEqual([]);
      }
    });
  });

  it('4. back and forth six times: every completed migration is measured, and agrees with what the guest saw', async () => {
    const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'probe.elf', processor: 0 }] });
    const strategies: MigrationStrategy[] = ['pre-copy', 'stop-copy', 'post-copy', 'throttled', 'pre-copy', 'post-copy'];
    const events = strategies.map((strategy, i) => migrateAt(BigInt(50 + 60 * i) * MS, 'g', (i + 1) % 2, strategy));
    const result = await runBoard({ board, durationNs: 450n * MS, events });
    expect(result.migrations).toHaveLength(6);
    for (const report of result.migrations) expectKeptAndSeen(report, result.vms[0]!.console);
    expect(probesHealthy(result)).toEqual([]);
  });

  describe('5. VM slots are recycled', () => {
    it('a processor takes 24 arrivals (and the VM keeps its memory)', async () => {
      const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'probe.elf', processor: 0 }] });
      const events = Array.from({ length: 48 }, (_, i) => migrateAt(BigInt(20 + 15 * i) * MS, 'g', (i + 1) % 2, i % 2 === 0 ? 'stop-copy' : 'pre-copy'));
      const result = await runBoard({ board, durationNs: 760n * MS, events });
      expect(result.migrations.map((report) => report.outcome)).toEqual(Array(48).fill('completed'));
      expect(result.processors.map((processor) => processor.vmSlots)).toEqual([1, 0]);
      expect(probesHealthy(result)).toEqual([]);
    });

    it('a full VM table is refused with its own reason', async () => {
      const neighbours = Array.from({ length: 16 }, (_, i) => ({ name: `n${i}`, image: 'hello.elf', processor: 1, memoryBytes: 64 * 1024 }));
      const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'probe.elf', processor: 0 }, ...neighbours] });
      const result = await runBoard({ board, durationNs: 100n * MS, events: [migrateAt(50n * MS, 'g', 1, 'stop-copy')] });
      expect(result.migrations[0]).toMatchObject({ outcome: 'refused', reason: 'destination-vm-table-full' });
    });
  });

  it('6. restore of a VM asleep with nothing armed ends, stalled, instead of running forever', async () => {
    // wfi with no timer set, then spin: a paravirtual guest nobody can wake.
    const image = buildElf({ entry: RAM_BASE, segments: [{ paddr: RAM_BASE, data: assemble([0x10500073, 0x0000006f]) }] });
    const captured = await checkpointGuest({ image, atCycle: 100_000 });
    const restored = await restoreGuest({ stream: captured.stream });
    expect(restored.exitStatus).toBe(1);
    expect(restored.message).toMatch(/^stalled: the VM waits at pc 0x80000004 but nothing can wake it/);
  });

  it('7. post-copy sends each page once', async () => {
    const board = guaranteeBoard({ processors: [{}, {}], vms: [{ name: 'g', image: 'probe.elf', processor: 0, memoryBytes: MIB }] });
    const result = await runBoard({ board, durationNs: 300n * MS, events: [migrateAt(100n * MS, 'g', 1, 'post-copy')] });
    const [report] = result.migrations;
    expectKeptAndSeen(report!, result.vms[0]!.console);
    expect(report!.duplicatePages).toBe(0n);
    expect(report!.prepagedPages).toBeGreaterThan(0n);
    expect(report!.pushedPages).toBeGreaterThan(0n);
    expect(report!.prepagedPages + report!.pushedPages).toBeLessThanOrEqual(BigInt(MIB / 4096));
    // Every page on the wire once: the bytes sent are those pages and their framing, little more.
    expect(report!.bytesSent).toBeLessThan((report!.prepagedPages + report!.pushedPages) * 4096n * 11n / 10n + 64n * 1024n);
  });

  it('8. a busy destination refuses a second source at once, with its reason', async () => {
    const board = guaranteeBoard({
      processors: [{}, {}, {}],
      vms: [{ name: 'a', image: 'probe.elf', processor: 0, memoryBytes: MIB }, { name: 'b', image: 'probe.elf', processor: 2 }],
    });
    const result = await runBoard({ board, durationNs: 300n * MS, events: [migrateAt(100n * MS, 'a', 1, 'pre-copy'), migrateAt(101n * MS, 'b', 1, 'stop-copy')] });
    const [first, second] = result.migrations;
    expect(first!.outcome).toBe('completed');
    expect(second).toMatchObject({ outcome: 'refused', reason: 'destination-busy' });
    expect(second!.totalNs).toBeLessThan(1n * MS); // one round trip, not the give-up timeouts
  });

  it('9. the relays of a moved channel end are freed once both sides have switched', async () => {
    const board = guaranteeBoard({
      processors: [{}, {}, {}],
      vms: [{ name: 'tx', image: 'probe-tx.elf', processor: 0 }, { name: 'rx', image: 'probe-rx.elf', processor: 1 }],
      channels: [{ name: 'seq', kind: 'queuing', from: 'tx', to: 'rx' }],
    });
    const events = [migrateAt(100n * MS, 'rx', 2, 'pre-copy'), migrateAt(200n * MS, 'tx', 1, 'pre-copy'), migrateAt(300n * MS, 'rx', 0, 'stop-copy')];
    const result = await runBoard({ board, durationNs: 500n * MS, events });
    expect(result.migrations.map((report) => report.outcome)).toEqual(['completed', 'completed', 'completed']);
    expect(result.processors.map((processor) => processor.relays)).toEqual([0, 0, 0]);
    expect(probesHealthy(result)).toEqual([]);
    const seq = channel(result, 'seq');
    expect(seq.delivered + 4n).toBeGreaterThanOrEqual(seq.sent);
  });
});
