/**
 * `ferry checkpoint`, `ferry restore` and `ferry inspect`: the collector's
 * commands (docs/stream-format.md). The work is in host/checkpoint.ts; this
 * file parses options and prints.
 */
import { writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { imageRunSettings, readBoard } from '../board.js';
import { checkStream, checkpointGuest, restoreGuest } from '../checkpoint.js';
import type { CheckpointInfo } from '../checkpoint.js';
import { coreFactoryFor, describeFsError } from '../runner.js';
import type { VmMode } from '../runner.js';
import { ConfigError } from '../errors.js';
import { StreamError } from '../stream-errors.js';
import { formatStream, parseStream, streamJson } from '../stream-inspect.js';

/** Where the commands write (the CLI's CliIo). */
interface Io {
  stdout: { write(chunk: Uint8Array | string): unknown };
  stderr: { write(chunk: Uint8Array | string): unknown };
}

type SetExitStatus = (status: number) => void;

interface CheckpointFlags {
  output: string;
  atCycle: bigint;
  vm?: string;
  incrementalEvery?: bigint;
  board?: string;
  mode?: VmMode;
}

interface RestoreFlags {
  board?: string;
  maxCycles?: bigint;
  instret?: boolean;
}

interface InspectFlags {
  json?: boolean;
}

/** Registers the three commands on the ferry program. */
export function addCheckpointCommands(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('checkpoint')
    .description('run a guest to a cycle and write its checkpoint stream (docs/stream-format.md)')
    .argument('<board|image.elf>', 'a guest image, or a board file (.json): then the whole board runs and the VM is captured inside it')
    .requiredOption('-o, --output <file.ferry>', 'where to write the stream')
    .requiredOption('--at-cycle <n>', 'virtual time (cycles) of the checkpoint a restore resumes from', parseCycles)
    .option('--vm <id>', 'the VM to checkpoint: a board VM\'s name or index (an image runs as VM 0); on a board the capture is at the first lockstep boundary at or after each cycle')
    .option('--incremental-every <n>', 'a full checkpoint at n cycles, then an incremental one every n cycles; the last at --at-cycle', parseCycles)
    .option('--board <file>', 'with an image: the board\'s first processor clock and first VM memory, as `ferry run --board`')
    .addOption(new Option('--mode <mode>', 'VM kind for an image (default: machine if it has a tohost symbol)').choices(['paravirtual', 'machine']))
    .addHelpText('after', '\nThe guest\'s console output up to the checkpoint goes to stdout; `ferry restore` prints the rest.\n')
    .action(async (source: string, flags: CheckpointFlags) => setExitStatus(await checkpointCommand(source, flags, io)));

  program
    .command('restore')
    .description('restore a checkpoint stream into a fresh processor and run the VM on (console to stdout, exit status as `ferry run`)')
    .argument('<file.ferry>', 'a stream written by `ferry checkpoint`')
    .option('--board <file>', 'take the processor clock from the board\'s first processor (default: the clock the stream was captured at)')
    .option('--max-cycles <n>', 'stop with exit status 124 when virtual time reaches n cycles (the same point as `ferry run --max-cycles n`)', parseCycles)
    .option('--instret', 'print the instructions the guest retired (instret: <n>) on stderr at the end')
    .action(async (path: string, flags: RestoreFlags) => setExitStatus(await restoreCommand(path, flags, io)));

  program
    .command('inspect')
    .description('print the records of a checkpoint stream (offset, type, length, summary) and whether the core accepts it')
    .argument('<file.ferry>', 'a stream written by `ferry checkpoint`')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', '\nExit status: 0 the stream is valid; 2 it is refused (the reason on stderr) or unreadable.\n')
    .action(async (path: string, flags: InspectFlags) => setExitStatus(await inspectCommand(path, flags, io)));
}

function parseCycles(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(digits)) throw new InvalidArgumentError('Expected a whole number of cycles (decimal or 0x hex).');
  const cycles = BigInt(digits);
  if (cycles < 1n || cycles >= 2n ** 64n) throw new InvalidArgumentError('Expected at least 1 and below 2^64.');
  return cycles;
}

async function checkpointCommand(source: string, flags: CheckpointFlags, io: Io): Promise<number> {
  const isBoard = source.toLowerCase().endsWith('.json');
  if (!isBoard && flags.vm !== undefined && flags.vm !== '0') {
    throw new ConfigError(`--vm ${flags.vm}: an image runs as VM 0; give a board file to choose another VM`);
  }
  const result = await checkpointGuest({
    ...(isBoard ? { boardPath: source, vm: flags.vm } : { imagePath: source, boardPath: flags.board, mode: flags.mode }),
    atCycle: flags.atCycle,
    incrementalEvery: flags.incrementalEvery,
    onConsole: (bytes) => io.stdout.write(bytes),
  });
  try {
    await writeFile(flags.output, result.stream);
  } catch (error) {
    throw new ConfigError(`${flags.output}: cannot write the stream (${describeFsError(error)})`);
  }
  io.stderr.write(`ferry: wrote ${flags.output}: ${describeCheckpoints(result.checkpoints)}, ${result.stream.length} bytes\n`);
  return 0;
}

function describeCheckpoints(checkpoints: CheckpointInfo[]): string {
  const [first] = checkpoints;
  const last = checkpoints[checkpoints.length - 1]!;
  if (checkpoints.length === 1) return `a full checkpoint at cycle ${first!.atCycles}`;
  return `a full checkpoint at cycle ${first!.atCycles} and ${checkpoints.length - 1} incremental ones, the last at cycle ${last.atCycles}`;
}

async function restoreCommand(path: string, flags: RestoreFlags, io: Io): Promise<number> {
  const clockHz = flags.board === undefined ? undefined : imageRunSettings(await readBoard(flags.board)).clockHz;
  const result = await restoreGuest({
    streamPath: path,
    clockHz,
    maxCycles: flags.maxCycles,
    onConsole: (bytes) => io.stdout.write(bytes),
  });
  if (result.message !== undefined) io.stderr.write(`${result.message}\n`);
  if (flags.instret === true) io.stderr.write(`instret: ${result.instret}\n`);
  return result.exitStatus;
}

async function inspectCommand(path: string, flags: InspectFlags, io: Io): Promise<number> {
  let stream: Uint8Array;
  try {
    stream = await readFile(path);
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the stream (${describeFsError(error)})`);
  }
  const parsed = parseStream(stream);
  const verdict = await coreVerdict(stream, path);
  if (flags.json === true) {
    const refusal = verdict instanceof StreamError ? { message: verdict.message, ...jsonSafe(verdict.refusal) } : null;
    io.stdout.write(JSON.stringify({ file: path, ...streamJson(parsed), valid: refusal === null, refusal, ...(refusal === null ? { resume: jsonSafe(verdict) } : {}) }, null, 2) + '\n');
  } else {
    io.stdout.write(formatStream(parsed, path));
    if (!(verdict instanceof StreamError)) {
      io.stdout.write(`valid: ${verdict.checkpoints} checkpoint${verdict.checkpoints === 1 ? '' : 's'}; a ${verdict.kind} VM with ${verdict.ramBytes} bytes of RAM resumes at cycle ${verdict.captureCycles}\n`);
    }
  }
  if (verdict instanceof StreamError) throw verdict;
  return 0;
}

/** The core's verdict on the stream: what it would resume, or why it refuses. */
async function coreVerdict(stream: Uint8Array, path: string) {
  const core = await coreFactoryFor()(() => {});
  try {
    return checkStream(core, stream, -1, path);
  } catch (error) {
    if (error instanceof StreamError) return error;
    throw error;
  }
}

function jsonSafe(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, typeof field === 'bigint' ? field.toString() : field]));
}
