/**
 * The campaign: over a thousand seeded trials of the pair board with partitions and
 * processor crashes, on the worker pool: no VM ever runs on two processors, the core never
 * traps, and no trial times out. And the single-failure campaign without partitions: every
 * failover restores its VM within its bounds, and no VM with a surviving complete copy is lost.
 *
 * Known (docs/campaigns.md, "What campaigns found"): after a partition, a later failure of a
 * protected VM's processor is sometimes not taken over although a quorum and the backup's
 * replica survive — the vm-lost trials of the first campaign. The test holds them to that
 * pattern: a vm-lost trial with no partition before the copy's takeover was due fails it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../host/campaign/campaign-run.js';
import { poolExecutor } from '../host/campaign/pool.js';
import { readCampaignRecords } from '../host/reliability/campaign-records.js';
import type { CampaignRecord } from '../host/reliability/campaign-records.js';
import { ROOT } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-campaign-partitions-'));

async function campaign(scenarioPath: string, trials: number, seed: number): Promise<CampaignRecord[]> {
  const resultsPath = join(dir, `${seed}-${trials}.jsonl`);
  const executor = poolExecutor({ workers: 2 });
  try {
    const summary = await runCampaign({ scenarioPath, seed, trials, resultsPath, executor });
    expect(summary.determinism.checked.length).toBeGreaterThan(trials * 0.02);
    expect(summary.determinism.mismatches).toEqual([]);
  } finally {
    await executor.close();
  }
  return readCampaignRecords(resultsPath);
}

const count = (records: readonly CampaignRecord[], outcome: string): number => records.filter((record) => record.outcome === outcome).length;

describe('campaigns with partitions and crashes', () => {
  it('1,000 trials of partitions and crashes: 0 double-active, 0 crash, 0 timeout', async () => {
    const records = await campaign(join(ROOT, 'scenarios', 'pair-partitions.json'), 1000, 1);
    expect(records).toHaveLength(1000);
    // The faults the claim is about happened, together, many times.
    const both = records.filter((record) => record.faults.some((f) => f.kind === 'partition') && record.faults.some((f) => f.kind === 'fail-stop'));
    expect(both.length).toBeGreaterThan(300);
    expect(records.filter((record) => record.failovers.some((f) => f.fault === 'partition')).length).toBeGreaterThan(100);
    expect(count(records, 'double-active')).toBe(0);
    expect(count(records, 'crash')).toBe(0);
    expect(count(records, 'timeout')).toBe(0);
    // The known gap: in each vm-lost trial a partition came before the copy's takeover was due (see the file's comment).
    for (const record of records.filter((r) => r.outcome === 'vm-lost')) {
      const lost = record.failovers.find((f) => f.to === null && f.reason === 'not-restored')!;
      const takeoverDueNs = lost.faultAtNs + lost.interruptionBoundNs!;
      expect(record.faults.some((f) => f.kind === 'partition' && f.atNs <= takeoverDueNs), `trial ${record.trial}`).toBe(true);
    }
  }, 300_000);

  it('single crashes without partitions: every VM with a surviving copy restored within its bounds', async () => {
    const scenario = join(dir, 'crashes.json');
    writeFileSync(scenario, JSON.stringify({
      board: join(ROOT, 'boards', 'pair-protected.json'),
      campaign: { horizon: '200ms', maxProcessorFaults: 1, failStop: { distribution: 'exponential', perS: 3 } },
    }));
    const records = await campaign(scenario, 300, 2);
    const failovers = records.flatMap((record) => record.failovers);
    expect(failovers.filter((f) => f.fault === 'fail-stop').length).toBeGreaterThan(50);
    expect(count(records, 'vm-lost')).toBe(0);
    expect(count(records, 'double-active')).toBe(0);
    expect(count(records, 'crash')).toBe(0);
    // A processor fails alone: every failover is covered (interruption and lost work within their bounds) unless the trial ended first.
    for (const failover of failovers) {
      if (failover.interruptionNs !== null) expect(failover.interruptionNs).toBeLessThanOrEqual(failover.interruptionBoundNs!);
      if (failover.lostWorkNs !== null && failover.lostWorkBoundNs !== null) expect(failover.lostWorkNs).toBeLessThanOrEqual(failover.lostWorkBoundNs);
    }
  }, 300_000);
});
