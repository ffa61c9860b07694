/**
 * The core as a plain WebAssembly module under Node: loads build/core.wasm, gives it the
 * board's imports and adapts its exports to CoreWorld (host/core-world.ts, generated from
 * wit/ferry.wit) from the world's table of signatures. The module's exports carry the
 * world's camelCase names; where the world passes a byte list the module takes a pointer
 * and a length into its staging buffer (checkpointRead returns a count of bytes left at
 * its start), which is what the canonical ABI lowers them to as well.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { boardImports } from './core-runtime.js';
import type { BoardSinks, ConsoleSink, CoreFactory, CoreRuntime, EventSink, LinkSink, TraceSink } from './core-runtime.js';
import { BOARD_IMPORTS, WORLD_EXPORTS } from './core-world.js';
import type { BoardImports, WitType } from './core-world.js';
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
  /** Receives the core's lifecycle events. */
  onEvent?: EventSink;
}

const CORE_FILES: Record<CoreBuild, string> = {
  release: 'build/core.wasm',
  debug: 'build/core.debug.wasm',
};

const BOARD_IMPORT_MODULE = 'ferry:core/board';
/** Module-only exports beside the world's: where the staging buffer is. */
const MODULE_EXTRAS = ['stagingBuffer'] as const;

type RawFunction = (...args: (number | bigint)[]) => number | bigint | undefined;

/** A value the module returned, as the world types it. */
function lift(type: WitType | undefined, value: number | bigint | undefined): number | bigint | undefined {
  switch (type) {
    case 'u32': return (value as number) >>> 0;
    case 's32': return (value as number) | 0;
    case 'u64': return BigInt.asUintN(64, value as bigint);
    case 's64': return BigInt.asIntN(64, value as bigint);
    default: return undefined;
  }
}

/** One world export over the module's function: byte lists go through the staging buffer. */
function adapt(raw: RawFunction, params: readonly WitType[], result: WitType | undefined, memory: WebAssembly.Memory, staging: { ptr: number; bytes: number }): unknown {
  const hasList = params.includes('list<u8>');
  if (!hasList && result !== 'list<u8>') return (...args: (number | bigint)[]) => lift(result, raw(...args));
  return (...args: (number | bigint | Uint8Array)[]) => {
    const lowered: (number | bigint)[] = [];
    params.forEach((type, i) => {
      if (type !== 'list<u8>') { lowered.push(args[i] as number | bigint); return; }
      const bytes = args[i] as Uint8Array;
      if (bytes.length > staging.bytes) throw new RangeError(`${bytes.length} bytes do not fit the ${staging.bytes}-byte staging buffer`);
      new Uint8Array(memory.buffer, staging.ptr, bytes.length).set(bytes); // a fresh view: memory.grow detaches old ones
      lowered.push(staging.ptr, bytes.length);
    });
    const value = raw(...lowered);
    if (result !== 'list<u8>') return lift(result, value);
    return new Uint8Array(memory.buffer, staging.ptr, (value as number) >>> 0).slice();
  };
}

/** Instantiates one processor's core. */
export async function loadCore(options: CoreOptions = {}): Promise<CoreRuntime> {
  const path = options.wasmPath ?? join(packageRoot(), CORE_FILES[options.build ?? 'release']);
  const module = await compileCore(path);
  // The imports need the instance's memory, which exists only after instantiation.
  let memory: WebAssembly.Memory | undefined;
  const bytesAt = (ptr: number, len: number): Uint8Array => new Uint8Array(memory!.buffer, ptr >>> 0, len >>> 0).slice();
  const board = boardImports(options.onConsole ?? (() => {}), options as BoardSinks);
  const imports: Record<keyof BoardImports, WebAssembly.ImportValue> = {
    consoleWrite: (vm: number, ptr: number, len: number) => board.consoleWrite(vm >>> 0, bytesAt(ptr, len)),
    linkSend: (peer: number, at: bigint, ptr: number, len: number) => board.linkSend(peer >>> 0, BigInt.asUintN(64, at), bytesAt(ptr, len)),
    trace: (event: number, vm: number, at: bigint, a: bigint, b: bigint) => board.trace(event >>> 0, vm >>> 0, BigInt.asUintN(64, at), BigInt.asUintN(64, a), BigInt.asUintN(64, b)),
    event: (kind: number, id: number, vm: number, at: bigint, a: bigint, b: bigint) => board.event(kind >>> 0, id >>> 0, vm >>> 0, BigInt.asUintN(64, at), BigInt.asUintN(64, a), BigInt.asUintN(64, b)),
  };
  const kebab = Object.fromEntries(BOARD_IMPORTS.map((fn) => [fn.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), imports[fn.name]]));
  const instance = await instantiate(module, { [BOARD_IMPORT_MODULE]: kebab }, path);
  const exports = checkExports(instance.exports, path);
  memory = exports['memory'] as WebAssembly.Memory;
  const call = (name: string): number => ((exports[name] as RawFunction)() as number) >>> 0;
  const staging = { ptr: call('stagingBuffer'), bytes: call('stagingBytes') };
  const core: Record<string, unknown> = {};
  for (const fn of WORLD_EXPORTS) {
    core[fn.name] = adapt(exports[fn.name] as RawFunction, fn.params, 'result' in fn ? fn.result : undefined, memory, staging);
  }
  return core as unknown as CoreRuntime;
}

/** A CoreFactory for the runner: a fresh module instance per processor. */
export function moduleCoreFactory(options: Omit<CoreOptions, 'onConsole' | 'onTrace' | 'onLinkSend' | 'onEvent'> = {}): CoreFactory {
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

function checkExports(exports: WebAssembly.Exports, path: string): WebAssembly.Exports {
  const names = [...WORLD_EXPORTS.map((fn) => fn.name), ...MODULE_EXTRAS];
  const missing: string[] = names.filter((name) => typeof exports[name] !== 'function');
  if (!(exports['memory'] instanceof WebAssembly.Memory)) missing.push('memory');
  if (missing.length > 0) {
    throw new CoreLoadError(`core ${path} lacks export${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; rebuild it with \`npm run build:core\``);
  }
  return exports;
}
