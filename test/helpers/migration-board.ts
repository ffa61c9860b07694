/**
 * Boards for the migration tests, built in code: a few processors joined by a
 * fast link, one guest VM to migrate, and optionally neighbours that fill the
 * destination's RAM or schedule. Runs go through runBoard with scenario events.
 */
import { join } from 'node:path';
import { parseBoard } from '../../host/board.js';
import type { Board } from '../../host/board.js';
import { runBoard } from '../../host/board-runner.js';
import type { BoardRunOptions, BoardRunResult } from '../../host/board-runner.js';
import type { MigrationParams, MigrationReport, MigrationStrategy, ScenarioEvent } from '../../host/migration.js';
import { ROOT } from './paths.js';

export const GUESTS = join(ROOT, 'guests', 'build');
export const MIB = 1024 * 1024;

export interface PairOptions {
  /** The guest image in guests/build (default memcheck.elf). */
  image?: string;
  memoryBytes?: number;
  bandwidthBytesPerS?: number;
  latencyNs?: number;
  mtuBytes?: number;
  /** RAM of the destination (processor 1). */
  destinationRamBytes?: number;
  /** Extra VMs placed on the destination (processor 1). */
  destinationVms?: { name: string; image: string; memoryBytes: number; windows?: { offsetNs: number; durationNs: number }[] }[];
  /** The guest's windows (then every processor gets a major frame of majorFrameNs). */
  windows?: { offsetNs: number; durationNs: number }[];
  /** The major frame when there are windows (default 10 ms). */
  majorFrameNs?: number;
  /** The destination's clock (default 100 MHz, as the source's). */
  destinationClockHz?: number;
}

/** Two processors at 100 MHz, one link (100 MB/s, 50 us, MTU 1500 by default), the VM `g` on processor 0. */
export function pairBoard(options: PairOptions = {}): Board {
  const framed = options.windows !== undefined || (options.destinationVms ?? []).some((vm) => vm.windows !== undefined);
  const frame = framed ? { majorFrameNs: options.majorFrameNs ?? 10_000_000 } : {};
  return parseBoard({
    name: 'pair',
    processors: [
      { id: 0, clockHz: 100_000_000, ramBytes: 16 * MIB, ...frame },
      { id: 1, clockHz: options.destinationClockHz ?? 100_000_000, ramBytes: options.destinationRamBytes ?? 16 * MIB, ...frame },
    ],
    links: [{
      from: 0, to: 1,
      bandwidthBytesPerS: options.bandwidthBytesPerS ?? 100_000_000,
      latencyNs: options.latencyNs ?? 50_000,
      mtuBytes: options.mtuBytes ?? 1500,
    }],
    vms: [
      {
        name: 'g', image: join(GUESTS, options.image ?? 'memcheck.elf'), memoryBytes: options.memoryBytes ?? 2 * MIB, processor: 0,
        ...(options.windows === undefined ? {} : { windows: options.windows }),
      },
      ...(options.destinationVms ?? []).map((vm) => ({ ...vm, image: join(GUESTS, vm.image), processor: 1 })),
    ],
  }, join(ROOT, 'test', 'pair.json'));
}

export function migrate(atNs: bigint, strategy: MigrationStrategy, params: MigrationParams = {}, vm = 'g', to = 1): ScenarioEvent {
  return { kind: 'migrate', atNs, vm, to, strategy, params };
}

export interface MigrationRun {
  result: BoardRunResult;
  report: MigrationReport;
  vm: BoardRunResult['vms'][number];
}

export async function runMigration(board: Board, events: ScenarioEvent[], options: Omit<BoardRunOptions, 'board' | 'events'> = {}): Promise<MigrationRun> {
  const result = await runBoard({ board, events, ...options });
  return { result, report: result.migrations[0]!, vm: result.vms.find((vm) => vm.name === 'g')! };
}

/** memcheck's "round N ok" lines: the rounds it verified. */
export function verifiedRounds(console: string): number[] {
  return [...console.matchAll(/^memcheck: round (\d+) ok: 256 pages verified/gm)].map((match) => Number(match[1]));
}
