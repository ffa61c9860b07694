/**
 * Checkpoint benchmark: size and wall time of full and incremental
 * checkpoints (and of restoring the full one) for a 1 MiB and a 16 MiB guest
 * at several dirty rates, and the guest slowdown that dirty tracking costs.
 *
 *   npm run build && npm run bench:checkpoint [-- --json] [-- --runs N]
 *
 * The guest is guests/build/memwriter.elf: it writes every page of its
 * working set once, then in each 1 ms period of virtual time writes one word
 * into a given share of those pages (the dirty rate) and sleeps. A full
 * checkpoint is taken one period after the fill, an incremental one a period
 * later: it holds the pages written in that period. Times are wall-clock
 * (performance.now) around capture + copying the stream out of the core, the
 * median of --runs repetitions.
 *
 * Dirty tracking's cost: the same guests run on build/core.wasm and on
 * build/core-nodirty.wasm, the core compiled with `--use
 * FERRY_NO_DIRTY_TRACKING=1`, which leaves out the two byte stores per guest
 * store that mark pages (assembly/dirty-tracking.ts). npm run
 * bench:checkpoint builds that core first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { checkpointTake, restoreWriteAll } from '../host/core-runtime.js';
import type { CoreRuntime } from '../host/core-runtime.js';
import { loadCore } from '../host/core.js';
import { VmExitReason, VmKind } from '../host/core-runtime.js';
import { parseElf } from '../host/elf.js';
import type { ElfImage } from '../host/elf.js';
import { loadImage } from '../host/loader.js';
import { packageRoot } from '../host/package-root.js';
import { median, parseRunOptions } from './statistics.js';

const CLOCK_HZ = 100_000_000;
/** memwriter's period: 1 ms of virtual time = 10,000 timer ticks = 100,000 cycles at 100 MHz. */
const PERIOD_TICKS = 10_000;
const PERIOD_CYCLES = 100_000n;
const PAGE_BYTES = 4096;
const RAM_SIZES_MIB = [1, 16];
const DIRTY_RATES = [0.01, 0.1, 0.5, 1];
const MAGIC = 0x4d57_5250;

interface MemwriterParams {
  ramBytes: number;
  pagesPerPeriod: number;
  wordsPerPage: number;
  periodTicks: number;
  periods: number;
  fill: boolean;
}

/** A fresh core running memwriter with these parameters (patched into its .data before boot). */
async function bootMemwriter(image: ElfImage, params: MemwriterParams, wasmPath?: string): Promise<{ core: CoreRuntime; vm: number; console: () => string }> {
  const chunks: Uint8Array[] = [];
  const core = (await loadCore({ wasmPath, onConsole: (_vm, bytes) => chunks.push(bytes) }));
  core.configure(CLOCK_HZ, 0);
  const vm = core.vmCreate(VmKind.paravirtual, params.ramBytes);
  loadImage(core, vm, image, params.ramBytes);
  const symbol = image.symbols.get('memwriter_params');
  if (symbol === undefined) throw new Error('memwriter.elf has no memwriter_params symbol');
  const struct = new Uint8Array(28);
  const view = new DataView(struct.buffer);
  [MAGIC, params.ramBytes, params.pagesPerPeriod, params.wordsPerPage, params.periodTicks, params.periods, params.fill ? 1 : 0]
    .forEach((value, i) => view.setUint32(i * 4, value >>> 0, true));
  if (core.vmLoad(vm, symbol.value, struct) !== 0) throw new Error('cannot patch memwriter_params');
  return { core, vm, console: () => Buffer.concat(chunks).toString('utf8') };
}

function workingSetPages(image: ElfImage, ramBytes: number): number {
  const end = Math.max(...image.segments.map((s) => s.paddr + s.memBytes));
  return Math.floor((0x8000_0000 + ramBytes - Math.ceil(end / PAGE_BYTES) * PAGE_BYTES) / PAGE_BYTES);
}

function runCycles(core: CoreRuntime, cycles: bigint): void {
  const end = core.now() + cycles;
  while (core.now() < end) core.run(end - core.now() < 1_000_000n ? end - core.now() : 1_000_000n);
}

/** Captures one checkpoint into a stream and copies it out: bytes and milliseconds. */
function timedCapture(core: CoreRuntime, vm: number, incremental: boolean): { bytes: number; ms: number } {
  const start = performance.now();
  core.checkpointBegin();
  if (core.checkpointCapture(vm, incremental ? 1 : 0) !== 0) throw new Error('checkpointCapture failed');
  core.checkpointEnd();
  const bytes = checkpointTake(core).length;
  return { bytes, ms: performance.now() - start };
}

interface CheckpointRow {
  ramMiB: number;
  dirtyRate: number;
  pages: number;
  dirtyPagesPerPeriod: number;
  fullBytes: number;
  fullMs: number;
  incrementalBytes: number;
  incrementalMs: number;
  restoreFullMs: number;
}

async function measureCheckpoints(image: ElfImage, ramMiB: number, rate: number, runs: number): Promise<CheckpointRow> {
  const ramBytes = ramMiB * 1024 * 1024;
  const pages = workingSetPages(image, ramBytes);
  const pagesPerPeriod = Math.max(1, Math.round(pages * rate));
  const guest = await bootMemwriter(image, { ramBytes, pagesPerPeriod, wordsPerPage: 1, periodTicks: PERIOD_TICKS, periods: 0, fill: true });
  while (!guest.console().includes('memwriter: filled')) runCycles(guest.core, PERIOD_CYCLES);
  runCycles(guest.core, PERIOD_CYCLES);
  const full: { bytes: number; ms: number }[] = [];
  const incremental: { bytes: number; ms: number }[] = [];
  const restoreMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    full.push(timedCapture(guest.core, guest.vm, false));
    runCycles(guest.core, PERIOD_CYCLES);
    incremental.push(timedCapture(guest.core, guest.vm, true));
  }
  // Restore: the last full checkpoint into a fresh core, check + apply.
  guest.core.checkpointBegin();
  guest.core.checkpointCapture(guest.vm, 0);
  guest.core.checkpointEnd();
  const stream = checkpointTake(guest.core);
  for (let run = 0; run < runs; run++) {
    const target = (await loadCore());
    const start = performance.now();
    target.restoreBegin();
    restoreWriteAll(target, stream);
    if (target.restoreApply(-1) < 0) throw new Error('restore refused the benchmark stream');
    restoreMs.push(performance.now() - start);
  }
  if (guest.core.vmExit(guest.vm) !== VmExitReason.running) throw new Error(`memwriter stopped: ${guest.console()}`);
  return {
    ramMiB, dirtyRate: rate, pages, dirtyPagesPerPeriod: pagesPerPeriod,
    fullBytes: median(full.map((f) => f.bytes)), fullMs: median(full.map((f) => f.ms)),
    incrementalBytes: median(incremental.map((f) => f.bytes)), incrementalMs: median(incremental.map((f) => f.ms)),
    restoreFullMs: median(restoreMs),
  };
}

interface SlowdownRow {
  workload: string;
  instructions: bigint;
  trackedMips: number;
  untrackedMips: number;
  /** (untracked speed / tracked speed - 1) × 100: what marking pages costs. */
  slowdownPercent: number;
}

/** Guest instructions per wall second on a core, median of `runs`. */
async function guestMips(boot: () => Promise<{ core: CoreRuntime; vm: number }>, cycles: bigint, runs: number): Promise<{ mips: number; instructions: bigint }> {
  const rates: number[] = [];
  let instructions = 0n;
  for (let run = 0; run < runs; run++) {
    const { core, vm } = await boot();
    const start = performance.now();
    runCycles(core, cycles);
    if (core.vmExit(vm) !== VmExitReason.running) throw new Error('the slowdown workload stopped before its cycles ran out');
    const seconds = (performance.now() - start) / 1000;
    instructions = core.vmInstret(vm);
    rates.push(Number(instructions) / seconds / 1e6);
  }
  return { mips: median(rates), instructions };
}

async function measureSlowdown(root: string, memwriter: ElfImage, runs: number): Promise<SlowdownRow[]> {
  const untracked = join(root, 'build', 'core-nodirty.wasm');
  if (!existsSync(untracked)) throw new Error(`${untracked} is missing: run npm run bench:checkpoint (it builds it)`);
  const cpu = parseElf(readFileSync(join(root, 'guests', 'build', 'cpu.elf')));
  const ramBytes = 16 * 1024 * 1024;
  const storeHeavy = { ramBytes, pagesPerPeriod: workingSetPages(memwriter, ramBytes), wordsPerPage: 1024, periodTicks: 0, periods: 0, fill: false };
  const workloads: [string, (wasm?: string) => Promise<{ core: CoreRuntime; vm: number }>, bigint][] = [
    ['memwriter, continuous stores (every word of 16 MiB, round and round)', (wasm) => bootMemwriter(memwriter, storeHeavy, wasm), 200_000_000n],
    ['cpu (CoreMark-like integer work), first 150M cycles', async (wasm) => {
      const core = (await loadCore({ wasmPath: wasm }));
      core.configure(CLOCK_HZ, 0);
      const vm = core.vmCreate(VmKind.paravirtual, 8 * 1024 * 1024);
      loadImage(core, vm, cpu, 8 * 1024 * 1024);
      return { core, vm };
    }, 150_000_000n],
  ];
  const rows: SlowdownRow[] = [];
  for (const [workload, boot, cycles] of workloads) {
    // Alternate the two cores so drift in the machine's speed hits both alike.
    const tracked: number[] = [];
    const plain: number[] = [];
    let instructions = 0n;
    for (let run = 0; run < runs; run++) {
      const a = await guestMips(() => boot(undefined), cycles, 1);
      const b = await guestMips(() => boot(untracked), cycles, 1);
      tracked.push(a.mips);
      plain.push(b.mips);
      instructions = a.instructions;
    }
    const trackedMips = median(tracked);
    const untrackedMips = median(plain);
    rows.push({ workload, instructions, trackedMips, untrackedMips, slowdownPercent: (untrackedMips / trackedMips - 1) * 100 });
  }
  return rows;
}

const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

function printTables(checkpoints: CheckpointRow[], slowdown: SlowdownRow[], runs: number): void {
  console.log(`Checkpoints of memwriter (1 word written per dirty page per 1 ms period), median of ${runs} runs`);
  console.log('RAM     dirty rate  pages  dirty/period  full KiB  full ms  full MB/s  incr KiB  incr ms  restore full ms');
  for (const r of checkpoints) {
    const mbps = r.fullBytes / 1e6 / (r.fullMs / 1000);
    console.log(`${`${r.ramMiB} MiB`.padEnd(7)} ${`${(r.dirtyRate * 100).toFixed(0)} %`.padStart(10)}  ${String(r.pages).padStart(5)}  ${String(r.dirtyPagesPerPeriod).padStart(12)}  `
      + `${kib(r.fullBytes).padStart(8)}  ${r.fullMs.toFixed(2).padStart(7)}  ${mbps.toFixed(0).padStart(9)}  ${kib(r.incrementalBytes).padStart(8)}  ${r.incrementalMs.toFixed(2).padStart(7)}  ${r.restoreFullMs.toFixed(2).padStart(15)}`);
  }
  console.log('\nfull: every touched page (the whole working set after the fill); incr: the pages written in one period');
  console.log('since the previous checkpoint. ms: capture + copying the stream out of the core (restore: writing it in,');
  console.log('checking all of it, applying it to a new VM).');
  console.log('\nDirty tracking: guest speed with the page marking (build/core.wasm) and without it (build/core-nodirty.wasm)');
  for (const r of slowdown) {
    console.log(`  ${r.workload}: ${r.instructions} instructions, ${r.trackedMips.toFixed(1)} MIPS tracked, `
      + `${r.untrackedMips.toFixed(1)} MIPS untracked: tracking costs ${r.slowdownPercent.toFixed(1)} %`);
  }
  console.log('  Each guest store marks its page with one extra byte store (two when it straddles a word); nothing else changes.');
}

async function main(): Promise<void> {
  const options = parseRunOptions(process.argv.slice(2));
  const root = packageRoot();
  const memwriter = parseElf(readFileSync(join(root, 'guests', 'build', 'memwriter.elf')));
  const checkpoints: CheckpointRow[] = [];
  for (const ramMiB of RAM_SIZES_MIB) {
    for (const rate of DIRTY_RATES) checkpoints.push(await measureCheckpoints(memwriter, ramMiB, rate, options.runs));
  }
  const slowdown = await measureSlowdown(root, memwriter, Math.min(options.runs, 3));
  if (options.json) {
    console.log(JSON.stringify({ checkpoints, slowdown }, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2));
  } else {
    printTables(checkpoints, slowdown, options.runs);
  }
}

await main();
