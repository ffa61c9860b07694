/**
 * Runs one guest image on one processor until the VM stops or a cycle limit
 * runs out. This is `ferry run` as a function: the CLI, tests and benchmarks
 * all come through here.
 */
import { VmExitReason, VmKind } from './core-runtime.js';
import type { CoreFactory, CoreRuntime, CoreRuntimeName, TraceSink, VmMode } from './core-runtime.js';
import {
  DEFAULT_CLOCK_HZ, DEFAULT_QUANTUM_CYCLES, DEFAULT_RAM_BYTES, GUEST_PAGE_BYTES, MAX_RAM_BYTES, TOHOST_SYMBOL,
} from './defaults.js';
import { parseElf } from './elf.js';
import type { ElfImage } from './elf.js';
import { ConfigError, ImageError, describeSbiError } from './errors.js';
import { hex } from './format.js';
import { readImageFile } from './input-file.js';
import { checkImageFits, loadImage } from './loader.js';
import { runVm } from './run-loop.js';
import { coreFactoryFor } from './runtimes/core-factory.js';
import { MAX_CYCLES_EXIT_STATUS, describeVmExit } from './vm-exit.js';
import type { ExitReasonName, VmOutcome } from './vm-exit.js';

export type { ExitReasonName, VmMode };

export interface RunOptions {
  /** Asked between quanta: true ends the run there (Ctrl-C, exit status 130). */
  interrupted?: () => boolean;
  /** The ELF file to run; or give its bytes as `image`. */
  imagePath?: string;
  image?: Uint8Array;
  /** Default: machine if the image has a `tohost` symbol, else paravirtual. */
  mode?: VmMode;
  ramBytes?: number;
  clockHz?: number;
  /** Stop (exit status 124) once this much virtual time has passed; no limit by default. */
  maxCycles?: bigint | number;
  /** Virtual time per call into the core. */
  quantumCycles?: bigint | number;
  /** Receives console bytes as the core flushes them; without it they are collected in `console`. */
  onConsole?: (bytes: Uint8Array) => void;
  /** Receives the run's events (for --trace). */
  onEvent?: (event: RunEvent) => void;
  /** Receives the core's trace events (docs/trace.md) between start and exit; turns the core's trace on. */
  onCoreTrace?: TraceSink;
  /** How to run the core; default: build/core.wasm as a plain module. */
  core?: CoreFactory;
  /** Without `core`: which form of the core runs the VM (docs/runtimes.md); default 'module'. */
  runtime?: CoreRuntimeName;
}

export interface RunResult {
  /** The `ferry run` exit status: 0 pass, 1 fail, 124 cycle limit. */
  exitStatus: number;
  reason: ExitReasonName;
  /** The core's detail for the reason (vmExitCode); 0 for max-cycles. */
  code: number;
  /** What to print on stderr, e.g. `tohost: test 3 failed`. */
  message?: string;
  instret: bigint;
  /** Virtual time the run took. */
  cycles: bigint;
  /** The console output, when no onConsole was given (else ''). */
  console: string;
}

export type RunEvent =
  | {
    event: 'start';
    image: string;
    mode: VmMode;
    ramBytes: number;
    clockHz: number;
    entry: number;
    maxCycles?: bigint;
  }
  | {
    event: 'exit';
    reason: ExitReasonName;
    code: number;
    exitStatus: number;
    message?: string;
    instret: bigint;
    cycles: bigint;
  };

/** RunOptions after defaults and validation. */
export interface RunSettings {
  mode: VmMode;
  ramBytes: number;
  clockHz: number;
  maxCycles: bigint | undefined;
  quantumCycles: bigint;
}

const MAX_U32 = 2 ** 32 - 1;

export async function runImage(options: RunOptions): Promise<RunResult> {
  const imageName = options.imagePath ?? '<image>';
  const image = await readAndCheckImage(options, imageName);
  const settings = resolveRunSettings(options, image.symbols.has(TOHOST_SYMBOL));
  withImageName(imageName, () => checkImageFits(image, settings.ramBytes));

  const collected: Uint8Array[] = [];
  const onConsole = options.onConsole ?? ((bytes: Uint8Array) => collected.push(bytes));
  const sinks = options.onCoreTrace === undefined ? undefined : { onTrace: options.onCoreTrace };
  const core = await (options.core ?? coreFactoryFor(options.runtime))((_vm, bytes) => onConsole(bytes), sinks);
  if (options.onCoreTrace !== undefined) core.traceEnable(1);
  try {
    const vm = createVm(core, settings);
    loadImage(core, vm, image, settings.ramBytes);
    options.onEvent?.({ event: 'start', image: imageName, ...startFields(settings), entry: image.entry });
    const result = { ...(await runGuest(core, vm, settings, options.interrupted)), console: decodeConsole(collected) };
    options.onEvent?.({ event: 'exit', ...exitFields(result) });
    return result;
  } finally {
    core.close?.();
  }
}

export { coreFactoryFor };

async function readAndCheckImage(options: RunOptions, imageName: string): Promise<ElfImage> {
  if (options.image === undefined && options.imagePath === undefined) throw new ConfigError('runImage: give imagePath or image');
  const bytes = options.image ?? (await readImageFile(options.imagePath!));
  return withImageName(imageName, () => parseElf(bytes));
}

/** Image errors name the image, so a caller can print them as they are. */
function withImageName<T>(imageName: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ImageError) throw new ImageError(`${imageName}: ${error.message}`);
    throw error;
  }
}

export function resolveRunSettings(options: RunOptions, hasTohost: boolean): RunSettings {
  const settings: RunSettings = {
    mode: options.mode ?? (hasTohost ? 'machine' : 'paravirtual'),
    ramBytes: options.ramBytes ?? DEFAULT_RAM_BYTES,
    clockHz: options.clockHz ?? DEFAULT_CLOCK_HZ,
    maxCycles: options.maxCycles === undefined ? undefined : toCycles(options.maxCycles, 'maxCycles', 0n),
    quantumCycles: toCycles(options.quantumCycles ?? DEFAULT_QUANTUM_CYCLES, 'quantumCycles', 1n),
  };
  if (!Object.hasOwn(VmKind, settings.mode)) throw new ConfigError(`mode must be paravirtual or machine, not ${String(settings.mode)}`);
  checkRamBytes(settings.ramBytes);
  if (!Number.isInteger(settings.clockHz) || settings.clockHz < 1 || settings.clockHz > MAX_U32) {
    throw new ConfigError(`clockHz must be an integer from 1 to ${MAX_U32}, not ${settings.clockHz}`);
  }
  return settings;
}

function checkRamBytes(ramBytes: number): void {
  if (!Number.isInteger(ramBytes) || ramBytes < GUEST_PAGE_BYTES || ramBytes > MAX_RAM_BYTES || ramBytes % GUEST_PAGE_BYTES !== 0) {
    throw new ConfigError(
      `ramBytes must be a multiple of ${GUEST_PAGE_BYTES} from ${GUEST_PAGE_BYTES} to ${MAX_RAM_BYTES}, not ${ramBytes}`,
    );
  }
}

function toCycles(value: bigint | number, name: string, min: bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new ConfigError(`${name} must be an integer, not ${value}`);
  }
  const cycles = BigInt(value);
  if (cycles < min || cycles >= 2n ** 64n) throw new ConfigError(`${name} must be at least ${min}, not ${value}`);
  return cycles;
}

function createVm(core: CoreRuntime, settings: RunSettings): number {
  core.configure(settings.clockHz, 0);
  const vm = core.vmCreate(VmKind[settings.mode], settings.ramBytes);
  if (vm < 0) {
    const why = vm === -1 ? 'the core has no memory for it' : describeSbiError(vm);
    throw new ConfigError(`cannot create a ${settings.mode} VM with ${settings.ramBytes} bytes of RAM: ${why}`);
  }
  return vm;
}

/** Runs until the VM stops or stalls, or the limit runs out. */
async function runGuest(core: CoreRuntime, vm: number, settings: RunSettings, interrupted?: () => boolean): Promise<Omit<RunResult, 'console'>> {
  const outcome = (await runVm(core, vm, settings.maxCycles, settings.quantumCycles, false, interrupted)) ?? maxCyclesOutcome(core, vm, core.now());
  return finish(core, vm, core.now(), outcome);
}

function finish(core: CoreRuntime, vm: number, cycles: bigint, outcome: VmOutcome): Omit<RunResult, 'console'> {
  return { ...outcome, instret: core.vmInstret(vm), cycles };
}

function maxCyclesOutcome(core: CoreRuntime, vm: number, cycles: bigint): VmOutcome {
  return {
    reason: 'max-cycles',
    code: 0,
    exitStatus: MAX_CYCLES_EXIT_STATUS,
    message: `max-cycles: the guest was still running after ${cycles} cycles (pc ${hex(core.vmGetPc(vm))})`,
  };
}

function startFields(settings: RunSettings) {
  const { mode, ramBytes, clockHz, maxCycles } = settings;
  return maxCycles === undefined ? { mode, ramBytes, clockHz } : { mode, ramBytes, clockHz, maxCycles };
}

function exitFields(result: RunResult) {
  const { reason, code, exitStatus, message, instret, cycles } = result;
  return message === undefined
    ? { reason, code, exitStatus, instret, cycles }
    : { reason, code, exitStatus, message, instret, cycles };
}

function decodeConsole(chunks: Uint8Array[]): string {
  return chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8');
}

/**
 * --max-cycles and --duration together: whichever comes first, in cycles of the
 * processor's clock from `startCycles` (the limit wins a tie). isDuration: the
 * duration is the one that ends the run, so running out of cycles is no failure.
 */
export function cycleLimit(maxCycles: bigint | undefined, durationNs: bigint | undefined, clockHz: number, startCycles = 0n): { cycles?: bigint; isDuration: boolean } {
  if (durationNs === undefined) return { cycles: maxCycles, isDuration: false };
  const durationCycles = (durationNs * BigInt(clockHz)) / 1_000_000_000n;
  const cycles = startCycles + (durationCycles < 1n ? 1n : durationCycles);
  if (maxCycles !== undefined && maxCycles <= cycles) return { cycles: maxCycles, isDuration: false };
  return { cycles, isDuration: true };
}
