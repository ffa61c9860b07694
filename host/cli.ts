/**
 * The `ferry` command line. The exit statuses and messages are a contract
 * (tests and scripts rely on them): see EXIT_STATUS_HELP.
 */
import { basename } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { imageRunSettings, readBoard } from './board.js';
import { addCheckpointCommands } from './commands/checkpoint.js';
import { addMigrateCommand } from './commands/migrate.js';
import { addAnalyzeCommand } from './commands/analyze.js';
import { addReportCommand } from './commands/report.js';
import { readScenario } from './scenario.js';
import { parseDurationMs, runBoardCommand } from './board-command.js';
import type { SummaryChoice } from './board-command.js';
import { CORE_RUNTIMES } from './core-runtime.js';
import type { CoreRuntimeName, TraceSink } from './core-runtime.js';
import { DEFAULT_CLOCK_HZ } from './defaults.js';
import { ConfigError, FerryError } from './errors.js';
import { packageVersion } from './package-root.js';
import { coreFactoryFor, runImage } from './runner.js';
import type { VmMode } from './runner.js';
import { TraceWriter, coreTraceRecord } from './trace.js';
import { cyclesToNs } from './lockstep.js';

/** Where the CLI writes; the process's streams unless a test captures them. */
export interface CliIo {
  stdout: { write(chunk: Uint8Array | string): unknown };
  stderr: { write(chunk: Uint8Array | string): unknown };
}

/** Bad image, bad option, bad board: the user's input, reported in one line. */
export const USAGE_EXIT_STATUS = 2;
/** A bug in ferry or its core, reported with a stack trace. */
export const INTERNAL_EXIT_STATUS = 3;

const EXIT_STATUS_HELP = `
The guest's console output goes to stdout unchanged; ferry's own messages
go to stderr.

Exit status of run:
  0    the guest passed: SRST shutdown with reason none, tohost = 1,
       or 0x5555 written to the test finisher
  1    the guest failed: SRST shutdown with reason system failure,
       tohost = odd v (test v>>1 failed), finisher 0x3333 | code << 16,
       a reboot request, a trap with no usable handler (a fault), or a VM
       waiting with nothing left to wake it
  2    bad image, bad option or bad board file (one line on stderr)
  3    internal error (a bug in ferry)
  124  --max-cycles ran out before the guest stopped

--duration-ms is the run's planned length, not a limit: a guest still
running when it ends is not a failure (exit 0).

With --board and no image, every VM of the board runs: 0 if all passed
(or still ran when --duration-ms ended), 1 if any failed, 124 if
--max-cycles came first. Console lines are prefixed with the VM's name
when the board has several VMs; a per-VM summary follows on stderr
(--summary: on stdout). docs/boards.md has the details.

--scenario runs a scenario file's board with its events (migrations at
virtual times), with the same exit statuses; each migration's report
comes with the summary. docs/scenarios.md has the format. To migrate one
VM from the command line, see ferry migrate --help.
`;

interface RunFlags {
  board?: string;
  mode?: VmMode;
  maxCycles?: bigint;
  trace?: string;
  instret?: boolean;
  runtime?: CoreRuntimeName;
  durationMs?: bigint;
  seed?: number;
  summary?: boolean | string;
  linkFaults?: string;
  scenario?: string;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit status. */
export async function main(argv: string[], io: CliIo = process): Promise<number> {
  let exitStatus = 0;
  const program = buildProgram(io, (status) => (exitStatus = status));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitStatus;
  } catch (error) {
    return reportError(error, io);
  }
}

function buildProgram(io: CliIo, setExitStatus: (status: number) => void): Command {
  const program = new Command('ferry')
    .description('Ferry: a paravirtual real-time hypervisor for RV32IM guests on emulated boards')
    .version(packageVersion())
    // Settings made before .command() are inherited by the subcommands.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's messages start with "error: ".
      outputError: (text, write) => write(`ferry: ${text}`),
    })
    .showSuggestionAfterError()
    .addHelpText('after', EXIT_STATUS_HELP);
  addRunCommand(program, io, setExitStatus);
  addCheckpointCommands(program, io, setExitStatus);
  addMigrateCommand(program, io, setExitStatus);
  addAnalyzeCommand(program, io, setExitStatus);
  addReportCommand(program, io, setExitStatus);
  return program;
}

function addRunCommand(program: Command, io: CliIo, setExitStatus: (status: number) => void): void {
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
    .option('--max-cycles <n>', 'stop with exit status 124 after n cycles of virtual time (of the board\'s first processor)', parseCycles)
    .option('--duration-ms <ms>', 'run for this many milliseconds of virtual time, then stop (guests still running are not a failure)', parseDuration)
    .option('--trace <file>', 'write the run\'s events to <file> as JSON lines')
    .option('--instret', 'print the instructions the guest retired (instret: <n>) on stderr at the end')
    .option('--summary [format]', 'board runs: print the per-VM summary on stdout, as a table or json (default: table on stderr)', parseSummaryFormat)
    .option('--no-summary', 'board runs: print no summary')
    .option('--seed <n>', 'board runs: seed of the link error model (default 0)', parseSeed)
    .option('--link-faults <spec>', 'board runs: inject link faults, e.g. drop=0.01,corrupt=0.001 (kinds: drop, corrupt, duplicate, reorder)')
    .addOption(
      new Option('--runtime <runtime>', 'run the core as a plain WebAssembly module or as a component (docs/runtimes.md)')
        .choices([...CORE_RUNTIMES])
        .default('module'),
    )
    .addHelpText('after', EXIT_STATUS_HELP)
    .action(async (imagePath: string | undefined, flags: RunFlags) => setExitStatus(await runCommand(imagePath, flags, io)));
}

/** Decimal or 0x-hex, underscores allowed: 100_000_000 or 0x5f5e100. */
function parseCycles(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(digits)) throw new InvalidArgumentError('Expected a whole number of cycles (decimal or 0x hex).');
  const cycles = BigInt(digits);
  if (cycles < 1n || cycles >= 2n ** 64n) throw new InvalidArgumentError('Expected at least 1 and below 2^64.');
  return cycles;
}

/** --duration-ms: virtual milliseconds, decimals allowed. */
function parseDuration(text: string): bigint {
  try {
    return parseDurationMs(text);
  } catch {
    throw new InvalidArgumentError('Expected milliseconds of virtual time, e.g. 250 or 0.5.');
  }
}

function parseSeed(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) throw new InvalidArgumentError('Expected a whole number from 0 to 4294967295.');
  return Number(text);
}

function parseSummaryFormat(text: string): string {
  if (text !== 'table' && text !== 'json') throw new InvalidArgumentError('Expected table or json.');
  return text;
}

function summaryChoice(summary: boolean | string | undefined): SummaryChoice {
  if (summary === undefined) return 'stderr';
  if (summary === false) return 'none';
  return summary === 'json' ? 'json' : 'table';
}

async function runCommand(imagePath: string | undefined, flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.scenario !== undefined) {
    if (imagePath !== undefined || flags.board !== undefined) throw new ConfigError('--scenario names its own board: give no image and no --board');
    if (flags.mode !== undefined) throw new ConfigError('--mode applies to an image; a board gives each VM\'s kind');
    const scenario = await readScenario(flags.scenario);
    return runBoardCommand({
      board: scenario.board.path,
      scenario,
      maxCycles: flags.maxCycles,
      durationNs: flags.durationMs,
      trace: flags.trace,
      summary: summaryChoice(flags.summary),
      seed: flags.seed,
      linkFaults: flags.linkFaults,
      instret: flags.instret,
      core: coreFactoryFor(flags.runtime),
    }, io);
  }
  if (imagePath === undefined) {
    if (flags.board === undefined) throw new ConfigError('run needs an image (ferry run <image.elf>) or a board (ferry run --board <file>)');
    if (flags.mode !== undefined) throw new ConfigError('--mode applies to an image; a board gives each VM\'s kind');
    return runBoardCommand({
      board: flags.board,
      maxCycles: flags.maxCycles,
      durationNs: flags.durationMs,
      trace: flags.trace,
      summary: summaryChoice(flags.summary),
      seed: flags.seed,
      linkFaults: flags.linkFaults,
      instret: flags.instret,
      core: coreFactoryFor(flags.runtime),
    }, io);
  }
  for (const [given, name] of [[flags.seed, '--seed'], [flags.linkFaults, '--link-faults'], [flags.summary, '--summary']] as const) {
    if (given !== undefined) throw new ConfigError(`${name} applies to board runs (ferry run --board <file> without an image)`);
  }
  const board: { clockHz?: number; ramBytes?: number } = flags.board === undefined ? {} : imageRunSettings(await readBoard(flags.board));
  const limit = imageCycleLimit(flags, board.clockHz);
  const trace = flags.trace === undefined ? undefined : TraceWriter.open(flags.trace);
  try {
    const result = await runImage({
      imagePath,
      mode: flags.mode,
      runtime: flags.runtime,
      maxCycles: limit.cycles,
      clockHz: board.clockHz,
      ramBytes: board.ramBytes,
      // Raw bytes, as the guest wrote them: no decoding, no added newlines.
      onConsole: (bytes) => io.stdout.write(bytes),
      onEvent: (event) => trace?.write(event),
      onCoreTrace: trace === undefined ? undefined : imageTraceSink(trace, imagePath, board.clockHz ?? DEFAULT_CLOCK_HZ),
    });
    // The planned duration ran out: the guest ran as long as it was meant to.
    const durationEnded = limit.isDuration && result.reason === 'max-cycles';
    if (result.message !== undefined && !durationEnded) io.stderr.write(`${result.message}\n`);
    if (flags.instret === true) io.stderr.write(`instret: ${result.instret}\n`);
    return durationEnded ? 0 : result.exitStatus;
  } finally {
    trace?.close();
  }
}

/** The core's events of a one-image run as trace records (docs/trace.md): processor 0, the VM named after its image. */
function imageTraceSink(trace: TraceWriter, imagePath: string, clockHz: number): TraceSink {
  const name = basename(imagePath).replace(/\.elf$/i, '');
  return (event, vm, atCycles, a, b) => {
    trace.write(coreTraceRecord(0, cyclesToNs(atCycles, clockHz), event, vm, atCycles, a, b, () => name));
  };
}

/** --max-cycles and --duration-ms together: whichever comes first, in cycles of the processor's clock (the limit wins a tie). */
function imageCycleLimit(flags: RunFlags, clockHz: number | undefined): { cycles?: bigint; isDuration: boolean } {
  if (flags.durationMs === undefined) return { cycles: flags.maxCycles, isDuration: false };
  const durationCycles = (flags.durationMs * BigInt(clockHz ?? DEFAULT_CLOCK_HZ)) / 1_000_000_000n;
  const cycles = durationCycles < 1n ? 1n : durationCycles;
  if (flags.maxCycles !== undefined && flags.maxCycles <= cycles) return { cycles: flags.maxCycles, isDuration: false };
  return { cycles, isDuration: true };
}

function reportError(error: unknown, io: CliIo): number {
  // Commander has already printed its message (or the help).
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT_STATUS;
  if (error instanceof FerryError) {
    io.stderr.write(`ferry: error: ${oneLine(error.message)}\n`);
    return USAGE_EXIT_STATUS;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`ferry: internal error: ${detail}\n`);
  return INTERNAL_EXIT_STATUS;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
