/** Paths of the package and its build outputs, for tests. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FERRY_BIN = join(ROOT, 'bin', 'ferry.js');
export const CORE_WASM = join(ROOT, 'build', 'core.wasm');
export const HELLO_ELF = join(ROOT, 'guests', 'build', 'hello.elf');

export const hasCore = (): boolean => existsSync(CORE_WASM);
