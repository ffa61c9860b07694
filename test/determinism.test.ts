/**
 * Same board + scenario + seed → the same trace, byte for byte. Each case
 * runs twice from scratch and compares the trace files (and consoles).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardRunOptions } from '../host/board-runner.js';
import { traceLine } from '../host/trace.js';
import { buildElf } from './helpers/elf-builder.js';
import { fakeBoardFactory } from './helpers/fake-board-core.js';
import type { FakeProcessorScript } from './helpers/fake-board-core.js';
import { lines, runFerry } from './helpers/ferry-cli.js';
import { hasCore } from './helpers/paths.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-determinism-'));
  writeFileSync(join(dir, 'guest.elf'), buildElf());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Four processors in a ring, each sending a stream of frames to the next and the one before. */
function ringBoard() {
  const processors = [0, 1, 2, 3].map((id) => ({ id, clockHz: 100_000_000 - id * 10_000_000, ramBytes: 1 << 20 }));
  const links = [0, 1, 2, 3].map((id) => ({ from: id, to: (id + 1) % 4, bandwidthBytesPerS: 2_000_000 + id, latencyNs: 7_000 + id * 1000, mtuBytes: 512 }));
  const vms = processors.map((p) => ({ name: `v${p.id}`, image: 'guest.elf', memoryBytes: 65536, processor: p.id }));
  return parseBoard({ name: 'ring', processors, links, vms }, join(dir, 'ring.json'));
}

const ringTraffic = (id: number): FakeProcessorScript => ({
  stopAtCycle: 2_000_000n - BigInt(id) * 100_000n,
  sends: [
    { atCycle: 37n * BigInt(id + 1), everyCycles: 9_001n + BigInt(id) * 13n, peer: (id + 1) % 4, bytes: 64 + id * 16 },
    { atCycle: 500n, everyCycles: 23_456n, peer: (id + 3) % 4, bytes: 300 },
  ],
});

/** The trace as the CLI would write it. */
async function traceBytes(options: Partial<BoardRunOptions>): Promise<string> {
  let text = '';
  await runBoard({
    board: ringBoard(),
    core: fakeBoardFactory(ringTraffic).factory,
    onTrace: (records) => { for (const record of records) text += traceLine(record); },
    ...options,
  });
  return text;
}

describe('determinism with a scripted core (thousands of frames)', () => {
  it('two runs give the same trace, byte for byte', async () => {
    const first = await traceBytes({});
    const second = await traceBytes({});
    expect(lines(first).length).toBeGreaterThan(1000);
    expect(second).toBe(first);
  });

  it('with seeded link faults too; another seed fails other frames', async () => {
    const faults = { drop: 0.05, corrupt: 0.05, duplicate: 0.05, reorder: 0.05 };
    const first = await traceBytes({ seed: 11, linkFaults: faults });
    const second = await traceBytes({ seed: 11, linkFaults: faults });
    expect(second).toBe(first);
    expect(first).toMatch(/"event":"link-drop"/);
    expect(first).toMatch(/"faults":\["corrupt"\]/);
    const other = await traceBytes({ seed: 12, linkFaults: faults });
    expect(other).not.toBe(first);
  });
});

const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`determinism of ferry run --board on build/core.wasm${coreNote}`, () => {
  for (const board of ['boards/quad.json', 'boards/cluster16.json']) {
    it(`${board}: two runs write the same trace and console, byte for byte`, () => {
      const runs = [1, 2].map((n) => {
        const trace = join(dir, `${board.replace(/\W/g, '_')}-${n}.jsonl`);
        const result = runFerry(['run', '--board', board, '--trace', trace, '--seed', '5', '--duration', '200ms']);
        return { result, trace: readFileSync(trace) };
      });
      expect(runs[0]!.result.status, runs[0]!.result.stderr).toBe(runs[1]!.result.status);
      expect(runs[0]!.trace.length).toBeGreaterThan(1000);
      expect(runs[1]!.trace.equals(runs[0]!.trace)).toBe(true);
      expect(runs[1]!.result.stdoutBytes.equals(runs[0]!.result.stdoutBytes)).toBe(true);
      expect(runs[1]!.result.stderr).toBe(runs[0]!.result.stderr);
    });
  }
});
