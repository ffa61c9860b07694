/**
 * What names a campaign: its scenario (name, path, and a digest of the scenario file and
 * the board it names), the Ferry version and the core it runs (a digest of build/core.wasm),
 * its seed and its number of trials — the `campaign` object every record of a results
 * file carries (docs/campaign-records.md). And the seed of each trial, derived from the
 * campaign's: a trial is a deterministic function of (scenario, trial seed, core).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { packageRoot, packageVersion } from '../package-root.js';
import type { CampaignInfo } from '../reliability/campaign-records.js';
import { readScenario } from '../scenario.js';
import type { Scenario } from '../scenario.js';

export type { CampaignInfo };

/** The most trials one campaign runs (trial indices stay exact and results files bounded). */
export const MAX_TRIALS = 100_000_000;

/** The campaign object of a campaign of `trials` trials of the scenario at `scenarioPath` from `seed`. */
export async function campaignIdentity(scenarioPath: string, seed: number, trials: number): Promise<CampaignInfo> {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new ConfigError(`a campaign's seed is an integer from 0 to 4294967295, not ${seed}`);
  if (!Number.isInteger(trials) || trials < 1 || trials > MAX_TRIALS) throw new ConfigError(`a campaign runs 1 to ${MAX_TRIALS} trials, not ${trials}`);
  const scenario = await readCampaignScenario(scenarioPath);
  return {
    scenario: scenario.name,
    scenarioPath,
    scenarioDigest: await scenarioDigest(scenario),
    ferry: packageVersion(),
    coreDigest: await coreDigest(),
    seed,
    trials,
  };
}

/** A scenario that can run a campaign: it has a campaign section. */
export async function readCampaignScenario(scenarioPath: string): Promise<Scenario> {
  const scenario = await readScenario(scenarioPath);
  if (scenario.campaign === undefined) {
    throw new ConfigError(`scenario ${scenarioPath}: /campaign: is required for ferry campaign (the random faults each trial draws: docs/campaigns.md)`);
  }
  return scenario;
}

/** sha256 over the scenario file and its board file, each preceded by its length (so no two pairs hash alike). */
export async function scenarioDigest(scenario: Scenario): Promise<string> {
  const hash = createHash('sha256');
  for (const path of [scenario.path, scenario.board.path]) {
    const bytes = await readFile(path);
    hash.update(`${bytes.length}\n`);
    hash.update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** sha256 of build/core.wasm, the core every trial runs. */
export async function coreDigest(): Promise<string> {
  return `sha256:${createHash('sha256').update(await readFile(join(packageRoot(), 'build', 'core.wasm'))).digest('hex')}`;
}

/** The seed of trial `trial` of a campaign seeded `campaignSeed`: a u32, well mixed (splitmix32 of both). */
export function trialSeed(campaignSeed: number, trial: number): number {
  let z = (Math.imul(campaignSeed >>> 0, 0x9e37_79b9) ^ Math.imul((trial >>> 0) + 1, 0x85eb_ca6b) ^ Math.floor(trial / 2 ** 32)) >>> 0;
  z = (z + 0x9e37_79b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
