/**
 * `ferry run --board <file>` without an image: runs every VM the board
 * lists until all have stopped, the cycle limit (--max-cycles, exit 124) or
 * the planned duration (--duration, exit 0) is reached, prints
 * their consoles (each line prefixed with the VM's name when there are
 * several), then a per-VM summary. docs/boards.md describes the output.
 */
import { interruptRequested } from './interrupt.js';
import { readBoard } from './board.js';
import { cyclesLimitNs, runBoard } from './board-runner.js';
import type { BoardRunResult } from './board-runner.js';
import type { CoreFactory } from './core-runtime.js';
import { ConsoleLines } from './console-lines.js';
import { ConfigError } from './errors.js';
import { parseLinkFaults } from './link-faults.js';
import { formatMigrationReport } from './migration.js';
import { BoardProgress } from './progress.js';
import { eventsAfter } from './scenario.js';
import type { Scenario } from './scenario.js';
import { formatProblems } from './board-schema.js';
import { formatSummary, summaryJson } from './summary.js';
import { formatVirtualTime } from './summary.js';
import { withTrace } from './trace.js';

export interface BoardCommandIo {
  stdout: { write(chunk: Uint8Array | string): unknown };
  stderr: { write(chunk: Uint8Array | string): unknown; isTTY?: boolean };
}

/** Where the summary goes: a table on stderr (default), a table or JSON on stdout, or nowhere. */
export type SummaryChoice = 'stderr' | 'table' | 'json' | 'none';

export interface BoardCommandOptions {
  /** The board file; ignored when a scenario is given (it names its board). */
  board: string;
  /** A scenario (docs/scenarios.md): its board, events, duration, seed and link faults; options given here win. */
  scenario?: Scenario;
  maxCycles?: bigint;
  /** The run's planned length in virtual ns (from --duration): VMs still running then are not a failure. */
  durationNs?: bigint;
  trace?: string;
  summary: SummaryChoice;
  seed?: number;
  linkFaults?: string;
  instret?: boolean;
  /** A progress bar on stderr, if it is a terminal and the run has a known length. */
  progress?: boolean;
  core: CoreFactory;
}

export async function runBoardCommand(options: BoardCommandOptions, io: BoardCommandIo): Promise<number> {
  const scenario = options.scenario;
  const board = scenario?.board ?? await readBoard(options.board);
  if (board.vms.length === 0) {
    throw new ConfigError(`board ${options.board} lists no VMs: give an image to run (ferry run <image.elf> --board ${options.board})`);
  }
  const limitNs = options.maxCycles === undefined ? undefined : cyclesLimitNs(board, options.maxCycles);
  const linkFaults = options.linkFaults === undefined ? scenario?.linkFaults : parseLinkFaults(options.linkFaults);

  const durationNs = options.durationNs ?? scenario?.durationNs;
  if (scenario !== undefined && options.durationNs !== undefined) {
    const late = eventsAfter(scenario.timed, options.durationNs, `the run's end (--duration ${formatVirtualTime(options.durationNs)})`);
    if (late.length > 0) throw new ConfigError(`scenario ${scenario.path}: ${formatProblems(late)}`);
  }
  // JSON on stdout is one document: the consoles go to stderr then.
  const consoleLines = new ConsoleLines((chunk) => (options.summary === 'json' ? io.stderr : io.stdout).write(chunk), board.vms.length > 1);
  const endNs = durationNs === undefined ? limitNs : limitNs === undefined || durationNs < limitNs ? durationNs : limitNs;
  const progress = options.progress === true && io.stderr.isTTY === true && endNs !== undefined ? new BoardProgress(endNs) : undefined;
  let result: BoardRunResult;
  try {
    result = await withTrace(options.trace, (trace) => runBoard({
      board,
      core: options.core,
      limitNs,
      durationNs,
      seed: options.seed ?? scenario?.seed,
      events: scenario?.events,
      faults: scenario?.faults,
      linkFaults,
      interrupted: interruptRequested,
      onConsole: (vm, bytes) => consoleLines.add(vm.name, bytes),
      onTrace: trace === undefined ? undefined : (records) => trace.writeAll(records),
      onBoundary: progress === undefined ? undefined : (atNs) => progress.update(atNs),
    }));
  } finally {
    progress?.stop();
    consoleLines.finish();
  }
  for (const message of result.messages) io.stderr.write(`${message}\n`);
  if (options.instret === true) {
    for (const vm of result.vms) io.stderr.write(`instret ${vm.name}: ${vm.instret}\n`);
  }
  writeSummary(result, options.summary, io);
  return result.exitStatus;
}

/** Migration reports go with the table form of the summary (the JSON form has them as `migrations`). */
function writeMigrations(result: BoardRunResult, choice: SummaryChoice, io: BoardCommandIo): void {
  if (result.migrations.length === 0 || choice === 'json' || choice === 'none') return;
  const text = result.migrations.map(formatMigrationReport).join('');
  if (choice === 'stderr') io.stderr.write(text);
  else io.stdout.write(text);
}

function writeSummary(result: BoardRunResult, choice: SummaryChoice, io: BoardCommandIo): void {
  writeMigrations(result, choice, io);
  switch (choice) {
    case 'stderr': io.stderr.write(formatSummary(result)); break;
    case 'table': io.stdout.write(formatSummary(result)); break;
    case 'json': io.stdout.write(summaryJson(result)); break;
    case 'none': break;
  }
}
