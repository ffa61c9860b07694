/**
 * The core as a WebAssembly component (docs/runtimes.md): the world in
 * wit/ferry.wit, built by `npm run build:component` and transpiled by jco into
 * build/component/js/ferry-core.js. This file loads that ESM module, gives it
 * the board's imports and presents its exports as a CoreRuntime, so the runner
 * and the boards run processors from either form of the core.
 *
 * Through the component, values cross the canonical ABI: u32/s32 arrive as
 * numbers with their sign already right, u64 as unsigned BigInt, and byte lists
 * as Uint8Array — already the CoreWorld types (host/core-world.ts). A list passed
 * into the core (vm-load, link-receive) is placed by the core's own cabi_realloc,
 * which hands out the staging buffer.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { boardImports } from './core-runtime.js';
import type { BoardImports, BoardSinks, ConsoleSink, CoreFactory, CoreRuntime, EventSink, LinkSink, TraceSink } from './core-runtime.js';
import { WORLD_EXPORTS } from './core-world.js';
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
  /** Receives the core's lifecycle events. */
  onEvent?: EventSink;
}

const COMPONENT_JS = 'ferry-core.js';
const DEFAULT_JS_DIR = 'build/component/js';
const BOARD_INTERFACE = 'ferry:core/board';

/** What jco generates with `instantiation: 'async'`. */
interface TranspiledComponent {
  instantiate(
    getCoreModule: (path: string) => Promise<WebAssembly.Module>,
    imports: { [BOARD_INTERFACE]: BoardImports },
  ): Promise<Record<string, unknown>>;
}

type ListFunction = (...args: unknown[]) => unknown;

/**
 * jco already presents the world's exports as CoreWorld types; a byte list longer than
 * the staging buffer would trap in the core's cabi_realloc, so it is refused here first,
 * as the module runtime refuses it.
 */
function guarded(fn: ListFunction, params: readonly string[], stagingBytes: number, name: string): ListFunction {
  if (!params.includes('list<u8>')) return fn;
  return (...args: unknown[]) => {
    params.forEach((type, i) => {
      const bytes = args[i] as Uint8Array;
      if (type === 'list<u8>' && bytes.length > stagingBytes) {
        throw new RangeError(`${name}: ${bytes.length} bytes do not fit the ${stagingBytes}-byte staging buffer`);
      }
    });
    return fn(...args);
  };
}

/** Instantiates one processor's core from the transpiled component. */
export async function loadComponentCore(options: ComponentCoreOptions = {}): Promise<CoreRuntime> {
  const jsDir = options.jsDir ?? join(packageRoot(), DEFAULT_JS_DIR);
  const component = await importComponent(jsDir);
  // jco hands list arguments over as fresh Uint8Arrays copied out of core memory.
  const board = boardImports(options.onConsole ?? (() => {}), options);
  const exports = await component.instantiate((path) => compileCoreModule(jsDir, path), { [BOARD_INTERFACE]: board });
  const missing = WORLD_EXPORTS.map((fn) => fn.name).filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) {
    throw new CoreLoadError(
      `component ${join(jsDir, COMPONENT_JS)} lacks export${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; `
      + 'add them to wit/ferry.wit and rebuild it with `npm run build:component`',
    );
  }
  const stagingBytes = (exports['stagingBytes'] as () => number)();
  const core: Record<string, unknown> = {};
  for (const fn of WORLD_EXPORTS) core[fn.name] = guarded(exports[fn.name] as ListFunction, fn.params, stagingBytes, fn.name);
  return core as unknown as CoreRuntime;
}

/** A CoreFactory for the runner: a fresh component instance per processor. */
export function componentCoreFactory(options: Omit<ComponentCoreOptions, 'onConsole' | 'onTrace' | 'onLinkSend' | 'onEvent'> = {}): CoreFactory {
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
