/**
 * The campaign's seam (host/campaign/): a campaign's identity and its trials' seeds, a
 * trial as a record line, the executors (this thread, the piscina pool) and the
 * orchestration over them — what a distributed queue builds on. Every line a trial gives
 * must be a record readCampaignRecords accepts, and the same trial must give the same bytes
 * wherever it runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../host/campaign/campaign-run.js';
import { inlineExecutor } from '../host/campaign/executor.js';
import type { TrialExecutor } from '../host/campaign/executor.js';
import { campaignIdentity, trialSeed } from '../host/campaign/identity.js';
import { poolExecutor } from '../host/campaign/pool.js';
import { runTrial } from '../host/campaign/trial.js';
import type { TrialSpec } from '../host/campaign/trial.js';
import { parseCampaignRecords } from '../host/reliability/campaign-records.js';
import { ROOT } from './helpers/paths.js';

const SCENARIO = join(ROOT, 'scenarios', 'pair-partitions.json');

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ferry-campaign-'));
}

async function collect(executor: TrialExecutor, specs: TrialSpec[]): Promise<Map<number, string>> {
  const lines = new Map<number, string>();
  await executor.run(specs, (trial, line) => lines.set(trial, line));
  return lines;
}

describe('campaign identity', () => {
  it('names the scenario, its digest (scenario and board), the version, the core, the seed and the trials', async () => {
    const info = await campaignIdentity(SCENARIO, 7, 100);
    expect(info.scenario).toBe('pair-partitions');
    expect(info.scenarioPath).toBe(SCENARIO);
    expect(info.scenarioDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info.coreDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info.scenarioDigest).not.toBe(info.coreDigest);
    expect(info.seed).toBe(7);
    expect(info.trials).toBe(100);
    expect(await campaignIdentity(SCENARIO, 7, 100)).toEqual(info);
  });

  it('the digest changes with the board the scenario names', async () => {
    const dir = tempDir();
    const board = JSON.parse(readFileSync(join(ROOT, 'boards', 'pair-protected.json'), 'utf8')) as { processors: { failureRate?: string }[] };
    const scenario = JSON.parse(readFileSync(SCENARIO, 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'board.json'), JSON.stringify({ ...board, $schema: undefined }));
    writeFileSync(join(dir, 's.json'), JSON.stringify({ ...scenario, $schema: undefined, board: 'board.json' }));
    const before = (await campaignIdentity(join(dir, 's.json'), 1, 1)).scenarioDigest;
    board.processors[0]!.failureRate = '3e-5/h';
    writeFileSync(join(dir, 'board.json'), JSON.stringify({ ...board, $schema: undefined }));
    expect((await campaignIdentity(join(dir, 's.json'), 1, 1)).scenarioDigest).not.toBe(before);
  });

  it('refuses a scenario without a campaign section, a bad seed or trial count', async () => {
    await expect(campaignIdentity(join(ROOT, 'scenarios', 'quad-migrate.json'), 1, 10)).rejects.toThrow(/\/campaign: is required for ferry campaign/);
    await expect(campaignIdentity(SCENARIO, -1, 10)).rejects.toThrow(/seed/);
    await expect(campaignIdentity(SCENARIO, 1, 0)).rejects.toThrow(/trials/);
  });

  it('trial seeds are u32, depend on both the campaign seed and the trial, and rarely repeat', () => {
    const seeds = new Set<number>();
    for (let trial = 0; trial < 10_000; trial++) {
      const seed = trialSeed(42, trial);
      expect(Number.isInteger(seed) && seed >= 0 && seed <= 0xffff_ffff).toBe(true);
      seeds.add(seed);
    }
    expect(seeds.size).toBeGreaterThan(9_980);
    expect(trialSeed(42, 5)).toBe(trialSeed(42, 5));
    expect(trialSeed(43, 5)).not.toBe(trialSeed(42, 5));
  });
});

describe('a trial', () => {
  it('is a record line readCampaignRecords accepts, the same bytes every time', async () => {
    const campaign = await campaignIdentity(SCENARIO, 3, 20);
    const lines: string[] = [];
    for (let trial = 0; trial < 6; trial++) lines.push(await runTrial({ scenarioPath: SCENARIO, campaign, trial }));
    const records = parseCampaignRecords(lines.join('\n'), 'trials');
    expect(records.map((record) => record.trial)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records.every((record) => record.seed === trialSeed(3, record.trial))).toBe(true);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    expect(await runTrial({ scenarioPath: SCENARIO, campaign, trial: 4 })).toBe(lines[4]);
  });

  it('refuses a trial outside the campaign and a scenario changed since the campaign began', async () => {
    const campaign = await campaignIdentity(SCENARIO, 3, 20);
    await expect(runTrial({ scenarioPath: SCENARIO, campaign, trial: 20 })).rejects.toThrow(/not one of the campaign's 20 trials/);
    await expect(runTrial({ scenarioPath: SCENARIO, campaign: { ...campaign, scenarioDigest: `sha256:${'0'.repeat(64)}` }, trial: 1 })).rejects.toThrow(/changed since the campaign began/);
  });
});

describe('executors', () => {
  it('the piscina pool gives the same lines as this thread, for every trial once', async () => {
    const campaign = await campaignIdentity(SCENARIO, 11, 12);
    const specs = Array.from({ length: 12 }, (_, trial) => ({ scenarioPath: SCENARIO, campaign, trial }));
    const pool = poolExecutor({ workers: 2, batchSize: 2 });
    try {
      const pooled = await collect(pool, specs);
      const inline = await collect(inlineExecutor(), specs);
      expect([...pooled.keys()].sort((a, b) => a - b)).toEqual([...inline.keys()]);
      for (const [trial, line] of inline) expect(pooled.get(trial), `trial ${trial}`).toBe(line);
    } finally {
      await pool.close();
    }
  });

  it('the pool passes a refusal on as Ferry\'s error', async () => {
    const campaign = await campaignIdentity(SCENARIO, 11, 12);
    const pool = poolExecutor({ workers: 1 });
    try {
      await expect(pool.run([{ scenarioPath: SCENARIO, campaign, trial: 99 }], () => undefined)).rejects.toThrow(/not one of the campaign's 12 trials/);
    } finally {
      await pool.close();
    }
  });
});

describe('the orchestration', () => {
  it('writes one record per trial, resumes after an interruption and checks determinism', async () => {
    const dir = tempDir();
    const out = join(dir, 'results.jsonl');
    // An executor that stops after 7 trials: an interrupted run.
    const controller = new AbortController();
    const inner = inlineExecutor();
    let ran = 0;
    const stopping: TrialExecutor = {
      run: (specs, onLine, signal) => inner.run(specs, (trial, line) => { onLine(trial, line); if (++ran === 7) controller.abort(); }, signal),
      close: () => inner.close(),
    };
    const first = await runCampaign({ scenarioPath: SCENARIO, seed: 5, trials: 40, resultsPath: out, executor: stopping, signal: controller.signal });
    expect(first.interrupted).toBe(true);
    expect(first.trials).toBe(7);
    expect(first.missing).toBe(33);
    // A cut-off last line (power lost mid-write) is dropped by the next run.
    writeFileSync(out, `${readFileSync(out, 'utf8')}{"trial": 8, "se`);
    const second = await runCampaign({ scenarioPath: SCENARIO, seed: 5, trials: 40, resultsPath: out, executor: inlineExecutor(), determinismFraction: 0.2 });
    expect(second.ran).toBe(33);
    expect(second.trials).toBe(40);
    expect(second.missing).toBe(0);
    expect(second.determinism.checked.length).toBeGreaterThan(0);
    expect(second.determinism.mismatches).toEqual([]);
    const records = parseCampaignRecords(readFileSync(out, 'utf8'), out);
    expect(records.map((record) => record.trial).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));

    // One uninterrupted run gives the same records.
    const once = join(dir, 'once.jsonl');
    await runCampaign({ scenarioPath: SCENARIO, seed: 5, trials: 40, resultsPath: once, executor: inlineExecutor(), determinismFraction: 0 });
    const sorted = (path: string): string[] => readFileSync(path, 'utf8').trim().split('\n').sort();
    expect(sorted(out)).toEqual(sorted(once));
  });

  it('refuses a results file of another campaign', async () => {
    const dir = tempDir();
    const out = join(dir, 'results.jsonl');
    await runCampaign({ scenarioPath: SCENARIO, seed: 5, trials: 3, resultsPath: out, executor: inlineExecutor(), determinismFraction: 0 });
    await expect(runCampaign({ scenarioPath: SCENARIO, seed: 6, trials: 3, resultsPath: out, executor: inlineExecutor() })).rejects.toThrow(/holds another campaign .*seed 5/);
  });

  it('a determinism mismatch makes the verdict invalid, naming the trial and its replay', async () => {
    const dir = tempDir();
    const out = join(dir, 'results.jsonl');
    let calls = 0;
    const inner = inlineExecutor();
    // The second run of every trial comes back changed: what a nondeterministic core would do.
    const flaky: TrialExecutor = {
      run: (specs, onLine, signal) => {
        const pass = calls++;
        return inner.run(specs, (trial, line) => onLine(trial, pass === 0 ? line : line.replace('"deadlineMisses":', '"deadlineMisses":1')), signal);
      },
      close: () => inner.close(),
    };
    const summary = await runCampaign({ scenarioPath: SCENARIO, seed: 9, trials: 20, resultsPath: out, executor: flaky, determinismFraction: 0.3 });
    expect(summary.determinism.mismatches.length).toBeGreaterThan(0);
    expect(summary.determinism.mismatches).toEqual(summary.determinism.checked);
    expect(summary.verdict.valid).toBe(false);
    expect(summary.verdict.firstFailing?.replay).toMatch(/^ferry replay .*results\.jsonl --trial \d+/);
  });
});
