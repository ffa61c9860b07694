/**
 * Migrating VMs that own channel ports: the demo control application's sender and
 * receiver (control-tx, control-rx) on a board of four processors, one queuing and one
 * sampling channel. Whichever end moves — to a processor with a link to the other end,
 * or to one without (its frames are then relayed by the old processor) — every message
 * sent arrives, none is dropped, and the receiver's count equals that of a run without
 * the migration. A migration that fails after the ports' state was captured gives the
 * VM back every message that arrived meanwhile.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardRunResult } from '../host/board-runner.js';
import type { OutgoingFrame } from '../host/link-faults.js';
import type { MigrationStrategy } from '../host/migration.js';
import { crc32c } from '../host/stream-inspect.js';
import { GUESTS } from './helpers/migration-board.js';
import { ROOT, hasCore } from './helpers/paths.js';

const MS = 1_000_000n;
const MIB = 1024 * 1024;
const RUN_NS = 3_000n * MS;

/**
 * Processors 0–3; links 0–1, 0–2, 1–2, 1–3, 2–3 (none between 0 and 3). tx (control-tx)
 * on 0 sends its speed every 10 ms to rx (control-rx) on 1 over `channel`; `alone` is a
 * VM on 2 that keeps that processor's schedule honest. Windows leave room everywhere.
 */
function channelBoard(kind: 'queuing' | 'sampling', options: { sameProcessor?: boolean; latency12Ns?: number } = {}): Board {
  const processors = [0, 1, 2, 3].map((id) => ({ id, clockHz: 100_000_000, ramBytes: 16 * MIB, majorFrameNs: 10_000_000 }));
  const link = (from: number, to: number): object => ({
    from, to, bandwidthBytesPerS: 12_500_000, latencyNs: from === 1 && to === 2 ? options.latency12Ns ?? 10_000 : 10_000, mtuBytes: 1024,
  });
  return parseBoard({
    name: `channels-${kind}`,
    processors,
    links: [link(0, 1), link(0, 2), link(1, 2), link(1, 3), link(2, 3)],
    vms: [
      { name: 'tx', image: join(GUESTS, 'control-tx.elf'), memoryBytes: MIB, processor: 0, windows: [{ offsetNs: 0, durationNs: 3_000_000 }] },
      { name: 'rx', image: join(GUESTS, 'control-rx.elf'), memoryBytes: MIB, processor: options.sameProcessor === true ? 0 : 1, windows: [{ offsetNs: 4_000_000, durationNs: 3_000_000 }] },
    ],
    channels: [{
      name: 'speed', kind, maxMessageBytes: 16, depth: kind === 'queuing' ? 4 : 1,
      source: { vm: 'tx', port: 0 }, destination: { vm: 'rx', port: 0 },
    }],
  }, join(ROOT, 'test', 'channels.json'));
}

function vmOf(result: BoardRunResult, name: string): BoardRunResult['vms'][number] {
  return result.vms.find((vm) => vm.name === name)!;
}

/**
 * Every message tx sent reached rx exactly once (the core's channel counters: delivered
 * once each, in order; copies and early arrivals are refused and counted, never
 * delivered); with a baseline (a short downtime: the queue never filled), as many as
 * without the migration.
 */
function expectNothingLost(result: BoardRunResult, baseline?: BoardRunResult): void {
  const tx = vmOf(result, 'tx');
  const rx = vmOf(result, 'rx');
  const [channel] = result.channels;
  expect(tx.stats.framesSent).toBeGreaterThan(250n);
  expect(rx.stats.framesReceived).toBe(tx.stats.framesSent);
  expect(channel!.sent).toBe(tx.stats.framesSent);
  expect(channel!.delivered).toBe(channel!.sent);
  expect(channel!.undelivered).toBe(0n);
  expect(channel!.linkDead).toBe(false);
  if (baseline !== undefined) expect(tx.stats.framesSent).toBe(vmOf(baseline, 'tx').stats.framesSent);
  expect(rx.console).not.toMatch(/own setpoint\)\n[\s\S]*remote setpoint[\s\S]*own setpoint/); // never falls back once fed
}

async function migrated(board: Board, vm: string, to: number, strategy: MigrationStrategy = 'pre-copy'): Promise<BoardRunResult> {
  return runBoard({
    board,
    durationNs: RUN_NS,
    events: [{ kind: 'migrate', atNs: 1_000n * MS, vm, to, strategy, params: { affordableNs: 50n * MS, thresholdBytes: 16_384 } }],
  });
}

function expectMoved(result: BoardRunResult, vm: string, to: number): void {
  const [report] = result.migrations;
  expect(report!.outcome, report!.message).toBe('completed');
  expect(report!.violations).toEqual([]);
  expect(report!.downtimeNs!).toBeLessThanOrEqual(report!.boundNs);
  expect(vmOf(result, vm).processor).toBe(to);
}

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`migrating VMs with channel ports${coreNote}`, () => {
  for (const kind of ['queuing', 'sampling'] as const) {
    describe(`${kind} channel`, () => {
      const board = channelBoard(kind);
      let baseline: BoardRunResult;
      const base = async (): Promise<BoardRunResult> => (baseline ??= await runBoard({ board, durationNs: RUN_NS }));

      it('the receiver moves to a processor linked to the sender: nothing lost, and the sender soon sends it there directly', async () => {
        const result = await migrated(board, 'rx', 2);
        expectMoved(result, 'rx', 2);
        expectNothingLost(result, await base());
        // 1 s of messages before the move went 0 → 1; after it, all but the first few go 0 → 2 (none relayed 1 → 2 later).
        const sentOn = (from: number, to: number): number => result.links.find((link) => link.from === from && link.to === to)!.framesSent;
        expect(sentOn(0, 1)).toBeLessThan(110);
        expect(sentOn(0, 2)).toBeGreaterThan(180);
      });

      it('the receiver moves to a processor with no link to the sender (its old one relays): nothing lost', async () => {
        const result = await migrated(board, 'rx', 3);
        expectMoved(result, 'rx', 3);
        expectNothingLost(result, await base());
        // processor 1 still passes every message on: it received them all and sent them all again
        expect(result.processors[1]!.framesReceived).toBeGreaterThan(250n);
      });

      it('the sender moves: nothing lost', async () => {
        const result = await migrated(board, 'tx', 2);
        expectMoved(result, 'tx', 2);
        expectNothingLost(result, await base());
      });

      it('the receiver moves with post-copy and with stop-copy: nothing lost', async () => {
        for (const strategy of ['post-copy', 'stop-copy'] as const) {
          const result = await migrated(board, 'rx', 2, strategy);
          expectMoved(result, 'rx', 2);
          expectNothingLost(result, await base());
        }
      });
    });
  }

  it('messages that arrive while the commit is on its way (a slow link to the destination) are refused there and resent to where the receiver went', async () => {
    // 25 ms each way between 1 and 2: COMMIT and its reply take 50 ms after the ports' state
    // was captured, and the sender sends every 10 ms, so several messages come in between.
    const board = channelBoard('queuing', { latency12Ns: 25_000_000 });
    const result = await runBoard({
      board,
      durationNs: RUN_NS,
      events: [{ kind: 'migrate', atNs: 1_000n * MS, vm: 'rx', to: 2, strategy: 'stop-copy', params: { affordableNs: 1_000n * MS } }],
    });
    expectMoved(result, 'rx', 2);
    expectNothingLost(result); // rx is down long enough for the queue to fill: tx sends fewer than without the move
  });

  it('a channel on one processor: its receiver moves away, then the sender follows it, and the channel is local again', async () => {
    const board = channelBoard('queuing', { sameProcessor: true });
    const baseline = await runBoard({ board, durationNs: RUN_NS });
    const result = await runBoard({
      board,
      durationNs: RUN_NS,
      events: [
        { kind: 'migrate', atNs: 800n * MS, vm: 'rx', to: 1, strategy: 'pre-copy', params: { affordableNs: 50n * MS, thresholdBytes: 16_384 } },
        { kind: 'migrate', atNs: 1_800n * MS, vm: 'tx', to: 1, strategy: 'pre-copy', params: { affordableNs: 50n * MS, thresholdBytes: 16_384 } },
      ],
    });
    expect(result.migrations.map((report) => report.outcome)).toEqual(['completed', 'completed']);
    expect([vmOf(result, 'tx').processor, vmOf(result, 'rx').processor]).toEqual([1, 1]);
    expectNothingLost(result, baseline);
  });

  it('a migration that fails after the ports were captured (damaged stream): the receiver gets every message that came meanwhile', async () => {
    const board = channelBoard('queuing');
    const baseline = await runBoard({ board, durationNs: RUN_NS });
    // The last DATA message of the stream (it carries END) damaged, frame resealed: the destination refuses the commit.
    let dataFrames = 0;
    const damage = (frame: OutgoingFrame): undefined => {
      const { bytes } = frame;
      if (!(frame.from === 1 && frame.to === 2 && bytes[0] === 16 && bytes[16 + 4] === 2)) return undefined;
      dataFrames++;
      const body = bytes.subarray(16 + 8);
      // END is the stream's last record: type 0, length 8; damage its digest.
      const end = body.length - 24;
      if (end < 0 || body[end] !== 0 || body[end + 4] !== 8) return undefined;
      body[end + 12] ^= 0x01;
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, crc32c(bytes.subarray(16), crc32c(bytes.subarray(0, 12))), true);
      return undefined;
    };
    const result = await runBoard({
      board,
      durationNs: RUN_NS,
      linkFaultModel: damage,
      events: [{ kind: 'migrate', atNs: 1_000n * MS, vm: 'rx', to: 2, strategy: 'stop-copy', params: { affordableNs: 100n * MS } }],
    });
    expect(dataFrames).toBeGreaterThan(0);
    expect(result.migrations[0]).toMatchObject({ outcome: 'failed', reason: 'restore-failed' });
    expect(vmOf(result, 'rx').processor).toBe(1);
    expectNothingLost(result, baseline);
  });
});
