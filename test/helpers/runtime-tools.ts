/**
 * What the out-of-process runtimes need (docs/runtimes.md): the native firmware (wasm2c and
 * gcc build it) and the wasmtime runtime (the project's .venv with wasmtime 49, made by
 * `npm run setup:wasmtime`). A test file asks for both up front; without them its suites
 * are skipped with a visible reason, except under CI=true, where they fail: CI installs
 * every tool (.ci/run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_WASM, ROOT, hasCore } from './paths.js';

export const NATIVE = join(ROOT, 'build', 'native', 'ferry-native');
/** The same firmware with explicit bounds checks (FERRY_NATIVE_BOUNDS=explicit), for a target without an MMU. */
export const NATIVE_EXPLICIT = join(ROOT, 'build', 'native-explicit', 'ferry-native');
type Bounds = 'guard' | 'explicit';
const BUILDS: Record<Bounds, string> = { guard: NATIVE, explicit: NATIVE_EXPLICIT };
export const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');
export const inCi = process.env['CI'] === 'true';

/** What the native build is made from: rebuilt when any of these is newer than the binary. */
const NATIVE_SOURCES = [
  CORE_WASM, join(ROOT, 'scripts', 'build-native.sh'),
  ...['board.c', 'elf.c', 'elf.h', 'serve.c', 'serve.h', 'core-world.c'].map((file) => join(ROOT, 'native', file)),
];

const found = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

/** Why the native firmware cannot be built here, or undefined. */
export function nativeMissing(): string | undefined {
  const missing = ['wasm2c', 'gcc'].filter((tool) => !found(tool));
  if (missing.length > 0) return `${missing.join(' and ')} not found (apt-get install wabt gcc)`;
  return hasCore() ? undefined : 'build/core.wasm not built (npm run build:core)';
}

/** Why the wasmtime runtime cannot run here, or undefined. */
export function wasmtimeMissing(): string | undefined {
  if (!existsSync(VENV_PYTHON)) return '.venv not made (npm run setup:wasmtime: python3 with venv, wasmtime==49.0.0)';
  const check = spawnSync(VENV_PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("wasmtime"))'], { encoding: 'utf8' });
  if (check.stdout.trim() !== '49.0.0') return `.venv has no wasmtime 49.0.0 (${check.stdout.trim() || check.stderr.trim().split('\n').pop()}): npm run setup:wasmtime`;
  return existsSync(join(ROOT, 'build', 'component', 'ferry-core.component.wasm')) ? undefined : 'the component is not built (npm run build:component)';
}

export function nativeIsStale(bounds: Bounds = 'guard'): boolean {
  const binary = BUILDS[bounds];
  if (!existsSync(binary)) return true;
  const built = statSync(binary).mtimeMs;
  return NATIVE_SOURCES.some((source) => existsSync(source) && statSync(source).mtimeMs > built);
}

/** Builds the native firmware (guard-page bounds checks unless asked) if it is missing or older than what it is made from. */
export function buildNativeIfStale(bounds: Bounds = 'guard'): void {
  if (!nativeIsStale(bounds)) return;
  const env = { ...process.env, FERRY_NATIVE_BOUNDS: bounds };
  const build = spawnSync('bash', [join(ROOT, 'scripts', 'build-native.sh')], { cwd: ROOT, encoding: 'utf8', env });
  if (build.status !== 0) throw new Error(`npm run build:native failed:\n${build.stdout}${build.stderr}`);
}
