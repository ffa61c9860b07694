/**
 * The memory-check guest to its end: memcheck-finite.elf writes a pattern to every
 * page of 1 MiB and verifies every byte of it, 100 rounds (2.9 s of virtual time),
 * and shuts down with status 0 only if nothing differed. Migrated mid-run with each
 * strategy, it must finish on the destination with exit 0. (Its own file: the runs
 * are long enough to be worth a worker of their own.)
 */
import { describe, expect, it } from 'vitest';
import { MIGRATION_STRATEGIES } from '../host/migration.js';
import { migrate, pairBoard, runMigration } from './helpers/migration-board.js';
import { hasCore } from './helpers/paths.js';

const MS = 1_000_000n;
const coreNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`memcheck-finite across a migration${coreNote}`, () => {
  for (const strategy of MIGRATION_STRATEGIES) {
    it(`${strategy}: moved at 1 s, it verifies all 100 rounds and shuts down with status 0 on the destination`, async () => {
      // memcheck never idles: trace-replay's destination catches up only if it runs faster (docs/migration.md, "Trace-replay").
      const board = pairBoard({ image: 'memcheck-finite.elf', ...(strategy === 'trace-replay' ? { destinationClockHz: 200_000_000 } : {}) });
      const run = await runMigration(board, [migrate(1_000n * MS, strategy, { affordableNs: 200n * MS })], { limitNs: 10_000n * MS });
      const { report, vm, result } = run;
      expect(report.outcome, report.message).toBe('completed');
      expect(report.violations).toEqual([]);
      expect(report.downtimeNs!).toBeLessThanOrEqual(report.boundNs);
      expect(vm).toMatchObject({ processor: 1, migratedFrom: 0, state: 'stopped' });
      expect(vm.outcome).toEqual({ reason: 'shutdown', code: 0, exitStatus: 0 });
      expect(vm.console).toMatch(/memcheck: round 30 ok: 256 pages verified/); // rounds on the source ...
      expect(vm.console.endsWith('memcheck: done: 100 rounds, 1024 KiB verified each\n')).toBe(true); // ... and the rest on the destination
      expect(result).toMatchObject({ exitStatus: 0, end: 'stopped' });
    });
  }
});
