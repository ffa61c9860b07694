import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBoard, readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { NO_SLACK, cyclesLimitNs, runBoard } from '../host/board-runner.js';
import { ConsoleLines } from '../host/console-lines.js';
import { LinkError } from '../host/link.js';
import { Lockstep, cyclesToNs, nsToCycles } from '../host/lockstep.js';
import { LinkNetwork } from '../host/link.js';
import { formatSummary, formatVirtualTime, summaryJson } from '../host/summary.js';
import type { TraceRecord } from '../host/trace.js';
import { buildElf } from './helpers/elf-builder.js';
import { fakeBoardFactory } from './helpers/fake-board-core.js';
import type { FakeProcessorScript } from './helpers/fake-board-core.js';
import { ROOT, hasCore } from './helpers/paths.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-board-runner-'));
  writeFileSync(join(dir, 'guest.elf'), buildElf());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Three processors: 0 and 1 at 100 MHz joined by a 1 MB/s link with 10 µs
 * latency (MTU 256), 1 and 2 (50 MHz) by one with 25 µs. The lockstep
 * quantum is therefore 10 µs.
 */
function threeProcessors(): Board {
  return parseBoard({
    name: 'three',
    processors: [
      { id: 0, clockHz: 100_000_000, ramBytes: 1 << 20, majorFrameNs: 1_000_000 },
      { id: 1, clockHz: 100_000_000, ramBytes: 1 << 20 },
      { id: 2, clockHz: 50_000_000, ramBytes: 1 << 20 },
    ],
    links: [
      { from: 0, to: 1, bandwidthBytesPerS: 1_000_000, latencyNs: 10_000, mtuBytes: 256 },
      { from: 1, to: 2, bandwidthBytesPerS: 1_000_000, latencyNs: 25_000, mtuBytes: 128 },
    ],
    vms: [
      { name: 'a', image: 'guest.elf', memoryBytes: 65536, processor: 0, windows: [{ offsetNs: 0, durationNs: 400_000 }] },
      { name: 'a2', image: 'guest.elf', memoryBytes: 65536, processor: 0, windows: [{ offsetNs: 500_000, durationNs: 400_000 }] },
      { name: 'b', image: 'guest.elf', memoryBytes: 65536, processor: 1 },
      { name: 'c', image: 'guest.elf', kind: 'machine', memoryBytes: 65536, processor: 2 },
    ],
    channels: [
      { name: 'ab', kind: 'queuing', maxMessageBytes: 100, depth: 3, source: { vm: 'a', port: 2 }, destination: { vm: 'b', port: 7 } },
      { name: 'cb', kind: 'sampling', maxMessageBytes: 16, source: { vm: 'c', port: 0 }, destination: { vm: 'b', port: 1 } },
    ],
  }, join(dir, 'three.json'));
}

const script = (scripts: Record<number, FakeProcessorScript>) => (id: number): FakeProcessorScript => scripts[id] ?? {};

/** The default traffic: two frames 0 → 1 (the second queues behind the first), one 2 → 1. */
const traffic: Record<number, FakeProcessorScript> = {
  0: { stopAtCycle: 100_000n, sends: [{ atCycle: 150n, peer: 1, bytes: 100 }, { atCycle: 200n, peer: 1, bytes: 50 }] },
  1: { stopAtCycle: 50_000n },
  2: { stopAtCycle: 10_000n, sends: [{ atCycle: 0n, peer: 1, bytes: 10 }] },
};

describe('setting a board up', () => {
  it('configures every processor from the board: clock and id, schedule, VMs, links, channels', async () => {
    const { factory, cores } = fakeBoardFactory(script(traffic));
    await runBoard({ board: threeProcessors(), core: factory });
    const [p0, p1, p2] = cores;
    expect(p0!.calls).toEqual([
      'configure(100000000, 0)', 'scheduleClear()', 'scheduleSetMajorFrame(1000000)',
      'scheduleAddWindow(0, 0, 400000)', 'scheduleAddWindow(1, 500000, 400000)',
      'linkConfigure(1, 256)',
      'channelAddSource(0, 0, 2, 0, 100, 3, 1)',
    ]);
    expect(p1!.calls).toEqual([
      'configure(100000000, 1)', 'scheduleClear()',
      'linkConfigure(0, 256)', 'linkConfigure(2, 128)',
      'channelAddDestination(0, 0, 7, 0, 100, 3)', 'channelAddDestination(1, 0, 1, 1, 16, 1)',
    ]);
    expect(p2!.calls).toEqual(['configure(50000000, 2)', 'scheduleClear()', 'linkConfigure(1, 128)', 'channelAddSource(1, 0, 0, 1, 16, 1, 1)']);
  });

  it('turns the core\'s trace on only when a trace is wanted', async () => {
    const quiet = fakeBoardFactory(script(traffic));
    await runBoard({ board: threeProcessors(), core: quiet.factory });
    expect(quiet.cores.every((core) => !core.traceOn)).toBe(true);
    const traced = fakeBoardFactory(script(traffic));
    await runBoard({ board: threeProcessors(), core: traced.factory, onTrace: () => {} });
    expect(traced.cores.every((core) => core.traceOn)).toBe(true);
  });

  it('refuses a quantum longer than the smallest link latency', async () => {
    const { factory } = fakeBoardFactory(script(traffic));
    await expect(runBoard({ board: threeProcessors(), core: factory, quantumNs: 10_001n })).rejects.toThrow(/exceeds the smallest link latency \(10000 ns\)/);
  });

  it('names the VM whose image is missing', async () => {
    const board = threeProcessors();
    board.vms[2] = { ...board.vms[2]!, image: 'none.elf', imagePath: join(dir, 'none.elf') };
    await expect(runBoard({ board, core: fakeBoardFactory(script(traffic)).factory })).rejects.toThrow(/\/vms\/2\/image: none\.elf: cannot read the image \(no such file\)/);
  });
});

describe('lockstep virtual time and link delivery', () => {
  it('uses the smallest latency as the quantum and delivers each frame at the first boundary at or after its arrival', async () => {
    const { factory, cores } = fakeBoardFactory(script(traffic));
    const result = await runBoard({ board: threeProcessors(), core: factory });
    expect(result.quantumNs).toBe(10_000n);
    // 0 → 1, 100 bytes at 1.5 µs: 100 µs on the wire + 10 µs = 111.5 µs → boundary 120 µs.
    // 0 → 1, 50 bytes at 2 µs: waits for the wire until 101.5 µs, arrives 161.5 µs → boundary 170 µs.
    // 2 → 1, 10 bytes at 0: 10 µs + 25 µs = 35 µs → boundary 40 µs.
    expect(cores[1]!.received.map((r) => [r.peer, r.bytes.length, r.atCycle])).toEqual([
      [2, 10, 4_000n],
      [0, 100, 12_000n],
      [0, 50, 17_000n],
    ]);
    expect(result.links.find((l) => l.from === 0 && l.to === 1)).toMatchObject({ framesSent: 2, framesDelivered: 2, bytesSent: 150 });
  });

  it('advances every processor by the quantum in its own cycles', async () => {
    const { factory, cores } = fakeBoardFactory(script({ 0: {}, 1: {}, 2: {} }));
    const result = await runBoard({ board: threeProcessors(), core: factory, limitNs: 35_000n });
    expect(cores[0]!.runCalls).toEqual([1000n, 1000n, 1000n, 500n]);
    expect(cores[2]!.runCalls).toEqual([500n, 500n, 500n, 250n]);
    expect(result).toMatchObject({ end: 'limit', endNs: 35_000n, steps: 4, exitStatus: 124 });
  });

  it('ends when every VM has stopped, at the time the last one stopped', async () => {
    const { factory } = fakeBoardFactory(script(traffic));
    const result = await runBoard({ board: threeProcessors(), core: factory });
    expect(result).toMatchObject({ end: 'stopped', endNs: 1_000_000n, exitStatus: 0, messages: [] });
    expect(result.vms.map((vm) => [vm.name, vm.processor, vm.vmId, vm.kind, vm.state])).toEqual([
      ['a', 0, 0, 'paravirtual', 'stopped'],
      ['a2', 0, 1, 'paravirtual', 'stopped'],
      ['b', 1, 0, 'paravirtual', 'stopped'],
      ['c', 2, 0, 'machine', 'stopped'],
    ]);
  });

  it('exit status 1 when a VM fails, naming it; 124 with the VMs still running when the limit comes first', async () => {
    const failing = fakeBoardFactory(script({ ...traffic, 1: { stopAtCycle: 50_000n, exitReason: 2, exitCode: 1 } }));
    const failed = await runBoard({ board: threeProcessors(), core: failing.factory });
    expect(failed.exitStatus).toBe(1);
    expect(failed.messages).toEqual(['b: shutdown: the guest reported a system failure (SRST reason 1)']);

    const limited = await runBoard({ board: threeProcessors(), core: fakeBoardFactory(script(traffic)).factory, limitNs: 600_000n });
    expect(limited.exitStatus).toBe(124);
    expect(limited.messages).toEqual(['limit: 2 VMs were still running after 600000 ns of virtual time (60000 cycles of processor 0): a, a2']);
  });

  it('a frame over the MTU is a core bug, not bad input', async () => {
    const { factory } = fakeBoardFactory(script({ 0: { sends: [{ atCycle: 10n, peer: 1, bytes: 300 }] } }));
    await expect(runBoard({ board: threeProcessors(), core: factory, limitNs: 100_000n })).rejects.toThrow(LinkError);
  });

  it('--max-cycles on a board counts cycles of the first processor', () => {
    expect(cyclesLimitNs(threeProcessors(), 1000n)).toBe(10_000n);
    expect(cyclesToNs(3n, 3_000_000)).toBe(1000n);
    expect(nsToCycles(1000n, 3_000_000)).toBe(3n);
  });

  it('Lockstep refuses a quantum that would deliver frames late', () => {
    const network = new LinkNetwork(threeProcessors().links);
    expect(() => new Lockstep([], { quantumNs: 20_000n, network })).toThrow(/exceeds the smallest link latency/);
  });
});

describe('the trace of a board run', () => {
  async function traceOf(extra: Partial<Parameters<typeof runBoard>[0]> = {}): Promise<TraceRecord[]> {
    const records: TraceRecord[] = [];
    await runBoard({ board: threeProcessors(), core: fakeBoardFactory(script(traffic)).factory, onTrace: (batch) => records.push(...batch), ...extra });
    return records;
  }

  it('starts with run-start and the VM loads, ends with run-end, and is in time order', async () => {
    const records = await traceOf();
    expect(records[0]).toMatchObject({ ns: 0n, event: 'run-start', board: 'three', processors: 3, vms: 4, quantumNs: 10_000n, seed: 0 });
    expect(records.slice(1, 5).map((r) => [r.event, r['vm'], r['cpu']])).toEqual([
      ['vm-load', 'a', 0], ['vm-load', 'a2', 0], ['vm-load', 'b', 1], ['vm-load', 'c', 2],
    ]);
    expect(records.at(-1)).toMatchObject({ event: 'run-end', end: 'stopped', exitStatus: 0, ns: 1_000_000n });
    for (let i = 1; i < records.length; i++) expect(records[i]!.ns >= records[i - 1]!.ns).toBe(true);
  });

  it('records frames sent (core), delivered (host) and received (core) with virtual times', async () => {
    const frames = (await traceOf()).filter((r) => r.event.startsWith('frame') || r.event.startsWith('link'));
    expect(frames.map((r) => [r.ns, r.event, r['cpu']])).toEqual([
      [0n, 'frame-sent', 2],
      [1_500n, 'frame-sent', 0],
      [2_000n, 'frame-sent', 0],
      [40_000n, 'link-deliver', 1],
      [40_000n, 'frame-received', 1],
      [120_000n, 'link-deliver', 1],
      [120_000n, 'frame-received', 1],
      [170_000n, 'link-deliver', 1],
      [170_000n, 'frame-received', 1],
    ]);
    expect(frames[5]).toEqual({ ns: 120_000n, cpu: 1, event: 'link-deliver', from: 0, to: 1, bytes: 100, sentNs: 1_500n, arrivalNs: 111_500n });
    expect(frames[6]).toEqual({ ns: 120_000n, cycles: 12_000n, cpu: 1, event: 'frame-received', peer: 0n, bytes: 100n });
  });

  it('records link faults, seeded', async () => {
    const records = await traceOf({ linkFaults: { drop: 1 }, seed: 3 });
    expect(records[0]).toMatchObject({ seed: 3, linkFaults: { drop: 1 } });
    expect(records.filter((r) => r.event === 'link-drop').map((r) => [r.ns, r['from'], r['to']])).toEqual([[0n, 2, 1], [1_500n, 0, 1], [2_000n, 0, 1]]);
    expect(records.some((r) => r.event === 'link-deliver')).toBe(false);
  });
});

describe('console lines of several VMs', () => {
  const text = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');

  it('prefixes each complete line with the VM name and keeps lines whole', () => {
    const out: Uint8Array[] = [];
    const lines = new ConsoleLines((chunk) => out.push(chunk), true);
    const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
    lines.add('a', bytes('hel'));
    lines.add('b', bytes('one\ntw'));
    lines.add('a', bytes('lo\n'));
    lines.add('b', bytes('o'));
    lines.finish();
    expect(text(out)).toBe('[b] one\n[a] hello\n[b] two\n');
  });

  it('passes bytes through untouched for a single VM', () => {
    const out: Uint8Array[] = [];
    const lines = new ConsoleLines((chunk) => out.push(chunk), false);
    lines.add('a', new Uint8Array([0x68, 0x69]));
    lines.finish();
    expect(text(out)).toBe('hi');
  });
});

describe('the summary', () => {
  it('a table with one row per VM, and JSON with the same numbers', async () => {
    const result = await runBoard({ board: threeProcessors(), core: fakeBoardFactory(script(traffic)).factory });
    const table = formatSummary(result).split('\n');
    expect(table[0]).toBe('board three: 3 processors, 4 VMs, 1 ms of virtual time, all VMs stopped');
    expect(table[1]).toMatch(/^vm\s+cpu\s+state\s+instret\s+windows\s+overruns\s+late-irq\s+jobs\s+misses\s+slack-us\s+ctl-err\s+ctl-err-max\s+hcalls\s+tx\/rx\/drop$/);
    expect(table[2]).toMatch(/^a\s+0\s+shutdown\s+100000\s.*\s-\s+-\s+-\s+0\s+2\/0\/0$/);
    expect(table[4]).toMatch(/^b\s+1\s+shutdown\s+50000\s.*\s0\/3\/0$/);
    // The board's channels follow the VMs, a row each (the scripted core counts nothing on them).
    expect(table[6]).toMatch(/^channel\s+kind\s+from -> to\s+sent\s+delivered\s+resent\s+dup\/early\s+worst-us\s+bound-us\s+late\s+moved\s+link$/);
    expect(table.at(-2)).toBe('links: 3 frames delivered, 0 lost on the wire, 0 in flight at the end; processors dropped 0');
    const json = JSON.parse(summaryJson(result)) as { vms: { name: string; stats: { slackNs: unknown; framesReceived: number } }[]; exitStatus: number };
    expect(json.exitStatus).toBe(0);
    expect(json.vms.map((vm) => vm.name)).toEqual(['a', 'a2', 'b', 'c']);
    expect(json.vms[2]!.stats).toMatchObject({ slackNs: null, framesReceived: 3 });
    expect(result.vms[0]!.stats.slackNs).toBe(NO_SLACK);
  });

  it('virtual time for people', () => {
    expect(formatVirtualTime(999n)).toBe('999 ns');
    expect(formatVirtualTime(12_500n)).toBe('12.5 us');
    expect(formatVirtualTime(60_370_000n)).toBe('60.37 ms');
    expect(formatVirtualTime(3_000_000_000n)).toBe('3 s');
  });
});

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`boards on build/core.wasm${coreNote}`, () => {
  it('quad.json runs its control VMs in their windows, exchanging samples over links and on a processor', async () => {
    const board = await readBoard(join(ROOT, 'boards', 'quad.json'));
    const result = await runBoard({ board, durationNs: 300_000_000n });
    expect(result.messages).toEqual([]);
    expect(result).toMatchObject({ exitStatus: 0, end: 'duration', endNs: 300_000_000n });
    expect(result.vms.map((vm) => vm.name)).toEqual(board.vms.map((vm) => vm.name));
    for (const vm of result.vms) {
      expect(vm.instret, vm.name).toBeGreaterThan(0n);
      expect(vm.stats.windowsUsed, vm.name).toBeGreaterThan(0n);
      expect(vm.stats.deadlineMisses, vm.name).toBe(0n);
    }
    // Every channel's destination received messages: across links and on one processor.
    for (const channel of board.channels) {
      const destination = result.vms.find((vm) => vm.name === channel.destination.vm)!;
      expect(destination.stats.framesReceived, channel.name).toBeGreaterThan(0n);
    }
    const crossing = board.channels.filter((channel) => {
      const from = board.vms.find((vm) => vm.name === channel.source.vm)!.processor;
      return from !== board.vms.find((vm) => vm.name === channel.destination.vm)!.processor;
    });
    expect(crossing.length).toBeGreaterThan(0);
    expect(result.links.reduce((sum, link) => sum + link.framesDelivered, 0)).toBeGreaterThan(0);
  });

  it('single.json runs its VM like `ferry run` does', async () => {
    const board = await readBoard(join(ROOT, 'boards', 'single.json'));
    const result = await runBoard({ board });
    expect(result.exitStatus).toBe(0);
    expect(result.vms[0]!.console).toMatch(/Hello/);
  });
});
