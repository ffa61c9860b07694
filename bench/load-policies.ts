/**
 * Load-policy benchmark (docs/load-policies.md): what consolidation frees and what it
 * saves in processor-seconds awake against the static placement, as boards grow, and what
 * the overhead of the policies is — a board of n processors in a full mesh, each running one
 * CPU-bound memory checker (guests/memcheck) in a window of its own offset (frame / n long),
 * so every processor is 100/n % busy; consolidation below 30 %, fill 70 %, hold 1 s.
 * The same boards without the load section give the wall-clock cost of the policies'
 * reports and decisions.
 *
 *   npm run build && npm run bench:load [-- --duration 3s] [-- --sizes 4,8,16] [-- --json]
 *
 * Per size: processors freed, moves (all completed?), the worst measured downtime against
 * its bound, when the last move started, processor-seconds awake against the static
 * placement, and the wall time with and without the policies.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseBoard } from '../host/board.js';
import type { Board } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { packageRoot } from '../host/package-root.js';
import { parseVirtualTime } from '../host/time-units.js';

interface Options { durationNs: bigint; sizes: number[]; json: boolean }

function options(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at < 0 ? undefined : argv[at + 1];
  };
  const duration = value('--duration') ?? '3s';
  const durationNs = parseVirtualTime(duration);
  if (durationNs === undefined) throw new Error(`--duration: not a time: ${duration}`);
  const sizes = (value('--sizes') ?? '4,8,16').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 16)) throw new Error('--sizes: whole numbers from 2 to 16');
  return { durationNs, sizes, json: argv.includes('--json') };
}

const FRAME_NS = 10_000_000;

function boardOf(n: number, load: boolean): Board {
  const window = Math.floor(FRAME_NS / n / 100_000) * 100_000; // on the 40 us slice grid's multiples of 0.1 ms
  const raw = {
    name: `consolidate-${n}`,
    processors: Array.from({ length: n }, (_, id) => ({ id, clockHz: 100_000_000, ramBytes: 16 * 1024 * 1024, majorFrameNs: FRAME_NS })),
    links: Array.from({ length: n }, (_, a) => Array.from({ length: n - a - 1 }, (_, i) => ({ from: a, to: a + i + 1, bandwidthBytesPerS: 12_500_000, latencyNs: 10_000, mtuBytes: 1024 }))).flat(),
    vms: Array.from({ length: n }, (_, i) => ({
      name: `m${i}`, image: '../guests/build/memcheck.elf', kind: 'paravirtual', memoryBytes: 2 * 1024 * 1024, processor: i,
      windows: [{ offsetNs: i * window, durationNs: window }], affordableDowntime: '300ms',
    })),
    ...(load ? { load: { period: '10ms', hold: '1s', fill: 0.7, consolidation: { below: 0.3, sustained: '200ms' } } } : {}),
  };
  return parseBoard(raw, join(packageRoot(), 'boards', `consolidate-${n}.json`));
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const rows = [];
  for (const n of opts.sizes) {
    const started = performance.now();
    const result = await runBoard({ board: boardOf(n, true), durationNs: opts.durationNs });
    const withSeconds = (performance.now() - started) / 1000;
    const plainStarted = performance.now();
    await runBoard({ board: boardOf(n, false), durationNs: opts.durationNs });
    const withoutSeconds = (performance.now() - plainStarted) / 1000;
    const load = result.load!;
    const completed = load.moves.filter((move) => move.outcome === 'completed');
    const worst = completed.reduce((w, move) => (move.downtimeNs! > w.downtimeNs ? { downtimeNs: move.downtimeNs!, boundNs: move.boundNs! } : w), { downtimeNs: 0n, boundNs: 0n });
    rows.push({
      processors: n,
      freed: load.freed.length,
      moves: load.moves.length,
      completed: completed.length,
      worstDowntimeMs: Number(worst.downtimeNs) / 1e6,
      itsBoundMs: Number(worst.boundNs) / 1e6,
      lastMoveMs: load.moves.length === 0 ? 0 : Number(load.moves.at(-1)!.atNs) / 1e6,
      awakeS: Number(load.awakeNs) / 1e9,
      staticS: Number(load.staticAwakeNs) / 1e9,
      wallWithS: withSeconds,
      wallWithoutS: withoutSeconds,
    });
  }
  if (opts.json) { console.log(JSON.stringify(rows, null, 2)); return; }
  console.log(`Consolidation: n processors, one memory checker each (100/n % busy), below 30 % for 200 ms, fill 70 %, ${Number(opts.durationNs) / 1e9} s of virtual time`);
  console.log('  n  freed  moves  completed  worst downtime ms (bound)  last move ms  processor-s awake  static  saved   wall s with / without');
  for (const r of rows) {
    console.log(`${String(r.processors).padStart(3)}  ${String(r.freed).padStart(5)}  ${String(r.moves).padStart(5)}  ${String(r.completed).padStart(9)}  ${r.worstDowntimeMs.toFixed(2).padStart(10)} (${r.itsBoundMs.toFixed(2)})${''.padStart(6)}  ${r.lastMoveMs.toFixed(0).padStart(12)}  ${r.awakeS.toFixed(3).padStart(17)}  ${r.staticS.toFixed(1).padStart(6)}  ${(100 * (1 - r.awakeS / r.staticS)).toFixed(1).padStart(4)} %  ${r.wallWithS.toFixed(2)} / ${r.wallWithoutS.toFixed(2)}`);
  }
}

await main();
