/**
 * The `ferry` command line. The exit statuses and messages are a contract
 * (tests and scripts rely on them): see EXIT_STATUS_HELP.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readBoard } from './board.js';
import type { BoardSettings } from './board.js';
import { FerryError } from './errors.js';
import { packageVersion } from './package-root.js';
import { runImage } from './runner.js';
import type { VmMode } from './runner.js';
import { TraceWriter } from './trace.js';

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
`;

interface RunFlags {
  board?: string;
  mode?: VmMode;
  maxCycles?: bigint;
  trace?: string;
  instret?: boolean;
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
  return program;
}

function addRunCommand(program: Command, io: CliIo, setExitStatus: (status: number) => void): void {
  program
    .command('run')
    .description('run a guest image (an RV32IM ELF executable) in one VM on one processor')
    .argument('<image.elf>', 'the guest image')
    .option('--board <file>', 'board description (boards/<name>.json): processor clock and VM RAM size')
    .addOption(
      new Option('--mode <mode>', 'VM kind (default: machine if the image has a tohost symbol, else paravirtual)')
        .choices(['paravirtual', 'machine']),
    )
    .option('--max-cycles <n>', 'stop with exit status 124 after n cycles of virtual time', parseCycles)
    .option('--trace <file>', 'write the run\'s events to <file> as JSON lines')
    .option('--instret', 'print the instructions the guest retired (instret: <n>) on stderr at the end')
    .addHelpText('after', EXIT_STATUS_HELP)
    .action(async (imagePath: string, flags: RunFlags) => setExitStatus(await runCommand(imagePath, flags, io)));
}

/** Decimal or 0x-hex, underscores allowed: 100_000_000 or 0x5f5e100. */
function parseCycles(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(digits)) throw new InvalidArgumentError('Expected a whole number of cycles (decimal or 0x hex).');
  const cycles = BigInt(digits);
  if (cycles < 1n || cycles >= 2n ** 64n) throw new InvalidArgumentError('Expected at least 1 and below 2^64.');
  return cycles;
}

async function runCommand(imagePath: string, flags: RunFlags, io: CliIo): Promise<number> {
  const board: BoardSettings = flags.board === undefined ? {} : await readBoard(flags.board);
  const trace = flags.trace === undefined ? undefined : TraceWriter.open(flags.trace);
  try {
    const result = await runImage({
      imagePath,
      mode: flags.mode,
      maxCycles: flags.maxCycles,
      clockHz: board.clockHz,
      ramBytes: board.ramBytes,
      // Raw bytes, as the guest wrote them: no decoding, no added newlines.
      onConsole: (bytes) => io.stdout.write(bytes),
      onEvent: (event) => trace?.write(event),
    });
    if (result.message !== undefined) io.stderr.write(`${result.message}\n`);
    if (flags.instret === true) io.stderr.write(`instret: ${result.instret}\n`);
    return result.exitStatus;
  } finally {
    trace?.close();
  }
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
