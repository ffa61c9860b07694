/**
 * `ferry checkpoint`, `ferry restore` and `ferry inspect`: the collector's
 * commands (docs/stream-format.md). The work is in host/checkpoint.ts; this
 * file parses options and prints.
 */
import { interruptRequested } from '../interrupt.js';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { imageRunSettings, readBoard } from '../board.js';
import { checkStream, checkpointGuest, restoreGuest } from '../checkpoint.js';
import type { CheckpointInfo } from '../checkpoint.js';
import { coreFactoryFor } from '../runner.js';
import type { VmMode } from '../runner.js';
import { ConfigError } from '../errors.js';
import { jsonText } from '../format.js';
import { describeFsError, readStreamFile } from '../input-file.js';
import { StreamError } from '../stream-errors.js';
import { formatStream, parseStream, streamJson } from '../stream-inspect.js';
import { TIME_EXAMPLES } from '../time-units.js';
import { withTrace } from '../trace.js';
import { exitStatusHelp } from './exit-status.js';
import { parseCycles, parseDuration, parseMemory, runtimeOption } from './options.js';
import type { CoreRuntimeName } from '../core-runtime.js';
import type { Io, SetExitStatus } from './run.js';

interface CheckpointFlags {
  output: string;
  runtime?: CoreRuntimeName;
  atCycle?: bigint;
  duration?: bigint;
  vm?: string;
  incrementalEvery?: bigint;
  board?: string;
  mode?: VmMode;
  memory?: number;
  trace?: string;
  json?: boolean;
}

interface RestoreFlags {
  board?: string;
  runtime?: CoreRuntimeName;
  maxCycles?: bigint;
  duration?: bigint;
  trace?: string;
  instret?: boolean;
  json?: boolean;
}

interface InspectFlags {
  json?: boolean;
}

/** Registers the three commands on the ferry program. */
export function addCheckpointCommands(program: Command, io: Io, setExitStatus: SetExitStatus): void {
  program
    .command('checkpoint')
    .description('run a guest for a while and write its checkpoint stream (docs/stream-format.md)')
    .argument('<board|image.elf>', 'a guest image, or a board file (.json): then the whole board runs and the VM is captured inside it')
    .requiredOption('-o, --output <file.ferry>', 'where to write the stream (written whole, or not at all)')
    .option('--duration <time>', `take the checkpoint after this much virtual time: ${TIME_EXAMPLES}`, parseDuration)
    .option('--at-cycle <n>', 'or at this cycle of the VM\'s processor clock', parseCycles)
    .option('--vm <id>', 'the VM to checkpoint: a board VM\'s name or index (an image runs as VM 0); on a board the capture is at the first lockstep boundary at or after the time')
    .option('--incremental-every <n>', 'a full checkpoint at n cycles, then an incremental one every n cycles; the last at the checkpoint\'s time', parseCycles)
    .option('--board <file>', 'with an image: the board\'s first processor clock and first VM memory, as `ferry run --board`')
    .addOption(new Option('--mode <mode>', 'VM kind for an image (default: machine if it has a tohost symbol)').choices(['paravirtual', 'machine']))
    .option('--memory <size>', 'an image\'s VM RAM, e.g. 16MiB (default 8MiB, or the board\'s first VM\'s)', parseMemory)
    .option('--trace <file>', 'write the run\'s events up to the checkpoint to <file> as JSON lines (docs/trace.md)')
    .option('--json', 'print what was written as JSON on stdout (the console goes to stderr)')
    .addOption(runtimeOption())
    .addHelpText('after', `\nThe guest's console output up to the checkpoint goes to stdout; \`ferry restore\` prints the rest.\n${exitStatusHelp('checkpoint')}`)
    .action(async (source: string, flags: CheckpointFlags) => setExitStatus(await checkpointCommand(source, flags, io)));

  program
    .command('restore')
    .description('restore a checkpoint stream into a fresh processor and run the VM on (console to stdout, exit status as `ferry run`)')
    .argument('<file.ferry>', 'a stream written by `ferry checkpoint`')
    .option('--board <file>', 'take the processor clock from the board\'s first processor (default: the clock the stream was captured at)')
    .option('--duration <time>', `run on for this much virtual time after the checkpoint (a guest still running then is not a failure): ${TIME_EXAMPLES}`, parseDuration)
    .option('--max-cycles <n>', 'stop with exit status 124 when virtual time reaches n cycles (the same point as `ferry run --max-cycles n`)', parseCycles)
    .option('--trace <file>', 'write the restored run\'s events to <file> as JSON lines (docs/trace.md)')
    .option('--instret', 'print the instructions the guest retired (instret: <n>) on stderr at the end')
    .option('--json', 'print the result as JSON on stdout (the console goes to stderr)')
    .addOption(runtimeOption())
    .addHelpText('after', exitStatusHelp('restore'))
    .action(async (path: string, flags: RestoreFlags) => setExitStatus(await restoreCommand(path, flags, io)));

  program
    .command('inspect')
    .description('print the records of a checkpoint stream (offset, type, length, summary) and whether the core accepts it')
    .argument('<file.ferry>', 'a stream written by `ferry checkpoint`')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', exitStatusHelp('inspect'))
    .action(async (path: string, flags: InspectFlags) => setExitStatus(await inspectCommand(path, flags, io)));
}

async function checkpointCommand(source: string, flags: CheckpointFlags, io: Io): Promise<number> {
  const isBoard = source.toLowerCase().endsWith('.json');
  if (!isBoard && flags.vm !== undefined && flags.vm !== '0') {
    throw new ConfigError(`--vm ${flags.vm}: an image runs as VM 0; give a board file to choose another VM`);
  }
  if ((flags.duration === undefined) === (flags.atCycle === undefined)) throw new ConfigError('give the checkpoint\'s time: --duration <time> or --at-cycle <n>, one of them');
  if (isBoard && flags.memory !== undefined) throw new ConfigError('--memory applies to an image; a board gives each VM\'s memory');
  refuseUnwritable(flags.output);
  const json = flags.json === true;
  const result = await withTrace(flags.trace, (trace) => checkpointGuest({
    interrupted: interruptRequested,
    ...(isBoard ? { boardPath: source, vm: flags.vm } : { imagePath: source, boardPath: flags.board, mode: flags.mode, ramBytes: flags.memory }),
    ...(flags.atCycle === undefined ? { afterNs: flags.duration! } : { atCycle: flags.atCycle }),
    incrementalEvery: flags.incrementalEvery,
    core: coreFactoryFor(flags.runtime),
    onConsole: (bytes) => (json ? io.stderr : io.stdout).write(bytes),
    ...(trace === undefined ? {} : { onTrace: (records) => trace.writeAll(records) }),
  }));
  writeWhole(flags.output, result.stream);
  if (json) {
    io.stdout.write(jsonText({ file: flags.output, bytes: result.stream.length, instret: result.instret, checkpoints: result.checkpoints }));
  } else {
    io.stderr.write(`ferry: wrote ${flags.output}: ${describeCheckpoints(result.checkpoints)}, ${result.stream.length} bytes\n`);
  }
  return 0;
}

/** An output path that cannot be a file (a directory, a FIFO, a device) is refused before the run. */
function refuseUnwritable(path: string): void {
  if (path.trim() === '') throw new ConfigError('--output: give a file name (it is empty)');
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return;
  }
  if (!stat.isFile()) throw new ConfigError(`${path}: cannot write the stream (it is ${stat.isDirectory() ? 'a directory' : 'not a regular file'})`);
}

/** Writes beside the target and renames: the file is the whole stream or what it was before. */
function writeWhole(path: string, bytes: Uint8Array): void {
  const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  try {
    writeFileSync(partial, bytes, { flag: 'wx' });
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new ConfigError(`${path}: cannot write the stream (${describeFsError(error)})`);
  }
}

function describeCheckpoints(checkpoints: CheckpointInfo[]): string {
  const [first] = checkpoints;
  const last = checkpoints[checkpoints.length - 1]!;
  if (checkpoints.length === 1) return `a full checkpoint at cycle ${first!.atCycles}`;
  return `a full checkpoint at cycle ${first!.atCycles} and ${checkpoints.length - 1} incremental ones, the last at cycle ${last.atCycles}`;
}

async function restoreCommand(path: string, flags: RestoreFlags, io: Io): Promise<number> {
  const clockHz = flags.board === undefined ? undefined : imageRunSettings(await readBoard(flags.board)).clockHz;
  const json = flags.json === true;
  const result = await withTrace(flags.trace, (trace) => restoreGuest({
    interrupted: interruptRequested,
    streamPath: path,
    clockHz,
    maxCycles: flags.maxCycles,
    durationNs: flags.duration,
    core: coreFactoryFor(flags.runtime),
    onConsole: (bytes) => (json ? io.stderr : io.stdout).write(bytes),
    ...(trace === undefined ? {} : { onTrace: (records) => trace.writeAll(records) }),
  }));
  if (json) {
    const { console: _console, vm: _vm, ...fields } = result;
    io.stdout.write(jsonText({ stream: path, ...fields }));
    return result.exitStatus;
  }
  if (result.message !== undefined) io.stderr.write(`${result.message}\n`);
  if (flags.instret === true) io.stderr.write(`instret: ${result.instret}\n`);
  return result.exitStatus;
}

async function inspectCommand(path: string, flags: InspectFlags, io: Io): Promise<number> {
  const stream = await readStreamFile(path);
  const parsed = parseStream(stream);
  const verdict = await coreVerdict(stream, path);
  if (flags.json === true) {
    const refusal = verdict instanceof StreamError ? { message: verdict.message, ...verdict.refusal } : null;
    io.stdout.write(jsonText({ file: path, ...streamJson(parsed), valid: refusal === null, refusal, ...(refusal === null ? { resume: verdict } : {}) }));
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
  } finally {
    core.close?.();
  }
}
