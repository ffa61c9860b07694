/**
 * `ferry campaign merge`: the shards of one campaign into one results file, sorted by
 * trial. Refused: files of different campaigns, and a trial in two files with different
 * records (one of them is not what the trial gives). A trial in two files with the same
 * record is kept once. The output is written beside its name and renamed, so it holds a
 * whole merge or what it held before.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readInputFile } from '../input-file.js';
import { parseCampaignRecords } from '../reliability/campaign-records.js';
import type { CampaignInfo } from '../reliability/campaign-records.js';
import { canonicalCampaign } from './record-line.js';

const MAX_RESULTS_FILE_BYTES = 512 * 1024 * 1024;

/** A results file's records as their lines, by trial, and its campaign. */
export async function readResultLines(path: string): Promise<{ campaign: CampaignInfo; lines: Map<number, string> }> {
  let text: string;
  try {
    text = (await readInputFile(path, MAX_RESULTS_FILE_BYTES)).toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError || (error as Error).name === 'InputFileError') throw new ConfigError(`results ${path}: cannot read it (${(error as { reason?: string }).reason ?? (error as Error).message})`);
    throw error;
  }
  const records = parseCampaignRecords(text, path);
  const lines = new Map<number, string>();
  text.split('\n').filter((line) => line.trim() !== '').forEach((line, index) => lines.set(records[index]!.trial, line));
  return { campaign: records[0]!.campaign, lines };
}

export interface MergeResult {
  campaign: CampaignInfo;
  trials: number;
  /** Trials of the campaign in none of the files. */
  missing: number;
  duplicates: number;
}

export async function mergeResults(inputs: readonly string[], outPath: string): Promise<MergeResult> {
  if (inputs.length === 0) throw new ConfigError('campaign merge needs at least one results file');
  let first: { path: string; campaign: CampaignInfo } | undefined;
  const merged = new Map<number, { line: string; path: string }>();
  let duplicates = 0;
  for (const path of inputs) {
    const { campaign, lines } = await readResultLines(path);
    if (first === undefined) first = { path, campaign };
    else if (JSON.stringify(canonicalCampaign(campaign)) !== JSON.stringify(canonicalCampaign(first.campaign))) {
      throw new ConfigError(`results ${path}: holds another campaign than ${first.path} (scenario ${campaign.scenarioPath} seed ${campaign.seed} ${campaign.trials} trials, not ${first.campaign.scenarioPath} seed ${first.campaign.seed} ${first.campaign.trials} trials${campaign.coreDigest === first.campaign.coreDigest ? '' : ', another core'}): merge the shards of one campaign`);
    }
    for (const [trial, line] of lines) {
      const seen = merged.get(trial);
      if (seen === undefined) { merged.set(trial, { line, path }); continue; }
      if (seen.line !== line) throw new ConfigError(`results ${path}: trial ${trial} is also in ${seen.path} with another record: one of them is not what the trial gives (ferry replay ${path} --trial ${trial} says which)`);
      duplicates++;
    }
  }
  const sorted = [...merged.entries()].sort(([a], [b]) => a - b).map(([, { line }]) => `${line}\n`).join('');
  const partial = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.partial`);
  writeFileSync(partial, sorted);
  renameSync(partial, outPath);
  return { campaign: first!.campaign, trials: merged.size, missing: first!.campaign.trials - merged.size, duplicates };
}
