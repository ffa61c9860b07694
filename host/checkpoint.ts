/**
 * Checkpoints and restore as functions (`ferry checkpoint`, `ferry restore`):
 * run a guest to a cycle and take its checkpoint stream out of the core;
 * write a stream into a fresh core, restore the VM and run it on. The core's
 * collector does the work (docs/stream-format.md); this file only moves bytes
 * and time.
 */
import { imageRunSettings, processorById, readBoard } from './board.js';
import type { Board, BoardVm } from './board.js';
import { VmExitReason, VmKind, checkpointTake, restoreWriteAll } from './core-runtime.js';
import type { CoreFactory, CoreRuntime } from './core-runtime.js';
import { DEFAULT_CLOCK_HZ, DEFAULT_QUANTUM_CYCLES, TOHOST_SYMBOL } from './defaults.js';
import { parseElf } from './elf.js';
import type { ElfImage } from './elf.js';
import { ConfigError, FerryError, ImageError, describeSbiError } from './errors.js';
import { hex } from './format.js';
import { checkImageFits, loadImage } from './loader.js';
import { readImageFile, readStreamFile } from './input-file.js';
import { coreFactoryFor, cycleLimit, resolveRunSettings } from './runner.js';
import type { RunResult, RunSettings, VmMode } from './runner.js';
import { StreamError, describeRefusal, readRefusal } from './stream-errors.js';
import { runVm } from './run-loop.js';
import { MAX_CYCLES_EXIT_STATUS } from './vm-exit.js';
import type { VmOutcome } from './vm-exit.js';
import { runBoard } from './board-runner.js';
import { imageTraceSink } from './trace.js';
import type { TraceRecord } from './trace.js';
import type { BoardProbe } from './board-runner.js';

/** What to run: an image (optionally with a board's clock and memory), or one VM of a board. */
export interface GuestSource {
  imagePath?: string;
  image?: Uint8Array;
  /** A board file: with an image, its first processor's clock and first VM's memory; alone, the VM `vm` of it. */
  boardPath?: string;
  /** The board's VM by name or by index in its vms list (default the first). */
  vm?: string | number;
  mode?: VmMode;
  ramBytes?: number;
  clockHz?: number;
}

export interface CheckpointOptions extends GuestSource {
  /** Asked between quanta: true ends the run there (Ctrl-C, exit status 130). */
  interrupted?: () => boolean;
  /** Virtual time (cycles) of the last checkpoint: the point a restore resumes from. */
  atCycle?: bigint | number;
  /** Or the same in virtual ns, turned into cycles of the VM's processor clock (rounded down). */
  afterNs?: bigint;
  /** Take a full checkpoint at this many cycles, then an incremental one every as many, the last at atCycle. */
  incrementalEvery?: bigint | number;
  quantumCycles?: bigint | number;
  /** Console bytes of the run up to the checkpoint; without it they are collected in `console`. */
  onConsole?: (bytes: Uint8Array) => void;
  core?: CoreFactory;
  /** Trace records of the run up to the checkpoint (docs/trace.md); turns the core's trace on. */
  onTrace?: (records: TraceRecord[]) => void;
}

/** The checkpoint's cycle: atCycle, or afterNs at `clockHz`; exactly one of them. */
function checkpointCycle(options: CheckpointOptions, clockHz: number): bigint {
  if ((options.atCycle === undefined) === (options.afterNs === undefined)) throw new ConfigError('give the checkpoint\'s time as a cycle or as a duration, one of them');
  if (options.atCycle !== undefined) return toCycles(options.atCycle, 'atCycle');
  const cycles = (options.afterNs! * BigInt(clockHz)) / 1_000_000_000n;
  return cycles < 1n ? 1n : cycles;
}

export interface CheckpointInfo {
  kind: 'full' | 'incremental';
  atCycles: bigint;
  /** Stream bytes this checkpoint added. */
  bytes: number;
}

export interface CheckpointResult {
  /** The whole stream: header, checkpoints, END. */
  stream: Uint8Array;
  checkpoints: CheckpointInfo[];
  /** Instructions retired up to the last checkpoint. */
  instret: bigint;
  console: string;
}

/** A checkpoint request the guest cannot satisfy (it stopped before the cycle). */
export class CheckpointError extends FerryError {
  override name = 'CheckpointError';
}

interface PreparedGuest {
  name: string;
  image: ElfImage;
  settings: RunSettings;
}

export async function checkpointGuest(options: CheckpointOptions): Promise<CheckpointResult> {
  if (options.imagePath === undefined && options.image === undefined && options.boardPath !== undefined) {
    return checkpointBoardVm(options, await readBoard(options.boardPath));
  }
  const guest = await prepareGuest(options);
  const times = checkpointTimes(checkpointCycle(options, guest.settings.clockHz), options.incrementalEvery);
  const collected: Uint8Array[] = [];
  const onConsole = options.onConsole ?? ((bytes: Uint8Array) => collected.push(bytes));
  const onTrace = options.onTrace;
  const sinks = onTrace === undefined ? undefined : { onTrace: imageTraceSink(guest.name, () => guest.settings.clockHz, onTrace) };
  const core = await (options.core ?? coreFactoryFor())((_vm, bytes) => onConsole(bytes), sinks);
  try {
    if (onTrace !== undefined) core.traceEnable(1);
    const vm = bootGuest(core, guest);
    const quantum = toCycles(options.quantumCycles ?? DEFAULT_QUANTUM_CYCLES, 'quantumCycles');
    const chunks: Uint8Array[] = [];
    const checkpoints: CheckpointInfo[] = [];
    core.checkpointBegin();
    for (const [i, atCycles] of times.entries()) {
      await runUntil(core, vm, atCycles, quantum, options.interrupted);
      const incremental = i > 0;
      const captured = core.checkpointCapture(vm, incremental ? 1 : 0);
      if (captured !== 0) throw new CheckpointError(`${guest.name}: the core refused to checkpoint VM ${vm}: ${describeSbiError(captured)}`);
      const bytes = checkpointTake(core);
      chunks.push(bytes);
      checkpoints.push({ kind: incremental ? 'incremental' : 'full', atCycles, bytes: bytes.length });
    }
    core.checkpointEnd();
    chunks.push(checkpointTake(core));
    return { stream: new Uint8Array(Buffer.concat(chunks)), checkpoints, instret: core.vmInstret(vm), console: decode(collected) };
  } finally {
    core.close?.();
  }
}

/**
 * A VM inside its running board: the whole board runs in lockstep (windows, channels,
 * neighbours), and the VM is captured where it runs at the first quantum boundary at or
 * after each checkpoint time (cycles of its processor's clock; the stream records the
 * exact capture cycle). Only the chosen VM's console is printed.
 */
async function checkpointBoardVm(options: CheckpointOptions, board: Board): Promise<CheckpointResult> {
  const vm = pickBoardVm(board, options.vm);
  const clockHz = BigInt(processorById(board, vm.processor)!.clockHz);
  const times = checkpointTimes(checkpointCycle(options, Number(clockHz)), options.incrementalEvery);
  const toNs = (cycles: bigint): bigint => (cycles * 1_000_000_000n + clockHz - 1n) / clockHz;
  const collected: Uint8Array[] = [];
  const onConsole = options.onConsole ?? ((bytes: Uint8Array) => collected.push(bytes));
  const chunks: Uint8Array[] = [];
  const checkpoints: CheckpointInfo[] = [];
  let instret = 0n;
  let failure: Error | undefined;
  const capture = (atNs: bigint, probe: BoardProbe): void => {
    while (failure === undefined && checkpoints.length < times.length && toNs(times[checkpoints.length]!) <= atNs) {
      const where = probe.locate(vm.name);
      if (where === undefined || where.core.vmExit(where.vmId) !== VmExitReason.running) {
        failure = new CheckpointError(`${board.path} VM ${vm.name} stopped before cycle ${times[checkpoints.length]}: nothing to checkpoint`);
        return;
      }
      const core = where.core;
      if (checkpoints.length === 0) core.checkpointBegin();
      const incremental = checkpoints.length > 0;
      const captured = core.checkpointCapture(where.vmId, incremental ? 1 : 0);
      if (captured !== 0) {
        failure = new CheckpointError(`${board.path} VM ${vm.name}: the core refused to checkpoint it: ${describeSbiError(captured)}`);
        return;
      }
      chunks.push(checkpointTake(core));
      checkpoints.push({ kind: incremental ? 'incremental' : 'full', atCycles: core.now(), bytes: chunks[chunks.length - 1]!.length });
      if (checkpoints.length === times.length) {
        core.checkpointEnd();
        chunks.push(checkpointTake(core));
        instret = core.vmInstret(where.vmId);
      }
    }
  };
  await runBoard({
    board,
    durationNs: toNs(times[times.length - 1]!),
    ...(options.core === undefined ? {} : { core: options.core }),
    onConsole: (owner, bytes) => { if (owner.name === vm.name) onConsole(bytes); },
    onBoundary: capture,
    ...(options.onTrace === undefined ? {} : { onTrace: options.onTrace }),
    ...(options.interrupted === undefined ? {} : { interrupted: options.interrupted }),
  });
  if (failure !== undefined) throw failure;
  if (checkpoints.length < times.length) throw new CheckpointError(`${board.path} VM ${vm.name}: the board run ended before cycle ${times[times.length - 1]}`);
  return { stream: new Uint8Array(Buffer.concat(chunks)), checkpoints, instret, console: decode(collected) };
}

/** The most checkpoints one stream takes (a full one and its increments). */
const MAX_CHECKPOINTS = 10_000;

/** [atCycle], or every, 2·every, … below atCycle, then atCycle. */
export function checkpointTimes(atCycle: bigint, every: bigint | number | undefined): bigint[] {
  if (atCycle < 1n) throw new ConfigError(`the checkpoint cycle must be at least 1, not ${atCycle}`);
  if (every === undefined) return [atCycle];
  const step = toCycles(every, 'incrementalEvery');
  if (step < 1n || step > atCycle) throw new ConfigError(`--incremental-every must be from 1 to the checkpoint cycle ${atCycle}, not ${step}`);
  // Counted before any is listed: a small step before a far cycle must not build the list first.
  const count = (atCycle - 1n) / step + 1n;
  if (count > BigInt(MAX_CHECKPOINTS)) throw new ConfigError(`--incremental-every ${step} makes ${count} checkpoints; at most ${MAX_CHECKPOINTS}`);
  const times: bigint[] = [];
  for (let t = step; t < atCycle; t += step) times.push(t);
  times.push(atCycle);
  return times;
}

async function prepareGuest(source: GuestSource): Promise<PreparedGuest> {
  if (source.imagePath === undefined && source.image === undefined) {
    throw new ConfigError('give an image or a board');
  }
  const board = source.boardPath === undefined ? undefined : imageRunSettings(await readBoard(source.boardPath));
  const name = source.imagePath ?? '<image>';
  const image = await readImage(source, name);
  const settings = resolveRunSettings(
    { mode: source.mode, ramBytes: source.ramBytes ?? board?.ramBytes, clockHz: source.clockHz ?? board?.clockHz },
    image.symbols.has(TOHOST_SYMBOL),
  );
  named(name, () => checkImageFits(image, settings.ramBytes));
  return { name, image, settings };
}

function pickBoardVm(board: Board, which: string | number | undefined): BoardVm {
  if (which === undefined) return board.vms[0]!;
  const byName = board.vms.find((vm) => vm.name === String(which));
  if (byName !== undefined) return byName;
  const index = Number(which);
  if (Number.isInteger(index) && index >= 0 && index < board.vms.length) return board.vms[index]!;
  throw new ConfigError(`board ${board.path} has no VM ${String(which)} (its VMs: ${board.vms.map((vm) => vm.name).join(', ')})`);
}

async function readImage(source: GuestSource, name: string): Promise<ElfImage> {
  const image = source.image ?? await readImageFile(source.imagePath!);
  return named(name, () => parseElf(image));
}

function named<T>(name: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ImageError) throw new ImageError(`${name}: ${error.message}`);
    throw error;
  }
}

function bootGuest(core: CoreRuntime, guest: PreparedGuest): number {
  const { settings } = guest;
  core.configure(settings.clockHz, 0);
  const vm = core.vmCreate(VmKind[settings.mode], settings.ramBytes);
  if (vm < 0) throw new ConfigError(`cannot create a ${settings.mode} VM with ${settings.ramBytes} bytes of RAM: ${describeSbiError(vm)}`);
  loadImage(core, vm, guest.image, settings.ramBytes);
  return vm;
}

/** Runs the processor to exactly `atCycles`; the VM must still be running there. */
async function runUntil(core: CoreRuntime, vm: number, atCycles: bigint, quantum: bigint, interrupted?: () => boolean): Promise<void> {
  const outcome = await runVm(core, vm, atCycles, quantum, true, interrupted);
  if (outcome !== undefined) {
    throw new CheckpointError(`VM ${vm} stopped (${outcome.message ?? outcome.reason}) before cycle ${atCycles}: nothing to checkpoint there`);
  }
}

// ---- Restore ----

export interface RestoreOptions {
  streamPath?: string;
  stream?: Uint8Array;
  /** The processor's clock; default the clock the stream was captured at. */
  clockHz?: number;
  /** Stop (exit status 124) when the processor's virtual time reaches this, as `ferry run --max-cycles` would. */
  maxCycles?: bigint | number;
  /** Run on for this much virtual time after the checkpoint, then stop (a VM still running then is no failure: exit 0). */
  durationNs?: bigint;
  /** Trace records of the restored run (docs/trace.md); turns the core's trace on. */
  onTrace?: (records: TraceRecord[]) => void;
  quantumCycles?: bigint | number;
  onConsole?: (bytes: Uint8Array) => void;
  core?: CoreFactory;
  /** Asked between quanta: true ends the run there (Ctrl-C, exit status 130). */
  interrupted?: () => boolean;
}

export interface RestoreResult extends RunResult {
  /** The restored VM's id in the fresh core. */
  vm: number;
  /** The capture time of the checkpoint it resumed from. */
  resumedAtCycles: bigint;
  checkpoints: number;
}

/** Restores the stream's VM into a fresh processor set to the capture time, and runs it on. */
export async function restoreGuest(options: RestoreOptions): Promise<RestoreResult> {
  const name = options.streamPath ?? '<stream>';
  const stream = options.stream ?? (await readStreamFile(name));
  const collected: Uint8Array[] = [];
  const onConsole = options.onConsole ?? ((bytes: Uint8Array) => collected.push(bytes));
  const clock = { hz: options.clockHz ?? DEFAULT_CLOCK_HZ };
  const onTrace = options.onTrace;
  const sinks = onTrace === undefined ? undefined : { onTrace: imageTraceSink(name, () => clock.hz, onTrace) };
  const core = await (options.core ?? coreFactoryFor())((_vm, bytes) => onConsole(bytes), sinks);
  const info = checkStream(core, stream, -1, name);
  try {
    clock.hz = options.clockHz ?? Number(info.clockHz);
    core.configure(clock.hz, 0);
    if (onTrace !== undefined) core.traceEnable(1);
    if (core.processorSetTime(info.captureCycles) !== 0) throw new Error('processorSetTime refused on a fresh core');
    const vm = applyStream(core, stream, -1, name);
    const maxCycles = options.maxCycles === undefined ? undefined : toCycles(options.maxCycles, 'maxCycles');
    if (maxCycles !== undefined && maxCycles <= info.captureCycles) {
      throw new ConfigError(`--max-cycles ${maxCycles} is not after the checkpoint's cycle ${info.captureCycles}: it counts the processor's time, which the restored VM resumes at (give more than ${info.captureCycles}, or --duration)`);
    }
    const limit = cycleLimit(maxCycles, options.durationNs, clock.hz, info.captureCycles);
    const quantum = toCycles(options.quantumCycles ?? DEFAULT_QUANTUM_CYCLES, 'quantumCycles');
    const ran = await runOn(core, vm, limit.cycles, quantum, options.interrupted);
    const outcome: VmOutcome = limit.isDuration && ran.reason === 'max-cycles' ? { reason: 'duration', code: 0, exitStatus: 0 } : ran;
    return {
      ...outcome, instret: core.vmInstret(vm), cycles: core.now(), console: decode(collected),
      vm, resumedAtCycles: info.captureCycles, checkpoints: info.checkpoints,
    };
  } finally {
    core.close?.();
  }
}

export interface StreamInfo {
  checkpoints: number;
  captureCycles: bigint;
  clockHz: bigint;
  kind: VmMode;
  ramBytes: number;
  sourceVm: number;
}

/** Writes `stream` into the core and has it checked for VM `vm` (-1 a new one); throws StreamError if refused. */
export function checkStream(core: CoreRuntime, stream: Uint8Array, vm: number, name = '<stream>'): StreamInfo {
  core.restoreBegin();
  restoreWriteAll(core, stream);
  if (core.restoreCheck(vm) !== 0) throw refusal(core, name);
  return {
    checkpoints: Number(core.restoreInfo(0)),
    captureCycles: core.restoreInfo(1),
    clockHz: core.restoreInfo(2),
    kind: core.restoreInfo(3) === 0n ? 'paravirtual' : 'machine',
    ramBytes: Number(core.restoreInfo(4)),
    sourceVm: Number(core.restoreInfo(6)),
  };
}

/** Writes `stream` into the core and applies it to VM `vm` (-1 a new one); its id, or StreamError. */
export function applyStream(core: CoreRuntime, stream: Uint8Array, vm: number, name = '<stream>'): number {
  core.restoreBegin();
  restoreWriteAll(core, stream);
  const id = core.restoreApply(vm);
  if (id < 0) throw refusal(core, name);
  return id;
}

function refusal(core: CoreRuntime, name: string): StreamError {
  const why = readRefusal(core);
  return new StreamError(`${name}: stream refused: ${describeRefusal(why)}`, why);
}

/** A VM's whole state from a fresh stream: one full checkpoint, taken now. */
export function captureStream(core: CoreRuntime, vm: number): Uint8Array {
  core.checkpointBegin();
  const captured = core.checkpointCapture(vm, 0);
  if (captured !== 0) throw new CheckpointError(`the core refused to checkpoint VM ${vm}: ${describeSbiError(captured)}`);
  core.checkpointEnd();
  return checkpointTake(core);
}

/** Runs until the VM stops or stalls, or the processor's time reaches maxCycles. */
async function runOn(core: CoreRuntime, vm: number, maxCycles: bigint | undefined, quantum: bigint, interrupted?: () => boolean): Promise<VmOutcome> {
  return (await runVm(core, vm, maxCycles, quantum, false, interrupted)) ?? {
    reason: 'max-cycles', code: 0, exitStatus: MAX_CYCLES_EXIT_STATUS,
    message: `max-cycles: the guest was still running after ${core.now()} cycles (pc ${hex(core.vmGetPc(vm))})`,
  };
}

function toCycles(value: bigint | number, name: string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new ConfigError(`${name} must be an integer, not ${value}`);
  const cycles = BigInt(value);
  if (cycles < 0n || cycles >= 2n ** 64n) throw new ConfigError(`${name} must be from 0 to 2^64-1, not ${value}`);
  return cycles;
}

function decode(chunks: Uint8Array[]): string {
  return chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
}
