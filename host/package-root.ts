/**
 * Where ferry is installed: build outputs (build/core.wasm) and package.json
 * are found from here. This module runs both as host/*.ts (under vitest) and
 * as build/host/*.js (the CLI), so it walks up to ferry's package.json rather
 * than assuming a depth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (readFerryPackage(join(dir, 'package.json')) !== undefined) return (cachedRoot = dir);
    if (dirname(dir) === dir) throw new Error(`cannot find ferry's package.json above ${start}`);
  }
}

/** ferry's version, from its package.json. */
export function packageVersion(): string {
  const version = readFerryPackage(join(packageRoot(), 'package.json'))?.version;
  return typeof version === 'string' ? version : 'unknown';
}

function readFerryPackage(path: string): { name?: unknown; version?: unknown } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
    return parsed.name === 'ferry' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
