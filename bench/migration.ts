/**
 * Migration benchmark: what the migration manager achieves, measured in virtual
 * time on a two-processor board, in one run.
 *
 *   npm run build && npm run bench:migration [-- --quick] [-- --figure 1|2|3|4] [-- --scale K]
 *       [-- --p 140,160] [-- --c 0.6,0.8] [-- --technique cold,warm] [-- --json]
 *
 * The guest is guests/build/memwriter.elf, its parameters patched into the ELF's
 * .data (the memwriter_params struct) before the board loads it: it touches every
 * page of its working set once, then writes pages without pause, moving through the
 * working set, so every write dirties a page not written since the cursor last
 * passed; successive writes land a stride of about 0.618 of the working set apart,
 * so they are scattered over it as Jin et al.'s model assumes rather than following
 * the migration's own scan in address order. Its dirty rate p is set by the share of
 * the processor it gets: one partition window of f · 1 ms in each 1 ms major frame
 * (so the wait for its next window adds under 1 ms to a downtime), f = p / p_max, where
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
 *      2011, Fig. 2): M = 800 MiB, B = 200 Mbit/s, N = 30, h = 256 KiB. Their model
 *      predicts that pre-copy's downtime grows sharply above
 *      p = (h/M)^(1/(N-1)) · B ≈ 151 Mbit/s; the measured curve is printed beside the
 *      model's downtime for each p, and throttled pre-copy with C = 0.6 … 0.9 beside
 *      it. --scale K divides M and h by K (the same h/M, so the same barrier) for a
 *      quicker look; --p and --c choose the points;
 *   4. the techniques beside plain pre-copy over the same dirty rates (12 MiB guest, the
 *      link of figure 1): bytes sent, pages sent, rounds, total time and downtime, one
 *      table. --technique picks some (cold, warm), --p the rates; --figure 4 --quick is
 *      the short look (two rates);
 *   3. measured downtime / bound for every run: it must never exceed 1 (a run that
 *      does is printed prominently with its parameters: a bug in the core).
 *
 * Writes every figure to build/bench/migration-figures.json. No figure is printed
 * that was not measured in this run (the model's predictions are labelled as such).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { threadId, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { loadCore } from '../host/core.js';
import { VmExitReason, VmKind } from '../host/core-runtime.js';
import { parseElf } from '../host/elf.js';
import { loadImage } from '../host/loader.js';
import type { LinkFaultRates } from '../host/link-faults.js';
import type { MigrationParams, MigrationReport, MigrationStrategy } from '../host/migration.js';
import { packageRoot } from '../host/package-root.js';

// ---------------------------------------------------------------- setup

const CLOCK_HZ = 100_000_000;
const PAGE_BYTES = 4096;
const MIB = 1024 * 1024;
const MS = 1_000_000n;
/** The guest's major frame: short, so that the wait for its next window (part of every downtime) stays under 1 ms. */
const FRAME_NS = 1_000_000;
/**
 * The link: B = 200 Mbit/s as in Jin et al.; 10 us latency (the lockstep quantum)
 * and 1500-byte frames, so that a round trip (what every pre-copy round costs
 * besides its bytes) is short beside the threshold h.
 */
const BANDWIDTH = 25_000_000;
const LATENCY_NS = Number(process.env['FERRY_BENCH_LATENCY_NS'] ?? 10_000);
const MTU = Number(process.env['FERRY_BENCH_MTU'] ?? 1500);
/** Words memwriter writes per page (spread over it): enough to make a page a real write, few enough to emulate fast. */
const WORDS_PER_PAGE = 16;
const MEMWRITER_MAGIC = 0x4d57_5250;
/** Affordable downtime in these runs: large, so that admission never decides (the bound is still computed and reported). */
const AFFORDABLE_NS = 600_000n * MS;
/** The earliest the migration starts; later if the guest needs longer to touch its whole working set (startNs). */
const START_NS = 500n * MS;

/** The techniques figure 4 sets beside plain pre-copy. */
const TECHNIQUES = ['cold', 'warm', 'compressed-pre-copy', 'working-set', 'trace-replay'] as const;
type Technique = (typeof TECHNIQUES)[number];

/** A technique as a strategy and its parameters: compression is pre-copy with `compress`. */
function techniqueRun(technique: Technique): { strategy: MigrationStrategy; params: MigrationParams } {
  if (technique === 'compressed-pre-copy') return { strategy: 'pre-copy', params: { compress: true } };
  if (technique === 'working-set') return { strategy: 'pre-copy', params: { workingSet: true } };
  return { strategy: technique, params: {} };
}

/**
 * Trace-replay replays memwriter, which is busy in its whole window, only on a destination
 * that runs faster than the source (docs/migration.md, "Trace-replay"): twice, in figure 4.
 */
function destinationClockFor(technique: string): number | undefined {
  return technique === 'trace-replay' ? 2 * CLOCK_HZ : undefined;
}

interface Options { scale: number; quick: boolean; json: boolean; figures: Set<string>; ps?: number[]; cs?: number[]; techniques: Technique[] }

function optionsFrom(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      figure: { type: 'string' },
      scale: { type: 'string', default: '1' },
      p: { type: 'string' },
      c: { type: 'string' },
      technique: { type: 'string' },
    },
  });
  const techniques = values.technique === undefined ? [...TECHNIQUES] : values.technique.split(',');
  for (const name of techniques) {
    if (!(TECHNIQUES as readonly string[]).includes(name)) throw new Error(`bench/migration: --technique takes ${TECHNIQUES.join(', ')}, not ${name}`);
  }
  const scale = Number(values.scale);
  if (![1, 2, 4, 8, 16, 32, 64].includes(scale)) throw new Error('bench/migration: --scale needs one of 1, 2, 4, 8, 16, 32, 64');
  const list = (text: string | undefined, name: string): number[] | undefined => {
    if (text === undefined) return undefined;
    const numbers = text.split(',').map(Number);
    if (numbers.some((n) => !Number.isFinite(n) || n < 0)) throw new Error(`bench/migration: --${name} needs numbers separated by commas, got ${text}`);
    return numbers;
  };
  return {
    scale, quick: values.quick, json: values.json,
    figures: new Set(values.figure === undefined ? ['1', '2', '3', '4', '5'] : [values.figure]),
    techniques: techniques as Technique[],
    ...(values.p === undefined ? {} : { ps: list(values.p, 'p') }),
    ...(values.c === undefined ? {} : { cs: list(values.c, 'c') }),
  };
}

const ROOT = packageRoot();
const MEMWRITER = join(ROOT, 'guests', 'build', 'memwriter.elf');
const WORK = join(ROOT, 'build', 'bench', 'migration-images');

interface MemwriterParams {
  ramBytes: number;
  pagesPerPeriod: number;
  wordsPerPage: number;
  periodTicks: number;
  periods: number;
  fill: boolean;
  /** Pages between successive writes (1: address order). */
  stride: number;
  /** A hot region at the start of the working set, and how many of its pages each period also writes (0: none). */
  hotPages?: number;
  hotWrites?: number;
}

/** memwriter's working set for `ramBytes`: every page from the end of its image to the end of RAM. */
function workingSetPages(ramBytes: number): number {
  const image = parseElf(readFileSync(MEMWRITER));
  const end = image.symbols.get('_end')?.value;
  if (end === undefined) throw new Error('memwriter.elf has no _end symbol');
  const base = Math.ceil(end / PAGE_BYTES) * PAGE_BYTES;
  return (0x8000_0000 + ramBytes - base) / PAGE_BYTES;
}

/**
 * A stride that scatters memwriter's writes over its working set and still visits
 * every page once per pass: near pages / golden ratio, coprime with the page count.
 */
function scatteringStride(pages: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let stride = Math.round(pages * 0.6180339887);
  while (gcd(stride, pages) !== 1) stride++;
  return stride;
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
    if (symbol.value >= paddr && symbol.value + 40 <= paddr + filesz) fileOffset = offset + (symbol.value - paddr);
  }
  if (fileOffset === undefined || view.getUint32(fileOffset, true) !== MEMWRITER_MAGIC) {
    throw new Error('memwriter.elf: memwriter_params is not where its symbol says (or lacks its magic)');
  }
  [MEMWRITER_MAGIC, params.ramBytes, params.pagesPerPeriod, params.wordsPerPage, params.periodTicks, params.periods, params.fill ? 1 : 0, params.stride,
    params.hotPages ?? 0, params.hotWrites ?? 0]
    .forEach((value, i) => view.setUint32(fileOffset! + i * 4, value >>> 0, true));
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `memwriter-${params.ramBytes}-${params.pagesPerPeriod}-${params.wordsPerPage}-${params.periodTicks}-${params.periods}-${params.fill ? 1 : 0}-${params.stride}-${params.hotPages ?? 0}-${params.hotWrites ?? 0}.elf`);
  // Workers write the same image concurrently: write aside, then rename (atomic), so no
  // worker ever reads a half-written file.
  const temporary = `${path}.${process.pid}.${threadId}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
  return path;
}

/** What memwriter costs: instructions per page it writes (WORDS_PER_PAGE words), and per page of its fill (one word). */
interface Calibration { perPage: number; perFillPage: number }

async function calibrate(): Promise<Calibration> {
  const pages = 20_000;
  const ramBytes = 4 * MIB;
  const instret = async (periods: number, fill = false): Promise<bigint> => {
    const image = parseElf(readFileSync(memwriterImage({ ramBytes, pagesPerPeriod: pages, wordsPerPage: WORDS_PER_PAGE, periodTicks: 0, periods, fill, stride: scatteringStride(workingSetPages(ramBytes)) })));
    const core = await loadCore();
    core.configure(CLOCK_HZ, 0);
    const vm = core.vmCreate(VmKind.paravirtual, ramBytes);
    loadImage(core, vm, image, ramBytes);
    while (core.vmExit(vm) === VmExitReason.running) core.run(10_000_000n);
    return core.vmInstret(vm);
  };
  // Runs that differ only in the pages written, or only in the fill: the difference is the per-page cost.
  const once = await instret(1);
  return {
    perPage: Number((await instret(2)) - once) / pages,
    perFillPage: Number((await instret(1, true)) - once) / workingSetPages(ramBytes),
  };
}

interface RunSpec {
  figure: string;
  /** Figure 4: the technique's name (default: the strategy). */
  label?: string;
  strategy: MigrationStrategy;
  /** Nominal dirty rate, bytes/s (0: the guest writes nothing after its fill). */
  pBytesPerS: number;
  ramBytes: number;
  params: MigrationParams;
  /** Throttled pre-copy's C, for the tables. */
  c?: number;
  /** Seeded link faults (figure 3's fault runs). */
  linkFaults?: LinkFaultRates;
  seed?: number;
  /** Figure 5: memwriter's hot region (pages) and the hot pages it writes per period besides the 64 others. */
  hot?: { pages: number; writes: number };
  /** The destination's clock (default CLOCK_HZ, the source's). */
  destinationClockHz?: number;
}

interface RunResult {
  figure: string;
  label?: string;
  /** A compressing run: per page class, the pages and what they cost (bytes), and the saving. */
  compression?: { class: string; pages: number; sentBytes: number; ratio?: number }[];
  strategy: MigrationStrategy;
  c?: number;
  linkFaults?: LinkFaultRates;
  seed?: number;
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
  /** Working-set ordering: the predicted-hot pages the last round left for the blackout. */
  heldPages?: number;
  /** Page records sent over the whole migration. */
  pagesSent: number;
  /** The most stream bytes the destination held at once. */
  destinationHeldBytes?: number;
  retransmissions: number;
  sharePermilleAtEnd: number;
  violations: string[];
  wallSeconds: number;
}

let calibration: Calibration = { perPage: 0, perFillPage: 0 };

function pMax(): number {
  return (CLOCK_HZ / calibration.perPage) * PAGE_BYTES;
}

/**
 * When to start the migration: once the guest has surely touched its whole working set
 * (its fill runs in the same window as its writes; 800 MiB at a small share takes
 * seconds), and not before START_NS.
 */
function startNs(ramBytes: number, windowFraction: number): bigint {
  const fillNs = (workingSetPages(ramBytes) * calibration.perFillPage / CLOCK_HZ / windowFraction) * 1e9;
  const startNs = BigInt(Math.ceil((1.25 * fillNs + 100e6) / 1e8)) * 100n * MS; // a margin, rounded up to 100 ms
  return startNs > START_NS ? startNs : START_NS;
}

async function runInThisThread(spec: RunSpec): Promise<RunResult> {
  const fraction = spec.pBytesPerS === 0 ? 1 : spec.pBytesPerS / pMax();
  if (fraction > 1) throw new Error(`a dirty rate of ${spec.pBytesPerS} B/s needs more than the whole processor (p_max ${pMax().toFixed(0)} B/s)`);
  const windowNs = Math.max(1000, Math.round(fraction * FRAME_NS));
  const stride = scatteringStride(workingSetPages(spec.ramBytes));
  const image = memwriterImage(spec.pBytesPerS === 0
    ? { ramBytes: spec.ramBytes, pagesPerPeriod: 0, wordsPerPage: 1, periodTicks: 100_000, periods: 0, fill: true, stride }
    : { ramBytes: spec.ramBytes, pagesPerPeriod: 64, wordsPerPage: WORDS_PER_PAGE, periodTicks: 0, periods: 0, fill: true, stride, hotPages: spec.hot?.pages ?? 0, hotWrites: spec.hot?.writes ?? 0 });
  const processorRam = spec.ramBytes + MIB;
  const board = parseBoard({
    name: `bench-${spec.figure}`,
    processors: [
      { id: 0, clockHz: CLOCK_HZ, ramBytes: processorRam, majorFrameNs: FRAME_NS },
      { id: 1, clockHz: spec.destinationClockHz ?? CLOCK_HZ, ramBytes: processorRam, majorFrameNs: FRAME_NS },
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
    ...(spec.linkFaults === undefined ? {} : { linkFaults: spec.linkFaults, seed: spec.seed ?? 0 }),
    events: [{ kind: 'migrate', atNs: startNs(spec.ramBytes, windowNs / FRAME_NS), vm: 'writer', to: 1, strategy: spec.strategy, params }],
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const report: MigrationReport = result.migrations[0]!;
  const measured = report.roundStats[0]?.dirtyBytesPerS;
  return {
    figure: spec.figure,
    strategy: spec.strategy,
    ...(spec.label === undefined ? {} : { label: spec.label }),
    ...(report.compression === undefined ? {} : {
      compression: Object.entries(report.compression).map(([name, c]) => ({ class: name, pages: Number(c.pages), sentBytes: Number(c.sentBytes), ...(c.ratio === undefined ? {} : { ratio: c.ratio }) })),
    }),
    ...(spec.c === undefined ? {} : { c: spec.c }),
    ...(spec.linkFaults === undefined ? {} : { linkFaults: spec.linkFaults, seed: spec.seed ?? 0 }),
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
    pagesSent: Number(report.pagesSent),
    ...(report.heldPages === undefined ? {} : { heldPages: Number(report.heldPages) }),
    ...(report.destinationHeldBytes === undefined ? {} : { destinationHeldBytes: Number(report.destinationHeldBytes) }),
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
  return new Promise((resolve) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { spec, calibration } });
    let settled = false;
    worker.once('message', (result: RunResult) => { settled = true; resolve(result); });
    // A core that traps (RuntimeError) ends the run: that is a result too, reported as such.
    worker.once('error', (error) => { settled = true; resolve(failedRun(spec, `the run died: ${error.message}`)); });
    worker.once('exit', (code) => { if (!settled) resolve(failedRun(spec, `the run's worker exited with status ${code}`)); });
  });
}

function failedRun(spec: RunSpec, message: string): RunResult {
  return {
    figure: spec.figure, strategy: spec.strategy, ...(spec.c === undefined ? {} : { c: spec.c }),
    memoryBytes: spec.ramBytes, thresholdBytes: spec.params.thresholdBytes ?? 256 * 1024, maxRounds: spec.params.maxRounds ?? 30,
    nominalMbitPerS: (spec.pBytesPerS * 8) / 1e6, windowFraction: 0, outcome: 'crashed', reason: message,
    boundMs: 0, totalMs: 0, rounds: 0, bytesSent: 0, pagesSent: 0, retransmissions: 0, sharePermilleAtEnd: 0, violations: [], wallSeconds: 0,
  };
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

/** The barrier: the largest p for which pre-copy's dirty set falls to h within N - 1 rounds after the first. */
function barrierBytesPerS(model: Model): number {
  return Math.pow(model.thresholdBytes / model.memoryBytes, 1 / (model.rounds - 1)) * model.bandwidth;
}

/**
 * Where Ferry's pre-copy should meet the barrier. A page written during a round goes out
 * in that same round if the scan (in address order) has not passed it yet, so with writes
 * scattered over M about half of what a round's writes dirty leaves with it: a round that
 * starts with V dirty bytes sends V + p·T/2 in T = V / (B − p/2) and leaves p·T/2, so the
 * dirty set shrinks by r = p / (2B − p) per round instead of p / B. Solving
 * r = (h/M)^(1/(N−1)) = x gives p = 2B·x / (1 + x).
 */
function sameRoundBarrierBytesPerS(model: Model): number {
  const x = Math.pow(model.thresholdBytes / model.memoryBytes, 1 / (model.rounds - 1));
  return (2 * model.bandwidth * x) / (1 + x);
}

/**
 * Jin et al.'s pre-copy model: round 0 sends M; round i sends V_i = V_{i-1} * r, what
 * was dirtied while the previous round was on the wire (never more than M), with
 * r = p/B; the iteration stops when V_i <= h or after N - 1 rounds, and the
 * stop-and-copy sends V_n in V_n / B. Throttled: from the second round on the dirty
 * rate is cut to C * B, so r = min(p/B, C). Returns the downtime (s) and every byte
 * sent (the stream the destination must hold).
 */
function modelRun(model: Model, pBytesPerS: number, c?: number): { downtimeS: number; streamBytes: number } {
  let volume = Math.min(model.memoryBytes, model.memoryBytes * (pBytesPerS / model.bandwidth));
  let stream = model.memoryBytes;
  const ratio = c === undefined ? pBytesPerS / model.bandwidth : Math.min(pBytesPerS / model.bandwidth, c);
  for (let round = 1; round < model.rounds - 1 && volume > model.thresholdBytes; round++) {
    stream += volume;
    volume = Math.min(model.memoryBytes, volume * ratio);
  }
  return { downtimeS: volume / model.bandwidth, streamBytes: stream + volume };
}

// ---------------------------------------------------------------- tables

const mbit = (bytesPerS: number): number => (bytesPerS * 8) / 1e6;
const fmt = (value: number | undefined, digits = 1, width = 9): string => (value === undefined ? '-' : value.toFixed(digits)).padStart(width);
const mib = (bytes: number): string => (bytes < MIB ? `${Number((bytes / 1024).toFixed(2))} KiB` : `${Number((bytes / MIB).toFixed(2))} MiB`);
const faultsText = (faults: LinkFaultRates | undefined, seed?: number): string => (faults === undefined ? '' : `${Object.entries(faults).map(([kind, rate]) => `${kind}=${rate}`).join(',')}${seed === undefined ? '' : ` s${seed}`}`);

function figure1Table(rows: RunResult[], memoryBytes: number): string[] {
  const head = '  strategy     p nominal  p round 1  outcome     downtime ms   bound ms   total ms  rounds   MB sent';
  const out = ['', `Figure 1: downtime and total time against the dirty rate (M = ${mib(memoryBytes)}, B = 200 Mbit/s, h = 256 KiB, N = 30)`, head, '-'.repeat(head.length)];
  for (const row of rows) {
    out.push(`  ${row.strategy.padEnd(10)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${fmt(row.measuredMbitPerS, 1, 9)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.boundMs, 2, 9)}  ${fmt(row.totalMs, 1, 9)}  ${String(row.rounds).padStart(6)}  ${fmt(row.bytesSent / 1e6, 1, 8)}`);
  }
  out.push('  p in Mbit/s: the guest\'s write rate (nominal), and the dirty rate the core measured over round 1 (pages written after the scan passed them;');
  out.push('  pages written ahead of the scan go out in the same round). Stop-copy and post-copy have no rounds. Times are virtual.');
  return out;
}

/** Figure 4: each technique's row beside plain pre-copy's at the same dirty rate. */
function figure4Table(rows: RunResult[], memoryBytes: number): string[] {
  const head = '  technique            p nominal  outcome     downtime ms   bound ms   total ms  rounds   MB sent  pages sent   vs pre-copy: bytes  downtime';
  const out = ['', `Figure 4: the techniques beside plain pre-copy at the same dirty rates (M = ${mib(memoryBytes)}, B = 200 Mbit/s, h = 256 KiB, N = 30)`, head, '-'.repeat(head.length)];
  const plain = new Map(rows.filter((row) => row.label === undefined && row.strategy === 'pre-copy').map((row) => [row.nominalMbitPerS, row]));
  for (const row of rows) {
    const base = plain.get(row.nominalMbitPerS);
    const ratio = (value: number | undefined, of: number | undefined): string => (value === undefined || of === undefined || of === 0 ? '-' : `x${(value / of).toPrecision(3)}`);
    const versus = row.label === undefined && row.strategy === 'pre-copy' ? '' : `  ${ratio(row.bytesSent, base?.bytesSent).padStart(18)}  ${ratio(row.downtimeMs, base?.downtimeMs).padStart(8)}`;
    out.push(`  ${(row.label ?? row.strategy).padEnd(19)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.boundMs, 2, 9)}  ${fmt(row.totalMs, 1, 9)}  ${String(row.rounds).padStart(6)}  ${fmt(row.bytesSent / 1e6, 2, 8)}  ${String(row.pagesSent).padStart(10)}${versus}`);
  }
  out.push('  cold restarts the guest from its image (its state is lost: only the image crosses); warm suspends it before PREPARE and sends');
  out.push('  one checkpoint. trace-replay sends one checkpoint and the log of memwriter\'s inputs, to a destination at twice the clock (memwriter is');
  out.push('  busy in its whole window: an equal destination could not replay it faster than it runs, and admission refuses that); its rounds');
  out.push('  are INPUT_LOG records. "vs pre-copy": the technique\'s bytes sent and downtime over plain pre-copy\'s at the same p. Times are virtual.');
  const compressed = rows.filter((row) => row.compression !== undefined);
  if (compressed.length > 0) {
    out.push('', '  compressed-pre-copy, per page class: pages (ratio = their bytes as pages / the stream bytes they cost)');
    for (const row of compressed) {
      const cells = row.compression!.map((c) => `${c.class} ${c.pages}${c.ratio === undefined ? '' : ` (${c.ratio.toFixed(1)}x)`}`);
      out.push(`    p ${fmt(row.nominalMbitPerS, 0, 4)}: ${cells.join(', ')}`);
    }
  }
  return out;
}

/** Figure 5: working-set ordering against plain pre-copy on a memwriter with a hot region. */
function figure5Table(rows: RunResult[], memoryBytes: number, hot: { pages: number; writes: number }): string[] {
  const head = '  technique     p nominal  outcome     downtime ms   total ms  rounds  pages sent  held   MB sent   vs pre-copy: pages  rounds';
  const out = ['', `Figure 5: working-set ordering on memwriter with a hot region of ${hot.pages} pages (${hot.writes} of them written per 64 others), M = ${mib(memoryBytes)}, B = 200 Mbit/s, h = 256 KiB, N = 30`, head, '-'.repeat(head.length)];
  const plain = new Map(rows.filter((row) => row.label === undefined).map((row) => [row.nominalMbitPerS, row]));
  for (const row of rows) {
    const base = plain.get(row.nominalMbitPerS);
    const versus = row.label === undefined || base === undefined ? '' : `  ${String(base.pagesSent - row.pagesSent).padStart(18)}  ${String(base.rounds - row.rounds).padStart(6)}`;
    out.push(`  ${(row.label ?? row.strategy).padEnd(12)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.totalMs, 1, 9)}  ${String(row.rounds).padStart(6)}  ${String(row.pagesSent).padStart(10)}  ${String(row.heldPages ?? '-').padStart(4)}  ${fmt(row.bytesSent / 1e6, 2, 8)}${versus}`);
  }
  out.push('  "vs pre-copy": pages and rounds saved against plain pre-copy at the same p (negative: more). held: the predicted-hot pages the last round left for the blackout.');
  return out;
}

interface Figure2 {
  scale: number;
  model: Model;
  rows: RunResult[];
}

function figure2Table({ scale, model, rows }: Figure2, cs: number[]): string[] {
  const out = [
    `  measured with M = ${mib(model.memoryBytes)}, h = ${mib(model.thresholdBytes)}${scale === 1 ? '' : ` (--scale ${scale}: both divided by ${scale}, the same h/M)`};`
      + ` model barrier for this M and h: ${mbit(barrierBytesPerS(model)).toFixed(1)} Mbit/s`,
  ];
  const head = `  ${'p'.padStart(5)}  ${'p rnd 1'.padStart(7)}  ${'pre-copy'.padStart(10)} ${'model'.padStart(8)}  `
    + cs.map((c) => `${`C=${c}`.padStart(10)} ${'model'.padStart(8)}`).join('  ');
  out.push(head, '-'.repeat(head.length));
  const cell = (row: RunResult | undefined, p: number, c?: number): string => {
    if (row !== undefined) return row.downtimeMs === undefined ? row.outcome : `${row.downtimeMs.toFixed(1)}/${row.rounds}`;
    return c !== undefined && (p * 1e6) / 8 <= c * BANDWIDTH ? '=pre' : 'not run';
  };
  const ps = [...new Set(rows.map((row) => row.nominalMbitPerS))].sort((a, b) => a - b);
  for (const p of ps) {
    const bytesPerS = (p * 1e6) / 8;
    const pre = rows.find((row) => row.nominalMbitPerS === p && row.strategy === 'pre-copy');
    const throttled = cs.map((c) => {
      const row = rows.find((candidate) => candidate.nominalMbitPerS === p && candidate.c === c);
      return `${cell(row, p, c).padStart(10)} ${fmt(modelRun(model, bytesPerS, c).downtimeS * 1000, 1, 8)}`;
    });
    out.push(`  ${fmt(p, 0, 5)}  ${fmt(pre?.measuredMbitPerS ?? rows.find((row) => row.nominalMbitPerS === p)?.measuredMbitPerS, 1, 7)}  ${cell(pre, p).padStart(10)} ${fmt(modelRun(model, bytesPerS).downtimeS * 1000, 1, 8)}  ${throttled.join('  ')}`);
  }
  const converged = (subset: RunResult[]): string => {
    const done = subset.filter((row) => row.outcome === 'completed' && row.rounds < row.maxRounds).map((row) => row.nominalMbitPerS);
    return done.length === 0 ? 'none' : `${Math.max(...done)} Mbit/s`;
  };
  out.push('  cells: measured downtime ms / pre-copy rounds (30 = did not converge, then the blackout took what was dirty); model: Jin et al.\'s');
  out.push('  predicted downtime (ms) for this M and h, no fixed costs; =pre: p <= C*B, the throttle never cuts the share, so the run is the pre-copy run');
  out.push(`  Ferry's pre-copy sends a page written during a round in that round if its scan has not passed it yet; with scattered writes that`);
  out.push(`  shrinks the dirty set by p/(2B-p) per round instead of Jin et al.'s p/B, which moves the barrier to 2B*x/(1+x), x = (h/M)^(1/(N-1)):`);
  out.push(`  ${mbit(sameRoundBarrierBytesPerS(model)).toFixed(1)} Mbit/s (a prediction, not a measurement)`);
  out.push(`  highest p that converged within N rounds: pre-copy ${converged(rows.filter((row) => row.strategy === 'pre-copy'))}; `
    + cs.map((c) => `C=${c} ${converged(rows.filter((row) => row.c === c))}`).join('; '));
  const held = Math.max(0, ...rows.map((row) => row.destinationHeldBytes ?? 0));
  const sent = Math.max(0, ...rows.map((row) => row.bytesSent));
  out.push(`  the destination applied each record as it arrived: it held at most ${mib(held)} of stream at once, in runs that sent up to ${mib(sent)}`);
  return out;
}

function figure3Table(rows: RunResult[]): string[] {
  const head = '  figure  run                            M          p nominal  outcome     downtime ms   bound ms   ratio  retx';
  const out = ['', 'Figure 3: measured downtime / bound, every run', head, '-'.repeat(head.length)];
  let worst = 0;
  const broken: RunResult[] = [];
  for (const row of rows) {
    const name = `${row.label ?? row.strategy}${row.c === undefined ? '' : ` C=${row.c}`}${row.linkFaults === undefined ? '' : ` ${faultsText(row.linkFaults, row.seed)}`}`;
    const flag = (row.ratio ?? 0) > 1 ? '  <-- EXCEEDS THE BOUND' : row.outcome === 'crashed' ? `  <-- ${row.reason}` : '';
    out.push(`  ${row.figure.padEnd(6)}  ${name.padEnd(29)}  ${mib(row.memoryBytes).padEnd(9)}  ${fmt(row.nominalMbitPerS, 0, 9)}  ${row.outcome.padEnd(10)}  ${fmt(row.downtimeMs, 2, 11)}  ${fmt(row.boundMs, 2, 9)}  ${fmt(row.ratio, 3, 6)}  ${String(row.retransmissions).padStart(4)}${flag}`);
    if (row.ratio !== undefined && row.ratio > worst) worst = row.ratio;
    if ((row.ratio ?? 0) > 1 || row.violations.length > 0 || row.outcome === 'crashed') broken.push(row);
  }
  out.push(`  largest ratio: ${worst.toFixed(3)} over ${rows.filter((row) => row.ratio !== undefined).length} migrations with a measured downtime`);
  if (broken.length === 0) {
    out.push('  no run exceeded its bound, no run saw the VM active on two processors, no core crashed');
  } else {
    out.push('', `  *** ${broken.length} RUN(S) BROKE THE GUARANTEE OR CRASHED THE CORE (a bug in the core): ***`);
    for (const row of broken) {
      out.push(`  *** figure ${row.figure} ${row.strategy}${row.c === undefined ? '' : ` C=${row.c}`}${row.linkFaults === undefined ? '' : `, link faults ${faultsText(row.linkFaults)} seed ${row.seed ?? 0} (docs: --link-faults, --seed)`}: M = ${row.memoryBytes} B, p = ${row.nominalMbitPerS.toFixed(1)} Mbit/s nominal`
        + ` (window ${(row.windowFraction * FRAME_NS).toFixed(0)} ns of ${FRAME_NS}), h = ${row.thresholdBytes} B, N = ${row.maxRounds}, B = ${BANDWIDTH} B/s,`
        + ` latency ${LATENCY_NS} ns, MTU ${MTU}: ${row.outcome === 'crashed' ? row.reason : `downtime ${row.downtimeMs?.toFixed(3)} ms > bound ${row.boundMs.toFixed(3)} ms (ratio ${row.ratio?.toFixed(3)})`}`
        + `${row.violations.length > 0 ? `; ${row.violations.join('; ')}` : ''}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- main

const log = (text: string): void => { process.stderr.write(`${text}\n`); };
const describeRun = (row: RunResult): string => `${row.strategy}${row.c === undefined ? '' : ` C=${row.c}`} p=${row.nominalMbitPerS} Mbit/s, M=${mib(row.memoryBytes)}: `
  + `${row.outcome} downtime ${row.downtimeMs?.toFixed(2) ?? '-'} ms, bound ${row.boundMs.toFixed(2)} ms, ${row.rounds} rounds (${row.wallSeconds.toFixed(1)} s wall)`;

/** Figure 2: pre-copy and throttled pre-copy at every p (throttled only where p > C·B: below, the throttle never acts). */
async function figure2(scale: number, ps: number[], cs: number[]): Promise<Figure2> {
  const model: Model = { memoryBytes: (800 * MIB) / scale, thresholdBytes: (256 * 1024) / scale, rounds: 30, bandwidth: BANDWIDTH };
  const params = { maxRounds: model.rounds, thresholdBytes: model.thresholdBytes };
  const specs: RunSpec[] = [];
  for (const p of ps) {
    const bytesPerS = (p * 1e6) / 8;
    specs.push({ figure: '2', strategy: 'pre-copy', pBytesPerS: bytesPerS, ramBytes: model.memoryBytes, params });
    for (const c of cs) {
      if (bytesPerS > c * BANDWIDTH) specs.push({ figure: '2', strategy: 'throttled', c, pBytesPerS: bytesPerS, ramBytes: model.memoryBytes, params: { ...params, throttleTarget: c } });
    }
  }
  const rows = await runAll(specs, (row) => log(`figure 2: ${describeRun(row)}`));
  return { scale, model, rows };
}

async function main(): Promise<void> {
  const options = optionsFrom(process.argv.slice(2));
  const started = performance.now();
  calibration = await calibrate();
  const jin: Model = { memoryBytes: 800 * MIB, thresholdBytes: 256 * 1024, rounds: 30, bandwidth: BANDWIDTH };
  const lines: string[] = [
    `Migration benchmark: two processors at ${CLOCK_HZ / 1e6} MHz, one link of ${mbit(BANDWIDTH)} Mbit/s, ${LATENCY_NS / 1000} us latency (the lockstep quantum), MTU ${MTU}; all times virtual.`,
    `The guest, memwriter, writes ${WORDS_PER_PAGE} words per page, ${calibration.perPage.toFixed(1)} instructions per page (calibrated): ${mbit(pMax()).toFixed(0)} Mbit/s with the whole`,
    `processor; its dirty rate p is set by its window in a ${FRAME_NS / 1e6} ms major frame (throttling cuts that window). Affordable downtime: ${Number(AFFORDABLE_NS) / 1e9} s (admission never refuses).`,
  ];

  const figure1Memory = 12 * MIB;
  const ps1 = options.quick ? [0, 100, 200, 300] : [0, 50, 100, 150, 200, 250, 300];
  const specs1: RunSpec[] = [];
  for (const strategy of options.figures.has('1') ? ['stop-copy', 'pre-copy', 'throttled', 'post-copy'] as const : []) {
    for (const p of ps1) specs1.push({ figure: '1', strategy, pBytesPerS: (p * 1e6) / 8, ramBytes: figure1Memory, params: {} });
  }
  const figure1 = await runAll(specs1, (row) => log(`figure 1: ${describeRun(row)}`));
  if (figure1.length > 0) lines.push(...figure1Table(figure1, figure1Memory));

  const cs = options.cs ?? [0.6, 0.7, 0.8, 0.9];
  let measured2: Figure2 | undefined;
  if (options.figures.has('2')) {
    const ps2 = options.ps ?? (options.quick ? [140, 160] : [100, 140, 150, 155, 160, 170, 200, 250]);
    measured2 = await figure2(options.scale, ps2, cs);
    lines.push(
      '',
      'Figure 2: the migration barrier of Jin et al. (J. Network and Computer Applications 34 (2011), Fig. 2): M = 800 MiB, B = 200 Mbit/s, N = 30, h = 256 KiB.',
      `  Their pre-copy model predicts that downtime grows sharply above p = (h/M)^(1/(N-1)) * B = ${mbit(barrierBytesPerS(jin)).toFixed(1)} Mbit/s.`,
      ...figure2Table(measured2, cs),
    );
  }

  const ps4 = options.ps ?? (options.quick ? [0, 200] : [0, 50, 100, 200, 300]);
  const specs4: RunSpec[] = [];
  for (const technique of options.figures.has('4') ? ['plain', ...options.techniques] : []) {
    const { strategy, params } = technique === 'plain' ? { strategy: 'pre-copy' as MigrationStrategy, params: {} } : techniqueRun(technique as Technique);
    const label = technique === 'plain' || technique === strategy ? {} : { label: technique };
    const clock = destinationClockFor(technique);
    const destination = clock === undefined ? {} : { destinationClockHz: clock };
    for (const p of ps4) specs4.push({ figure: '4', strategy, ...label, ...destination, pBytesPerS: (p * 1e6) / 8, ramBytes: figure1Memory, params });
  }
  const figure4 = await runAll(specs4, (row) => log(`figure 4: ${describeRun(row)}`));
  if (figure4.length > 0) lines.push(...figure4Table(figure4, figure1Memory));

  const hot = { pages: 32, writes: 16 };
  const ps5 = options.ps ?? (options.quick ? [100, 200] : [50, 100, 150, 200, 250]);
  const specs5: RunSpec[] = [];
  for (const technique of options.figures.has('5') ? ['plain', 'working-set'] : []) {
    const params: MigrationParams = technique === 'plain' ? {} : { workingSet: true };
    for (const p of ps5) specs5.push({ figure: '5', strategy: 'pre-copy', ...(technique === 'plain' ? {} : { label: technique }), pBytesPerS: (p * 1e6) / 8, ramBytes: figure1Memory, params, hot });
  }
  const figure5 = await runAll(specs5, (row) => log(`figure 5: ${describeRun(row)}`));
  if (figure5.length > 0) lines.push(...figure5Table(figure5, figure1Memory, hot));

  // Figure 3 also has migrations over a faulty link (seeded): the bound budgets for a few retransmissions.
  const specs3: RunSpec[] = [];
  if (options.figures.has('3')) {
    const faults: { linkFaults: LinkFaultRates; seed: number }[] = [
      { linkFaults: { drop: 0.005 }, seed: 0 }, { linkFaults: { drop: 0.01 }, seed: 0 }, { linkFaults: { drop: 0.02 }, seed: 0 },
      { linkFaults: { drop: 0.03 }, seed: 0 }, { linkFaults: { drop: 0.05 }, seed: 0 }, { linkFaults: { drop: 0.05 }, seed: 1 },
      { linkFaults: { corrupt: 0.01 }, seed: 0 }, { linkFaults: { corrupt: 0.03 }, seed: 0 },
      { linkFaults: { duplicate: 0.02 }, seed: 0 }, { linkFaults: { reorder: 0.005 }, seed: 0 },
    ];
    for (const { linkFaults, seed } of faults) {
      for (const strategy of ['stop-copy', 'pre-copy', 'post-copy'] as const) {
        specs3.push({ figure: '3', strategy, pBytesPerS: (100 * 1e6) / 8, ramBytes: 4 * MIB, params: {}, linkFaults, seed });
      }
    }
  }
  const faulty = await runAll(specs3, (row) => log(`figure 3 (${faultsText(row.linkFaults, row.seed)}): ${describeRun(row)}`));

  const all = [...figure1, ...(measured2?.rows ?? []), ...figure4, ...figure5, ...faulty];
  lines.push(...figure3Table(all));
  const wall = (performance.now() - started) / 1000;
  lines.push('', `(${all.length} migrations, ${wall.toFixed(0)} s of wall time)`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const json = {
    setup: {
      clockHz: CLOCK_HZ, bandwidthBytesPerS: BANDWIDTH, latencyNs: LATENCY_NS, mtuBytes: MTU, majorFrameNs: FRAME_NS,
      wordsPerPage: WORDS_PER_PAGE, instructionsPerPage: calibration.perPage, fillInstructionsPerPage: calibration.perFillPage, pMaxBytesPerS: pMax(), affordableNs: Number(AFFORDABLE_NS),
    },
    model: { memoryBytes: jin.memoryBytes, thresholdBytes: jin.thresholdBytes, rounds: jin.rounds, barrierMbitPerS: mbit(barrierBytesPerS(jin)) },
    figure1: { memoryBytes: figure1Memory, runs: figure1 },
    figure4: { memoryBytes: figure1Memory, runs: figure4 },
    figure5: { memoryBytes: figure1Memory, hot, runs: figure5 },
    figure2: measured2 === undefined ? undefined : {
      scale: measured2.scale, memoryBytes: measured2.model.memoryBytes, thresholdBytes: measured2.model.thresholdBytes,
      barrierMbitPerS: mbit(barrierBytesPerS(measured2.model)),
      sameRoundBarrierMbitPerS: mbit(sameRoundBarrierBytesPerS(measured2.model)),
      runs: measured2.rows.map((row) => ({ ...row, modelDowntimeMs: modelRun(measured2!.model, (row.nominalMbitPerS * 1e6) / 8, row.c).downtimeS * 1000 })),
    },
    figure3: all.map((row) => ({ figure: row.figure, strategy: row.strategy, c: row.c, memoryBytes: row.memoryBytes, nominalMbitPerS: row.nominalMbitPerS, outcome: row.outcome, downtimeMs: row.downtimeMs, boundMs: row.boundMs, ratio: row.ratio })),
    exceeded: all.filter((row) => (row.ratio ?? 0) > 1 || row.violations.length > 0 || row.outcome === 'crashed'),
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
  ({ calibration } = workerData as { spec: RunSpec; calibration: Calibration });
  const { spec } = workerData as { spec: RunSpec };
  parentPort!.postMessage(await runInThisThread(spec));
}
