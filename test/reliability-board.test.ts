/**
 * The board model (host/reliability/board-model.ts) against the textbook
 * models it must reduce to, and the campaign analysis against synthetic
 * campaigns drawn from a known model: Kaplan–Meier and the coverage estimate
 * must recover it, and a campaign that disagrees with the model is flagged.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBoard } from '../host/board.js';
import { boardModelInput } from '../host/reliability/board-input.js';
import { boardModel } from '../host/reliability/board-model.js';
import { analyseCampaign } from '../host/reliability/campaign-analysis.js';
import { CampaignRecordError, readCampaignRecords } from '../host/reliability/campaign-records.js';
import { kOfNIdentical, kOfNMttfS } from '../host/reliability/combinatorial.js';
import { coverageBand, disagreements, givenCoverage, modelCurve, timeGrid } from '../host/reliability/comparison.js';
import { generator, meanTimeToAbsorption, steadyState } from '../host/reliability/ctmc.js';
import { warmStandbyMttfS, warmStandbyReliability } from '../host/reliability/standby.js';
import { hoursToS, perHourToPerS, sToHours } from '../host/reliability/units.js';
import { standbyPairInput, syntheticCampaign, trioInput, writeRecords } from './helpers/synthetic-records.js';

const lambda = perHourToPerS(1e-3);
const t100h = hoursToS(100);

describe('board model', () => {
  it('three processors that each hold one VM and can take one more: TMR, with and without coverage', () => {
    const model = boardModel(trioInput(lambda));
    const r = Math.exp(-0.1);
    expect(model.migrationReliability([t100h], 1)[0]).toBeCloseTo(0.974555818, 9);
    expect(sToHours(model.migrationMttfS(1))).toBeCloseTo(833.333333, 5);
    expect(model.migrationReliability([t100h], 0.9)[0]).toBeCloseTo(kOfNIdentical(2, 3, r, 0.9), 12);
    expect(model.migrationMttfS(0.9)).toBeCloseTo(kOfNMttfS(2, 3, lambda, 0.9), 3);
    // Static: all three must survive.
    expect(model.staticReliability(t100h)).toBeCloseTo(r ** 3, 14);
    expect(model.toleranceTable()).toEqual([{ failures: 1, survived: 3, sets: 3 }, { failures: 2, survived: 0, sets: 3 }, { failures: 3, survived: 0, sets: 1 }]);
  });

  it('a VM with an idle backup is a warm standby pair whose spare fails at λ (its failure needs no failover)', () => {
    const model = boardModel(standbyPairInput(lambda));
    expect(model.migrationReliability([t100h], 0.9)[0]).toBeCloseTo(warmStandbyReliability(2, lambda, lambda, 0.9, t100h), 12);
    expect(model.migrationMttfS(0.9)).toBeCloseTo(warmStandbyMttfS(2, lambda, lambda, 0.9), 3);
    // Static: only the processor that holds the VM counts.
    expect(model.staticReliability(t100h)).toBeCloseTo(Math.exp(-0.1), 14);
  });

  it('bin packing: a VM whose windows do not fit a survivor\'s schedule, or whose policy is none, cannot fail over', () => {
    const busy = trioInput(lambda);
    busy.vms.forEach((vm) => (vm.utilisation = 0.6));
    expect(boardModel(busy).migrationReliability([t100h], 1)[0]).toBeCloseTo(boardModel(busy).staticReliability(t100h), 13);
    const unprotected = trioInput(lambda);
    unprotected.vms.forEach((vm) => (vm.relocatable = false));
    expect(boardModel(unprotected).migrationReliability([t100h], 1)[0]).toBeCloseTo(Math.exp(-0.3), 13);
  });

  it('with repair: the two-processor pair with one failure at a time repaired is the textbook MTTF 51,500 h', () => {
    const pair = trioInput(lambda, 1 / perHourToPerS(0.1));
    pair.processors.pop();
    pair.vms.pop();
    const model = boardModel(pair);
    expect(sToHours(model.migrationMttfS(1))).toBeCloseTo(51_500, 4);
  });

  it('availability with repair equals a hand-built chain; static availability is the product of μ/(λ+μ)', () => {
    const mu = perHourToPerS(0.1);
    const pair = trioInput(lambda, 1 / mu);
    pair.processors.pop();
    pair.vms.pop();
    const c = 0.95;
    // States: 0 up {}, 1 up {0}, 2 up {1}, 3 down {0}, 4 down {1}, 5 down {0,1}.
    const q = generator(6, [
      { from: 0, to: 1, ratePerS: lambda * c }, { from: 0, to: 3, ratePerS: lambda * (1 - c) },
      { from: 0, to: 2, ratePerS: lambda * c }, { from: 0, to: 4, ratePerS: lambda * (1 - c) },
      { from: 1, to: 0, ratePerS: mu }, { from: 1, to: 5, ratePerS: lambda },
      { from: 2, to: 0, ratePerS: mu }, { from: 2, to: 5, ratePerS: lambda },
      { from: 3, to: 0, ratePerS: mu }, { from: 3, to: 5, ratePerS: lambda },
      { from: 4, to: 0, ratePerS: mu }, { from: 4, to: 5, ratePerS: lambda },
      { from: 5, to: 4, ratePerS: mu }, { from: 5, to: 3, ratePerS: mu },
    ]);
    const pi = steadyState(q);
    const model = boardModel(pair);
    expect(model.migrationAvailability(c)).toBeCloseTo(pi[0]! + pi[1]! + pi[2]!, 12);
    expect(model.staticAvailability()).toBeCloseTo((mu / (lambda + mu)) ** 2, 14);
    expect(model.migrationMttfS(c)).toBeCloseTo(meanTimeToAbsorption(generator(4, [
      { from: 0, to: 1, ratePerS: 2 * lambda * c }, { from: 0, to: 3, ratePerS: 2 * lambda * (1 - c) },
      { from: 1, to: 0, ratePerS: mu }, { from: 1, to: 3, ratePerS: lambda },
    ]), [1, 0, 0, 0], [0, 1]), 2);
  });

  it('the quad board with a spare: builds from a board file with protection fields', () => {
    const MIB = 1 << 20;
    const quad = (windowNs: number): ReturnType<typeof parseBoard> => parseBoard({
      processors: [0, 1, 2, 3].map((id) => ({ id, clockHz: 100_000_000, ramBytes: 4 * MIB, majorFrameNs: 10_000_000, failureRate: '2e-5/h' })),
      vms: [0, 1, 2].map((processor) => ({
        name: `ctl${processor}`, image: 'x.elf', memoryBytes: 2 * MIB, processor, windows: [{ offsetNs: 0, durationNs: windowNs }],
        protection: { policies: ['checkpoint'], backup: 3 },
      })),
    }, 'quad-spare.json');
    // The spare holds two VMs by RAM (2 + 2 ≤ 4 MiB); by schedule two of 0.4 fit, two of 0.6 do not.
    // A VM may go to the spare only, so no set with the spare in it survives.
    expect(boardModel(boardModelInput(quad(6_000_000))).toleranceTable().slice(0, 2)).toEqual([{ failures: 1, survived: 4, sets: 4 }, { failures: 2, survived: 0, sets: 6 }]);
    const model = boardModel(boardModelInput(quad(4_000_000)));
    expect(model.toleranceTable().slice(0, 3)).toEqual([{ failures: 1, survived: 4, sets: 4 }, { failures: 2, survived: 3, sets: 6 }, { failures: 3, survived: 0, sets: 4 }]);
    expect(model.staticRatePerS()).toBeCloseTo(3 * perHourToPerS(2e-5), 20);
    const tS = hoursToS(8760);
    expect(model.migrationReliability([tS], 1)[0]).toBeGreaterThan(model.staticReliability(tS));
    expect(() => boardModelInput(parseBoard({ processors: [{ id: 0, clockHz: 1e8, ramBytes: 4 * MIB }] }, 'x.json'))).toThrow(/processor 0 has no failureRate/);
  });
});

describe('campaign analysis against synthetic campaigns', () => {
  const ratePerS = 0.05;
  const model = boardModel(trioInput(ratePerS));
  const records = syntheticCampaign({ model: trioInput(ratePerS), coverage: 0.9, horizonS: 10, trials: 4000, seed: 7 });
  const analysis = analyseCampaign(records);
  const grid = timeGrid(10, 20);

  it('the coverage interval contains the generator\'s c = 0.9, and Kaplan–Meier stays within the model\'s band', () => {
    const interval = analysis.coverage.interval!;
    expect(analysis.coverage.failures).toBeGreaterThan(1000);
    expect(interval.lower).toBeLessThan(0.9);
    expect(interval.upper).toBeGreaterThan(0.9);
    expect(disagreements(modelCurve(model, grid, coverageBand(interval)), analysis.km)).toEqual([]);
  });

  it('Kaplan–Meier recovers R(t) of the model: at the horizon within its interval', () => {
    const step = analysis.km.steps[analysis.km.steps.length - 1]!;
    const exact = model.migrationReliability([10], 0.9)[0]!;
    expect(step.lower).toBeLessThan(exact);
    expect(step.upper).toBeGreaterThan(exact);
  });

  it('flags a model whose coverage differs from the campaign\'s (c = 0.99 given, 0.9 drawn)', () => {
    const found = disagreements(modelCurve(model, grid, givenCoverage(0.99)), analysis.km);
    expect(found.length).toBeGreaterThan(5);
    expect(found.every((d) => d.direction === 'simulation-below-model')).toBe(true);
  });

  it('no false alarm where a campaign with rare failures has seen none yet', () => {
    const rare = trioInput(0.0005);
    const few = analyseCampaign(syntheticCampaign({ model: rare, coverage: 0.9, horizonS: 10, trials: 2000, seed: 11 }));
    expect(few.systemFailures).toBeGreaterThan(0);
    // Compare also before the first system failure, where Kaplan–Meier is still exactly 1.
    const firstS = few.km.steps.find((step) => step.events > 0)!.timeS;
    const times = [firstS / 4, firstS / 2, firstS * 0.99, ...grid.filter((tS) => tS > firstS)];
    expect(disagreements(modelCurve(boardModel(rare), times, coverageBand(few.coverage.interval!)), few.km)).toEqual([]);
  });

  it('flags a campaign with failures the model does not know of, even at the measured coverage', () => {
    const hidden = analyseCampaign(syntheticCampaign({ model: trioInput(ratePerS), coverage: 0.9, horizonS: 10, trials: 4000, seed: 7, hiddenFailurePerS: 0.01 }));
    expect(disagreements(modelCurve(model, grid, coverageBand(hidden.coverage.interval!)), hidden.km).length).toBeGreaterThan(0);
  });

  it('the same seed gives the same records; another seed other records', () => {
    const draw = (seed: number): string => JSON.stringify(syntheticCampaign({ model: trioInput(ratePerS), coverage: 0.9, horizonS: 10, trials: 50, seed }));
    expect(draw(7) === draw(7)).toBe(true);
    expect(draw(7) === draw(8)).toBe(false);
  });
});

describe('reading campaign records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-records-'));
  const records = syntheticCampaign({ model: trioInput(0.05), coverage: 0.9, horizonS: 10, trials: 20, seed: 1 });
  const good = join(dir, 'good.jsonl');
  writeRecords(records, good);

  it('reads what the generator writes, every field', async () => {
    expect(await readCampaignRecords(good)).toEqual(records);
  });

  const refusals: [string, (lines: Record<string, unknown>[]) => string, RegExp][] = [
    ['a wrong type', (lines) => { (lines[3]!['failovers'] as object[]).push({ ...(lines[3]!['failovers'] as object[])[0] ?? failover(), covered: 'yes' }); return ''; }, /bad\.jsonl:4: \/failovers\/\d+\/covered: must be a boolean, not "yes"$/],
    ['a missing field', (lines) => { delete lines[0]!['horizonNs']; return ''; }, /bad\.jsonl:1: \/horizonNs: is required$/],
    ['an unknown outcome', (lines) => { lines[5]!['outcome'] = 'fine'; return ''; }, /bad\.jsonl:6: \/outcome: must be one of "ok", .*, not "fine"$/],
    ['a system failure without a time', (lines) => { lines[2]!['systemFailure'] = { cause: 'vm-lost' }; return ''; }, /bad\.jsonl:3: \/systemFailure\/atNs: is required$/],
    ['a system failure after the horizon', (lines) => { lines[2]!['systemFailure'] = { atNs: 99e9, cause: 'vm-lost' }; return ''; }, /bad\.jsonl:3: \/systemFailure\/atNs: 99000000000 is after the horizon 10000000000$/],
    ['a duplicate trial', (lines) => { lines[7]!['trial'] = 2; return ''; }, /bad\.jsonl:8: \/trial: trial 2 is already on line 3$/],
    ['another campaign', (lines) => { (lines[9]!['campaign'] as Record<string, unknown>)['seed'] = 99; return ''; }, /bad\.jsonl:10: \/campaign: differs from the first record's/],
    ['a line that is not JSON', () => '{"trial": 0,', /bad\.jsonl:1: not valid JSON/],
  ];
  for (const [what, spoil, message] of refusals) {
    it(`refuses ${what}, naming file:line and the JSON pointer`, async () => {
      const lines = records.map((record) => JSON.parse(JSON.stringify(record)) as Record<string, unknown>);
      const replacement = spoil(lines);
      const path = join(dir, 'bad.jsonl');
      writeFileSync(path, replacement !== '' ? `${replacement}\n` : lines.map((line) => JSON.stringify(line)).join('\n'));
      const error = await readCampaignRecords(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CampaignRecordError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('refuses a missing file and an empty one', async () => {
    await expect(readCampaignRecords(join(dir, 'none.jsonl'))).rejects.toThrow(/cannot read it \(no such file\)/);
    writeFileSync(join(dir, 'empty.jsonl'), '\n');
    await expect(readCampaignRecords(join(dir, 'empty.jsonl'))).rejects.toThrow(/no records/);
  });
});

function failover(): object {
  return { vm: 'vm0', from: 0, to: 1, policy: 'checkpoint', fault: 'fail-stop', faultAtNs: 0, interruptionNs: 1, interruptionBoundNs: 2, lostWorkNs: 1, lostWorkBoundNs: 2, covered: true };
}
