/**
 * The oracle's outcome classes (docs/campaigns.md, "The oracle"), from real trials where
 * the faults make them (ok, degraded, detected, silent-corruption, timeout) and from a real
 * run with one thing changed where only a broken core could make them (double-active,
 * vm-lost): the oracle must name what the run reports, and nothing else.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBoard } from '../host/board-runner.js';
import { readBoard } from '../host/board.js';
import { campaignIdentity } from '../host/campaign/identity.js';
import { goldenOf, judgeTrial } from '../host/campaign/oracle.js';
import type { OracleInput } from '../host/campaign/oracle.js';
import { runTrial } from '../host/campaign/trial.js';
import { parseCampaignRecords } from '../host/reliability/campaign-records.js';
import type { CampaignRecord } from '../host/reliability/campaign-records.js';
import { ROOT } from './helpers/paths.js';

const MS = 1_000_000n;

async function trials(scenarioPath: string, count: number, seed = 1): Promise<CampaignRecord[]> {
  const campaign = await campaignIdentity(scenarioPath, seed, count);
  const lines: string[] = [];
  for (let trial = 0; trial < count; trial++) lines.push(await runTrial({ scenarioPath, campaign, trial }));
  return parseCampaignRecords(lines.join('\n'), scenarioPath);
}

describe('outcomes of real trials', () => {
  it('partitions and crashes: ok when nothing broke a bound, degraded when a partition held a takeover past its bound', async () => {
    const records = await trials(join(ROOT, 'scenarios', 'pair-partitions.json'), 100);
    const ok = records.filter((record) => record.outcome === 'ok');
    const degraded = records.filter((record) => record.outcome === 'degraded');
    expect(ok.length).toBeGreaterThan(0);
    expect(degraded.length).toBeGreaterThan(0);
    for (const record of ok) {
      expect(record.systemFailure).toBeNull();
      expect(record.failovers.every((failover) => failover.covered)).toBe(true);
    }
    for (const record of degraded) expect(record.failovers.some((failover) => !failover.covered) || record.systemFailure !== null).toBe(true);
    // A covered failover: its interruption and lost work within the bounds the cores computed.
    const covered = records.flatMap((record) => record.failovers).filter((failover) => failover.covered && failover.interruptionNs !== null);
    expect(covered.length).toBeGreaterThan(0);
    for (const failover of covered) expect(failover.interruptionNs!).toBeLessThanOrEqual(failover.interruptionBoundNs!);
  }, 120_000);

  it('warnings: every move away is measured, its downtime within the bound its migration had, and no work lost', async () => {
    const records = await trials(join(ROOT, 'scenarios', 'pair-warning.json'), 40);
    const LEAD_NS = 60_000_000; // the scenario's warning lead: a move warned later may still be under way at the horizon
    const moves = records.flatMap((record) => record.failovers.filter((failover) => failover.policy === 'migrate-on-warning' && failover.faultAtNs + LEAD_NS <= record.horizonNs));
    expect(moves.length).toBeGreaterThan(2);
    for (const move of moves) {
      expect(move.interruptionNs, `${move.vm} moved at ${move.faultAtNs}`).not.toBeNull();
      expect(move.interruptionNs!).toBeGreaterThan(0);
      expect(move.interruptionNs!).toBeLessThanOrEqual(move.interruptionBoundNs!);
      expect(move.lostWorkNs).toBe(0);
      expect(move.covered).toBe(true);
    }
  }, 120_000);

  it('bit flips: memcheck catching a flipped byte is silent corruption; a frame\'s CRC catching one is detected', async () => {
    const records = await trials(join(ROOT, 'scenarios', 'memcheck-flips.json'), 30);
    const silent = records.filter((record) => record.outcome === 'silent-corruption');
    const detected = records.filter((record) => record.outcome === 'detected');
    expect(silent.length).toBeGreaterThan(0);
    expect(detected.length).toBeGreaterThan(0);
    for (const record of silent) {
      expect(record.systemFailure?.cause).toBe('silent-corruption');
      expect(record.faults.some((fault) => fault.kind === 'bit-flip-ram' || fault.kind === 'bit-flip-register')).toBe(true);
    }
    for (const record of detected) expect(record.faults.some((fault) => fault.kind.startsWith('bit-flip'))).toBe(true);
  }, 120_000);

  it('a step budget the trial cannot keep is a timeout, the same every time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-oracle-'));
    const scenario = join(dir, 'budget.json');
    writeFileSync(scenario, JSON.stringify({ board: join(ROOT, 'boards', 'pair-protected.json'), campaign: { horizon: '100ms', maxSteps: 200 } }));
    const [first, second] = [await trials(scenario, 2), await trials(scenario, 2)];
    expect(first.map((record) => record.outcome)).toEqual(['timeout', 'timeout']);
    expect(first[0]!.systemFailure!.cause).toBe('timeout');
    expect(second).toEqual(first);
  }, 60_000);
});

describe('outcomes only a broken core could make', () => {
  async function pairRun(): Promise<OracleInput> {
    const board = await readBoard(join(ROOT, 'boards', 'pair-protected.json'));
    const result = await runBoard({ board, durationNs: 100n * MS });
    const golden = goldenOf(result, new Map());
    return { board, result, consoles: new Map(), golden, horizonNs: 100n * MS, linkRates: {}, warningLeads: [], timedOut: false };
  }

  it('the same run is ok; with two processors running tx in one quantum it is double-active', async () => {
    const input = await pairRun();
    expect(judgeTrial(input).outcome).toBe('ok');
    input.result.doubleActive.push({ vm: 'tx', atNs: 40n * MS, processors: [0, 2] });
    const verdict = judgeTrial(input);
    expect(verdict.outcome).toBe('double-active');
    expect(verdict.systemFailure).toEqual({ atNs: 40_000_000, cause: 'double-active', vm: 'tx', processor: 0 });
  });

  it('rx lost with its processor while its backup held a whole epoch and a quorum lived: vm-lost', async () => {
    const input = await pairRun();
    input.result.faults.push({ atNs: 50n * MS, kind: 'fail', processor: 1 });
    input.result.failedProcessors.push(1);
    input.result.vms.find((vm) => vm.name === 'rx')!.state = 'lost';
    const verdict = judgeTrial(input);
    expect(verdict.outcome).toBe('vm-lost');
    expect(verdict.failovers).toEqual([expect.objectContaining({ vm: 'rx', from: 1, to: null, covered: false, reason: 'not-restored' })]);
    // A hang of processor 1 it woke from before is not the stop that lost rx: the fail is.
    const rehung = await pairRun();
    rehung.result.faults.push({ atNs: 10n * MS, kind: 'hang', processor: 1, detail: 'for 5000000 ns' }, { atNs: 15n * MS, kind: 'hang-end', processor: 1 }, { atNs: 50n * MS, kind: 'fail', processor: 1 });
    rehung.result.failedProcessors.push(1);
    rehung.result.vms.find((vm) => vm.name === 'rx')!.state = 'lost';
    expect(judgeTrial(rehung).failovers.find((f) => f.to === null)).toEqual(expect.objectContaining({ vm: 'rx', fault: 'fail-stop', faultAtNs: 50_000_000 }));
    // Its backup gone too: no complete copy survived, the board's redundancy is exhausted — degraded, not vm-lost.
    input.result.faults.push({ atNs: 20n * MS, kind: 'fail', processor: 3 });
    input.result.failedProcessors.push(3);
    const exhausted = judgeTrial(input);
    expect(exhausted.outcome).toBe('degraded');
    expect(exhausted.failovers.find((f) => f.vm === 'rx')!.reason).toBe('no-survivor');
  });

  it('repairs: a repaired backup holds no copy, and a quorum must last the bound — no-survivor, not vm-lost', async () => {
    // rx's backup 3 fails at 20 ms and is back at 30 ms; its holder 1 fails at 50 ms before choosing it again.
    const backupBack = await pairRun();
    backupBack.result.faults.push({ atNs: 20n * MS, kind: 'fail', processor: 3 }, { atNs: 30n * MS, kind: 'repair', processor: 3 }, { atNs: 50n * MS, kind: 'fail', processor: 1 });
    backupBack.result.failedProcessors.push(1);
    backupBack.result.vms.find((vm) => vm.name === 'rx')!.state = 'lost';
    const verdict = judgeTrial(backupBack);
    expect(verdict.outcome).toBe('degraded');
    expect(verdict.failovers.find((f) => f.vm === 'rx')).toEqual(expect.objectContaining({ fault: 'fail-stop', faultAtNs: 50_000_000, reason: 'no-survivor' }));
    expect(verdict.faults.find((f) => f.processor === 3)).toEqual(expect.objectContaining({ kind: 'fail-stop', atNs: 20_000_000, untilNs: 30_000_000 }));
    expect(verdict.timeline).toContainEqual(expect.objectContaining({ event: 'repair', atNs: 30_000_000, processor: 3 }));
    // 0 and 2 fail around rx's holder: 2 of 4 up is a quorum only with 0, and 0 is repaired
    // just before the horizon (its new life grants nothing for a lease time): no quorum in time.
    const lateQuorum = await pairRun();
    lateQuorum.result.faults.push({ atNs: 40n * MS, kind: 'fail', processor: 0 }, { atNs: 50n * MS, kind: 'fail', processor: 1 }, { atNs: 195n * MS, kind: 'repair', processor: 0 });
    lateQuorum.result.failedProcessors.push(1);
    lateQuorum.result.vms.find((vm) => vm.name === 'rx')!.state = 'lost';
    expect(judgeTrial(lateQuorum).failovers.find((f) => f.vm === 'rx')!.reason).toBe('no-survivor');
  });
});

describe('campaign records across repairs', () => {
  it('a hostile campaign with repairs and partitions: a failover\'s cause is a stop while its processor held the VM, its lost work never negative', async () => {
    // Trial 52 of this campaign once measured a takeover from a processor repaired since its
    // first fail-stop against that fail-stop (and a partition's against the partition's
    // start although the holder ran on to its pause): negative lost work, a record refused.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-oracle-'));
    const hostile = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(ROOT, 'scenarios', 'pair-hostile.json'), 'utf8')));
    delete hostile.$schema;
    const path = join(dir, 'hostile-repair.json');
    writeFileSync(path, JSON.stringify({ ...hostile, board: join(ROOT, 'boards', 'pair-protected.json'), campaign: { ...hostile.campaign, repair: { time: '20ms' }, partitions: { perS: 3, for: '20ms' } } }));
    const campaign = await campaignIdentity(path, 1, 1000);
    const [record] = parseCampaignRecords(await runTrial({ scenarioPath: path, campaign, trial: 52 }), path);
    expect(record!.timeline.some((entry) => entry.event === 'repair' && entry.processor === 1)).toBe(true);
    // 1 fails at 30.2 ms (rx to 3), is repaired at 69.1 ms, takes rx back in a partition and
    // holds it when the next partition (104.5 ms) leaves its side without a quorum: it pauses
    // at 108.5 ms, after an epoch of 106.0 ms — the lost work counts to the pause.
    const fromOne = record!.failovers.filter((f) => f.from === 1);
    expect(fromOne.map((f) => [f.fault, f.faultAtNs])).toEqual([['fail-stop', 30_151_069], ['partition', 104_496_012]]);
    expect(fromOne[1]!.lostWorkNs).toBe(2_500_000);
    for (const failover of record!.failovers) if (failover.lostWorkNs !== null) expect(failover.lostWorkNs).toBeGreaterThanOrEqual(0);
  });
});
