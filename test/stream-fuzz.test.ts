/**
 * Fuzzes restore with thousands of mutated valid streams (deterministic
 * seeds): every one must be refused cleanly — with a reason, a record and an
 * offset inside the stream, and the target VM exactly as it was — or
 * accepted; a raw mutation the core accepts must not have changed what the
 * stream restores. Never a trap, a hang or a half-applied stream.
 *
 *   FERRY_FUZZ_CASES=200000 FERRY_FUZZ_SEED=7 npx vitest run test/stream-fuzz.test.ts
 * (npm run fuzz:stream does a long run.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../host/prng.js';
import { readRefusal } from '../host/stream-errors.js';
import { checkpointTake, restoreWriteAll } from '../host/core-runtime.js';
import type { CoreRuntime } from '../host/core-runtime.js';
import { applyStream } from '../host/checkpoint.js';
import { bootGuest, freshCore, runTo, takeStream } from './helpers/collector-guest.js';
import { hasCore } from './helpers/paths.js';
import { mutate } from './helpers/stream-mutator.js';
import { compressStream } from './helpers/compressed-stream.js';
import { INPUT_LOG, replayStream } from './helpers/replay-stream.js';

const CASES = Number(process.env['FERRY_FUZZ_CASES'] ?? 10000);
const SEED = Number(process.env['FERRY_FUZZ_SEED'] ?? 1);
/** Check that a refusal left the target untouched on every this-many refusals (and on every resealed one). */
const UNCHANGED_CHECK_EVERY = Number(process.env['FERRY_FUZZ_CHECK_EVERY'] ?? 7);
const RAM_BYTES = 256 * 1024;

interface Base {
  name: string;
  stream: Uint8Array;
  /** A full checkpoint of the VM the stream restores to (at the target's time). */
  state: Uint8Array;
}

/** Two valid streams: one full checkpoint; a full one and two increments. */
async function makeStreams(): Promise<{ single: Uint8Array; chain: Uint8Array }> {
  const source = await bootGuest('cpu-small.elf', { ramBytes: RAM_BYTES });
  runTo(source.core, 150_000n);
  const single = takeStream(source.core, source.vm);
  source.core.checkpointBegin();
  for (const [i, at] of [200_000n, 260_000n, 330_000n].entries()) {
    runTo(source.core, at);
    expect(source.core.checkpointCapture(source.vm, i > 0 ? 1 : 0)).toBe(0);
  }
  source.core.checkpointEnd();
  return { single, chain: checkpointTake(source.core) };
}

describe.skipIf(!hasCore())(`restore of ${CASES} mutated streams (seed ${SEED})`, () => {
  let target: CoreRuntime;
  let runner: CoreRuntime;
  let bases: Base[];

  beforeAll(async () => {
    const { single, chain } = await makeStreams();
    target = (await freshCore()).core;
    runner = (await freshCore()).core;
    applyStream(runner, chain, -1);
    const vm = applyStream(target, chain, -1);
    expect(vm).toBe(0);
    // The third: the first as version 3, its compressible pages in PAGE_COMPRESSED records
    // (docs/stream-format.md), so the decoders and their checks are fuzzed too.
    const compressed = compressStream(single);
    expect(compressed.compressedPages).toBeGreaterThan(0);
    bases = [single, chain, compressed.stream].map((stream, i) => {
      applyStream(target, stream, 0);
      return { name: ['single', 'chain', 'compressed'][i]!, stream, state: takeStream(target, 0) };
    });
    // Compressed or not, it is the same VM.
    expect(Buffer.from(bases[2]!.state).equals(Buffer.from(bases[0]!.state))).toBe(true);
    // The fourth: the first as version 4, with INPUT_LOG records (docs/stream-format.md), so
    // their checks are fuzzed too. A whole-stream restore refuses even the valid one (its
    // memory at the end is the replay's): every mutation of it must be refused, cleanly.
    bases.push({ name: 'replay', stream: replayStream(single), state: bases[0]!.state });
  });

  it('the valid trace-replay stream passes every check; applied whole, it is refused as needing a replay', () => {
    const replay = bases[3]!;
    target.restoreBegin();
    restoreWriteAll(target, replay.stream);
    expect(target.restoreCheck(-1)).toBe(0);
    expect(target.restoreApply(0)).toBeLessThan(0);
    const refusal = readRefusal(target);
    expect(refusal).toMatchObject({ code: 23, type: INPUT_LOG });
    applyStream(target, bases[1]!.stream, 0);
  });

  it('refuses each cleanly or accepts it, and never half-applies', () => {
    const prng = new Prng(SEED, 0x5752_4541);
    let current = bases[1]!;
    applyStream(target, current.stream, 0);
    const counts = { refused: 0, accepted: 0, acceptedRaw: 0, checkedUnchanged: 0, ran: 0 };
    const codes = new Map<number, number>();
    for (let n = 0; n < CASES; n++) {
      const base = bases[prng.nextBelow(bases.length)]!;
      const mutation = mutate(base.stream, prng);
      const context = `case ${n} (seed ${SEED}, ${base.name}): ${mutation.what}`;
      // The new-VM path checks without applying; it must not trap either.
      target.restoreBegin();
      restoreWriteAll(target, mutation.bytes);
      target.restoreCheck(-1);
      const result = target.restoreApply(0);
      if (base.name === 'replay') expect(result, `${context}: a trace-replay stream restored whole`).toBeLessThan(0);
      if (result < 0) {
        counts.refused++;
        const refusal = readRefusal(target);
        codes.set(refusal.code, (codes.get(refusal.code) ?? 0) + 1);
        expect(refusal.code, context).toBeGreaterThanOrEqual(1);
        expect(refusal.code, context).toBeLessThanOrEqual(26);
        expect(refusal.offset, context).toBeLessThanOrEqual(mutation.bytes.length);
        if (mutation.resealed || counts.refused % UNCHANGED_CHECK_EVERY === 0) {
          expect(Buffer.from(takeStream(target, 0)).equals(Buffer.from(current.state)), `${context}: target changed`).toBe(true);
          counts.checkedUnchanged++;
        }
        continue;
      }
      counts.accepted++;
      expect(result, context).toBe(0);
      const state = takeStream(target, 0);
      if (!mutation.resealed) {
        // Raw damage the core accepted must have left the meaning intact.
        counts.acceptedRaw++;
        expect(Buffer.from(state).equals(Buffer.from(base.state)), `${context}: accepted damage changed the VM`).toBe(true);
      } else {
        // A resealed stream may mean something else: its VM must still be a legal one, and run.
        runner.restoreBegin();
        restoreWriteAll(runner, mutation.bytes);
        expect(runner.restoreApply(0), context).toBe(0);
        runner.run(5_000n);
        counts.ran++;
      }
      // Back to a known state for the next case.
      applyStream(target, current.stream, 0);
      current = bases[1]!;
    }
    const summary = { ...counts, codes: Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])) };
    console.log(`stream fuzz: ${CASES} cases, seed ${SEED}: ${JSON.stringify(summary)}`);
    expect(counts.refused + counts.accepted).toBe(CASES);
    expect(counts.refused).toBeGreaterThan(CASES / 2);
  }, Math.max(120_000, CASES * 20));
});
