/**
 * Runtimes benchmark: what a processor in another process (docs/runtimes.md) costs a board,
 * per lockstep quantum, against the same processor in this process — on the quad board
 * (boards/quad.json: four processors, 10 us quanta, the control application), in one run.
 *
 *   npm run build && npm run bench:runtimes [-- --runs N] [-- --json]
 *
 * Configurations, each run for 100 ms of virtual time (10,000 quanta):
 *   module          every processor a plain module in this process (the baseline)
 *   1 native        processor 3 is the native firmware (ferry-native --serve), the rest modules
 *   1 wasmtime      processor 3 is the component on wasmtime, the rest modules
 *   4 native        every processor native
 *   4 wasmtime      every processor on wasmtime
 * Overhead per quantum = (median wall of the configuration - median wall of the baseline)
 * / quanta / processors out of process, i.e. the time one out-of-process processor adds to
 * one quantum (its exchange, and the work its runtime does slower or faster than the
 * module). Wall time is performance.now() around runBoard: starting the processes and
 * loading the images are included, as a user's run pays them. Every configuration must
 * give the module's result (VM consoles, instructions, counters), so the work compared is
 * the same. The configurations take turns within each run, so a busy machine slows them alike.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import type { BoardRunResult } from '../host/board-runner.js';
import type { CoreRuntimeName } from '../host/core-runtime.js';
import { packageRoot } from '../host/package-root.js';
import { median, parseRunOptions } from './statistics.js';

const DURATION_NS = 100_000_000n;

interface Configuration { name: string; runtimes: (CoreRuntimeName | undefined)[] }

const CONFIGURATIONS: Configuration[] = [
  { name: 'module', runtimes: [undefined, undefined, undefined, undefined] },
  { name: '1 native', runtimes: [undefined, undefined, undefined, 'native'] },
  { name: '1 wasmtime', runtimes: [undefined, undefined, undefined, 'wasmtime'] },
  { name: '4 native', runtimes: ['native', 'native', 'native', 'native'] },
  { name: '4 wasmtime', runtimes: ['wasmtime', 'wasmtime', 'wasmtime', 'wasmtime'] },
];

/** What must not depend on the runtime: everything a VM did and a processor counted. */
function fingerprint(result: BoardRunResult): string {
  return JSON.stringify({ vms: result.vms, processors: result.processors, channels: result.channels, steps: result.steps },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

async function timedRun(board: Board, runtimes: (CoreRuntimeName | undefined)[]): Promise<{ seconds: number; result: BoardRunResult }> {
  const configured: Board = {
    ...board,
    processors: board.processors.map((processor, i) => {
      const { runtime: _runtime, ...rest } = processor;
      return runtimes[i] === undefined ? rest : { ...rest, runtime: runtimes[i] };
    }),
  };
  const start = performance.now();
  const result = await runBoard({ board: configured, durationNs: DURATION_NS });
  return { seconds: (performance.now() - start) / 1000, result };
}

async function main(): Promise<void> {
  const options = parseRunOptions(process.argv.slice(2));
  const root = packageRoot();
  const missing = [
    existsSync(join(root, 'build', 'native', 'ferry-native')) ? undefined : 'build/native/ferry-native (npm run build:native)',
    existsSync(join(root, '.venv', 'bin', 'python')) ? undefined : '.venv (npm run setup:wasmtime)',
  ].filter((what) => what !== undefined);
  if (missing.length > 0) throw new Error(`needs ${missing.join(' and ')}`);
  const board = await readBoard(join(root, 'boards', 'quad.json'));

  const seconds = new Map(CONFIGURATIONS.map((c) => [c.name, [] as number[]]));
  let baseline: string | undefined;
  let quanta = 0;
  for (let run = 0; run < options.runs; run++) {
    for (const configuration of CONFIGURATIONS) {
      const { seconds: wall, result } = await timedRun(board, configuration.runtimes);
      const print = fingerprint(result);
      baseline ??= print;
      if (print !== baseline) throw new Error(`${configuration.name}: the board ran differently than on modules: the runtimes are not equivalent`);
      quanta = result.steps;
      seconds.get(configuration.name)!.push(wall);
    }
  }

  const moduleWall = median(seconds.get('module')!);
  const rows = CONFIGURATIONS.map(({ name, runtimes }) => {
    const outOfProcess = runtimes.filter((runtime) => runtime !== undefined).length;
    const wall = median(seconds.get(name)!);
    const overheadUs = outOfProcess === 0 ? 0 : ((wall - moduleWall) / quanta / outOfProcess) * 1e6;
    return { name, outOfProcess, wallSeconds: seconds.get(name)!, medianSeconds: wall, perQuantumUs: (wall / quanta) * 1e6, overheadPerProcessorQuantumUs: overheadUs };
  });

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ board: 'boards/quad.json', durationNs: DURATION_NS.toString(), quanta, runs: options.runs, configurations: rows }, null, 2)}\n`);
    return;
  }
  const out = [
    `Ferry runtimes benchmark: boards/quad.json for ${Number(DURATION_NS) / 1e6} ms of virtual time (${quanta.toLocaleString('en-US')} quanta of 10 us), ${options.runs} run(s) each`,
    '',
    '  configuration   median wall   per quantum   added per out-of-process processor and quantum',
    ...rows.map((row) => `  ${row.name.padEnd(14)} ${row.medianSeconds.toFixed(3).padStart(9)} s  ${row.perQuantumUs.toFixed(1).padStart(9)} us  ${row.outOfProcess === 0 ? '(baseline)' : `${row.overheadPerProcessorQuantumUs.toFixed(1).padStart(8)} us`}`),
    '',
    '  (every configuration gave the same VM consoles, instructions and counters as the modules;',
    '   walls include starting the processes and loading the images)',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/runtimes: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
