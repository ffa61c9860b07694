/**
 * A campaign, given an executor: which trials to run (the shard's, minus those already in
 * the results file), writing each record as it comes, the determinism check (a seeded 5 %
 * of the trials run a second time, which must give the same bytes), and the summary.
 * The local pool (pool.ts) and a distributed queue both come through here.
 */
import { ConfigError } from '../errors.js';
import { parseCampaignRecords } from '../reliability/campaign-records.js';
import type { CampaignInfo, CampaignRecord, Outcome } from '../reliability/campaign-records.js';
import { readInputFile } from '../input-file.js';
import { summarize } from './campaign-summary.js';
import type { CampaignSummary } from './campaign-summary.js';
import type { TrialExecutor } from './executor.js';
import { campaignIdentity } from './identity.js';
import { ResultsWriter, existingLines, wholeLinesBytes } from './results-file.js';
import type { TrialSpec } from './trial.js';

/** Trials in the determinism check: this fraction of them, picked from the campaign's seed. */
export const DETERMINISM_FRACTION = 0.05;

export interface Shard {
  /** 1-based: shard i of n runs the trials t with t mod n = i − 1. */
  index: number;
  count: number;
}

export interface CampaignProgress {
  /** Trials in the file (of this shard) so far, and how many the shard has. */
  done: number;
  total: number;
  outcomes: Partial<Record<Outcome, number>>;
  /** 'trials' while the trials run, 'determinism' while the sample runs again. */
  phase: 'trials' | 'determinism';
}

export interface CampaignRunOptions {
  scenarioPath: string;
  seed: number;
  trials: number;
  resultsPath: string;
  executor: TrialExecutor;
  shard?: Shard;
  /** Default DETERMINISM_FRACTION; 0 turns the check off. */
  determinismFraction?: number;
  onProgress?: (progress: CampaignProgress) => void;
  /** Aborted (Ctrl-C): no more trials start; the summary covers what is in the file. */
  signal?: AbortSignal;
}

/** "3/8" → { index: 3, count: 8 }. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !(count >= 1) || !(index >= 1) || index > count || count > 1_000_000) {
    throw new ConfigError(`--shard: expected i/n with 1 <= i <= n (e.g. 2/4), not "${text}"`);
  }
  return { index, count };
}

/** The trials of a shard, in order. */
export function shardTrials(trials: number, shard: Shard | undefined): number[] {
  const all: number[] = [];
  for (let trial = shard === undefined ? 0 : shard.index - 1; trial < trials; trial += shard?.count ?? 1) all.push(trial);
  return all;
}

/** Is `trial` one of the campaign's determinism sample? A hash of (campaign seed, trial) decides, so every shard agrees. */
export function inDeterminismSample(campaignSeed: number, trial: number, fraction: number): boolean {
  let z = (Math.imul(campaignSeed ^ 0x5bd1_e995, 0x27d4_eb2d) + Math.imul(trial + 1, 0x1656_67b1)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x85eb_ca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35) >>> 0;
  return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32 < fraction;
}

export async function runCampaign(options: CampaignRunOptions): Promise<CampaignSummary> {
  const campaign = await campaignIdentity(options.scenarioPath, options.seed, options.trials);
  const mine = shardTrials(campaign.trials, options.shard);
  const lines = await existingLines(options.resultsPath, campaign);
  const outcomes: Partial<Record<Outcome, number>> = {};
  const count = (line: string): void => {
    const outcome = (JSON.parse(line) as CampaignRecord).outcome;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  const mineSet = new Set(mine);
  for (const [trial, line] of lines) if (mineSet.has(trial)) count(line);
  const todo = mine.filter((trial) => !lines.has(trial));
  const done = (): number => mine.length - todo.length + ran;
  let ran = 0;
  const spec = (trial: number): TrialSpec => ({ scenarioPath: options.scenarioPath, campaign, trial });

  const writer = new ResultsWriter(options.resultsPath, await wholeLinesBytes(options.resultsPath));
  try {
    options.onProgress?.({ done: done(), total: mine.length, outcomes, phase: 'trials' });
    await options.executor.run(todo.map(spec), (trial, line) => {
      if (lines.has(trial)) return; // an executor that delivers twice (a queue's retry): the first line stands
      writer.append(line);
      lines.set(trial, line);
      ran++;
      count(line);
      options.onProgress?.({ done: done(), total: mine.length, outcomes, phase: 'trials' });
    }, options.signal);
  } finally {
    writer.close();
  }
  const interrupted = options.signal?.aborted === true;
  const determinism = interrupted
    ? { checked: [], mismatches: [] }
    : await determinismCheck(options, campaign, mine.filter((trial) => lines.has(trial)), lines, spec, outcomes);
  const records = await shardRecords(options.resultsPath, mineSet);
  return summarize(records, {
    campaign, resultsPath: options.resultsPath, ran, missing: mine.length - records.length,
    interrupted, determinism,
  });
}

/** Runs the sample again (as separate tasks, so the pool is free to give them to other workers) and compares bytes. */
async function determinismCheck(
  options: CampaignRunOptions, campaign: CampaignInfo, present: readonly number[], lines: ReadonlyMap<number, string>,
  spec: (trial: number) => TrialSpec, outcomes: Partial<Record<Outcome, number>>,
): Promise<{ checked: number[]; mismatches: number[] }> {
  const fraction = options.determinismFraction ?? DETERMINISM_FRACTION;
  const sample = present.filter((trial) => inDeterminismSample(campaign.seed, trial, fraction));
  if (sample.length === 0) return { checked: [], mismatches: [] };
  // Reversed: the sample's trials reach the workers in another order and grouping than the first time.
  const specs = [...sample].reverse().map(spec);
  const again = new Map<number, string>();
  await options.executor.run(specs, (trial, line) => {
    again.set(trial, line);
    options.onProgress?.({ done: again.size, total: sample.length, outcomes, phase: 'determinism' });
  }, options.signal);
  const checked = sample.filter((trial) => again.has(trial));
  return { checked, mismatches: checked.filter((trial) => again.get(trial) !== lines.get(trial)) };
}

async function shardRecords(path: string, mine: ReadonlySet<number>): Promise<CampaignRecord[]> {
  const text = (await readInputFile(path, 512 * 1024 * 1024)).toString('utf8');
  if (text.trim() === '') return [];
  return parseCampaignRecords(text, path).filter((record) => mine.has(record.trial));
}
