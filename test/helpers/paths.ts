/** Paths of the package and its build outputs, for tests. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../host/package-root.js';

/** The package (also when these helpers run compiled, from build/test/helpers: the benchmarks use some). */
export const ROOT = packageRoot();
export const FERRY_BIN = join(ROOT, 'bin', 'ferry.js');
export const CORE_WASM = join(ROOT, 'build', 'core.wasm');
export const HELLO_ELF = join(ROOT, 'guests', 'build', 'hello.elf');

export const hasCore = (): boolean => existsSync(CORE_WASM);
