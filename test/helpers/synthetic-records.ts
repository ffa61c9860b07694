/**
 * Synthetic campaign records for the reliability tests: a seeded generator
 * from a known model (host/reliability/synthetic-campaign.ts, shared with
 * bench/report.ts), small model boards, and a writer for results.jsonl.
 */
import { writeFileSync } from 'node:fs';
import type { CampaignRecord } from '../../host/reliability/campaign-records.js';
import type { BoardModelInput } from '../../host/reliability/placement.js';

export { syntheticCampaign } from '../../host/reliability/synthetic-campaign.js';
export type { SyntheticCampaignOptions } from '../../host/reliability/synthetic-campaign.js';

const MIB = 1 << 20;

/** Three processors, one VM each, room for two VMs per processor, any VM may go anywhere: a 2-of-3 system. */
export function trioInput(failureRatePerS: number, repairTimeS?: number): BoardModelInput {
  return {
    processors: [0, 1, 2].map((id) => ({ id, ramBytes: 2 * MIB, failureRatePerS, ...(repairTimeS === undefined ? {} : { repairTimeS }) })),
    vms: [0, 1, 2].map((processor) => ({ name: `vm${processor}`, memoryBytes: MIB, processor, utilisation: 0.4, relocatable: true })),
  };
}

/** A primary with one VM and an idle backup it may fail over to: a standby pair. */
export function standbyPairInput(failureRatePerS: number): BoardModelInput {
  return {
    processors: [0, 1].map((id) => ({ id, ramBytes: 4 * MIB, failureRatePerS })),
    vms: [{ name: 'ctl', memoryBytes: MIB, processor: 0, utilisation: 0.5, relocatable: true, allowed: [1] }],
  };
}

export function writeRecords(records: CampaignRecord[], path: string): void {
  writeFileSync(path, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
}
