/**
 * `ferry worker`'s loop: takes batches of trials from the queue (BullMQ Worker), runs each
 * on the local worker-thread pool (the same executor a local campaign uses, so a record is
 * byte for byte what a local run writes), and returns the batch's records as the job's
 * return value.
 *
 * Before it runs a trial it checks the campaign's identity that travels with the job: the
 * Ferry version, the core (sha256 of build/core.wasm) and the scenario (the digest of the
 * scenario and board files at the campaign's paths, read from the worker's directory). A
 * worker that differs refuses the batch (BullMQ's UnrecoverableError: failed at once, with
 * the reason, which the campaign side reports) and never mixes its records in.
 *
 * A worker that dies mid-batch (SIGKILL, machine lost) stops renewing the batch's lock;
 * after LOCK_DURATION_MS another worker's stalled check (every STALLED_INTERVAL_MS) puts the
 * batch back in the queue, and it runs again elsewhere from its first trial. Its records
 * are returned only by the run that completes, so none is lost or counted twice.
 */
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { TrialExecutor } from '../campaign/executor.js';
import { coreDigest, readCampaignScenario, scenarioDigest } from '../campaign/identity.js';
import type { TrialSpec } from '../campaign/trial.js';
import { FerryError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { QUEUE_NAME, QUEUE_PREFIX, describeTrials } from './batch-job.js';
import type { BatchJobData, BatchResult } from './batch-job.js';
import { checkRedis, describeRedisError, openConnection } from './connection.js';
import type { RedisAddress } from './redis-url.js';

/**
 * A running batch's lock lasts this long and is renewed every half of it. The trials run
 * on worker threads, so the worker's event loop stays free to renew it; a worker that has
 * not renewed it for this long is dead (or cut off) and its batch goes to another.
 */
export const LOCK_DURATION_MS = 10_000;
/** How often each worker looks for batches whose lock has lapsed (stalled jobs). */
export const STALLED_INTERVAL_MS = 5_000;
/**
 * A batch whose worker died this many times is failed rather than put back once more:
 * a batch that kills every worker that takes it (memory, a crash) must not go round forever.
 */
export const MAX_STALLED_COUNT = 2;

export interface WorkerOptions {
  address: RedisAddress;
  /** Worker threads, and batches run at once. */
  concurrency: number;
  /** The local pool: the executor a local campaign uses. */
  createExecutor: (threads: number) => TrialExecutor;
  /** Where the campaigns' relative scenario paths are read from. */
  directory: string;
  /** Events for the log: one line each. */
  log: (event: WorkerEvent) => void;
  /** Resolves when the worker should stop (SIGTERM, Ctrl-C). */
  stopRequested: Promise<void>;
}

export type WorkerEvent =
  | { event: 'ready'; worker: string; queue: string; concurrency: number; coreDigest: string }
  | { event: 'started' | 'done'; worker: string; job: string; campaign: string; trials: string; seconds?: number }
  | { event: 'refused' | 'failed'; worker: string; job: string; campaign: string; trials: string; reason: string }
  | { event: 'warning' | 'redis-lost' | 'redis-back' | 'stopping' | 'stopped'; worker: string; detail: string };

/** What this worker runs: a batch's campaign must match it. */
interface LocalIdentity {
  ferry: string;
  coreDigest: string;
}

/** Runs the worker until `stopRequested`; then lets running batches finish and returns. */
export async function runQueueWorker(options: WorkerOptions): Promise<void> {
  const warning = await checkRedis(options.address);
  const name = `${hostname()}:${process.pid}`;
  const local: LocalIdentity = { ferry: packageVersion(), coreDigest: await coreDigest() };
  const executor = options.createExecutor(options.concurrency);
  const connection = openConnection(options.address);
  const watch = watchConnection(connection, options, name);
  const scenarios = new ScenarioDigests(options.directory);
  const worker = new Worker<BatchJobData, BatchResult>(
    QUEUE_NAME,
    async (job) => runBatch(job, { executor, local, scenarios, name, options }),
    { connection, prefix: QUEUE_PREFIX, concurrency: options.concurrency, lockDuration: LOCK_DURATION_MS, stalledInterval: STALLED_INTERVAL_MS, maxStalledCount: MAX_STALLED_COUNT },
  );
  // Connection errors are reported by the watch; BullMQ's own are repeated per command.
  worker.on('error', () => {});
  worker.on('failed', (job, error) => {
    if (job !== undefined && !(error instanceof UnrecoverableError)) {
      options.log({ event: 'failed', worker: name, job: job.id ?? '?', campaign: job.data.campaign.scenario, trials: describeTrials(job.data.trials), reason: error.message });
    }
  });
  await worker.waitUntilReady();
  if (warning !== undefined) options.log({ event: 'warning', worker: name, detail: `warning: ${warning}` });
  options.log({ event: 'ready', worker: name, queue: options.address.display, concurrency: options.concurrency, coreDigest: local.coreDigest });
  await options.stopRequested;
  options.log({ event: 'stopping', worker: name, detail: 'finishing the batches it runs (again to stop at once)' });
  await worker.close();
  await executor.close();
  watch.stop();
  await connection.quit().catch(() => connection.disconnect());
  options.log({ event: 'stopped', worker: name, detail: 'stopped' });
}

interface BatchContext {
  executor: TrialExecutor;
  local: LocalIdentity;
  scenarios: ScenarioDigests;
  name: string;
  options: WorkerOptions;
}

async function runBatch(job: Job<BatchJobData, BatchResult>, context: BatchContext): Promise<BatchResult> {
  const { campaign, trials } = job.data;
  const base = { worker: context.name, job: job.id ?? '?', campaign: campaign.scenario, trials: describeTrials(trials) };
  const refusal = await refusalOf(job.data, context);
  if (refusal !== undefined) {
    context.options.log({ event: 'refused', ...base, reason: refusal });
    throw new UnrecoverableError(refusal);
  }
  context.options.log({ event: 'started', ...base });
  const startedMs = Date.now();
  const scenarioPath = context.scenarios.pathOf(campaign.scenarioPath);
  const specs: TrialSpec[] = trials.map((trial) => ({ scenarioPath, campaign, trial }));
  const lines = new Map<number, string>();
  try {
    await context.executor.run(specs, (trial, line) => lines.set(trial, line));
  } catch (error) {
    // Ferry refusing the trial (a scenario it cannot run) fails the same way on every worker: no retry.
    if (!(error instanceof FerryError)) throw error;
    const reason = `worker ${context.name} refuses the batch: ${error.message}`;
    context.options.log({ event: 'refused', ...base, reason });
    throw new UnrecoverableError(reason);
  }
  const missing = trials.filter((trial) => !lines.has(trial));
  if (missing.length > 0) throw new Error(`the pool returned no record for ${describeTrials(missing)}`);
  context.options.log({ event: 'done', ...base, seconds: Math.round((Date.now() - startedMs) / 100) / 10 });
  return { lines: trials.map((trial) => lines.get(trial)!), worker: context.name };
}

/** Why this worker must not run the batch, or undefined: the campaign's identity must be its own. */
async function refusalOf(data: BatchJobData, context: BatchContext): Promise<string | undefined> {
  const { campaign } = data;
  const who = `worker ${context.name} refuses the batch`;
  if (campaign.ferry !== context.local.ferry) {
    return `${who}: it runs Ferry ${context.local.ferry}, the campaign Ferry ${campaign.ferry}`;
  }
  if (campaign.coreDigest !== context.local.coreDigest) {
    return `${who}: its core ${context.local.coreDigest} is not the campaign's ${campaign.coreDigest} (run workers from the same Ferry build)`;
  }
  const digest = await context.scenarios.digestOf(campaign.scenarioPath);
  if (digest.error !== undefined) return `${who}: ${digest.error}`;
  if (digest.value !== campaign.scenarioDigest) {
    return `${who}: its scenario ${campaign.scenarioPath} (with its board) has digest ${digest.value}, not the campaign's ${campaign.scenarioDigest}`;
  }
  return undefined;
}

/**
 * The digests of the campaigns' scenarios as this worker's files have them. Reading and
 * checking a scenario costs ~5 ms, more than the queue's own work for a batch, so a digest
 * is kept while neither the scenario file nor its board file has changed (size and mtime,
 * looked at for every batch: a scenario edited under a running worker is seen).
 */
class ScenarioDigests {
  private readonly known = new Map<string, { scenarioStamp: string; boardPath: string; boardStamp: string; digest: string }>();

  constructor(private readonly directory: string) {}

  pathOf(scenarioPath: string): string {
    return isAbsolute(scenarioPath) ? scenarioPath : resolve(this.directory, scenarioPath);
  }

  async digestOf(scenarioPath: string): Promise<{ value?: string; error?: string }> {
    const path = this.pathOf(scenarioPath);
    try {
      const cached = this.known.get(path);
      if (cached !== undefined && cached.scenarioStamp === await stamp(path) && cached.boardStamp === await stamp(cached.boardPath)) {
        return { value: cached.digest };
      }
      // Stamped before reading: a file written meanwhile differs from its stamp next time.
      const scenarioStamp = await stamp(path);
      const scenario = await readCampaignScenario(path);
      const boardStamp = await stamp(scenario.board.path);
      const digest = await scenarioDigest(scenario);
      this.known.set(path, { scenarioStamp, boardPath: scenario.board.path, boardStamp, digest });
      return { value: digest };
    } catch (error) {
      this.known.delete(path);
      return { error: `cannot read the campaign's scenario here (${path}): ${(error as Error).message}` };
    }
  }
}

/** A file's size and modification time: changes when the file is written. */
async function stamp(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.size}:${info.mtimeMs}:${info.ino}`;
}

/** One line when Redis goes away and one when it is back; the worker waits for it meanwhile. */
function watchConnection(connection: ReturnType<typeof openConnection>, options: WorkerOptions, name: string): { stop(): void } {
  let lost = false;
  let stopped = false;
  let lastError: unknown;
  connection.on('error', (error: unknown) => (lastError = error));
  connection.on('close', () => {
    if (lost) return;
    lost = true;
    setTimeout(() => {
      if (lost && !stopped) options.log({ event: 'redis-lost', worker: name, detail: `Redis at ${options.address.display} went away (${lastError === undefined ? 'connection closed' : describeRedisError(lastError)}); waiting for it to return` });
    }, 100);
  });
  connection.on('ready', () => {
    if (!lost) return;
    lost = false;
    options.log({ event: 'redis-back', worker: name, detail: `Redis at ${options.address.display} is back` });
  });
  return { stop: () => (stopped = true) };
}
