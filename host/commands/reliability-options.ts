/**
 * Options that `ferry analyze` and `ferry report` share: times and rates with
 * units, a coverage, and where the board comes from. Parsers throw commander's
 * InvalidArgumentError, so a bad value is one line naming the option.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { readBoard } from '../board.js';
import type { Board } from '../board.js';
import type { CampaignRecord } from '../reliability/campaign-records.js';
import { parseDurationS, perHourToPerS } from '../reliability/units.js';
import { readScenario } from '../scenario.js';

/** A duration with a unit: 10y, 8760h, 30d, 10s. */
export function parseMission(text: string): number {
  const seconds = parseDurationS(text);
  if (seconds === undefined || !(seconds > 0)) throw new InvalidArgumentError('Expected a duration with a unit, e.g. 10y, 8760h, 30d or 10s (a year is 8760 h).');
  return seconds;
}

/** Failures per hour of every processor, e.g. 2e-5 → per second. */
export function parseRatePerHour(text: string): number {
  const perHour = Number(text);
  if (text.trim() === '' || !Number.isFinite(perHour) || perHour < 0) throw new InvalidArgumentError('Expected failures per hour, a number ≥ 0 such as 2e-5.');
  return perHourToPerS(perHour);
}

export function parseCoverage(text: string): number {
  const coverage = Number(text);
  if (text.trim() === '' || !(coverage >= 0 && coverage <= 1)) throw new InvalidArgumentError('Expected a coverage from 0 to 1, e.g. 0.99.');
  return coverage;
}

/**
 * The board a campaign ran: --board if given, else the board of the scenario
 * the records name (scenarioPath, relative to the working directory or to
 * the results file). Undefined, with the reason, if neither can be read.
 */
export async function campaignBoard(records: CampaignRecord[], resultsPath: string, boardPath: string | undefined): Promise<{ board?: Board; why?: string }> {
  if (boardPath !== undefined) return { board: await readBoard(boardPath) };
  const named = records[0]!.campaign.scenarioPath;
  const candidates = [resolve(named), resolve(dirname(resultsPath), named)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) return { why: `the campaign's scenario ${named} was not found (give --board)` };
  try {
    return { board: (await readScenario(found)).board };
  } catch (error) {
    return { why: `the campaign's scenario ${named} could not be read (${(error as Error).message}); give --board` };
  }
}
