/**
 * The core component on wasmtime as a board processor: wasmtime-processor.py, run by the
 * Python of the project's virtual environment (.venv, `npm run setup:wasmtime`, with
 * wasmtime==49.0.0), hosts build/component/ferry-core.component.wasm in a process of its
 * own, driven by remote-core.ts (docs/runtimes.md).
 */
import { join } from 'node:path';
import { boardImports } from '../core-runtime.js';
import type { BoardSinks, CoreFactory } from '../core-runtime.js';
import { packageRoot } from '../package-root.js';
import { ProcessPipe, requireFile } from './process-pipe.js';
import { RemoteCore } from './remote-core.js';

export const WASMTIME_PYTHON = '.venv/bin/python';
export const WASMTIME_PROCESSOR = 'host/runtimes/wasmtime-processor.py';
export const CORE_COMPONENT = 'build/component/ferry-core.component.wasm';

export interface WasmtimeCoreOptions {
  /** The Python that has wasmtime 49; default the project's .venv. */
  python?: string;
  /** The component; default build/component/ferry-core.component.wasm. */
  componentPath?: string;
}

/** A CoreFactory: a fresh wasmtime processor (its own process) per call. */
export function wasmtimeCoreFactory(options: WasmtimeCoreOptions = {}): CoreFactory {
  return async (onConsole, sinks: BoardSinks = {}) => {
    const root = packageRoot();
    const python = requireFile(options.python ?? join(root, WASMTIME_PYTHON), 'the Python with wasmtime', 'make it with `npm run setup:wasmtime` (needs python3 with venv)');
    const component = requireFile(options.componentPath ?? join(root, CORE_COMPONENT), 'the core component', 'build it with `npm run build:component`');
    const pipe = new ProcessPipe(python, [join(root, WASMTIME_PROCESSOR), component], 'the wasmtime processor');
    return new RemoteCore(pipe, boardImports(onConsole, sinks), 'the wasmtime processor').runtime();
  };
}
