/**
 * The native firmware (wasm2c + gcc, `npm run build:native`) as a board processor:
 * `build/native/ferry-native --serve` in a process of its own, driven by remote-core.ts
 * (docs/runtimes.md).
 */
import { join } from 'node:path';
import { boardImports } from '../core-runtime.js';
import type { BoardSinks, CoreFactory } from '../core-runtime.js';
import { packageRoot } from '../package-root.js';
import { ProcessPipe, requireFile } from './process-pipe.js';
import { RemoteCore } from './remote-core.js';

export const NATIVE_FIRMWARE = 'build/native/ferry-native';

export interface NativeCoreOptions {
  /** The firmware; default build/native/ferry-native. */
  path?: string;
}

/** A CoreFactory: a fresh native processor (its own process) per call. */
export function nativeCoreFactory(options: NativeCoreOptions = {}): CoreFactory {
  return async (onConsole, sinks: BoardSinks = {}) => {
    const path = requireFile(options.path ?? join(packageRoot(), NATIVE_FIRMWARE), 'the native firmware', 'build it with `npm run build:native` (needs wabt and gcc)');
    const pipe = new ProcessPipe(path, ['--serve'], 'the native processor');
    return new RemoteCore(pipe, boardImports(onConsole, sinks), 'the native processor').runtime();
  };
}
