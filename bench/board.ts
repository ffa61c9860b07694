/**
 * Board benchmark: aggregate guest MIPS of the 16-processor board
 * (boards/cluster16.json) against one processor, in one run — the cost of
 * orchestrating many cores in lockstep on one host thread.
 *
 *   npm run build && npm run bench:board [-- --duration 100ms] [-- --runs N] [-- --json]
 *
 * Every processor runs guests/build/cpu.elf (CPU-bound, never waits); one
 * processor alone runs 16 times as long, so every configuration retires the
 * same instructions. Three configurations:
 *   single        one processor, no links: the lockstep quantum is its longest (1 ms)
 *   single-q      one processor at the 16-processor board's quantum (its smallest link latency)
 *   board         all 16 processors of cluster16.json with its links, one cpu.elf VM each
 * MIPS = instructions retired by all VMs / wall seconds of runBoard (core
 * instantiation and image loading included, as a user's run pays them).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { LinkNetwork } from '../host/link.js';
import { packageRoot } from '../host/package-root.js';
import { median } from './statistics.js';
import { TIME_EXAMPLES, parseVirtualTime } from '../host/time-units.js';

interface Options { durationMs: number; runs: number; json: boolean }

interface Measurement {
  name: string;
  processors: number;
  quantumNs: bigint;
  instret: bigint;
  steps: number;
  wallSeconds: number[];
  medianSeconds: number;
  mips: number;
}

/** --duration takes a unit, as every time in Ferry does (host/time-units.ts). */
function durationMs(text: string | undefined): number {
  const ns = text === undefined ? undefined : parseVirtualTime(text);
  if (ns === undefined || ns < 1n) throw new Error(`--duration needs a virtual time with a unit such as ${TIME_EXAMPLES}, not ${text}`);
  return Number(ns) / 1e6;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { durationMs: 100, runs: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const number = (): number => {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value <= 0) throw new Error(`${arg} needs a positive number`);
      return value;
    };
    if (arg === '--json') options.json = true;
    else if (arg === '--runs') options.runs = Math.round(number());
    else if (arg === '--duration') options.durationMs = durationMs(argv[++i]);
    else throw new Error(`bench/board: unknown argument ${arg} (use --duration 100ms, --runs N, --json)`);
  }
  return options;
}

/** The board with one cpu.elf VM on each of its processors (or the first `count`), no channels. */
function cpuBoard(board: Board, imagePath: string, count: number, withLinks: boolean): Board {
  const processors = board.processors.slice(0, count).map(({ id, clockHz, ramBytes }) => ({ id, clockHz, ramBytes }));
  return {
    path: board.path,
    name: `${board.name}-cpu${count}`,
    processors,
    links: withLinks ? board.links : [],
    vms: processors.map((processor, index) => ({
      index, name: `cpu${processor.id}`, image: 'guests/build/cpu.elf', imagePath,
      kind: 'paravirtual', memoryBytes: 1 << 20, processor: processor.id, windows: [],
    })),
    channels: [],
  };
}

async function measure(name: string, board: Board, options: Options, durationMs: number, quantumNs?: bigint): Promise<Measurement> {
  const durationNs = BigInt(Math.round(durationMs * 1e6));
  const wallSeconds: number[] = [];
  let instret: bigint | undefined;
  let steps = 0;
  let usedQuantum = 0n;
  for (let run = 0; run < options.runs; run++) {
    const start = performance.now();
    const result = await runBoard({ board, durationNs, quantumNs, onConsole: () => {} });
    wallSeconds.push((performance.now() - start) / 1000);
    const total = result.vms.reduce((sum, vm) => sum + vm.instret, 0n);
    if (result.vms.some((vm) => vm.outcome !== undefined && vm.outcome.exitStatus !== 0)) {
      throw new Error(`${name}: a VM failed: ${result.messages.join('; ')}`);
    }
    if (instret !== undefined && total !== instret) throw new Error(`${name}: runs disagree on instret (${instret} vs ${total}): not deterministic`);
    instret = total;
    steps = result.steps;
    usedQuantum = result.quantumNs;
  }
  const medianSeconds = median(wallSeconds);
  return {
    name, processors: board.processors.length, quantumNs: usedQuantum, instret: instret!, steps,
    wallSeconds, medianSeconds, mips: Number(instret!) / medianSeconds / 1e6,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = packageRoot();
  const imagePath = join(root, 'guests', 'build', 'cpu.elf');
  const cluster = await readBoard(join(root, 'boards', 'cluster16.json'));
  const boardQuantum = new LinkNetwork(cluster.links).minLatencyNs()!;

  // One processor runs as many instructions as the whole board: 16 times as long.
  const count = cluster.processors.length;
  const single = await measure('single', cpuBoard(cluster, imagePath, 1, false), options, options.durationMs * count);
  const singleQ = await measure('single-q', cpuBoard(cluster, imagePath, 1, false), options, options.durationMs * count, boardQuantum);
  const board = await measure('board', cpuBoard(cluster, imagePath, count, true), options, options.durationMs);
  const rows = [single, singleQ, board];
  const efficiency = board.mips / single.mips;

  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      board: 'boards/cluster16.json', image: 'guests/build/cpu.elf', virtualMsOnBoard: options.durationMs, virtualMsSingle: options.durationMs * count, runs: options.runs,
      configurations: rows.map((row) => ({ ...row, quantumNs: Number(row.quantumNs), instret: row.instret.toString() })),
      boardOverSingle: efficiency,
    }, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push(`Ferry board benchmark: guests/build/cpu.elf on every processor, ${options.durationMs} ms of virtual time on the board ` +
    `(${options.durationMs * count} ms on one processor: the same instructions), median of ${options.runs}`);
  out.push('');
  out.push('  configuration  processors  quantum (us)   quanta   instructions    wall (s)   aggregate MIPS');
  for (const row of rows) {
    out.push(`  ${row.name.padEnd(13)}  ${String(row.processors).padStart(10)}  ${(Number(row.quantumNs) / 1000).toFixed(1).padStart(12)}  ${String(row.steps).padStart(7)}  ${row.instret.toLocaleString('en-US').padStart(13)}  ${row.medianSeconds.toFixed(3).padStart(10)}  ${row.mips.toFixed(1).padStart(15)}`);
  }
  out.push('');
  out.push(`16-processor board: ${board.mips.toFixed(1)} aggregate guest MIPS against ${single.mips.toFixed(1)} MIPS on one processor ` +
    `(board / single = ${(efficiency * 100).toFixed(0)}%, all on one host thread; ` +
    `one processor at the board's ${(Number(boardQuantum) / 1000).toFixed(0)} us quantum: ${(singleQ.mips / single.mips * 100).toFixed(0)}%).`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/board: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
