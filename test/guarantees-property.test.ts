/**
 * The guarantees as a property over random small boards (test/helpers/random-board.ts):
 * seeds 0-199 in the suite; `npm run property -- --seeds 2000` (or `--seed 17`, or
 * `--from 1000 --seeds 500`) runs others. A failing seed prints what broke and how to run
 * it alone.
 */
import { describe, expect, it } from 'vitest';
import { runPropertyCase } from './helpers/random-board.js';
import { hasCore } from './helpers/paths.js';

const FIRST = Number(process.env['FERRY_PROPERTY_FROM'] ?? 0);
const SEEDS = Number(process.env['FERRY_PROPERTY_SEEDS'] ?? 200);
const PER_TEST = Math.min(20, SEEDS);
const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`guarantees on ${SEEDS} random boards${coreNote}`, () => {
  for (let first = FIRST; first < FIRST + SEEDS; first += PER_TEST) {
    const last = Math.min(first + PER_TEST, FIRST + SEEDS) - 1;
    it(`seeds ${first}-${last}: every guarantee holds`, async () => {
      const broken: string[] = [];
      for (let seed = first; seed <= last; seed++) {
        const outcome = await runPropertyCase(seed);
        for (const problem of outcome.problems) broken.push(`seed ${seed} (npm run property -- --seed ${seed}): ${problem}`);
      }
      expect(broken).toEqual([]);
    }, 240_000);
  }
});
