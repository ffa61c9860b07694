/**
 * The CLI suites run bin/ferry.js, which runs the compiled host in build/host.
 * Recompile it when any host/*.ts is newer than its output, so a test run
 * never exercises a stale build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './paths.js';

export default function setup(): void {
  if (hostBuildIsFresh()) return;
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(ROOT, 'build', 'host', 'cli.js'))) {
    throw new Error(`could not build the host (tsc -p tsconfig.json):\n${result.stdout}${result.stderr}`);
  }
  // tsc still emits on type errors; report them without failing the host's tests.
  if (result.status !== 0) console.warn(`tsc -p tsconfig.json reported errors:\n${result.stdout}`);
}

function hostBuildIsFresh(): boolean {
  return sourceFiles(join(ROOT, 'host')).every((source) => {
    const output = join(ROOT, 'build', relative(ROOT, source)).replace(/\.ts$/, '.js');
    return existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs;
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}
