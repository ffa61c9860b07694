/** A quad board with the reliability fields, written to a folder, for the report and CLI tests. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoard } from '../../host/board.js';
import type { Board } from '../../host/board.js';

const MIB = 1 << 20;

/** Four processors, three control VMs and a spare they fail over to (two of them fit it at once). */
export function quadSpareJson(extra: { repairTime?: string } = {}): Record<string, unknown> {
  return {
    name: 'quad-spare',
    processors: [0, 1, 2, 3].map((id) => ({ id, clockHz: 100_000_000, ramBytes: 4 * MIB, majorFrameNs: 10_000_000, failureRate: '1e-5/h', ...extra })),
    vms: [0, 1, 2].map((processor) => ({
      name: `ctl${processor}`, image: 'x.elf', memoryBytes: 2 * MIB, processor, windows: [{ offsetNs: 0, durationNs: 4_000_000 }],
      protection: { policies: ['checkpoint'], backup: 3, spares: [0, 1, 2].filter((other) => other !== processor) },
    })),
  };
}

export function writeQuadSpare(dir: string, extra: { repairTime?: string } = {}): { path: string; board: Board } {
  const path = join(dir, 'quad-spare.json');
  const json = quadSpareJson(extra);
  writeFileSync(path, JSON.stringify(json));
  return { path, board: parseBoard(json, path) };
}
