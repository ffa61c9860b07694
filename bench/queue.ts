/**
 * Queue benchmark: trials per second of the default campaign (scenarios/quad-failover.json)
 * run by the local worker-thread pool, and through a Redis queue by 1 and by 2 `ferry
 * worker` processes on this machine, and what the queue costs per trial.
 *
 *   npm run build && npm run bench:queue [-- --trials 64] [-- --json]
 *
 * Every configuration is the whole `ferry campaign` command as a user runs it (process
 * start, golden runs, the determinism check's 5 % of trials run again), with the same
 * number of worker threads in all (the machine's cores), so the difference is the queue:
 *   local          ferry campaign --workers T
 *   queue 1×T      one ferry worker --concurrency T, default batch size
 *   queue 2×T/2    two ferry workers --concurrency T/2 each, default batch size
 *   queue 2×T/2 b8 the same with batches of 8 trials
 * The queue's overhead per trial = (its wall time − the local wall time) / trials. Also the
 * workers' busy fraction: the batches' run times they logged / (wall time × threads).
 * Each run's results are checked byte for byte against the local run's.
 * Needs redis-server (Debian's); it starts one of its own on a free loopback port.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FerryProcess } from '../test/helpers/ferry-process.js';
import { TestRedis, redisMissing } from '../test/helpers/redis-server.js';

const SCENARIO = 'scenarios/quad-failover.json';
const SEED = 1;

interface Options { trials: number; json: boolean }

interface Measurement {
  name: string;
  workers: number;
  threadsPerWorker: number;
  batchTrials: number | 'default';
  wallSeconds: number;
  trialsPerSecond: number;
  /** (wall − local wall) / trials, in milliseconds; 0 for the local run itself. */
  overheadPerTrialMs: number;
  /** Sum of the batches' logged run times / (wall × threads); undefined for the local run. */
  busyFraction?: number;
  identicalToLocal: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { trials: 64, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') options.json = true;
    else if (argv[i] === '--trials') options.trials = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (--trials N, --json)`);
  }
  if (!Number.isInteger(options.trials) || options.trials < 1) throw new Error('--trials needs a whole number of at least 1');
  return options;
}

function sortedLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0).sort((a, b) => (JSON.parse(a) as { trial: number }).trial - (JSON.parse(b) as { trial: number }).trial);
}

async function timed(args: string[]): Promise<number> {
  const start = performance.now();
  const exit = await new FerryProcess(args, undefined, 1_800_000).exited;
  if (exit.status !== 0) throw new Error(`ferry ${args.join(' ')} exited ${exit.status}:\n${exit.stderr}`);
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const missing = redisMissing();
  if (missing !== undefined) throw new Error(missing);
  const threads = availableParallelism();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-queue-'));
  const redis = await TestRedis.start();
  const base = ['campaign', SCENARIO, '--trials', String(options.trials), '--seed', String(SEED), '--no-progress', '--json'];
  const results: Measurement[] = [];
  try {
    const localPath = join(dir, 'local.jsonl');
    const localSeconds = await timed([...base, '--workers', String(threads), '-o', localPath]);
    const local = sortedLines(localPath);
    results.push({ name: 'local', workers: 1, threadsPerWorker: threads, batchTrials: 'default', wallSeconds: localSeconds, trialsPerSecond: options.trials / localSeconds, overheadPerTrialMs: 0, identicalToLocal: true });
    const configs = [
      { name: `queue 1×${threads}`, workers: 1, threadsPerWorker: threads, batch: undefined },
      { name: `queue 2×${Math.max(1, threads / 2)}`, workers: 2, threadsPerWorker: Math.max(1, Math.floor(threads / 2)), batch: undefined },
      { name: `queue 2×${Math.max(1, threads / 2)} b8`, workers: 2, threadsPerWorker: Math.max(1, Math.floor(threads / 2)), batch: 8 },
    ];
    for (const [index, config] of configs.entries()) {
      const workers = Array.from({ length: config.workers }, () => new FerryProcess(['worker', '--queue', redis.url, '--concurrency', String(config.threadsPerWorker), '--json'], undefined, 1_800_000));
      await Promise.all(workers.map((worker) => worker.waitFor(/"event":"ready"/)));
      const path = join(dir, `queue-${index}.jsonl`);
      // Another seed would be another campaign; the same campaign under another batch size or a fresh Redis runs again.
      await redis.stop();
      await redis.restart();
      const seconds = await timed([...base, '--queue', redis.url, ...(config.batch === undefined ? [] : ['--batch', String(config.batch)]), '-o', path]);
      await Promise.all(workers.map((worker) => worker.stop('SIGTERM')));
      const busySeconds = workers.flatMap((worker) => worker.stdout.split('\n').filter((line) => line.includes('"event":"done"')))
        .reduce((sum, line) => sum + (JSON.parse(line) as { seconds: number }).seconds, 0);
      results.push({
        name: config.name, workers: config.workers, threadsPerWorker: config.threadsPerWorker, batchTrials: config.batch ?? 'default',
        wallSeconds: seconds, trialsPerSecond: options.trials / seconds, overheadPerTrialMs: ((seconds - localSeconds) * 1000) / options.trials,
        busyFraction: busySeconds / (seconds * threads), identicalToLocal: JSON.stringify(sortedLines(path)) === JSON.stringify(local),
      });
    }
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ scenario: SCENARIO, trials: options.trials, threads, results }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${SCENARIO}, ${options.trials} trials, ${threads} threads in every configuration (this machine's cores)\n`);
  process.stdout.write(`${'configuration'.padEnd(18)} ${'wall s'.padStart(7)} ${'trials/s'.padStart(9)} ${'overhead/trial'.padStart(15)} ${'busy'.padStart(6)}  same records\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(18)} ${r.wallSeconds.toFixed(1).padStart(7)} ${r.trialsPerSecond.toFixed(2).padStart(9)} ${`${r.overheadPerTrialMs.toFixed(0)} ms`.padStart(15)} ${(r.busyFraction === undefined ? '' : `${(r.busyFraction * 100).toFixed(0)} %`).padStart(6)}  ${r.identicalToLocal ? 'yes' : 'NO'}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:queue: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
