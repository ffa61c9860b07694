/**
 * What `ferry campaign` needs for `--queue`: the options, the queue executor in place of
 * the local pool, and the `ferry campaign status --queue …` subcommand. Kept here so the
 * campaign command itself only asks for them (host/commands/campaign.ts).
 */
import { Command, Option } from 'commander';
import type { TrialExecutor } from '../campaign/executor.js';
import { jsonText } from '../format.js';
import { exitStatusHelp } from '../commands/exit-status.js';
import { parseWhole } from '../commands/options.js';
import { QueueExecutor } from './queue-executor.js';
import { formatQueueStatus, queueStatus } from './queue-status.js';
import { parseRedisUrl } from './redis-url.js';
import type { RedisAddress } from './redis-url.js';

/**
 * Trials per batch at most. A trial of the default campaign takes ~0.4 s of a core here;
 * the queue itself costs ~1 ms a job of one trial and ~0.2 ms a trial in jobs of 8 (npm
 * run bench:queue, "the queue alone"), so even one trial a job keeps the overhead under
 * 1 %; batches of up to 8 make a long campaign's jobs fewer (less for Redis to hold and
 * to poll), while a killed worker loses at most a few seconds of work.
 */
export const MAX_DEFAULT_BATCH_TRIALS = 8;
/** A small campaign is cut into at least this many batches, so every worker gets some. */
const MIN_BATCHES = 64;
/** The most trials one batch may hold (its records travel in one Redis value). */
const MAX_BATCH_TRIALS = 1000;
/** How long a campaign waits for a Redis that went away before it gives up (wall time). */
export const REDIS_GRACE_MS = 10_000;

export interface QueueFlags {
  queue?: RedisAddress;
  batch?: number;
}

export function queueOption(): Option {
  return new Option('--queue <redis-url>', 'run the trials on `ferry worker`s through this Redis: redis://host:port[/db] (docs/campaigns.md)').argParser(parseRedisUrl);
}

export function batchOption(): Option {
  return new Option('--batch <trials>', `with --queue: trials per queued batch (default: trials/${MIN_BATCHES}, from 1 to ${MAX_DEFAULT_BATCH_TRIALS})`)
    .argParser(parseWhole('a number of trials', MAX_BATCH_TRIALS, 1));
}

/** The batch size of a campaign: fixed by its trial count, so a resubmission finds the same job ids. */
export function batchTrialsFor(trials: number, flags: QueueFlags): number {
  return flags.batch ?? Math.min(MAX_DEFAULT_BATCH_TRIALS, Math.max(1, Math.floor(trials / MIN_BATCHES)));
}

/** The queue executor for `--queue`; notes (submission, refusals, a lost Redis) go to `note`. */
export async function queueExecutor(address: RedisAddress, batchTrials: number, note: (line: string) => void): Promise<TrialExecutor> {
  return QueueExecutor.open({ address, batchTrials, redisGraceMs: REDIS_GRACE_MS, notify: note });
}

interface Io {
  stdout: { write(chunk: string): unknown };
}

/** `ferry campaign status --queue … [--json]`. */
export function addCampaignStatusCommand(campaign: Command, io: Io, setExitStatus: (status: number) => void): void {
  campaign
    .command('status')
    .description('what a queue holds per campaign: batches queued, running, done and failed, and the workers connected')
    .addOption(queueOption().makeOptionMandatory())
    .option('--json', 'print the status as JSON')
    .addHelpText('after', exitStatusHelp('campaign'))
    .action(async (flags: { queue: RedisAddress; json?: boolean }) => {
      const status = await queueStatus(flags.queue);
      io.stdout.write(flags.json === true ? jsonText(status) : formatQueueStatus(status));
      setExitStatus(0);
    });
}
