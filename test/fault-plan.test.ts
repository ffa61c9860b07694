/**
 * A trial's fault plan (host/campaign/fault-plan.ts): with repair, each processor's life is
 * a renewal process — fail, repair, fail again — drawn from the trial's seed; the fault
 * hypothesis keeps a repair only with the fail-stop it repairs; the record's rates carry
 * the mean repair time.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drawFaultPlan, processorRates } from '../host/campaign/fault-plan.js';
import type { FaultEvent } from '../host/faults.js';
import { readScenario } from '../host/scenario.js';
import type { CampaignSection } from '../host/scenario-campaign.js';
import { ROOT } from './helpers/paths.js';

const MS = 1_000_000n;

async function pairBoard() {
  return (await readScenario(join(ROOT, 'scenarios', 'pair-repairs.json'))).board;
}

function section(extra: Partial<CampaignSection> = {}): CampaignSection {
  return {
    horizonNs: 2000n * MS, processors: [0, 1, 2, 3],
    failStop: new Map([0, 1, 2, 3].map((id) => [id, { distribution: 'exponential', perS: 5 }] as const)),
    repair: { distribution: 'exponential', timeNs: 30n * MS },
    ...extra,
  };
}

/** Per processor, its fail and repair events in time order. */
function lives(plan: FaultEvent[], processor: number): FaultEvent['kind'][] {
  return plan.filter((fault) => 'processor' in fault && fault.processor === processor).map((fault) => fault.kind);
}

describe('fault plans with repair', () => {
  it('a processor fails, is repaired, and fails again; never repaired before it failed', async () => {
    const board = await pairBoard();
    let repeated = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const plan = drawFaultPlan(section(), board, seed);
      for (const id of [0, 1, 2, 3]) {
        const kinds = lives(plan, id);
        // fail, repair, fail, repair, …: alternating, starting with a fail.
        kinds.forEach((kind, index) => expect(kind, `seed ${seed} processor ${id}: ${kinds.join(' ')}`).toBe(index % 2 === 0 ? 'fail' : 'repair'));
        if (kinds.length >= 3) repeated++;
      }
      expect(plan.every((fault, index) => index === 0 || plan[index - 1]!.atNs <= fault.atNs)).toBe(true);
      expect(plan.every((fault) => fault.atNs <= 2000n * MS)).toBe(true);
    }
    expect(repeated, 'processors that failed again after a repair').toBeGreaterThan(50);
  });

  it('the repair times follow their distribution: a fixed time exactly, an exponential one with its mean', async () => {
    const board = await pairBoard();
    const gaps = (extra: Partial<CampaignSection>): bigint[] => {
      const found: bigint[] = [];
      for (let seed = 1; seed <= 400; seed++) {
        const plan = drawFaultPlan(section(extra), board, seed);
        for (const repair of plan.filter((fault) => fault.kind === 'repair')) {
          const fail = plan.filter((fault) => fault.kind === 'fail' && fault.processor === (repair as { processor: number }).processor && fault.atNs <= repair.atNs).pop()!;
          found.push(repair.atNs - fail.atNs);
        }
      }
      return found;
    };
    expect(new Set(gaps({ repair: { distribution: 'fixed', timeNs: 30n * MS } }))).toEqual(new Set([30n * MS]));
    const exponential = gaps({});
    const meanMs = exponential.reduce((sum, gap) => sum + Number(gap), 0) / exponential.length / 1e6;
    expect(exponential.length).toBeGreaterThan(1000);
    // The mean of n exponentials has a standard error of mean/√n: 30 ms ± 5 %.
    expect(meanMs).toBeGreaterThan(28.5);
    expect(meanMs).toBeLessThan(31.5);
  });

  it('the fault hypothesis keeps a repair with its fail-stop only, and repair leaves the other draws alone', async () => {
    const board = await pairBoard();
    for (let seed = 1; seed <= 50; seed++) {
      const one = drawFaultPlan(section({ maxProcessorFaults: 1 }), board, seed);
      const fails = one.filter((fault) => fault.kind === 'fail');
      expect(fails.length).toBeLessThanOrEqual(1);
      const repairs = one.filter((fault) => fault.kind === 'repair');
      expect(repairs.length).toBeLessThanOrEqual(fails.length);
      if (repairs.length === 1) expect((repairs[0] as { processor: number }).processor).toBe((fails[0] as { processor: number }).processor);
      // Without repair, each processor's first fail-stop is the same draw.
      const first = (plan: FaultEvent[]) => [0, 1, 2, 3].map((id) => plan.find((fault) => fault.kind === 'fail' && fault.processor === id)?.atNs);
      const { repair: _, ...withoutRepair } = section();
      expect(first(drawFaultPlan(withoutRepair, board, seed))).toEqual(first(drawFaultPlan(section(), board, seed)));
    }
  });

  it('the record\'s rates carry the mean repair time of the processors that may fail', async () => {
    const board = await pairBoard();
    expect(processorRates(section({ processors: [0, 1] }), board).map((rate) => rate.repairNs)).toEqual([30_000_000, 30_000_000, null, null]);
    const { repair: _, ...withoutRepair } = section();
    expect(processorRates(withoutRepair, board).map((rate) => rate.repairNs)).toEqual([null, null, null, null]);
  });
});
