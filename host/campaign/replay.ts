/**
 * `ferry replay`: one trial of a results file run again — with a trace if asked
 * (docs/trace.md) — and its record compared byte for byte with the one in the file.
 * A trial is a function of (scenario, seed, core): a different record means the
 * scenario, the core or Ferry's determinism changed.
 */
import { ConfigError } from '../errors.js';
import type { CampaignRecord } from '../reliability/campaign-records.js';
import { withTrace } from '../trace.js';
import { readResultLines } from './merge.js';
import { recordLine } from './record-line.js';
import { runTrialRecord } from './trial.js';

export interface ReplayResult {
  trial: number;
  record: CampaignRecord;
  line: string;
  recorded: string;
  identical: boolean;
  /** Where the two lines first differ (a character index), if they do. */
  firstDifference?: number;
}

export async function replayTrial(resultsPath: string, trial: number, tracePath?: string): Promise<ReplayResult> {
  const { campaign, lines } = await readResultLines(resultsPath);
  const recorded = lines.get(trial);
  if (recorded === undefined) {
    const known = [...lines.keys()].sort((a, b) => a - b);
    throw new ConfigError(`results ${resultsPath}: has no trial ${trial} (it holds ${known.length} trials, ${known.slice(0, 5).join(', ')}${known.length > 5 ? ', …' : ''})`);
  }
  const record = await withTrace(tracePath, (trace) => runTrialRecord(
    { scenarioPath: campaign.scenarioPath, campaign, trial },
    trace === undefined ? undefined : (records) => trace.writeAll(records),
  ));
  const line = recordLine(record);
  const result: ReplayResult = { trial, record, line, recorded, identical: line === recorded };
  if (!result.identical) {
    let index = 0;
    while (index < line.length && line[index] === recorded[index]) index++;
    result.firstDifference = index;
  }
  return result;
}
