/**
 * CPU benchmark: how fast Ferry runs the CPU benchmark guest (a CoreMark-like
 * integer workload, ~300 million instructions) under each of the core's
 * four runtimes (docs/runtimes.md) — the plain wasm module and the jco component
 * in this process, the component on wasmtime and the native firmware (wasm2c + gcc)
 * as board processors in processes of their own, and the native firmware alone
 * (`ferry-native <image>`, built with guard-page and with explicit bounds checks) —
 * compared with the same C compiled natively by gcc -O2; for both builds of the guest,
 * compressed (guests/build/cpu.elf, rv32imac) and uncompressed (cpu-rv32im.elf).
 *
 *   npm run build && npm run bench:cpu [-- --runs N] [-- --json] [-- --baseline NAME=COMMAND ...]
 *
 * --baseline times another interpreter in the same rounds: COMMAND (run by sh) must run the
 * same workload at the same iteration count (guests/cpu/iterations.sh); it is timed as a
 * whole process and compared with each runtime on the uncompressed build.
 *
 * Every run must print the same checksum and retire the same instructions, so
 * the comparison is of equal work. Wall time is measured with performance.now()
 * around runImage (module, component, wasmtime, native: includes loading the core and,
 * out of process, starting its process) and around the
 * whole ferry-native process (start-up, ELF loading and the run; guest MIPS =
 * instret / that wall) and the native gcc program (start-up well under a
 * millisecond against tens of milliseconds of work). The runtimes and the two
 * builds take turns within each run, so a busy machine slows them alike.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { CoreRuntimeName } from '../host/core-runtime.js';
import { runImage } from '../host/runner.js';
import { packageRoot } from '../host/package-root.js';
import { median, RUN_OPTIONS, runOptionsOf } from './statistics.js';

type RuntimeName = CoreRuntimeName | 'firmware' | 'firmware-explicit';
const RUNTIMES: { name: RuntimeName; label: string }[] = [
  { name: 'module', label: 'module' },
  { name: 'component', label: 'component' },
  { name: 'wasmtime', label: 'wasmtime' },
  { name: 'native', label: 'native' },
  { name: 'firmware', label: 'ferry-native' },
  { name: 'firmware-explicit', label: 'explicit checks' },
];

/** The firmware's two builds (scripts/build-native.sh, FERRY_NATIVE_BOUNDS). */
type Bounds = 'guard' | 'explicit';
const FIRMWARE_DIRS: Record<Bounds, string> = { guard: 'native', explicit: 'native-explicit' };

/** Another interpreter timed in the same rounds (--baseline NAME=COMMAND). */
interface Baseline { name: string; command: string; seconds: number[]; checksum?: string }

interface GuestRun { wallSeconds: number; instret: bigint; cycles: bigint; checksum: string }

/** The package root: the nearest directory upwards with guests/cpu in it (works from bench/ and build/bench/). */
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

async function runGuest(imagePath: string, runtime: CoreRuntimeName = 'module'): Promise<GuestRun> {
  const start = performance.now();
  const r = await runImage({ imagePath, runtime });
  const wallSeconds = (performance.now() - start) / 1000;
  if (r.exitStatus !== 0) {
    throw new Error(`${imagePath}: the guest ended with status ${r.exitStatus} (${r.reason})\n${r.console}`);
  }
  return { wallSeconds, instret: r.instret, cycles: r.cycles, checksum: checksumOf(r.console) };
}

/** build/native{,-explicit}/ferry-native, rebuilt when older than the core; a reason string when it cannot be. */
function nativeFirmware(root: string, bounds: Bounds): string | { path: string } {
  const path = join(root, 'build', FIRMWARE_DIRS[bounds], 'ferry-native');
  const core = join(root, 'build', 'core.wasm');
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(core).mtimeMs) return { path };
  for (const tool of ['wasm2c', 'gcc']) {
    if (spawnSync(tool, ['--version']).status !== 0) return `${tool} not found (apt-get install -y wabt gcc)`;
  }
  const env = { ...process.env, FERRY_NATIVE_BOUNDS: bounds };
  const build = spawnSync('bash', [join(root, 'scripts', 'build-native.sh')], { cwd: root, encoding: 'utf8', env });
  return build.status === 0 ? { path } : `npm run build:native failed: ${build.stderr.trim()}`;
}

/** `--baseline NAME=COMMAND`: the name, and a shell command that runs the same workload. */
function parseBaseline(text: string): Baseline {
  const at = text.indexOf('=');
  if (at < 1 || at === text.length - 1) throw new Error(`--baseline needs NAME=COMMAND, not '${text}'`);
  return { name: text.slice(0, at), command: text.slice(at + 1), seconds: [] };
}

/** One run of a baseline, timed from spawn to exit; its checksum line is kept if it prints one. */
function runBaseline(baseline: Baseline): void {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', baseline.command], { encoding: 'utf8', maxBuffer: 1 << 24 });
  baseline.seconds.push((performance.now() - start) / 1000);
  if (r.status !== 0) throw new Error(`--baseline ${baseline.name}: exit status ${r.status}\n${r.stderr}`);
  baseline.checksum = /^checksum: (0x[0-9a-f]{8})$/m.exec(r.stdout)?.[1];
}

/** The whole ferry-native process, timed from spawn to exit. */
function runFirmware(firmware: string, imagePath: string): GuestRun {
  const start = performance.now();
  const r = spawnSync(firmware, ['--instret', imagePath], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const wallSeconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`ferry-native ${imagePath}: exit status ${r.status}\n${r.stderr}`);
  const instret = /^instret: (\d+)$/m.exec(r.stderr);
  if (!instret) throw new Error(`ferry-native printed no instret line:\n${r.stderr}`);
  // ferry-native does not report virtual cycles; the runs are compared on instret and checksum.
  return { wallSeconds, instret: BigInt(instret[1]!), cycles: -1n, checksum: checksumOf(r.stdout) };
}

const fmt = (value: number, digits: number): string => value.toFixed(digits);
const pad = (text: string, width: number): string => text.padStart(width);

/** The two builds of the benchmark guest, compared in one run. */
const IMAGES = [
  { name: 'compressed', file: 'cpu.elf', march: 'rv32imac' },
  { name: 'uncompressed', file: 'cpu-rv32im.elf', march: 'rv32im' },
];

interface ImageResult {
  name: string; file: string; march: string; instret: bigint; cycles: bigint; checksum: string;
  runs: Map<RuntimeName, GuestRun[]>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { ...RUN_OPTIONS, baseline: { type: 'string', multiple: true } } });
  const options = runOptionsOf(values);
  const baselines = (values.baseline ?? []).map(parseBaseline);
  const root = packageRoot();
  const iterationCount = iterations(root);

  const native = runNative(root, iterationCount, options.runs);
  const firmware = nativeFirmware(root, 'guard');
  const explicit = typeof firmware === 'string' ? firmware : nativeFirmware(root, 'explicit');
  const wasmtime = existsSync(join(root, '.venv', 'bin', 'python')) ? undefined : '.venv not made (npm run setup:wasmtime)';
  const skipped = (name: RuntimeName): boolean =>
    ((name === 'firmware' || name === 'native') && typeof firmware === 'string')
    || (name === 'firmware-explicit' && typeof explicit === 'string') || (name === 'wasmtime' && wasmtime !== undefined);
  const runtimes = RUNTIMES.filter((r) => !skipped(r.name));

  const images: ImageResult[] = IMAGES.map((image) => ({
    ...image, instret: 0n, cycles: 0n, checksum: '', runs: new Map(runtimes.map((r) => [r.name, []])),
  }));
  for (let i = 0; i < options.runs; i++) {
    for (const image of images) {
      const imagePath = join(root, 'guests', 'build', image.file);
      for (const { name } of runtimes) {
        const run = name === 'firmware' ? runFirmware((firmware as { path: string }).path, imagePath)
          : name === 'firmware-explicit' ? runFirmware((explicit as { path: string }).path, imagePath)
          : await runGuest(imagePath, name);
        image.runs.get(name)!.push(run);
      }
    }
    for (const baseline of baselines) runBaseline(baseline);
  }

  for (const image of images) {
    const first = image.runs.get('module')![0]!;
    for (const [name, list] of image.runs) {
      if (list.some((g) => g.instret !== first.instret || g.checksum !== first.checksum)) {
        throw new Error(`${image.file}: the ${name} runs disagree with the module on instret or checksum: the runtimes are not equivalent`);
      }
    }
    if (native && native.checksum !== first.checksum) {
      throw new Error(`${image.file}: checksum mismatch: native ${native.checksum}, guest ${first.checksum}`);
    }
    Object.assign(image, { instret: first.instret, cycles: first.cycles, checksum: first.checksum });
  }
  const nativeWall = native ? median(native.seconds) : undefined;
  const wall = (image: ImageResult, name: RuntimeName): number => median(image.runs.get(name)!.map((g) => g.wallSeconds));
  const mips = (image: ImageResult, seconds: number): number => Number(image.instret) / seconds / 1e6;
  // Baselines run the uncompressed workload (rv32im): their MIPS are at its instret, and
  // each runtime is compared with them on that build.
  const uncompressed = images.find((image) => image.name === 'uncompressed')!;
  const baselineSummary = (baseline: Baseline) => ({
    medianSeconds: median(baseline.seconds),
    mipsAtFerryInstret: mips(uncompressed, median(baseline.seconds)),
    speedup: Object.fromEntries(runtimes.map(({ name }) => [name, median(baseline.seconds) / wall(uncompressed, name)])),
  });
  const baselineLines = (baseline: Baseline): string[] => {
    const { medianSeconds, mipsAtFerryInstret, speedup } = baselineSummary(baseline);
    const same = baseline.checksum === undefined ? 'prints no checksum line'
      : baseline.checksum === uncompressed.checksum ? 'the same checksum' : `checksum ${baseline.checksum}, not ${uncompressed.checksum}`;
    return [
      `  baseline ${baseline.name}: ${pad(fmt(medianSeconds, 3), 7)} s median (${baseline.seconds.map((x) => fmt(x, 3)).join(', ')}),`
        + ` ${fmt(mipsAtFerryInstret, 1)} MIPS at the uncompressed build's instret; ${same}`,
      `    uncompressed build against it: ${runtimes.map(({ name, label }) => `${label} ${fmt(speedup[name]!, 2)}x`).join(', ')}`,
    ];
  };
  const summary = (image: ImageResult) => Object.fromEntries(runtimes.map(({ name }) => [name, {
    wallSeconds: image.runs.get(name)!.map((g) => g.wallSeconds),
    medianSeconds: wall(image, name),
    mips: mips(image, wall(image, name)),
    slowdown: nativeWall ? wall(image, name) / nativeWall : null,
  }]));

  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      iterations: iterationCount, runs: options.runs,
      nativeWallSeconds: native?.seconds ?? null, nativeMedianSeconds: nativeWall ?? null,
      images: images.map((image) => ({
        image: `guests/build/${image.file}`, build: image.name, march: image.march, checksum: image.checksum,
        instret: image.instret.toString(), virtualCycles: image.cycles.toString(), runtimes: summary(image),
      })),
      baselines: baselines.map((b) => ({ ...b, ...baselineSummary(b) })),
      firmwareSkipped: typeof firmware === 'string' ? firmware : null,
      explicitSkipped: typeof explicit === 'string' ? explicit : null,
      wasmtimeSkipped: wasmtime ?? null,
    }, null, 2)}\n`);
    return;
  }

  const out: string[] = [];
  out.push(`Ferry CPU benchmark: ${iterationCount} iterations, compressed (cpu.elf, rv32imac) and uncompressed (cpu-rv32im.elf, rv32im)`);
  out.push('');
  const header = images.flatMap((image) => runtimes.map(({ label }) => pad(`${image.name === 'compressed' ? 'C' : 'U'} ${label}`, 16))).join(' ');
  out.push(`  run  ${header}   ${pad('gcc native s', 12)}   (guest MIPS per run; C = compressed, U = uncompressed)`);
  for (let i = 0; i < options.runs; i++) {
    const cells = images.flatMap((image) => runtimes.map(({ name }) => pad(fmt(mips(image, image.runs.get(name)![i]!.wallSeconds), 1), 16))).join(' ');
    out.push(`  ${pad(String(i + 1), 3)}  ${cells}   ${pad(native ? fmt(native.seconds[i]!, 4) : 'n/a', 12)}`);
  }
  for (const image of images) {
    const rows = summary(image);
    out.push('');
    out.push(`  ${image.name} build, guests/build/${image.file} (${image.march}), checksum ${image.checksum}`);
    out.push(`    guest instructions retired  ${image.instret.toLocaleString('en-US')} (the same under every runtime); virtual cycles ${image.cycles.toLocaleString('en-US')}`);
    out.push('    runtime        median wall   guest MIPS   vs gcc native');
    for (const { name, label } of runtimes) {
      const r = rows[name]!;
      const versus = r.slowdown === null ? 'n/a' : `${fmt(r.slowdown, 1)}x slower`;
      out.push(`    ${label.padEnd(13)} ${pad(fmt(r.medianSeconds, 3), 10)} s   ${pad(fmt(r.mips, 1), 10)}   ${pad(versus, 13)}`);
    }
  }
  out.push('');
  if (native && nativeWall !== undefined) {
    out.push(`  gcc native    ${pad(fmt(nativeWall, 4), 10)} s   (gcc -O2, same workload, same checksum)`);
    const [c, u] = images;
    const ratio = wall(u!, 'module') / wall(c!, 'module');
    out.push(`  module: compressed ${fmt(mips(c!, wall(c!, 'module')), 1)} MIPS, uncompressed ${fmt(mips(u!, wall(u!, 'module')), 1)} MIPS`
      + ` (compressed runs its workload in ${fmt(100 / ratio, 1)}% of the uncompressed build's time)`);
  } else {
    out.push('  gcc native    SKIPPED: gcc not found (apt-get install -y gcc)');
  }
  if (typeof firmware === 'string') out.push(`  native, ferry-native  SKIPPED: ${firmware}`);
  else if (typeof explicit === 'string') out.push(`  explicit checks  SKIPPED: ${explicit}`);
  for (const baseline of baselines) out.push(...baselineLines(baseline));
  if (wasmtime !== undefined) out.push(`  wasmtime      SKIPPED: ${wasmtime}`);
  out.push('  (module, component, wasmtime, native: wall around runImage, core loading included, and for');
  out.push('   wasmtime and native their own process and its start-up; ferry-native: the firmware alone,');
  out.push('   the whole process, start-up and ELF loading included; explicit checks: ferry-native built');
  out.push('   with FERRY_NATIVE_BOUNDS=explicit, a compare before every access, as without an MMU)');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/cpu: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
