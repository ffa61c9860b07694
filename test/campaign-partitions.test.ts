/**
 * The campaign: over a thousand seeded trials of the pair board with partitions and
 * processor crashes, on the worker pool: no VM ever runs on two processors, the core never
 * traps, and no trial times out. And the single-failure campaign without partitions: every
 * failover restores its VM within its bounds, and no VM with a surviving complete copy is lost.
 *
 * A partition that leaves no quorum holds a takeover until it heals, so those trials may be
 * degraded (the bounds are for a single failure); none may lose a VM that a quorum and a
 * complete copy survived (docs/campaigns.md, "What campaigns found").
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
  it('1,000 trials of partitions and crashes: 0 double-active, 0 vm-lost, 0 crash, 0 timeout', async () => {
    // pair-partitions without its fault hypothesis: every crash a trial draws happens, two or more in many trials.
    const example = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'pair-partitions.json'), 'utf8'));
    delete example.campaign.maxProcessorFaults;
    const scenario = join(dir, 'partitions-and-crashes.json');
    writeFileSync(scenario, JSON.stringify({ ...example, $schema: undefined, board: join(ROOT, 'boards', 'pair-protected.json') }));
    const records = await campaign(scenario, 1000, 1);
    expect(records).toHaveLength(1000);
    expect(records.filter((record) => record.faults.filter((f) => f.kind === 'fail-stop').length >= 2).length).toBeGreaterThan(200);
    // The faults the claim is about happened, together, many times.
    const both = records.filter((record) => record.faults.some((f) => f.kind === 'partition') && record.faults.some((f) => f.kind === 'fail-stop'));
    expect(both.length).toBeGreaterThan(300);
    expect(records.filter((record) => record.failovers.some((f) => f.fault === 'partition')).length).toBeGreaterThan(100);
    expect(count(records, 'double-active')).toBe(0);
    expect(count(records, 'crash')).toBe(0);
    expect(count(records, 'timeout')).toBe(0);
    expect(count(records, 'vm-lost')).toBe(0);
  }, 300_000);

  it('scenarios/pair-repairs.json, 400 trials: repaired processors serve as backups again; 0 double-active, 0 vm-lost, 0 crash', async () => {
    const records = await campaign(join(ROOT, 'scenarios', 'pair-repairs.json'), 400, 3);
    expect(records.every((record) => record.rates.processors.every((rate) => rate.repairNs === 30_000_000))).toBe(true);
    const repairs = records.flatMap((record) => record.timeline.filter((entry) => entry.event === 'repair').map((entry) => ({ record, entry })));
    expect(repairs.length).toBeGreaterThan(200);
    // A fail-stop that was repaired carries its repair as its end.
    for (const { record, entry } of repairs) {
      expect(record.faults.some((fault) => fault.kind === 'fail-stop' && fault.processor === entry.processor && fault.untilNs === entry.atNs)).toBe(true);
    }
    // Redundancy came back: a VM restored onto a processor after that processor's repair.
    const ontoRepaired = records.filter((record) => record.failovers.some((failover) => failover.to !== null && failover.interruptionNs !== null
      && record.timeline.some((entry) => entry.event === 'repair' && entry.processor === failover.to && entry.atNs < failover.faultAtNs)));
    expect(ontoRepaired.length).toBeGreaterThan(20);
    // The newcomer's suspicions count from its own start: no detection is slower than the suspect time and a quantum.
    expect(Math.max(...records.flatMap((record) => record.detections.map((d) => d.latencyNs ?? 0)))).toBeLessThan(5_000_000);
    expect(records.flatMap((record) => record.failovers).every((f) => f.lostWorkNs === null || f.lostWorkNs >= 0)).toBe(true);
    expect(count(records, 'double-active')).toBe(0);
    expect(count(records, 'crash')).toBe(0);
    expect(count(records, 'timeout')).toBe(0);
    expect(count(records, 'vm-lost')).toBe(0);
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
