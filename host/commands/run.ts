/**
 * `ferry run <image.elf>` (one guest on one processor), `ferry run --board <file>`
 * (every VM of a board) and `ferry run --scenario <file>` (a board with events). The
 * work is in host/runner.ts and host/board-command.ts; this file parses options,
 * prints and returns the exit status (EXIT_STATUSES.run).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { imageRunSettings, readBoard } from '../board.js';
import { runBoardCommand } from '../board-command.js';
import type { BoardCommandOptions, SummaryChoice } from '../board-command.js';
import type { CoreRuntimeName } from '../core-runtime.js';
import { DEFAULT_CLOCK_HZ } from '../defaults.js';
import { interruptRequested } from '../interrupt.js';
import { ConfigError } from '../errors.js';
import { jsonText } from '../format.js';
import { coreFactoryFor, cycleLimit, runImage } from '../runner.js';
import type { VmMode } from '../runner.js';
import { readScenario } from '../scenario.js';
import { imageTraceSink, withTrace } from '../trace.js';
import { exitStatusHelp } from './exit-status.js';
import { parseCycles, parseDuration, parseDurationMs, parseMemory, parseSeed, runtimeOption } from './options.js';
import { TIME_EXAMPLES } from '../time-units.js';

/** Where a command writes: the process's streams unless a test captures them. */
export interface Io {
  stdout: { write(chunk: Uint8Array | string): unknown; isTTY?: boolean };
  stderr: { write(chunk: Uint8Array | string): unknown; isTTY?: boolean };
}

export type SetExitStatus = (status: number) => void;

const RUN_HELP = `
The guest's console goes to stdout unchanged; Ferry's own messages go to
stderr. With --json the console goes to stderr and stdout carries one JSON
document (the run's result, or a board's summary).

Times take a unit: ${TIME_EXAMPLES}. --duration is the run's planned
length, not a limit: a guest still running when it ends is not a failure
(exit 0). --max-cycles is the limit (exit 124).

With --board and no image, every VM of the board runs: 0 if all passed (or
still ran when --duration ended), 1 if any failed, 124 if --max-cycles came
first. Console lines are prefixed with the VM's name when the board has
several VMs; a per-VM summary follows on stderr (--summary: on stdout).
docs/boards.md has the details; docs/cli.md every command.

--scenario runs a scenario file's board with its events (migrations at
virtual times), with the same exit statuses. docs/scenarios.md has the
format; to migrate one VM from the command line, see ferry migrate --help.
`;

interface RunFlags {
  board?: string;
  mode?: VmMode;
  memory?: number;
  maxCycles?: bigint;
  trace?: string;
  instret?: boolean;
  runtime?: CoreRuntimeName;
  duration?: bigint;
  durationMs?: bigint;
  seed?: number;
  summary?: boolean | string;
  json?: boolean;
  progress?: boolean;
  quiet?: boolean;
  linkFaults?: string;
  scenario?: string;
}

export function addRunCommand(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('run')
    .description('run a guest image (an RV32IM ELF executable) in one VM on one processor, or the VMs of a board')
    .argument('[image.elf]', 'the guest image; without it, --board runs the VMs the board lists')
    .option('--board <file>', 'board description (boards/<name>.json, docs/boards.md); with an image: its first processor\'s clock and first VM\'s memory')
    .option('--scenario <file>', 'run a scenario (scenarios/<name>.json, docs/scenarios.md): its board with migrations at virtual times')
    .addOption(
      new Option('--mode <mode>', 'VM kind (default: machine if the image has a tohost symbol, else paravirtual)')
        .choices(['paravirtual', 'machine']),
    )
    .option('--memory <size>', 'an image\'s VM RAM, e.g. 16MiB or 512KiB (default 8MiB, or the board\'s first VM\'s)', parseMemory)
    .option('--duration <time>', `run this long in virtual time, then stop (guests still running are not a failure): ${TIME_EXAMPLES}`, parseDuration)
    .addOption(new Option('--duration-ms <ms>', 'the older spelling of --duration, in milliseconds').argParser(parseDurationMs).hideHelp())
    .option('--max-cycles <n>', 'stop with exit status 124 after n cycles of virtual time (of the board\'s first processor)', parseCycles)
    .option('--trace <file>', 'write the run\'s events to <file> as JSON lines (docs/trace.md)')
    .option('--instret', 'print the instructions the guest retired (instret: <n>) on stderr at the end')
    .option('--json', 'print the result as JSON on stdout (the consoles go to stderr)')
    .option('--summary [format]', 'board runs: print the per-VM summary on stdout, as a table or json (default: table on stderr)', parseSummaryFormat)
    .option('--no-summary', 'board runs: print no summary')
    .option('--seed <n>', 'board runs: seed of the link error model (default 0)', parseSeed)
    .option('--link-faults <spec>', 'board runs: inject link faults, e.g. drop=0.01,corrupt=0.001 (kinds: drop, corrupt, duplicate, reorder)')
    .option('--no-progress', 'board runs: no progress bar (it is shown on a terminal only, on stderr)')
    .option('--quiet', 'board runs: no progress bar, as --no-progress')
    .addOption(runtimeOption())
    .addHelpText('after', RUN_HELP + exitStatusHelp('run'))
    .action(async (imagePath: string | undefined, flags: RunFlags) => setExitStatus(await runCommand(imagePath, flags, io)));
}

function parseSummaryFormat(text: string): string {
  if (text !== 'table' && text !== 'json') throw new InvalidArgumentError('Expected table or json.');
  return text;
}

/** --json is --summary json; --summary json keeps stdout to the JSON too (consoles on stderr). */
function summaryChoice(flags: RunFlags): SummaryChoice {
  if (flags.json === true) {
    if (flags.summary === false || flags.summary === 'table') throw new ConfigError('--json prints the summary as JSON: give no --summary table or --no-summary with it');
    return 'json';
  }
  if (flags.summary === undefined) return 'stderr';
  if (flags.summary === false) return 'none';
  return flags.summary === 'json' ? 'json' : 'table';
}

/** --duration, or its older spelling --duration-ms; not both. */
function durationOf(flags: RunFlags): bigint | undefined {
  if (flags.duration !== undefined && flags.durationMs !== undefined) throw new ConfigError('give --duration or --duration-ms, not both');
  return flags.duration ?? flags.durationMs;
}

export async function runCommand(imagePath: string | undefined, flags: RunFlags, io: Io): Promise<number> {
  const durationNs = durationOf(flags);
  if (flags.scenario !== undefined || imagePath === undefined) {
    if (flags.scenario !== undefined && (imagePath !== undefined || flags.board !== undefined)) throw new ConfigError('--scenario names its own board: give no image and no --board');
    if (flags.scenario === undefined && flags.board === undefined) throw new ConfigError('run needs an image (ferry run <image.elf>) or a board (ferry run --board <file>)');
    for (const [given, name] of [[flags.mode, '--mode'], [flags.memory, '--memory']] as const) {
      if (given !== undefined) throw new ConfigError(`${name} applies to an image; a board gives each VM's kind and memory`);
    }
    const scenario = flags.scenario === undefined ? undefined : await readScenario(flags.scenario);
    const options: BoardCommandOptions = {
      board: scenario?.board.path ?? flags.board!,
      maxCycles: flags.maxCycles,
      durationNs,
      trace: flags.trace,
      summary: summaryChoice(flags),
      seed: flags.seed,
      linkFaults: flags.linkFaults,
      instret: flags.instret,
      progress: flags.progress !== false && flags.quiet !== true,
      core: coreFactoryFor(flags.runtime),
    };
    if (scenario !== undefined) options.scenario = scenario;
    return runBoardCommand(options, io);
  }
  for (const [given, name] of [[flags.seed, '--seed'], [flags.linkFaults, '--link-faults'], [flags.summary, '--summary']] as const) {
    if (given !== undefined) throw new ConfigError(`${name} applies to board runs (ferry run --board <file> without an image)`);
  }
  return runImageCommand(imagePath, flags, durationNs, io);
}

async function runImageCommand(imagePath: string, flags: RunFlags, durationNs: bigint | undefined, io: Io): Promise<number> {
  const board: { clockHz?: number; ramBytes?: number } = flags.board === undefined ? {} : imageRunSettings(await readBoard(flags.board));
  const clockHz = board.clockHz ?? DEFAULT_CLOCK_HZ;
  const limit = cycleLimit(flags.maxCycles, durationNs, clockHz);
  const json = flags.json === true;
  return withTrace(flags.trace, async (trace) => {
    const result = await runImage({
      imagePath,
      mode: flags.mode,
      runtime: flags.runtime,
      maxCycles: limit.cycles,
      clockHz: board.clockHz,
      ramBytes: flags.memory ?? board.ramBytes,
      // Raw bytes, as the guest wrote them: no decoding, no added newlines.
      onConsole: (bytes) => (json ? io.stderr : io.stdout).write(bytes),
      onEvent: (event) => trace?.write(event),
      onCoreTrace: trace === undefined ? undefined : imageTraceSink(imagePath, () => clockHz, (records) => trace.writeAll(records)),
      interrupted: interruptRequested,
    });
    // The planned duration ran out: the guest ran as long as it was meant to.
    const durationEnded = limit.isDuration && result.reason === 'max-cycles';
    const exitStatus = durationEnded ? 0 : result.exitStatus;
    if (json) {
      const { console: _console, message, ...fields } = result;
      io.stdout.write(jsonText({ image: imagePath, ...fields, reason: durationEnded ? 'duration' : result.reason, exitStatus, ...(durationEnded || message === undefined ? {} : { message }) }));
      return exitStatus;
    }
    if (result.message !== undefined && !durationEnded) io.stderr.write(`${result.message}\n`);
    if (flags.instret === true) io.stderr.write(`instret: ${result.instret}\n`);
    return exitStatus;
  });
}
