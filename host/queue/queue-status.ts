/**
 * `ferry campaign status --queue …`: what the queue holds, per campaign — batches (and the
 * trials in them) queued, running, done and failed — and how many workers are connected.
 * Reads job ids only (BullMQ's state lists), plus one job per campaign for its identity
 * and the trial lists of partial batches, so it stays cheap on a large campaign.
 */
import { Queue } from 'bullmq';
import type { JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CampaignInfo } from '../reliability/campaign-records.js';
import { QUEUE_NAME, QUEUE_PREFIX, campaignKeyOfJobId } from './batch-job.js';
import type { BatchJobData } from './batch-job.js';
import { checkRedis, openConnection } from './connection.js';
import type { RedisAddress } from './redis-url.js';

const STATES = {
  queued: ['wait', 'prioritized', 'delayed', 'waiting-children'],
  running: ['active'],
  done: ['completed'],
  failed: ['failed'],
} as const satisfies Record<string, readonly JobType[]>;

type StateName = keyof typeof STATES;

export interface StateCount {
  batches: number;
  trials: number;
}

export interface CampaignStatus {
  campaign: string;
  scenario: string;
  scenarioPath: string;
  seed: number;
  trials: number;
  batchTrials: number;
  coreDigest: string;
  queued: StateCount;
  running: StateCount;
  done: StateCount;
  failed: StateCount;
  /** Batches of the determinism check (trials run a second time), in any state. */
  rechecks: number;
}

export interface QueueStatus {
  redis: string;
  workers: number;
  campaigns: CampaignStatus[];
}

export async function queueStatus(address: RedisAddress): Promise<QueueStatus> {
  await checkRedis(address);
  const connection = openConnection(address);
  const queue = new Queue(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
  queue.on('error', () => {});
  try {
    const byCampaign = new Map<string, Map<StateName | 'rechecks', string[]>>();
    for (const state of Object.keys(STATES) as StateName[]) {
      for (const id of await queue.getRanges([...STATES[state]], 0, -1)) {
        const key = campaignKeyOfJobId(id);
        if (key === undefined) continue;
        const states = byCampaign.get(key) ?? new Map<StateName | 'rechecks', string[]>();
        byCampaign.set(key, states);
        const bucket = /-r\d+$/.test(id) ? 'rechecks' : state;
        states.set(bucket, [...(states.get(bucket) ?? []), id]);
      }
    }
    const campaigns: CampaignStatus[] = [];
    for (const [key, states] of byCampaign) campaigns.push(await campaignStatus(queue, connection, key, states));
    return { redis: address.display, workers: await queue.getWorkersCount(), campaigns: campaigns.sort((a, b) => a.campaign.localeCompare(b.campaign)) };
  } finally {
    await queue.close();
    await connection.quit();
  }
}

async function campaignStatus(queue: Queue, connection: Redis, key: string, states: Map<StateName | 'rechecks', string[]>): Promise<CampaignStatus> {
  const anyId = [...states.values()][0]![0]!;
  const data = await jobData(queue, connection, anyId);
  const count = async (state: StateName): Promise<StateCount> => {
    const ids = states.get(state) ?? [];
    let trials = 0;
    for (const id of ids) trials += await trialsIn(queue, connection, id, data.campaign, data.batchTrials);
    return { batches: ids.length, trials };
  };
  const c = data.campaign;
  return {
    campaign: key, scenario: c.scenario, scenarioPath: c.scenarioPath, seed: c.seed, trials: c.trials, batchTrials: data.batchTrials, coreDigest: c.coreDigest,
    queued: await count('queued'), running: await count('running'), done: await count('done'), failed: await count('failed'),
    rechecks: states.get('rechecks')?.length ?? 0,
  };
}

/** A whole batch's trials follow from its id; a partial batch's are read from its data. */
async function trialsIn(queue: Queue, connection: Redis, id: string, campaign: CampaignInfo, batchTrials: number): Promise<number> {
  const whole = /-n(\d+)-b(\d+)$/.exec(id);
  if (whole !== null && Number(whole[1]) === batchTrials) return Math.min(batchTrials, campaign.trials - Number(whole[2]) * batchTrials);
  return (await jobData(queue, connection, id)).trials.length;
}

async function jobData(queue: Queue, connection: Redis, id: string): Promise<BatchJobData> {
  return JSON.parse((await connection.hget(queue.toKey(id), 'data')) ?? 'null') as BatchJobData;
}

/** The status as a table, one campaign a block. */
export function formatQueueStatus(status: QueueStatus): string {
  const lines = [`${status.redis}: ${status.workers} worker${status.workers === 1 ? '' : 's'} connected, ${status.campaigns.length} campaign${status.campaigns.length === 1 ? '' : 's'}`];
  for (const c of status.campaigns) {
    const cell = (s: StateCount): string => `${s.batches} (${s.trials} trials)`;
    lines.push(
      `campaign ${c.campaign}: ${c.scenario} (${c.scenarioPath}), seed ${c.seed}, ${c.trials} trials in batches of ${c.batchTrials}`,
      `  queued ${cell(c.queued)}, running ${cell(c.running)}, done ${cell(c.done)}, failed ${cell(c.failed)}; ${c.rechecks} batches of the determinism check`,
    );
  }
  return `${lines.join('\n')}\n`;
}
