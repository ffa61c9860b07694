/**
 * CPU benchmark: how fast Ferry runs guests/build/cpu.elf (a CoreMark-like
 * integer workload, ~300 million RV32IM instructions) compared with the same
 * C compiled natively by gcc -O2.
 *
 *   npm run build && npm run bench:cpu [-- --runs N] [-- --json]
 *
 * Both builds must print the same checksum, so the comparison is of equal
 * work. Wall time is measured with performance.now() around runImage (guest)
 * and around the native process (which includes its start-up, well under a
 * millisecond against tens of milliseconds of work).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runImage } from '../host/runner.js';

interface Options { runs: number; json: boolean }

interface GuestRun { wallSeconds: number; instret: bigint; cycles: bigint; checksum: string }

/** The package root: the nearest directory upwards with guests/cpu in it (works from bench/ and build/bench/). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'guests', 'cpu'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('bench/cpu: cannot find the ferry package root');
    dir = parent;
  }
}

function parseArgs(argv: string[]): Options {
  const options: Options = { runs: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--runs') {
      options.runs = Number(argv[++i]);
      if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs needs a positive integer');
    } else throw new Error(`bench/cpu: unknown argument ${arg} (use --runs N, --json)`);
  }
  return options;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function iterations(root: string): number {
  const text = readFileSync(join(root, 'guests', 'cpu', 'iterations.sh'), 'utf8');
  const match = /^CPU_ITERATIONS=(\d+)/m.exec(text);
  if (!match) throw new Error('guests/cpu/iterations.sh: no CPU_ITERATIONS=');
  return Number(match[1]);
}

function checksumOf(output: string): string {
  const match = /^checksum: (0x[0-9a-f]{8})$/m.exec(output);
  if (!match) throw new Error(`no checksum line in:\n${output}`);
  return match[1]!;
}

/** Builds and times the native program; undefined when gcc is missing. */
function runNative(root: string, iterationCount: number, runs: number): { seconds: number[]; checksum: string } | undefined {
  if (spawnSync('gcc', ['--version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-cpu-'));
  try {
    const exe = join(dir, 'cpu-native');
    const cpu = join(root, 'guests', 'cpu');
    execFileSync('gcc', ['-O2', '-std=gnu11', `-DITERATIONS=${iterationCount}`, `-I${cpu}`,
      join(cpu, 'workload.c'), join(cpu, 'native.c'), '-o', exe]);
    const seconds: number[] = [];
    let checksum = '';
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const out = execFileSync(exe, { encoding: 'utf8' });
      seconds.push((performance.now() - start) / 1000);
      checksum = checksumOf(out);
    }
    return { seconds, checksum };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runGuest(imagePath: string): Promise<GuestRun> {
  const start = performance.now();
  const r = await runImage({ imagePath });
  const wallSeconds = (performance.now() - start) / 1000;
  if (r.exitStatus !== 0) {
    throw new Error(`${imagePath}: the guest ended with status ${r.exitStatus} (${r.reason})\n${r.console}`);
  }
  return { wallSeconds, instret: r.instret, cycles: r.cycles, checksum: checksumOf(r.console) };
}

const fmt = (value: number, digits: number): string => value.toFixed(digits);
const pad = (text: string, width: number): string => text.padStart(width);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = findRoot();
  const imagePath = join(root, 'guests', 'build', 'cpu.elf');
  const iterationCount = iterations(root);

  const native = runNative(root, iterationCount, options.runs);

  const guest: GuestRun[] = [];
  for (let i = 0; i < options.runs; i++) guest.push(await runGuest(imagePath));

  const instret = guest[0]!.instret;
  if (guest.some((g) => g.instret !== instret || g.checksum !== guest[0]!.checksum)) {
    throw new Error('the guest runs disagree on instret or checksum: the core is not deterministic');
  }
  if (native && native.checksum !== guest[0]!.checksum) {
    throw new Error(`checksum mismatch: native ${native.checksum}, guest ${guest[0]!.checksum}`);
  }
  const guestWall = median(guest.map((g) => g.wallSeconds));
  const guestMips = Number(instret) / guestWall / 1e6;
  const nativeWall = native ? median(native.seconds) : undefined;
  const slowdown = nativeWall ? guestWall / nativeWall : undefined;

  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      image: 'guests/build/cpu.elf', iterations: iterationCount, runs: options.runs,
      checksum: guest[0]!.checksum, instret: instret.toString(), virtualCycles: guest[0]!.cycles.toString(),
      guestWallSeconds: guest.map((g) => g.wallSeconds), guestMedianSeconds: guestWall, guestMips,
      nativeWallSeconds: native?.seconds ?? null, nativeMedianSeconds: nativeWall ?? null, slowdown: slowdown ?? null,
    }, null, 2)}\n`);
    return;
  }

  const out: string[] = [];
  out.push(`Ferry CPU benchmark: guests/build/cpu.elf, ${iterationCount} iterations, checksum ${guest[0]!.checksum}`);
  out.push('');
  out.push(`  run   guest wall (s)   guest MIPS   native wall (s)`);
  for (let i = 0; i < options.runs; i++) {
    const g = guest[i]!;
    const n = native ? fmt(native.seconds[i]!, 4) : 'n/a';
    out.push(`  ${pad(String(i + 1), 3)}   ${pad(fmt(g.wallSeconds, 3), 14)}   ${pad(fmt(Number(instret) / g.wallSeconds / 1e6, 1), 10)}   ${pad(n, 15)}`);
  }
  out.push('');
  out.push(`  guest instructions retired  ${instret.toLocaleString('en-US')}`);
  out.push(`  guest virtual cycles        ${guest[0]!.cycles.toLocaleString('en-US')}`);
  out.push(`  guest median wall           ${fmt(guestWall, 3)} s`);
  out.push(`  guest speed                 ${fmt(guestMips, 1)} MIPS (instret / wall)`);
  if (native && nativeWall !== undefined && slowdown !== undefined) {
    out.push(`  native median wall          ${fmt(nativeWall, 4)} s (gcc -O2, same workload, same checksum)`);
    out.push('');
    out.push(`Ferry runs the workload at ${fmt(slowdown, 1)}× slower than native.`);
  } else {
    out.push('  native                      SKIPPED: gcc not found (apt-get install -y gcc)');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/cpu: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
