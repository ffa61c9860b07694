/**
 * The core as a WebAssembly component (docs/runtimes.md): the world in
 * wit/ferry.wit, built by `npm run build:component` and transpiled by jco into
 * build/component/js/ferry-core.js. This file loads that ESM module, gives it
 * the board's imports and presents its exports as a CoreRuntime, so the runner
 * and the boards run processors from either form of the core.
 *
 * Through the component, values cross the canonical ABI: u32/s32 arrive as
 * numbers with their sign already right, u64 as unsigned BigInt, and byte lists
 * as Uint8Array. The core's memory is not visible from here: a list passed into
 * the core (vm-load, link-receive) is placed by the core's own cabi_realloc,
 * which hands out the staging buffer. So stage() only remembers the bytes and
 * vmLoad passes them as the list.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BoardSinks, CheckpointRuntime, ConsoleSink, CoreFactory, CoreRuntime, LinkSink, MigrationRuntime, TraceSink } from './core-runtime.js';
import { CoreLoadError } from './errors.js';
import { packageRoot } from './package-root.js';

export interface ComponentCoreOptions {
  /** The transpiled component's directory; default build/component/js. */
  jsDir?: string;
  /** Receives what this processor's VMs write to their consoles. */
  onConsole?: ConsoleSink;
  /** Receives the core's trace events (enable them with traceEnable). */
  onTrace?: TraceSink;
  /** Receives frames the core sends over the board's links. */
  onLinkSend?: LinkSink;
}

const COMPONENT_JS = 'ferry-core.js';
const DEFAULT_JS_DIR = 'build/component/js';
const BOARD_INTERFACE = 'ferry:core/board';

/** The world's exports as jco presents them (kebab-case WIT names in camelCase). */
interface ComponentExports {
  configure(clockHz: number, processorId: number): void;
  traceEnable(on: number): void;
  now(): bigint;
  run(cycles: bigint): bigint;
  stagingBytes(): number;
  processorStat(stat: number): bigint;
  scheduleClear(): void;
  scheduleSetMajorFrame(ns: bigint): number;
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number;
  linkConfigure(peer: number, mtuBytes: number): number;
  linkReceive(peer: number, frame: Uint8Array): number;
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number;
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number;
  vmCreate(kind: number, ramBytes: number): number;
  vmLoad(vm: number, guestAddr: number, bytes: Uint8Array): number;
  vmSetTohost(vm: number, guestAddr: number): number;
  vmBoot(vm: number, pc: number, a0: number, a1: number): number;
  vmExit(vm: number): number;
  vmExitCode(vm: number): number;
  vmInstret(vm: number): bigint;
  vmGetReg(vm: number, reg: number): number;
  vmSetReg(vm: number, reg: number, value: number): void;
  vmGetPc(vm: number): number;
  vmGetCsr(vm: number, csr: number): number;
  vmGetMode(vm: number): number;
  vmRaiseExternal(vm: number, level: number): void;
  vmAsleep(vm: number): number;
  vmStat(vm: number, stat: number): bigint;
  // Migration manager (MigrationRuntime).
  processorSetRam(bytes: bigint): void;
  linkSetTiming(peer: number, bandwidthBytesPerS: bigint, latencyNs: bigint, deliveryGranularityNs: bigint): number;
  migrationSetParam(key: number, value: bigint): number;
  migrationStart(vm: number, destProcessor: number, strategy: number): number;
  migrationCancel(): number;
  migrationStat(key: number): bigint;
  // The collector.
  checkpointBegin(): void;
  checkpointCapture(vm: number, incremental: number): number;
  checkpointEnd(): number;
  checkpointPending(): number;
  checkpointRead(maxBytes: number): Uint8Array;
  restoreBegin(): void;
  restoreWrite(chunk: Uint8Array): number;
  restoreCheck(vm: number): number;
  restoreApply(vm: number): number;
  restoreError(field: number): bigint;
  restoreInfo(field: number): bigint;
  processorSetTime(cycles: bigint): number;
}

const EXPORTED_FUNCTIONS: readonly (keyof ComponentExports)[] = [
  'configure', 'traceEnable', 'now', 'run', 'stagingBytes', 'processorStat',
  'scheduleClear', 'scheduleSetMajorFrame', 'scheduleAddWindow', 'linkConfigure', 'linkReceive',
  'channelAddSource', 'channelAddDestination',
  'vmCreate', 'vmLoad', 'vmSetTohost', 'vmBoot', 'vmExit', 'vmExitCode', 'vmInstret',
  'vmGetReg', 'vmSetReg', 'vmGetPc', 'vmGetCsr', 'vmGetMode', 'vmRaiseExternal', 'vmAsleep', 'vmStat',
  'processorSetRam', 'linkSetTiming', 'migrationSetParam', 'migrationStart', 'migrationCancel', 'migrationStat',
  'checkpointBegin', 'checkpointCapture', 'checkpointEnd', 'checkpointPending', 'checkpointRead',
  'restoreBegin', 'restoreWrite', 'restoreCheck', 'restoreApply', 'restoreError', 'restoreInfo', 'processorSetTime',
];

/** The board interface the component imports (interface board in wit/ferry.wit). */
interface BoardImports {
  consoleWrite(vm: number, bytes: Uint8Array): void;
  linkSend(peer: number, frame: Uint8Array): void;
  trace(event: number, vm: number, atCycles: bigint, a: bigint, b: bigint): void;
}

/** What jco generates with `instantiation: 'async'`. */
interface TranspiledComponent {
  instantiate(
    getCoreModule: (path: string) => Promise<WebAssembly.Module>,
    imports: { [BOARD_INTERFACE]: BoardImports },
  ): Promise<ComponentExports>;
}

const u64 = (value: bigint): bigint => BigInt.asUintN(64, value);

/**
 * The pseudo-address stage() returns: the staged bytes start at offset 0 of
 * the list the next vmLoad passes (the core's real staging address is not
 * part of the world).
 */
const STAGED_BYTES_ADDRESS = 0;
const SBI_ERR_INVALID_PARAM = -3;

/** One processor: a component instance with its own core memory. */
export class ComponentCore implements CoreRuntime, CheckpointRuntime, MigrationRuntime {
  private staged: Uint8Array = new Uint8Array(0);
  private stagingSize: number | undefined;

  /** The world's exports, for what CoreRuntime does not wrap (yet). */
  constructor(readonly exports: ComponentExports) {}

  configure(clockHz: number, processorId = 0): void { this.exports.configure(clockHz, processorId); }
  traceEnable(on: boolean): void { this.exports.traceEnable(on ? 1 : 0); }
  scheduleClear(): void { this.exports.scheduleClear(); }
  scheduleSetMajorFrame(ns: bigint): number { return this.exports.scheduleSetMajorFrame(u64(ns)); }
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number {
    return this.exports.scheduleAddWindow(vm, u64(offsetNs), u64(durationNs));
  }
  linkConfigure(peer: number, mtuBytes: number): number { return this.exports.linkConfigure(peer, mtuBytes); }
  linkReceive(peer: number, frame: Uint8Array): number {
    this.checkFits(frame, 'linkReceive');
    return this.exports.linkReceive(peer, frame);
  }
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number {
    return this.exports.channelAddSource(channel, vm, port, kind, maxMessageBytes, depth, destProcessor);
  }
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number {
    return this.exports.channelAddDestination(channel, vm, port, kind, maxMessageBytes, depth);
  }
  vmStat(vm: number, stat: number): bigint { return this.exports.vmStat(vm, stat); }
  processorStat(stat: number): bigint { return this.exports.processorStat(stat); }
  now(): bigint { return this.exports.now(); }
  run(cycles: bigint): bigint { return this.exports.run(u64(cycles)); }
  stagingBytes(): number { return (this.stagingSize ??= this.exports.stagingBytes()); }

  stage(bytes: Uint8Array): number {
    this.checkFits(bytes, 'stage');
    // vmLoad passes these bytes as its list; the core's cabi_realloc puts
    // them in the staging buffer, where the module host would have copied them.
    this.staged = bytes.slice();
    return STAGED_BYTES_ADDRESS;
  }

  vmCreate(kind: number, ramBytes: number): number { return this.exports.vmCreate(kind, ramBytes); }
  vmLoad(vm: number, guestAddr: number, ptr: number, lengthBytes: number): number {
    const offset = ptr - STAGED_BYTES_ADDRESS;
    // The module core refuses a range outside its staging buffer the same way.
    if (offset < 0 || lengthBytes < 0 || offset + lengthBytes > this.staged.length) return SBI_ERR_INVALID_PARAM;
    return this.exports.vmLoad(vm, guestAddr, this.staged.subarray(offset, offset + lengthBytes));
  }
  vmSetTohost(vm: number, guestAddr: number): void { this.exports.vmSetTohost(vm, guestAddr); }
  vmBoot(vm: number, pc: number, a0: number, a1: number): number { return this.exports.vmBoot(vm, pc, a0, a1); }
  vmExit(vm: number): number { return this.exports.vmExit(vm); }
  vmExitCode(vm: number): number { return this.exports.vmExitCode(vm); }
  vmInstret(vm: number): bigint { return this.exports.vmInstret(vm); }
  vmGetReg(vm: number, reg: number): number { return this.exports.vmGetReg(vm, reg); }
  vmSetReg(vm: number, reg: number, value: number): void { this.exports.vmSetReg(vm, reg, value); }
  vmGetPc(vm: number): number { return this.exports.vmGetPc(vm); }
  vmGetCsr(vm: number, csr: number): number { return this.exports.vmGetCsr(vm, csr); }
  vmRaiseExternal(vm: number, level: number): void { this.exports.vmRaiseExternal(vm, level); }
  vmAsleep(vm: number): number { return this.exports.vmAsleep(vm) >>> 0; }

  // The collector: stream bytes cross as lists, in staging-buffer-sized chunks.
  checkpointBegin(): void { this.exports.checkpointBegin(); }
  checkpointCapture(vm: number, incremental: boolean): number { return this.exports.checkpointCapture(vm, incremental ? 1 : 0); }
  checkpointEnd(): number { return this.exports.checkpointEnd(); }
  checkpointTake(): Uint8Array {
    const out = new Uint8Array(this.exports.checkpointPending());
    for (let at = 0; at < out.length;) {
      const chunk = this.exports.checkpointRead(this.stagingBytes());
      if (chunk.length === 0) throw new Error(`checkpoint-read gave nothing with ${out.length - at} bytes pending`);
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
  restoreBegin(): void { this.exports.restoreBegin(); }
  restoreWrite(bytes: Uint8Array): number {
    const chunkBytes = this.stagingBytes();
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      const written = this.exports.restoreWrite(bytes.subarray(at, at + chunkBytes));
      if (written !== 0) return written;
    }
    return 0;
  }
  restoreCheck(vm: number): number { return this.exports.restoreCheck(vm); }
  restoreApply(vm: number): number { return this.exports.restoreApply(vm); }
  restoreError(field: number): bigint { return this.exports.restoreError(field); }
  restoreInfo(field: number): bigint { return this.exports.restoreInfo(field); }
  processorSetTime(cycles: bigint): number { return this.exports.processorSetTime(u64(cycles)); }

  // The migration manager (values cross the canonical ABI: u64 arguments must be unsigned).
  linkSetTiming(peer: number, bandwidthBytesPerS: bigint, latencyNs: bigint, granularityNs: bigint): number {
    return this.exports.linkSetTiming(peer, u64(bandwidthBytesPerS), u64(latencyNs), u64(granularityNs));
  }
  processorSetRam(bytes: bigint): void { this.exports.processorSetRam(u64(bytes)); }
  migrationSetParam(key: number, value: bigint): number { return this.exports.migrationSetParam(key, u64(value)); }
  migrationStart(vm: number, destProcessor: number, strategy: number): number { return this.exports.migrationStart(vm, destProcessor, strategy); }
  migrationCancel(): number { return this.exports.migrationCancel(); }
  migrationStat(key: number): bigint { return this.exports.migrationStat(key); }

  /** A list longer than the staging buffer would trap in cabi_realloc: refuse it here, as Core.stage does. */
  private checkFits(bytes: Uint8Array, what: string): void {
    if (bytes.length > this.stagingBytes()) {
      throw new RangeError(`${what}: ${bytes.length} bytes do not fit the ${this.stagingBytes()}-byte staging buffer`);
    }
  }
}

/** Instantiates one processor's core from the transpiled component. */
export async function loadComponentCore(options: ComponentCoreOptions = {}): Promise<ComponentCore> {
  const jsDir = options.jsDir ?? join(packageRoot(), DEFAULT_JS_DIR);
  const component = await importComponent(jsDir);
  const onConsole = options.onConsole ?? (() => {});
  const onTrace = options.onTrace ?? (() => {});
  const onLinkSend = options.onLinkSend ?? (() => {});
  // jco hands list arguments over as fresh Uint8Arrays copied out of core memory.
  const board: BoardImports = {
    consoleWrite: (vm, bytes) => onConsole(vm, bytes),
    linkSend: (peer, frame) => onLinkSend(peer, frame),
    trace: (event, vm, atCycles, a, b) => onTrace(event, vm, atCycles, a, b),
  };
  const exports = await component.instantiate((path) => compileCoreModule(jsDir, path), { [BOARD_INTERFACE]: board });
  const missing = EXPORTED_FUNCTIONS.filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) {
    throw new CoreLoadError(
      `component ${join(jsDir, COMPONENT_JS)} lacks export${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; `
      + 'add them to wit/ferry.wit and rebuild it with `npm run build:component`',
    );
  }
  return new ComponentCore(exports);
}

/** A CoreFactory for the runner: a fresh component instance per processor. */
export function componentCoreFactory(options: Omit<ComponentCoreOptions, 'onConsole' | 'onTrace' | 'onLinkSend'> = {}): CoreFactory {
  return (onConsole, sinks: BoardSinks = {}) => loadComponentCore({ ...options, onConsole, ...sinks });
}

// Processors share the imported JS module and the compiled core modules.
const importedComponents = new Map<string, Promise<TranspiledComponent>>();
const compiledModules = new Map<string, Promise<WebAssembly.Module>>();

function importComponent(jsDir: string): Promise<TranspiledComponent> {
  let imported = importedComponents.get(jsDir);
  if (imported === undefined) {
    imported = importTranspiled(jsDir);
    importedComponents.set(jsDir, imported);
    imported.catch(() => importedComponents.delete(jsDir));
  }
  return imported;
}

async function importTranspiled(jsDir: string): Promise<TranspiledComponent> {
  const path = join(jsDir, COMPONENT_JS);
  let loaded: Partial<TranspiledComponent>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Partial<TranspiledComponent>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ERR_MODULE_NOT_FOUND' ? 'not built yet' : `cannot load it (${(error as Error).message})`;
    throw new CoreLoadError(`component ${path}: ${hint}: run \`npm run build:component\``);
  }
  if (typeof loaded.instantiate !== 'function') {
    throw new CoreLoadError(`component ${path} has no instantiate(): rebuild it with \`npm run build:component\``);
  }
  return loaded as TranspiledComponent;
}

function compileCoreModule(jsDir: string, name: string): Promise<WebAssembly.Module> {
  const path = join(jsDir, name);
  let compiled = compiledModules.get(path);
  if (compiled === undefined) {
    compiled = readFile(path).then(
      (bytes) => WebAssembly.compile(bytes),
      (error: NodeJS.ErrnoException) => {
        throw new CoreLoadError(`component core module ${path}: ${error.code ?? error.message}: rebuild it with \`npm run build:component\``);
      },
    );
    compiledModules.set(path, compiled);
    compiled.catch(() => compiledModules.delete(path));
  }
  return compiled;
}
