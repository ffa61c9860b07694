/**
 * The core as a plain WebAssembly module under Node: loads build/core.wasm,
 * provides the board's imports and wraps the exports of
 * docs/core-interface.md in a typed class. This is the only file that knows
 * the module's export and import names; everything else uses CoreRuntime.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BoardSinks, CheckpointRuntime, ConsoleSink, CoreFactory, CoreRuntime, LinkSink, MigrationRuntime, TraceSink } from './core-runtime.js';
import { CoreLoadError } from './errors.js';
import { packageRoot } from './package-root.js';

export type CoreBuild = 'release' | 'debug';

export interface CoreOptions {
  /** Which build of the core to load; release unless asked (debug keeps assertions). */
  build?: CoreBuild;
  /** An explicit .wasm file instead of the package's build/. */
  wasmPath?: string;
  /** Receives what this processor's VMs write to their consoles. */
  onConsole?: ConsoleSink;
  /** Receives the core's trace events (enable them with traceEnable). */
  onTrace?: TraceSink;
  /** Receives frames the core sends over the board's links. */
  onLinkSend?: LinkSink;
}

const CORE_FILES: Record<CoreBuild, string> = {
  release: 'build/core.wasm',
  debug: 'build/core.debug.wasm',
};

const BOARD_IMPORT_MODULE = 'ferry:core/board';

/** The module's exports as the JS API presents them (i32 signed, i64 as signed BigInt). */
interface CoreExports {
  memory: WebAssembly.Memory;
  configure(clockHz: number, processorId: number): void;
  traceEnable(on: number): void;
  scheduleClear(): void;
  scheduleSetMajorFrame(ns: bigint): number;
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number;
  linkConfigure(peer: number, mtuBytes: number): number;
  linkReceive(peer: number, ptr: number, len: number): number;
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number;
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number;
  vmStat(vm: number, stat: number): bigint;
  processorStat(stat: number): bigint;
  now(): bigint;
  run(cycles: bigint): bigint;
  stagingBuffer(): number;
  stagingBytes(): number;
  vmCreate(kind: number, ramBytes: number): number;
  vmLoad(vm: number, guestAddr: number, ptr: number, len: number): number;
  vmSetTohost(vm: number, addr: number): void;
  vmBoot(vm: number, pc: number, a0: number, a1: number): number;
  vmExit(vm: number): number;
  vmExitCode(vm: number): number;
  vmInstret(vm: number): bigint;
  vmGetReg(vm: number, reg: number): number;
  vmSetReg(vm: number, reg: number, value: number): void;
  vmGetPc(vm: number): number;
  vmGetCsr(vm: number, csr: number): number;
  vmRaiseExternal(vm: number, level: number): void;
  vmAsleep(vm: number): number;
  // The collector (checkpoint-api.ts).
  checkpointBegin(): void;
  checkpointCapture(vm: number, incremental: number): number;
  checkpointEnd(): number;
  checkpointPending(): number;
  checkpointRead(maxBytes: number): number;
  restoreBegin(): void;
  restoreWrite(ptr: number, len: number): number;
  restoreCheck(vm: number): number;
  restoreApply(vm: number): number;
  restoreError(field: number): bigint;
  restoreInfo(field: number): bigint;
  processorSetTime(cycles: bigint): number;
  // The migration manager (docs/migration.md).
  linkSetTiming(peer: number, bandwidthBytesPerS: bigint, latencyNs: bigint, granularityNs: bigint): number;
  processorSetRam(bytes: bigint): void;
  migrationSetParam(key: number, value: bigint): number;
  migrationStart(vm: number, destProcessor: number, strategy: number): number;
  migrationCancel(): number;
  migrationStat(key: number): bigint;
}

const EXPORTED_FUNCTIONS: readonly (keyof CoreExports)[] = [
  'configure', 'now', 'run', 'stagingBuffer', 'stagingBytes',
  'traceEnable', 'scheduleClear', 'scheduleSetMajorFrame', 'scheduleAddWindow', 'linkConfigure', 'linkReceive',
  'channelAddSource', 'channelAddDestination', 'vmStat', 'processorStat',
  'vmCreate', 'vmLoad', 'vmSetTohost', 'vmBoot', 'vmExit', 'vmExitCode', 'vmInstret',
  'vmGetReg', 'vmSetReg', 'vmGetPc', 'vmGetCsr', 'vmRaiseExternal', 'vmAsleep',
  'checkpointBegin', 'checkpointCapture', 'checkpointEnd', 'checkpointPending', 'checkpointRead',
  'restoreBegin', 'restoreWrite', 'restoreCheck', 'restoreApply', 'restoreError', 'restoreInfo', 'processorSetTime',
  'linkSetTiming', 'processorSetRam', 'migrationSetParam', 'migrationStart', 'migrationCancel', 'migrationStat',
];

const u64 = (value: bigint): bigint => BigInt.asUintN(64, value);

/** One processor: a core instance with its own linear memory. */
export class Core implements CoreRuntime, CheckpointRuntime, MigrationRuntime {
  /** Cached at first use: the staging buffer does not move. */
  private stagingPtr: number | undefined;

  constructor(private readonly exports: CoreExports) {}

  configure(clockHz: number, processorId = 0): void { this.exports.configure(clockHz, processorId); }
  traceEnable(on: boolean): void { this.exports.traceEnable(on ? 1 : 0); }
  scheduleClear(): void { this.exports.scheduleClear(); }
  scheduleSetMajorFrame(ns: bigint): number { return this.exports.scheduleSetMajorFrame(ns) | 0; }
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number {
    return this.exports.scheduleAddWindow(vm, offsetNs, durationNs) | 0;
  }
  linkConfigure(peer: number, mtuBytes: number): number { return this.exports.linkConfigure(peer, mtuBytes) | 0; }
  linkReceive(peer: number, frame: Uint8Array): number {
    return this.exports.linkReceive(peer, this.stage(frame), frame.length) | 0;
  }
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number {
    return this.exports.channelAddSource(channel, vm, port, kind, maxMessageBytes, depth, destProcessor) | 0;
  }
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number {
    return this.exports.channelAddDestination(channel, vm, port, kind, maxMessageBytes, depth) | 0;
  }
  vmStat(vm: number, stat: number): bigint { return u64(this.exports.vmStat(vm, stat)); }
  processorStat(stat: number): bigint { return u64(this.exports.processorStat(stat)); }
  now(): bigint { return u64(this.exports.now()); }
  run(cycles: bigint): bigint { return u64(this.exports.run(u64(cycles))); }
  stagingBuffer(): number { return this.exports.stagingBuffer() >>> 0; }
  stagingBytes(): number { return this.exports.stagingBytes() >>> 0; }

  stage(bytes: Uint8Array): number {
    if (bytes.length > this.stagingBytes()) {
      throw new RangeError(`stage: ${bytes.length} bytes do not fit the ${this.stagingBytes()}-byte staging buffer`);
    }
    this.stagingPtr ??= this.stagingBuffer();
    // A fresh view each time: memory.grow detaches the previous buffer.
    new Uint8Array(this.exports.memory.buffer, this.stagingPtr, bytes.length).set(bytes);
    return this.stagingPtr;
  }

  vmCreate(kind: number, ramBytes: number): number { return this.exports.vmCreate(kind, ramBytes) | 0; }
  vmLoad(vm: number, guestAddr: number, ptr: number, lengthBytes: number): number {
    return this.exports.vmLoad(vm, guestAddr, ptr, lengthBytes) | 0;
  }
  vmSetTohost(vm: number, guestAddr: number): void { this.exports.vmSetTohost(vm, guestAddr); }
  vmBoot(vm: number, pc: number, a0: number, a1: number): number { return this.exports.vmBoot(vm, pc, a0, a1) | 0; }
  vmExit(vm: number): number { return this.exports.vmExit(vm) >>> 0; }
  vmExitCode(vm: number): number { return this.exports.vmExitCode(vm) >>> 0; }
  vmInstret(vm: number): bigint { return u64(this.exports.vmInstret(vm)); }
  vmGetReg(vm: number, reg: number): number { return this.exports.vmGetReg(vm, reg) >>> 0; }
  vmSetReg(vm: number, reg: number, value: number): void { this.exports.vmSetReg(vm, reg, value); }
  vmGetPc(vm: number): number { return this.exports.vmGetPc(vm) >>> 0; }
  vmGetCsr(vm: number, csr: number): number { return this.exports.vmGetCsr(vm, csr) >>> 0; }
  vmRaiseExternal(vm: number, level: number): void { this.exports.vmRaiseExternal(vm, level); }
  vmAsleep(vm: number): number { return this.exports.vmAsleep(vm) >>> 0; }

  // The collector: stream bytes pass through the staging buffer in chunks.
  checkpointBegin(): void { this.exports.checkpointBegin(); }
  checkpointCapture(vm: number, incremental: boolean): number { return this.exports.checkpointCapture(vm, incremental ? 1 : 0) | 0; }
  checkpointEnd(): number { return this.exports.checkpointEnd() | 0; }
  checkpointTake(): Uint8Array {
    const out = new Uint8Array(this.exports.checkpointPending() >>> 0);
    this.stagingPtr ??= this.stagingBuffer();
    for (let at = 0; at < out.length;) {
      const got = this.exports.checkpointRead(this.stagingBytes()) >>> 0;
      if (got === 0) throw new Error(`checkpointRead gave nothing with ${out.length - at} bytes pending`);
      out.set(new Uint8Array(this.exports.memory.buffer, this.stagingPtr, got), at);
      at += got;
    }
    return out;
  }
  restoreBegin(): void { this.exports.restoreBegin(); }
  restoreWrite(bytes: Uint8Array): number {
    const chunkBytes = this.stagingBytes();
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      const chunk = bytes.subarray(at, at + chunkBytes);
      const written = this.exports.restoreWrite(this.stage(chunk), chunk.length) | 0;
      if (written !== 0) return written;
    }
    return 0;
  }
  restoreCheck(vm: number): number { return this.exports.restoreCheck(vm) | 0; }
  restoreApply(vm: number): number { return this.exports.restoreApply(vm) | 0; }
  restoreError(field: number): bigint { return u64(this.exports.restoreError(field)); }
  restoreInfo(field: number): bigint { return u64(this.exports.restoreInfo(field)); }
  processorSetTime(cycles: bigint): number { return this.exports.processorSetTime(u64(cycles)) | 0; }

  // The migration manager.
  linkSetTiming(peer: number, bandwidthBytesPerS: bigint, latencyNs: bigint, granularityNs: bigint): number {
    return this.exports.linkSetTiming(peer, bandwidthBytesPerS, latencyNs, granularityNs) | 0;
  }
  processorSetRam(bytes: bigint): void { this.exports.processorSetRam(bytes); }
  migrationSetParam(key: number, value: bigint): number { return this.exports.migrationSetParam(key, value) | 0; }
  migrationStart(vm: number, destProcessor: number, strategy: number): number {
    return this.exports.migrationStart(vm, destProcessor, strategy) | 0;
  }
  migrationCancel(): number { return this.exports.migrationCancel() | 0; }
  migrationStat(key: number): bigint { return u64(this.exports.migrationStat(key)); }
}

/** Instantiates one processor's core. */
export async function loadCore(options: CoreOptions = {}): Promise<Core> {
  const path = options.wasmPath ?? join(packageRoot(), CORE_FILES[options.build ?? 'release']);
  const module = await compileCore(path);
  const onConsole = options.onConsole ?? (() => {});
  // The import needs the instance's memory, which exists only after instantiation.
  let memory: WebAssembly.Memory | undefined;
  const consoleWrite = (vm: number, ptr: number, len: number): void => {
    if (memory === undefined) return;
    onConsole(vm >>> 0, new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0).slice());
  };
  const onTrace = options.onTrace ?? (() => {});
  const onLinkSend = options.onLinkSend ?? (() => {});
  const trace = (event: number, vm: number, atCycles: bigint, a: bigint, b: bigint): void => {
    onTrace(event >>> 0, vm >>> 0, u64(atCycles), u64(a), u64(b));
  };
  const linkSend = (peer: number, ptr: number, len: number): void => {
    if (memory === undefined) return;
    onLinkSend(peer >>> 0, new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0).slice());
  };
  const imports = { [BOARD_IMPORT_MODULE]: { 'console-write': consoleWrite, trace, 'link-send': linkSend } };
  const instance = await instantiate(module, imports, path);
  const exports = checkExports(instance.exports, path);
  memory = exports.memory;
  return new Core(exports);
}

/** A CoreFactory for the runner: a fresh module instance per processor. */
export function moduleCoreFactory(options: Omit<CoreOptions, 'onConsole' | 'onTrace' | 'onLinkSend'> = {}): CoreFactory {
  return (onConsole, sinks: BoardSinks = {}) => loadCore({ ...options, onConsole, ...sinks });
}

// Compiling takes most of the load time; processors share one compiled module.
const compiledModules = new Map<string, Promise<WebAssembly.Module>>();

function compileCore(path: string): Promise<WebAssembly.Module> {
  const key = resolve(path);
  let compiled = compiledModules.get(key);
  if (compiled === undefined) {
    compiled = readAndCompile(key);
    compiledModules.set(key, compiled);
    compiled.catch(() => compiledModules.delete(key));
  }
  return compiled;
}

async function readAndCompile(path: string): Promise<WebAssembly.Module> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'not built yet: run `npm run build:core`' : `cannot read it (${code ?? String(error)})`;
    throw new CoreLoadError(`core ${path}: ${hint}`);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw new CoreLoadError(`core ${path}: not a valid WebAssembly module (${(error as Error).message}); rebuild it with \`npm run build:core\``);
  }
}

async function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports, path: string): Promise<WebAssembly.Instance> {
  try {
    return await WebAssembly.instantiate(module, imports);
  } catch (error) {
    if (!(error instanceof WebAssembly.LinkError)) throw error;
    throw new CoreLoadError(`core ${path} needs imports this host does not provide (${error.message}); are core and host from the same version?`);
  }
}

function checkExports(exports: WebAssembly.Exports, path: string): CoreExports {
  const missing: string[] = EXPORTED_FUNCTIONS.filter((name) => typeof exports[name] !== 'function');
  if (!(exports['memory'] instanceof WebAssembly.Memory)) missing.push('memory');
  if (missing.length > 0) {
    throw new CoreLoadError(`core ${path} lacks export${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; rebuild it with \`npm run build:core\``);
  }
  return exports as unknown as CoreExports;
}
