/**
 * Differential test: the CPU workload (guests/cpu/workload.c) compiled
 * natively with gcc and run on this machine must print exactly what the same C
 * built for Ferry with clang prints when Ferry runs it, compiled both ways:
 * compressed (cpu-small.elf, rv32imac) and uncompressed (cpu-small-rv32im.elf,
 * rv32im). Any difference is a wrong instruction result in the core.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FERRY_BIN, ROOT, hasCore } from './helpers/paths.js';

const execFileAsync = promisify(execFile);

const CPU_DIR = join(ROOT, 'guests', 'cpu');
const CPU_SMALL_ELFS = ['cpu-small.elf', 'cpu-small-rv32im.elf'].map((name) => join(ROOT, 'guests', 'build', name));

function iterations(name: 'CPU_ITERATIONS' | 'CPU_SMALL_ITERATIONS'): number {
  const text = readFileSync(join(CPU_DIR, 'iterations.sh'), 'utf8');
  const match = new RegExp(`^${name}=(\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`guests/cpu/iterations.sh: no ${name}=`);
  return Number(match[1]);
}

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const note = !hasGcc
  ? ' — SKIPPED: gcc not found (apt-get install -y gcc)'
  : !hasCore() ? ' — SKIPPED: build/core.wasm not built (npm run build:core)' : '';

/** The lines the workload prints that must agree. */
const resultLines = (stdout: string): string[] =>
  stdout.split('\n').filter((line) => /^(iterations|checksum): /.test(line));

describe.skipIf(!hasGcc || !hasCore())(`cpu workload: native gcc build vs cpu-small on Ferry, compressed and not${note}`, () => {
  let dir: string;
  let nativeExe: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-differential-'));
    nativeExe = join(dir, 'cpu-native');
    await execFileAsync('gcc', [
      '-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror',
      `-DITERATIONS=${iterations('CPU_SMALL_ITERATIONS')}`,
      `-I${CPU_DIR}`, join(CPU_DIR, 'workload.c'), join(CPU_DIR, 'native.c'),
      '-o', nativeExe,
    ]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(CPU_SMALL_ELFS)('%s prints the same iteration count and checksum', async (image) => {
    const native = await execFileAsync(nativeExe, []);
    const nativeLines = resultLines(native.stdout);
    expect(nativeLines).toHaveLength(2);
    expect(nativeLines[1]).toMatch(/^checksum: 0x[0-9a-f]{8}$/);

    const guest = await execFileAsync(process.execPath, [FERRY_BIN, 'run', image, '--max-cycles', '500000000'], {
      cwd: ROOT, timeout: 50_000,
    });
    const guestLines = resultLines(guest.stdout);
    expect(guestLines, `guest printed:\n${guest.stdout}`).toEqual(nativeLines);
    // Nothing else either: the guest's whole console output is the native program's stdout.
    expect(guest.stdout).toBe(native.stdout);
  });
});
