/**
 * A queued campaign's unit of work: a batch of trials of one campaign, as one BullMQ job.
 *
 * Batches are fixed ranges of trial indices (batch b holds trials b·size to b·size+size−1),
 * so a batch's job id follows from the campaign's identity, the batch size and b alone:
 * submitting the same campaign again finds its jobs already there and adds nothing. A batch
 * that holds only some trials of its range (a resumed campaign) gets a digest of its trial
 * list in its id, so it never stands in for the whole range.
 *
 * The campaign's identity (scenario digest, Ferry version, core digest) travels in every
 * job: a worker checks it before it runs a trial (queue-worker.ts).
 */
import { createHash } from 'node:crypto';
import type { CampaignInfo } from '../reliability/campaign-records.js';

/** Every campaign's batches go to one queue, so one worker serves any campaign. */
export const QUEUE_NAME = 'trials';
/** BullMQ's key prefix: Ferry's keys in a shared Redis are ferry:trials:*. */
export const QUEUE_PREFIX = 'ferry';

/** What a batch's job carries. */
export interface BatchJobData {
  campaign: CampaignInfo;
  /** campaignKey(campaign): groups the campaign's jobs (ids start with it). */
  campaignKey: string;
  batch: number;
  batchTrials: number;
  /** The trial indices to run, ascending. */
  trials: number[];
}

/** What a worker returns for a batch: each trial's record line, in the order of `trials`. */
export interface BatchResult {
  lines: string[];
  /** host:pid of the worker that ran it (for the logs and status). */
  worker: string;
}

/** A short, stable name of a campaign: sha256 of its identity in a fixed key order. */
export function campaignKey(campaign: CampaignInfo): string {
  const identity = [campaign.scenario, campaign.scenarioPath, campaign.scenarioDigest, campaign.ferry, campaign.coreDigest, campaign.seed, campaign.trials];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** The job id of batch `batch` holding `trials` (BullMQ refuses ':' in ids, and integer ids). */
export function batchJobId(key: string, batchTrials: number, batch: number, trials: readonly number[]): string {
  const base = `c${key}-n${batchTrials}-b${batch}`;
  const first = batch * batchTrials;
  const whole = trials.length === batchTrials && trials.every((trial, index) => trial === first + index);
  if (whole) return base;
  return `${base}-p${createHash('sha256').update(trials.join(',')).digest('hex').slice(0, 12)}`;
}

/** The campaign's job ids start with this: status groups jobs by it. */
export function campaignKeyOfJobId(jobId: string): string | undefined {
  return /^c([0-9a-f]{16})-/.exec(jobId)?.[1];
}

/** Splits trial indices into the batches of size `batchTrials` they fall in, in order. */
export function planBatches(trials: readonly number[], batchTrials: number): { batch: number; trials: number[] }[] {
  const batches = new Map<number, number[]>();
  for (const trial of [...trials].sort((a, b) => a - b)) {
    const batch = Math.floor(trial / batchTrials);
    const list = batches.get(batch);
    if (list === undefined) batches.set(batch, [trial]);
    else list.push(trial);
  }
  return [...batches].map(([batch, list]) => ({ batch, trials: list }));
}

/** "trials 12–15" or "trial 12", "trials 3, 7, 9" for a scattered batch. */
export function describeTrials(trials: readonly number[]): string {
  if (trials.length === 1) return `trial ${trials[0]}`;
  const contiguous = trials.every((trial, index) => index === 0 || trial === trials[index - 1]! + 1);
  return contiguous ? `trials ${trials[0]}–${trials[trials.length - 1]}` : `trials ${trials.join(', ')}`;
}
