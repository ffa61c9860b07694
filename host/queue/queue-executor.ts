/**
 * The campaign side of a queued campaign: a TrialExecutor (host/campaign/executor.ts) that
 * runs trials by putting batches of them on a BullMQ queue in Redis and gathering what the
 * workers (`ferry worker`, queue-worker.ts) return. campaign-run.ts drives it exactly as it
 * drives the local pool: same resume, progress bar and summary.
 *
 * - Submitting is idempotent: batch job ids are deterministic (batch-job.ts), so a campaign
 *   submitted again adds nothing; batches that failed before are queued again (a rerun is
 *   how a user retries them).
 * - Results are gathered by polling the queue's completed and failed sets (one pipelined
 *   round trip per poll), then reading each finished job once. Every trial is delivered
 *   once, checked against the campaign and the trial it should be.
 * - A batch that failed for good (its attempts used up, or refused by a worker) is reported
 *   with its trials and seeds; the campaign gathers everything else, then fails.
 * - Redis going away: the connection watch waits for it, submits again when it is back
 *   (it may have restarted empty), and gives up with one line after the grace period.
 */
import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrialExecutor } from '../campaign/executor.js';
import { trialSeed } from '../campaign/identity.js';
import type { TrialSpec } from '../campaign/trial.js';
import { FerryError } from '../errors.js';
import type { CampaignInfo } from '../reliability/campaign-records.js';
import { QUEUE_NAME, QUEUE_PREFIX, batchJobId, campaignKey, describeTrials, planBatches } from './batch-job.js';
import type { BatchJobData, BatchResult } from './batch-job.js';
import { checkRedis, openConnection } from './connection.js';
import { ConnectionWatch } from './connection-watch.js';
import type { RedisAddress } from './redis-url.js';

/**
 * Attempts of a batch whose worker threw (a crashed worker thread, an I/O error): the
 * trial itself is deterministic, so a batch that failed three times fails the same way.
 */
export const BATCH_ATTEMPTS = 3;
/** Wait before a failed batch is tried again, so a worker in trouble does not take it straight back. */
const RETRY_DELAY_MS = 1000;
/** How often the campaign side looks for finished batches: small beside a batch's seconds of simulation. */
const POLL_INTERVAL_MS = 250;
/** Jobs added per round trip. */
const ADD_CHUNK = 500;

export interface QueueExecutorOptions {
  address: RedisAddress;
  /** Trials per batch (one job): the queue's overhead is paid per job. */
  batchTrials: number;
  /** How long Redis may be away before the campaign gives up (wall milliseconds). */
  redisGraceMs: number;
  /** One line for the user (stderr): submission, refusals, a lost Redis. */
  notify: (line: string) => void;
}

/** Batches that failed for good: the campaign is incomplete; a rerun queues them again. */
export class QueueBatchError extends FerryError {
  override name = 'QueueBatchError';
}

/** A batch submitted and not yet gathered. */
interface PendingBatch {
  id: string;
  data: BatchJobData;
}

/** What a poll found among the pending batches. */
interface Finished {
  completed: string[];
  failed: string[];
}

export class QueueExecutor implements TrialExecutor {
  private readonly watch: ConnectionWatch;
  private resubmit = false;
  /** run() calls so far per campaign: the determinism check asks again for trials already gathered. */
  private readonly passes = new Map<string, number>();

  private constructor(
    private readonly options: QueueExecutorOptions,
    private readonly connection: Redis,
    private readonly queue: Queue,
  ) {
    this.watch = new ConnectionWatch(connection, options.address, options.redisGraceMs, options.notify, () => (this.resubmit = true));
  }

  /** Checks that Redis answers (exit 2 otherwise), then connects the queue. */
  static async open(options: QueueExecutorOptions): Promise<QueueExecutor> {
    const warning = await checkRedis(options.address);
    if (warning !== undefined) options.notify(`warning: ${warning}`);
    const connection = openConnection(options.address);
    const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
    queue.on('error', () => {});
    return new QueueExecutor(options, connection, queue);
  }

  async run(specs: readonly TrialSpec[], onLine: (trial: number, line: string) => void, signal?: AbortSignal): Promise<void> {
    if (specs.length === 0) return;
    const campaign = specs[0]!.campaign;
    const pending = this.plan(campaign, specs.map((spec) => spec.trial));
    await this.submit([...pending.values()], true);
    const wanted = new Set(specs.map((spec) => spec.trial));
    const failures: { trials: number; phrase: string }[] = [];
    // Aborted (Ctrl-C): stop gathering; the batches stay queued and a rerun gathers them.
    while (pending.size > 0 && signal?.aborted !== true) {
      if (this.resubmit) {
        this.resubmit = false;
        await this.submit([...pending.values()], false);
      }
      const finished = await this.watch.guard(this.finishedAmong([...pending.keys()]));
      for (const id of finished.completed) await this.gather(pending, id, campaign, wanted, onLine);
      for (const id of finished.failed) failures.push(await this.failure(pending, id, campaign));
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
    if (failures.length > 0) {
      const trials = failures.reduce((sum, failure) => sum + failure.trials, 0);
      throw new QueueBatchError(
        `${failures.length} batch${failures.length === 1 ? '' : 'es'} (${trials} trial${trials === 1 ? '' : 's'}) failed for good; the first: ${failures[0]!.phrase}. `
        + `${failures.length > 1 ? 'Every failed batch is on its own line above. ' : ''}The other trials are in the results file: run the same command again to queue the failed batches again`,
      );
    }
  }

  async close(): Promise<void> {
    this.watch.stop();
    if (this.watch.lost) {
      // Nothing more can reach Redis: do not wait for the held commands.
      this.connection.disconnect();
      return;
    }
    await this.queue.close();
    await this.connection.quit();
  }

  /**
   * The batches of `trials`. A second call for the same campaign in this process is the
   * determinism check running trials again: its jobs get ids of their own (…-r1), or the
   * check would be handed the stored results of the first run instead of a new run.
   */
  private plan(campaign: CampaignInfo, trials: readonly number[]): Map<string, PendingBatch> {
    const key = campaignKey(campaign);
    const pass = this.passes.get(key) ?? 0;
    this.passes.set(key, pass + 1);
    const batchTrials = this.options.batchTrials;
    const pending = new Map<string, PendingBatch>();
    for (const { batch, trials: batchList } of planBatches(trials, batchTrials)) {
      const id = `${batchJobId(key, batchTrials, batch, batchList)}${pass === 0 ? '' : `-r${pass}`}`;
      pending.set(id, { id, data: { campaign, campaignKey: key, batch, batchTrials, trials: batchList } });
    }
    return pending;
  }

  /** Adds the batches not yet in Redis, queues again those that failed before; says what it did when `report`. */
  private async submit(batches: readonly PendingBatch[], report: boolean): Promise<void> {
    const exists = await this.watch.guard(this.pipelined(batches.map((batch) => ['exists', this.queue.toKey(batch.id)])));
    const missing = batches.filter((_, index) => exists[index] === 0);
    for (let start = 0; start < missing.length; start += ADD_CHUNK) {
      await this.watch.guard(this.queue.addBulk(missing.slice(start, start + ADD_CHUNK).map((batch) => ({
        name: 'batch',
        data: batch.data,
        opts: { jobId: batch.id, attempts: BATCH_ATTEMPTS, backoff: { type: 'fixed', delay: RETRY_DELAY_MS }, removeOnComplete: false, removeOnFail: false },
      }))));
    }
    const failedBefore = (await this.watch.guard(this.finishedAmong(batches.map((batch) => batch.id)))).failed;
    for (const id of failedBefore) await this.watch.guard(this.queue.getJob(id).then((job) => job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })));
    if (!report) return;
    const data = batches[0]!.data;
    const rerun = /-r\d+$/.test(batches[0]!.id) ? ' (its determinism check: trials run again)' : '';
    if (await this.watch.guard(this.queue.getWorkersCount()) === 0) {
      this.options.notify(`no worker is connected to ${this.options.address.display} yet: the batches wait for \`ferry worker --queue ${this.options.address.display}\``);
    }
    this.options.notify(
      `campaign ${data.campaignKey}${rerun} on ${this.options.address.display}: ${batches.length} batch${batches.length === 1 ? '' : 'es'} of up to ${data.batchTrials} trials; `
      + `${missing.length} new, ${batches.length - missing.length - failedBefore.length} already queued or done, ${failedBefore.length} failed before and queued again`,
    );
  }

  /** Which of `ids` are in the completed and failed sets (one round trip). */
  private async finishedAmong(ids: readonly string[]): Promise<Finished> {
    const commands = ids.flatMap((id) => [['zscore', this.queue.keys.completed!, id], ['zscore', this.queue.keys.failed!, id]]);
    const scores = await this.pipelined(commands);
    return {
      completed: ids.filter((_, index) => scores[2 * index] !== null),
      failed: ids.filter((_, index) => scores[2 * index + 1] !== null),
    };
  }

  private async pipelined(commands: readonly (readonly string[])[]): Promise<unknown[]> {
    if (commands.length === 0) return [];
    const replies = (await this.connection.pipeline(commands.map((command) => [...command])).exec()) ?? [];
    return replies.map(([error, reply]) => {
      if (error !== null) throw error;
      return reply;
    });
  }

  /** Delivers a completed batch's records: each wanted trial once, checked. */
  private async gather(pending: Map<string, PendingBatch>, id: string, campaign: CampaignInfo, wanted: Set<number>, onLine: (trial: number, line: string) => void): Promise<void> {
    const job = await this.watch.guard(this.queue.getJob(id)) as Job<BatchJobData, BatchResult> | undefined;
    if (job === undefined) return; // gone (Redis restarted): submitted again on reconnection
    const trials = job.data.trials;
    const lines = job.returnvalue?.lines;
    if (!Array.isArray(lines) || lines.length !== trials.length) {
      throw new Error(`batch ${id} came back with ${Array.isArray(lines) ? lines.length : 'no'} records for ${trials.length} trials`);
    }
    trials.forEach((trial, index) => {
      if (!wanted.delete(trial)) return;
      checkRecord(lines[index]!, trial, campaign, id);
      onLine(trial, lines[index]!);
    });
    pending.delete(id);
  }

  /** A batch that failed for good: one line for the user now (its trials and seeds), its reason for the final error. */
  private async failure(pending: Map<string, PendingBatch>, id: string, campaign: CampaignInfo): Promise<{ trials: number; phrase: string }> {
    const job = await this.watch.guard(this.queue.getJob(id));
    const batch = pending.get(id)!;
    pending.delete(id);
    const seeds = batch.data.trials.map((trial) => trialSeed(campaign.seed, trial));
    const reason = job?.failedReason ?? 'failed';
    const attempts = job === undefined ? '' : ` (after ${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'})`;
    const phrase = `batch ${batch.data.batch} (${describeTrials(batch.data.trials)}, seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}) failed${attempts}: ${reason}`;
    this.options.notify(phrase);
    return { trials: batch.data.trials.length, phrase };
  }
}

/** A worker's record must be the trial asked for, of this campaign: never mix results. */
function checkRecord(line: string, trial: number, campaign: CampaignInfo, jobId: string): void {
  const record = JSON.parse(line) as { trial?: unknown; campaign?: Record<string, unknown> };
  const same = Object.entries(campaign).every(([field, value]) => record.campaign?.[field] === value);
  if (record.trial !== trial || !same) {
    throw new Error(`batch ${jobId} returned a record that is not trial ${trial} of this campaign`);
  }
}
