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
 * Each configuration runs --runs times, interleaved, and the fastest run counts (the machine
 * is shared: the fastest is the one least disturbed). Wall-time difference to the local run
 * / trials is the queue's cost per trial as a user sees it, noise included. Also the
 * workers' busy fraction: the batches' run times they logged / (wall time × threads).
 * Each run's results are checked byte for byte against the local run's.
 *
 * Then the queue's own cost, without simulation: the same queue executor and worker loop
 * (identity checks, Redis round trips, a record of real size per trial, the campaign's
 * checks) with a pool that hands back a stored record at once, for --overhead-trials
 * trials in batches of 1 and 8: milliseconds per trial and per job.
 * Needs redis-server (Debian's); it starts one of its own on a free loopback port.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TrialExecutor } from '../host/campaign/executor.js';
import { QueueExecutor } from '../host/queue/queue-executor.js';
import { runQueueWorker } from '../host/queue/queue-worker.js';
import { parseRedisUrl } from '../host/queue/redis-url.js';
import type { CampaignInfo } from '../host/reliability/campaign-records.js';
import { FerryProcess } from '../test/helpers/ferry-process.js';
import { ROOT } from '../test/helpers/paths.js';
import { TestRedis, redisMissing } from '../test/helpers/redis-server.js';

const SCENARIO = 'scenarios/quad-failover.json';
const SEED = 1;

interface Options { trials: number; runs: number; overheadTrials: number; json: boolean }

interface Overhead {
  batchTrials: number;
  trials: number;
  wallSeconds: number;
  msPerTrial: number;
  msPerJob: number;
}

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
  const options: Options = { trials: 64, runs: 2, overheadTrials: 2000, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') options.json = true;
    else if (argv[i] === '--trials') options.trials = Number(argv[++i]);
    else if (argv[i] === '--runs') options.runs = Number(argv[++i]);
    else if (argv[i] === '--overhead-trials') options.overheadTrials = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (--trials N, --runs N, --overhead-trials N, --json)`);
  }
  for (const [name, value] of [['--trials', options.trials], ['--runs', options.runs], ['--overhead-trials', options.overheadTrials]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a whole number of at least 1`);
  }
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

interface Config {
  name: string;
  /** 0: the local pool. */
  workers: number;
  threadsPerWorker: number;
  batch?: number;
}

interface Run {
  seconds: number;
  busySeconds?: number;
  identical: boolean;
}

/** One run of a configuration; a queue run gets a fresh Redis (the same campaign would otherwise find its jobs done). */
async function runConfig(config: Config, base: string[], redis: TestRedis, path: string, local: string[] | undefined): Promise<Run> {
  rmSync(path, { force: true });
  if (config.workers === 0) {
    const seconds = await timed([...base, '--workers', String(config.threadsPerWorker), '-o', path]);
    return { seconds, identical: local === undefined || JSON.stringify(sortedLines(path)) === JSON.stringify(local) };
  }
  await redis.stop();
  await redis.restart();
  const workers = Array.from({ length: config.workers }, () => new FerryProcess(['worker', '--queue', redis.url, '--concurrency', String(config.threadsPerWorker), '--json'], undefined, 1_800_000));
  await Promise.all(workers.map((worker) => worker.waitFor(/"event":"ready"/)));
  const seconds = await timed([...base, '--queue', redis.url, ...(config.batch === undefined ? [] : ['--batch', String(config.batch)]), '-o', path]);
  await Promise.all(workers.map((worker) => worker.stop('SIGTERM')));
  const busySeconds = workers.flatMap((worker) => worker.stdout.split('\n').filter((line) => line.includes('"event":"done"')))
    .reduce((sum, line) => sum + (JSON.parse(line) as { seconds: number }).seconds, 0);
  return { seconds, busySeconds, identical: JSON.stringify(sortedLines(path)) === JSON.stringify(local) };
}

/**
 * The queue alone: the real queue executor and worker loop, with a pool that returns a
 * stored record (renumbered) at once, so all the time is the queue's.
 */
async function queueOverhead(redis: TestRedis, record: string, trials: number, batchTrials: number): Promise<Overhead> {
  await redis.stop();
  await redis.restart();
  const address = parseRedisUrl(redis.url);
  const template = JSON.parse(record) as Record<string, unknown> & { campaign: CampaignInfo };
  const campaign: CampaignInfo = { ...template.campaign, trials };
  const instantPool = (): TrialExecutor => ({
    async run(specs, onLine) {
      for (const spec of specs) onLine(spec.trial, JSON.stringify({ ...template, trial: spec.trial, campaign: spec.campaign }));
    },
    async close() {},
  });
  let stop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (stop = resolve));
  const worker = runQueueWorker({ address, concurrency: 2, createExecutor: instantPool, directory: ROOT, log: () => {}, stopRequested });
  const executor = await QueueExecutor.open({ address, batchTrials, redisGraceMs: 10_000, notify: () => {} });
  const specs = Array.from({ length: trials }, (_, trial) => ({ scenarioPath: SCENARIO, campaign, trial }));
  const start = performance.now();
  let gathered = 0;
  await executor.run(specs, () => gathered++);
  const wallSeconds = (performance.now() - start) / 1000;
  await executor.close();
  stop();
  await worker;
  if (gathered !== trials) throw new Error(`the overhead run gathered ${gathered} of ${trials} trials`);
  const jobs = Math.ceil(trials / batchTrials);
  return { batchTrials, trials, wallSeconds, msPerTrial: (wallSeconds * 1000) / trials, msPerJob: (wallSeconds * 1000) / jobs };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const missing = redisMissing();
  if (missing !== undefined) throw new Error(missing);
  const threads = availableParallelism();
  const half = Math.max(1, Math.floor(threads / 2));
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-queue-'));
  const redis = await TestRedis.start();
  const base = ['campaign', SCENARIO, '--trials', String(options.trials), '--seed', String(SEED), '--no-progress', '--json'];
  const configs: Config[] = [
    { name: 'local', workers: 0, threadsPerWorker: threads },
    { name: `queue 1×${threads}`, workers: 1, threadsPerWorker: threads },
    { name: `queue 2×${half}`, workers: 2, threadsPerWorker: half },
    { name: `queue 2×${half} b8`, workers: 2, threadsPerWorker: half, batch: 8 },
  ];
  const runs = new Map<string, Run[]>(configs.map((config) => [config.name, []]));
  const results: Measurement[] = [];
  const overheads: Overhead[] = [];
  let recordBytes = 0;
  try {
    const localPath = join(dir, 'local.jsonl');
    let local: string[] | undefined;
    for (let round = 0; round < options.runs; round++) {
      for (const config of configs) {
        const path = config.workers === 0 && local === undefined ? localPath : join(dir, 'run.jsonl');
        runs.get(config.name)!.push(await runConfig(config, base, redis, path, local));
        if (local === undefined) local = sortedLines(localPath);
      }
    }
    const fastest = (name: string): Run => runs.get(name)!.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const localSeconds = fastest('local').seconds;
    for (const config of configs) {
      const run = fastest(config.name);
      results.push({
        name: config.name, workers: config.workers, threadsPerWorker: config.threadsPerWorker, batchTrials: config.batch ?? 'default',
        wallSeconds: run.seconds, trialsPerSecond: options.trials / run.seconds, overheadPerTrialMs: ((run.seconds - localSeconds) * 1000) / options.trials,
        ...(run.busySeconds === undefined ? {} : { busyFraction: run.busySeconds / (run.seconds * threads) }),
        identicalToLocal: runs.get(config.name)!.every((r) => r.identical),
      });
    }
    recordBytes = Buffer.byteLength(local![0]!);
    for (const batchTrials of [1, 8]) overheads.push(await queueOverhead(redis, local![0]!, options.overheadTrials, batchTrials));
  } finally {
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ scenario: SCENARIO, trials: options.trials, runs: options.runs, threads, results, overheads, recordBytes }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${SCENARIO}, ${options.trials} trials, ${threads} threads in every configuration (this machine's cores); fastest of ${options.runs} runs\n`);
  process.stdout.write(`${'configuration'.padEnd(18)} ${'wall s'.padStart(7)} ${'trials/s'.padStart(9)} ${'vs local/trial'.padStart(15)} ${'busy'.padStart(6)}  same records\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(18)} ${r.wallSeconds.toFixed(1).padStart(7)} ${r.trialsPerSecond.toFixed(2).padStart(9)} ${`${r.overheadPerTrialMs.toFixed(0)} ms`.padStart(15)} ${(r.busyFraction === undefined ? '' : `${(r.busyFraction * 100).toFixed(0)} %`).padStart(6)}  ${r.identicalToLocal ? 'yes' : 'NO'}\n`);
  }
  process.stdout.write(`the queue alone (no simulation; every record ${recordBytes} bytes, the size of trial 0's):\n`);
  for (const o of overheads) {
    process.stdout.write(`  batches of ${String(o.batchTrials).padEnd(2)} ${o.msPerTrial.toFixed(2)} ms per trial, ${o.msPerJob.toFixed(2)} ms per job (${o.trials} trials in ${o.wallSeconds.toFixed(1)} s)\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:queue: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
