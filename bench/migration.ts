/**
 * Migration benchmark: what the migration manager achieves, measured in virtual
 * time on a two-processor board, in one run.
 *
 *   npm run build && npm run bench:migration [-- --scale N] [-- --quick] [-- --json]
 *
 * The guest is guests/build/memwriter.elf, its parameters patched into the ELF's
 * .data (the memwriter_params struct) before the board loads it: it touches every
 * page of its working set once, then writes pages without pause, moving through the
 * working set, so every write dirties a page not written since the cursor last
 * passed. Its dirty rate p is set by the share of the processor it gets: one
 * partition window of f · 10 ms in each 10 ms major frame, f = p / p_max, where
 * p_max (its dirty rate with the whole processor) is calibrated first from the
 * instructions it retires per page. Throttled pre-copy cuts that share further, so
 * throttling slows its dirtying exactly as Jin et al. assume (dirty rate ∝ CPU
 * time). Every migration's own measurement of p (the dirty rate of its first round)
 * is printed beside the nominal one.
 *
 * Figures:
 *   1. downtime and total time against the dirty rate, for each strategy
 *      (16 MiB guest, B = 200 Mbit/s);
 *   2. the migration barrier of Jin et al. (J. Network and Computer Applications 34,
 *      2011, Fig. 2): M = 800 MB, B = 200 Mbit/s, N = 30, h = 256 KiB. Their model
 *      predicts that pre-copy's downtime grows sharply above
 *      p = (h/M)^(1/(N-1)) · B ≈ 151 Mbit/s; the measured curve is printed beside the
 *      model's downtime for each p, and throttled pre-copy with C = 0.6 … 0.9 beside
 *      it. --scale k (default 64) runs M/k and h/k (the same h/M, so the same
 *      barrier): the destination core keeps the whole incoming stream in one buffer
 *      until the commit, and that buffer cannot grow past 512 MiB (the core's
 *      allocator's largest block is 1 GiB; the buffer doubles) — a pre-copy that runs
 *      its 30 rounds above the barrier sends about 30 · M. M = 800 MB does not fit
 *      even one round. The output says which M was measured;
 *   3. measured downtime / bound for every run: it must never exceed 1 (a run that
 *      does is printed prominently with its parameters: a bug in the core).
 *
 * Writes every figure to build/bench/migration-figures.json. No figure is printed
 * that was not measured in this run (the model's predictions are labelled as such).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { loadCore } from '../host/core.js';
import { VmExitReason, VmKind } from '../host/core-runtime.js';
import { parseElf } from '../host/elf.js';
import { loadImage } from '../host/loader.js';
import type { MigrationParams, MigrationReport, MigrationStrategy } from '../host/migration.js';

// ---------------------------------------------------------------- setup

const CLOCK_HZ = 100_000_000;
const PAGE_BYTES = 4096;
const MIB = 1024 * 1024;
const MS = 1_000_000n;
const FRAME_NS = 10_000_000;
/** The link: B = 200 Mbit/s as in Jin et al.; 500 us latency (the lockstep quantum); jumbo frames. */
const BANDWIDTH = 25_000_000;
const LATENCY_NS = 500_000;
const MTU = 9000;
/** Words memwriter writes per page (spread over it): enough to make a page a real write, few enough to emulate fast. */
const WORDS_PER_PAGE = 16;
const MEMWRITER_MAGIC = 0x4d57_5250;
/** Affordable downtime in these runs: large, so that admission never decides (the bound is still computed and reported). */
const AFFORDABLE_NS = 600_000n * MS;
/** When the migration starts: the guest has touched its whole working set by then. */
const START_NS = 500n * MS;

interface Options { scale: number; quick: boolean; json: boolean; figures: Set<string> }

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'guests', 'memwriter'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('bench/migration: cannot find the ferry package root');
    dir = parent;
  }
}

function parseArgs(argv: string[]): Options {
  const options: Options = { scale: 64, quick: false, json: false, figures: new Set(['1', '2']) };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--figure') options.figures = new Set([argv[++i] ?? '']);
    else if (arg === '--scale') {
      options.scale = Number(argv[++i]);
      if (![1, 2, 4, 8, 16, 32, 64, 128].includes(options.scale)) throw new Error('--scale needs one of 1, 2, 4, 8, 16, 32, 64, 128');
    } else throw new Error(`bench/migration: unknown argument ${arg} (use --scale N, --quick, --json)`);
  }
  return options;
}

const ROOT = findRoot();
const MEMWRITER = join(ROOT, 'guests', 'build', 'memwriter.elf');
const WORK = join(ROOT, 'build', 'bench', 'migration-images');

interface MemwriterParams {
  ramBytes: number;
  pagesPerPeriod: number;
  wordsPerPage: number;
  periodTicks: number;
  periods: number;
  fill: boolean;
}

/** memwriter.elf with its parameters patched into the file's .data (the memwriter_params symbol). */
function memwriterImage(params: MemwriterParams): string {
  const bytes = new Uint8Array(readFileSync(MEMWRITER));
  const image = parseElf(bytes);
  const symbol = image.symbols.get('memwriter_params');
  if (symbol === undefined) throw new Error('memwriter.elf has no memwriter_params symbol');
  // The symbol's address → its offset in the file, through the program header that loads it.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  let fileOffset: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const offset = view.getUint32(at + 4, true);
    const paddr = view.getUint32(at + 12, true);
    const filesz = view.getUint32(at + 16, true);
    if (symbol.value >= paddr && symbol.value + 28 <= paddr + filesz) fileOffset = offset + (symbol.value - paddr);
  }
  if (fileOffset === undefined || view.getUint32(fileOffset, true) !== MEMWRITER_MAGIC) {
    throw new Error('memwriter.elf: memwriter_params is not where its symbol says (or lacks its magic)');
  }
  [MEMWRITER_MAGIC, params.ramBytes, params.pagesPerPeriod, params.wordsPerPage, params.periodTicks, params.periods, params.fill ? 1 : 0]
    .forEach((value, i) => view.setUint32(fileOffset! + i * 4, value >>> 0, true));
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `memwriter-${params.ramBytes}-${params.pagesPerPeriod}-${params.wordsPerPage}-${params.periodTicks}-${params.periods}-${params.fill ? 1 : 0}.elf`);
  writeFileSync(path, bytes);
  return path;
}

/** Instructions memwriter retires per page written, without pause (words_per_page = WORDS_PER_PAGE). */
async function calibrate(): Promise<number> {
  const pages = 20_000;
  const ramBytes = 4 * MIB;
  const instret = async (periods: number): Promise<bigint> => {
    const image = parseElf(readFileSync(memwriterImage({ ramBytes, pagesPerPeriod: pages, wordsPerPage: WORDS_PER_PAGE, periodTicks: 0, periods, fill: false })));
    const core = await loadCore();
    core.configure(CLOCK_HZ);
    const vm = core.vmCreate(VmKind.paravirtual, ramBytes);
    loadImage(core, vm, image, ramBytes);
    while (core.vmExit(vm) === VmExitReason.running) core.run(10_000_000n);
    return core.vmInstret(vm);
  };
  // Two runs that differ only in the pages written: the difference is the per-page cost.
  const difference = (await instret(2)) - (await instret(1));
  return Number(difference) / pages;
}

interface RunSpec {
  figure: string;
  strategy: MigrationStrategy;
  /** Nominal dirty rate, bytes/s (0: the guest writes nothing after its fill). */
  pBytesPerS: number;
  ramBytes: number;
  params: MigrationParams;
  /** Throttled pre-copy's C, for the tables. */
  c?: number;
}

interface RunResult {
  figure: string;
  strategy: MigrationStrategy;
  c?: number;
  memoryBytes: number;
  thresholdBytes: number;
  maxRounds: number;
  nominalMbitPerS: number;
  /** The dirty rate the migration measured in its first round. */
  measuredMbitPerS?: number;
  windowFraction: number;
  outcome: string;
  reason: string;
  downtimeMs?: number;
  boundMs: number;
  ratio?: number;
  totalMs: number;
  rounds: number;
  bytesSent: number;
  retransmissions: number;
  sharePermilleAtEnd: number;
  violations: string[];
  wallSeconds: number;
}

let instructionsPerPage = 0;

function pMax(): number {
  return (CLOCK_HZ / instructionsPerPage) * PAGE_BYTES;
}

async function runInThisThread(spec: RunSpec): Promise<RunResult> {
  const fraction = spec.pBytesPerS === 0 ? 1 : spec.pBytesPerS / pMax();
  if (fraction > 1) throw new Error(`a dirty rate of ${spec.pBytesPerS} B/s needs more than the whole processor (p_max ${pMax().toFixed(0)} B/s)`);
  const windowNs = Math.max(1000, Math.round(fraction * FRAME_NS));
  const image = memwriterImage(spec.pBytesPerS === 0
    ? { ramBytes: spec.ramBytes, pagesPerPeriod: 0, wordsPerPage: 1, periodTicks: 100_000, periods: 0, fill: true }
    : { ramBytes: spec.ramBytes, pagesPerPeriod: 64, wordsPerPage: WORDS_PER_PAGE, periodTicks: 0, periods: 0, fill: true });
  const processorRam = spec.ramBytes + MIB;
  const board = parseBoard({
    name: `bench-${spec.figure}`,
    processors: [
      { id: 0, clockHz: CLOCK_HZ, ramBytes: processorRam, majorFrameNs: FRAME_NS },
      { id: 1, clockHz: CLOCK_HZ, ramBytes: processorRam, majorFrameNs: FRAME_NS },
    ],
    links: [{ from: 0, to: 1, bandwidthBytesPerS: BANDWIDTH, latencyNs: LATENCY_NS, mtuBytes: MTU }],
    vms: [{ name: 'writer', image, memoryBytes: spec.ramBytes, processor: 0, windows: [{ offsetNs: 0, durationNs: windowNs }] }],
  }, join(WORK, 'board.json'));
  const params: MigrationParams = { affordableNs: AFFORDABLE_NS, ...spec.params };
  const start = performance.now();
  const result = await runBoard({
    board,
    endAfterMigrations: true,
    limitNs: 3_600_000n * MS,
    events: [{ kind: 'migrate', atNs: START_NS, vm: 'writer', to: 1, strategy: spec.strategy, params }],
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const report: MigrationReport = result.migrations[0]!;
  const measured = report.roundStats[0]?.dirtyBytesPerS;
  return {
    figure: spec.figure,
    strategy: spec.strategy,
    ...(spec.c === undefined ? {} : { c: spec.c }),
    memoryBytes: spec.ramBytes,
    thresholdBytes: report.params.thresholdBytes,
    maxRounds: report.params.maxRounds,
    nominalMbitPerS: (spec.pBytesPerS * 8) / 1e6,
    ...(measured === undefined ? {} : { measuredMbitPerS: (Number(measured) * 8) / 1e6 }),
    windowFraction: windowNs / FRAME_NS,
    outcome: report.outcome,
    reason: report.reason,
    ...(report.downtimeNs === undefined ? {} : { downtimeMs: Number(report.downtimeNs) / 1e6 }),
    boundMs: Number(report.boundNs) / 1e6,
    ...(report.downtimeRatio === undefined ? {} : { ratio: report.downtimeRatio }),
    totalMs: Number(report.totalNs) / 1e6,
    rounds: report.rounds,
    bytesSent: Number(report.bytesSent),
    retransmissions: Number(report.retransmissions),
    sharePermilleAtEnd: report.sharePermille,
    violations: report.violations,
    wallSeconds,
  };
}

/**
 * Every migration runs in a worker thread of its own: two cores with up to a few GiB
 * of linear memory each are freed when the worker ends, not whenever the collector
 * gets to them (several runs' memories alive at once exhaust what V8 will grow).
 * Two at a time: the machine has two cores, and the runs are independent.
 */
function runOne(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { spec, instructionsPerPage } });
    worker.once('message', (result: RunResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`a migration run's worker exited with ${code}`)); });
  });
}

/** Runs specs two at a time; results in the order of the specs. */
async function runAll(specs: RunSpec[], onResult: (result: RunResult) => void): Promise<RunResult[]> {
  const results: RunResult[] = new Array(specs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < specs.length) {
      const index = next++;
      results[index] = await runOne(specs[index]!);
      onResult(results[index]!);
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

// ---------------------------------------------------------------- Jin et al.'s model

interface Model {
  memoryBytes: number;
  thresholdBytes: number;
  rounds: number;
  bandwidth: number;
}

/** The barrier: the largest p for which pre-copy's dirty set falls to h within N − 1 rounds after the first. */
function barrierBytesPerS(model: Model): number {
  return Math.pow(model.thresholdBytes / model.memoryBytes, 1 / (model.rounds - 1)) * model.bandwidth;
}

/**
 * The model's downtime (Jin et al., eq. for pre-copy): round 0 sends M, round i sends
 * V_i = V_{i-1} · r (what was dirtied while the previous round was on the wire, never
 * more than M), with r = p/B; iteration stops when V_i <= h or after N − 1 rounds, and
 * the stop-and-copy sends V_n in V_n / B. Throttled: after the first round the dirty
 * rate is cut to C · B, so r = min(p/B, C) from then on.
 */
function modelDowntimeS(model: Model, pBytesPerS: number, c?: number): number {
  let volume = Math.min(model.memoryBytes, model.memoryBytes * (pBytesPerS / model.bandwidth));
  const ratio = c === undefined ? pBytesPerS / model.bandwidth : Math.min(pBytesPerS / model.bandwidth, c);
  for (let round = 1; round < model.rounds - 1 && volume > model.thresholdBytes; round++) {
    volume = Math.min(model.memoryBytes, volume * ratio);
  }
  return volume / model.bandwidth;
}

// ---------------------------------------------------------------- tables

const mbit = (bytesPerS: number): number => (bytesPerS * 8) / 1e6;
const fmt = (value: number | undefined, digits = 1, width = 9): string => (value === undefined ? '-' : value.toFixed(digits)).padStart(width);

function header(title: string, columns: string): string[] {
  return ['', title, columns, '-'.repeat(columns.length)];
}

function figure1Table(rows: RunResult[]): string[] {
  const out = header(
    'Figure 1: downtime and total time against the dirty rate (16 MiB guest, B = 200 Mbit/s, h = 256 KiB, N = 30)',
    '  strategy     p nominal  p measured  outcome     downtime ms   bound ms  total ms  rounds   MB sent  retx',
  );
  for (const row of rows) {
    out.push(`  ${row.strategy.padEnd(10)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${fmt(row.measuredMbitPerS, 1, 10)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.boundMs, 2, 9)}  ${fmt(row.totalMs, 0, 8)}  ${String(row.rounds).padStart(6)}  ${fmt(row.bytesSent / 1e6, 1, 8)}  ${String(row.retransmissions).padStart(4)}`);
  }
  out.push('  (p in Mbit/s; p measured: the dirty rate the migration measured in its first round; post-copy and stop-copy have no rounds)');
  return out;
}

function figure2Table(rows: RunResult[], measuredModel: Model, cs: number[]): string[] {
  const jin: Model = { memoryBytes: 800 * MIB, thresholdBytes: 256 * 1024, rounds: 30, bandwidth: BANDWIDTH };
  const scaled = measuredModel.memoryBytes !== jin.memoryBytes;
  const out = [
    '',
    'Figure 2: the migration barrier (Jin et al., JNCA 34 (2011), Fig. 2): B = 200 Mbit/s, N = 30, h = 256 KiB, M = 800 MiB',
    `  model (Jin et al.): pre-copy converges while p <= (h/M)^(1/(N-1)) * B = ${mbit(barrierBytesPerS(jin)).toFixed(1)} Mbit/s; above it the downtime grows sharply`,
    scaled
      ? `  MEASURED WITH M = ${(measuredModel.memoryBytes / MIB).toFixed(0)} MiB and h = ${(measuredModel.thresholdBytes / 1024).toFixed(0)} KiB (--scale ${(jin.memoryBytes / measuredModel.memoryBytes).toFixed(0)}: the same h/M, so the same barrier, ${mbit(barrierBytesPerS(measuredModel)).toFixed(1)} Mbit/s; downtimes scale with M)`
      : '  measured with M = 800 MiB and h = 256 KiB',
    '  p: the guest\'s write rate (nominal) and the dirty rate the core measured in round 1; model: Jin et al.\'s predicted downtime for the measured M',
    '  (no fixed costs in the model: no handshake, restore or schedule wait); measured: downtime ms / rounds, or why it did not complete',
  ];
  const head = `  ${'p'.padStart(5)}  ${'p meas.'.padStart(7)}  ${'pre-copy'.padStart(8)} ${'model'.padStart(8)}  `
    + cs.map((c) => `${`C=${c}`.padStart(13)} ${'model'.padStart(8)}`).join('  ');
  out.push(head, '-'.repeat(head.length));
  const cell = (row: RunResult | undefined): string => {
    if (row === undefined) return 'not run';
    return row.downtimeMs === undefined ? row.outcome : `${row.downtimeMs.toFixed(1)}/${row.rounds}`;
  };
  const ps = [...new Set(rows.map((row) => row.nominalMbitPerS))].sort((a, b) => a - b);
  for (const p of ps) {
    const bytesPerS = (p * 1e6) / 8;
    const pre = rows.find((row) => row.nominalMbitPerS === p && row.strategy === 'pre-copy');
    const throttled = cs.map((c) => {
      const row = rows.find((candidate) => candidate.nominalMbitPerS === p && candidate.c === c);
      const model = modelDowntimeS(measuredModel, bytesPerS, c) * 1000;
      return `${(row === undefined && bytesPerS <= c * BANDWIDTH ? '= pre-copy' : cell(row)).padStart(13)} ${fmt(model, 1, 8)}`;
    });
    out.push(`  ${fmt(p, 0, 5)}  ${fmt(pre?.measuredMbitPerS, 1, 7)}  ${cell(pre).padStart(8)} ${fmt(modelDowntimeS(measuredModel, bytesPerS) * 1000, 1, 8)}  ${throttled.join('  ')}`);
  }
  out.push('  "= pre-copy": not run: at p <= C * B the throttle never cuts the share (e_next = C*B*e/p >= e), so the run is the pre-copy run');
  return out;
}

function figure3Table(rows: RunResult[]): string[] {
  const out = header('Figure 3: measured downtime / bound, every run', '  figure  strategy         p nominal  outcome     downtime ms   bound ms   ratio');
  let worst = 0;
  const over: RunResult[] = [];
  for (const row of rows) {
    const name = row.c === undefined ? row.strategy : `${row.strategy} C=${row.c}`;
    out.push(`  ${row.figure.padEnd(6)}  ${name.padEnd(15)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.boundMs, 2, 9)}  ${fmt(row.ratio, 3, 6)}${(row.ratio ?? 0) > 1 ? '  <-- EXCEEDS THE BOUND' : ''}`);
    if (row.ratio !== undefined && row.ratio > worst) worst = row.ratio;
    if ((row.ratio ?? 0) > 1 || row.violations.length > 0) over.push(row);
  }
  out.push(`  largest ratio: ${worst.toFixed(3)} over ${rows.filter((row) => row.ratio !== undefined).length} completed migrations`);
  if (over.length === 0) {
    out.push('  no run exceeded its bound; no run saw the VM active on two processors');
  } else {
    out.push('');
    out.push(`  *** ${over.length} RUN(S) BROKE THE GUARANTEE (a bug in the core): ***`);
    for (const row of over) {
      out.push(`  *** ${row.figure} ${row.strategy}${row.c === undefined ? '' : ` C=${row.c}`}: M = ${row.memoryBytes} B, p = ${row.nominalMbitPerS.toFixed(1)} Mbit/s nominal (window ${(row.windowFraction * FRAME_NS).toFixed(0)} ns of ${FRAME_NS}), h = ${row.thresholdBytes}, N = ${row.maxRounds}, B = ${BANDWIDTH} B/s, latency ${LATENCY_NS} ns, MTU ${MTU}: downtime ${row.downtimeMs?.toFixed(3)} ms > bound ${row.boundMs.toFixed(3)} ms (ratio ${row.ratio?.toFixed(3)})${row.violations.length > 0 ? `; ${row.violations.join('; ')}` : ''}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  instructionsPerPage = await calibrate();
  const lines: string[] = [
    `Migration benchmark: two processors at ${CLOCK_HZ / 1e6} MHz, one link of ${mbit(BANDWIDTH)} Mbit/s, ${LATENCY_NS / 1000} us latency (the lockstep quantum), MTU ${MTU}; all times virtual.`,
    `memwriter writes ${WORDS_PER_PAGE} words per page at ${instructionsPerPage.toFixed(1)} instructions per page (calibrated): p_max = ${mbit(pMax()).toFixed(0)} Mbit/s with the whole processor; p is set by its window share.`,
  ];
  const log = (text: string): void => { process.stderr.write(`${text}\n`); };

  // Figure 1.
  const ps1 = options.quick ? [0, 100, 200, 300] : [0, 50, 100, 150, 200, 250, 300];
  const specs1: RunSpec[] = [];
  for (const strategy of options.figures.has('1') ? ['stop-copy', 'pre-copy', 'throttled', 'post-copy'] as const : []) {
    for (const p of ps1) specs1.push({ figure: '1', strategy, pBytesPerS: (p * 1e6) / 8, ramBytes: 16 * MIB, params: {} });
  }
  const figure1 = await runAll(specs1, (row) => log(`figure 1: ${row.strategy} p=${row.nominalMbitPerS} Mbit/s: ${row.outcome} downtime ${row.downtimeMs?.toFixed(2) ?? '-'} ms, bound ${row.boundMs.toFixed(2)} ms (${row.wallSeconds.toFixed(1)} s wall)`));
  lines.push(...figure1Table(figure1));

  // Figure 2.
  const model: Model = { memoryBytes: 800 * MIB, thresholdBytes: 256 * 1024, rounds: 30, bandwidth: BANDWIDTH };
  const measuredMemory = (800 * MIB) / options.scale;
  const threshold = (256 * 1024) / options.scale;
  const cs = [0.6, 0.7, 0.8, 0.9];
  const ps2 = options.quick ? [50, 140, 160, 250] : [0, 50, 100, 125, 140, 150, 155, 160, 175, 200, 250, 300];
  const jinParams = { maxRounds: 30, thresholdBytes: threshold };
  const specs2: RunSpec[] = [];
  for (const p of options.figures.has('2') ? ps2 : []) {
    const bytesPerS = (p * 1e6) / 8;
    specs2.push({ figure: '2', strategy: 'pre-copy', pBytesPerS: bytesPerS, ramBytes: measuredMemory, params: jinParams });
    // At p <= C·B the throttle never cuts the share (e_next = C·B·e/p >= e): that run is the pre-copy run.
    for (const c of cs) {
      if (bytesPerS > c * BANDWIDTH) specs2.push({ figure: '2', strategy: 'throttled', c, pBytesPerS: bytesPerS, ramBytes: measuredMemory, params: { ...jinParams, throttleTarget: c } });
    }
  }
  const figure2 = await runAll(specs2, (row) => log(`figure 2: ${row.strategy}${row.c === undefined ? '' : ` C=${row.c}`} p=${row.nominalMbitPerS} Mbit/s: ${row.outcome} downtime ${row.downtimeMs?.toFixed(2) ?? '-'} ms, ${row.rounds} rounds (${row.wallSeconds.toFixed(1)} s wall)`));
  lines.push(...figure2Table(figure2, { ...model, memoryBytes: measuredMemory, thresholdBytes: threshold }, cs));

  const all = [...figure1, ...figure2];
  lines.push(...figure3Table(all));
  const wall = (performance.now() - started) / 1000;
  lines.push('', `(${all.length} migrations, ${wall.toFixed(0)} s of wall time)`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const json = {
    setup: { clockHz: CLOCK_HZ, bandwidthBytesPerS: BANDWIDTH, latencyNs: LATENCY_NS, mtuBytes: MTU, wordsPerPage: WORDS_PER_PAGE, instructionsPerPage, pMaxBytesPerS: pMax(), scale: options.scale },
    model: { memoryBytes: 800 * MIB, thresholdBytes: 256 * 1024, measuredMemoryBytes: measuredMemory, measuredThresholdBytes: threshold, rounds: 30, barrierMbitPerS: mbit(barrierBytesPerS(model)) },
    figure1,
    figure2: figure2.map((row) => ({ ...row, modelDowntimeMs: modelDowntimeS({ ...model, memoryBytes: measuredMemory, thresholdBytes: threshold }, (row.nominalMbitPerS * 1e6) / 8, row.c) * 1000 })),
    figure3: all.map((row) => ({ figure: row.figure, strategy: row.strategy, c: row.c, nominalMbitPerS: row.nominalMbitPerS, downtimeMs: row.downtimeMs, boundMs: row.boundMs, ratio: row.ratio })),
    exceeded: all.filter((row) => (row.ratio ?? 0) > 1 || row.violations.length > 0),
    wallSeconds: wall,
  };
  const path = join(ROOT, 'build', 'bench', 'migration-figures.json');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  process.stdout.write(`figures written to ${path}\n`);
}

if (isMainThread) {
  await main();
} else {
  const { spec, instructionsPerPage: calibrated } = workerData as { spec: RunSpec; instructionsPerPage: number };
  instructionsPerPage = calibrated;
  parentPort!.postMessage(await runInThisThread(spec));
}
