/**
 * Boards for the guarantee tests, built in code: processors with their own clocks and
 * schedules, links between them, probe guests (guests/probe) and channels. And what the
 * probe tells from inside: the gaps it saw, and whether it broke off with an error.
 */
import { join } from 'node:path';
import { parseBoard } from '../../host/board.js';
import type { Board } from '../../host/board.js';
import type { BoardRunResult } from '../../host/board-runner.js';
import type { MigrationReport } from '../../host/migration.js';
import { GUESTS, MIB } from './migration-board.js';
import { ROOT } from './paths.js';

export interface ProcessorSpec {
  clockHz?: number;
  ramBytes?: number;
  majorFrameNs?: number;
}

export interface VmSpec {
  name: string;
  /** An image in guests/build. */
  image: string;
  processor: number;
  memoryBytes?: number;
  windows?: { offsetNs: number; durationNs: number }[];
  /** As a board file gives it (docs/boards.md). */
  protection?: { policies: string[]; backup?: number; spares?: number[]; checkpointInterval?: string };
}

export interface ChannelSpec {
  name: string;
  kind: 'queuing' | 'sampling';
  from: string;
  to: string;
  depth?: number;
}

export interface BoardSpec {
  processors: ProcessorSpec[];
  /** Pairs of processor indices; default every pair. */
  links?: [number, number][];
  vms: VmSpec[];
  channels?: ChannelSpec[];
  bandwidthBytesPerS?: number;
  latencyNs?: number;
  mtuBytes?: number;
  health?: { heartbeat?: string; suspect?: string; members?: number[] };
}

export function guaranteeBoard(spec: BoardSpec): Board {
  const pairs = spec.links ?? spec.processors.flatMap((_, a) => spec.processors.map((__, b) => [a, b] as [number, number]).filter(([x, y]) => x < y));
  return parseBoard({
    name: 'guarantees',
    processors: spec.processors.map((processor, id) => ({
      id, clockHz: processor.clockHz ?? 100_000_000, ramBytes: processor.ramBytes ?? 16 * MIB,
      ...(processor.majorFrameNs === undefined ? {} : { majorFrameNs: processor.majorFrameNs }),
    })),
    links: pairs.map(([from, to]) => ({
      from, to, bandwidthBytesPerS: spec.bandwidthBytesPerS ?? 100_000_000, latencyNs: spec.latencyNs ?? 20_000, mtuBytes: spec.mtuBytes ?? 1500,
    })),
    vms: spec.vms.map((vm) => ({
      name: vm.name, image: join(GUESTS, vm.image), memoryBytes: vm.memoryBytes ?? MIB / 4, processor: vm.processor,
      ...(vm.windows === undefined ? {} : { windows: vm.windows }),
      ...(vm.protection === undefined ? {} : { protection: vm.protection }),
    })),
    channels: (spec.channels ?? []).map((channel) => ({
      name: channel.name, kind: channel.kind, maxMessageBytes: 16, depth: channel.kind === 'queuing' ? channel.depth ?? 4 : 1,
      source: { vm: channel.from, port: 0 }, destination: { vm: channel.to, port: 0 },
    })),
    ...(spec.health === undefined ? {} : { health: spec.health }),
  }, join(ROOT, 'test', 'guarantees.json'));
}

/** A gap the probe saw between two reads of its clock (board ns). */
export interface ProbeGap {
  atNs: bigint;
  lengthNs: bigint;
}

const NS_PER_TICK = 100n; // the timer's 10 MHz

export function probeGaps(console: string): ProbeGap[] {
  return [...console.matchAll(/^probe: gap at (0x[0-9a-f]+) ticks: (0x[0-9a-f]+) ticks$/gm)].map((match) => ({
    atNs: BigInt(match[1]!) * NS_PER_TICK, lengthNs: BigInt(match[2]!) * NS_PER_TICK,
  }));
}

/** The probe's own verdict: undefined if it found nothing wrong. */
export function probeError(console: string): string | undefined {
  return /^probe: ERROR .*$/m.exec(console)?.[0];
}

/**
 * The gap the guest saw across migration `report`: the one that began at its last read
 * before the stop. The probe reads its clock at least every `iterationNs`.
 */
export function gapAcross(report: MigrationReport, gaps: ProbeGap[], iterationNs: bigint): ProbeGap | undefined {
  const stopNs = report.stopNs!;
  return gaps.find((gap) => gap.atNs <= stopNs && gap.atNs + iterationNs >= stopNs);
}

/** Every VM of the run still runs, and no probe broke off. */
export function probesHealthy(result: BoardRunResult): string[] {
  const problems: string[] = [];
  for (const vm of result.vms) {
    const error = probeError(vm.console);
    if (error !== undefined) problems.push(`${vm.name}: ${error}`);
    else if (vm.state !== 'running') problems.push(`${vm.name}: ${vm.outcome?.message ?? vm.outcome?.reason ?? 'stopped'}`);
  }
  return problems;
}
