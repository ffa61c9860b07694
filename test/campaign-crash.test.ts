/**
 * A core that traps in a trial is the trial's `crash` outcome: recorded as a record the
 * contract accepts, never thrown at the campaign. The board runner is replaced here by one
 * whose core traps (a WebAssembly RuntimeError), as a core bug would.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../host/board-runner.js', () => ({
  runBoard: vi.fn(async () => { throw new WebAssembly.RuntimeError('unreachable executed'); }),
}));

const { campaignIdentity } = await import('../host/campaign/identity.js');
const { runTrial } = await import('../host/campaign/trial.js');
const { parseCampaignRecords } = await import('../host/reliability/campaign-records.js');
const { ROOT } = await import('./helpers/paths.js');

describe('a trapping core', () => {
  it('gives a crash record, not an exception', async () => {
    const scenarioPath = join(ROOT, 'scenarios', 'pair-partitions.json');
    const campaign = await campaignIdentity(scenarioPath, 1, 3);
    const line = await runTrial({ scenarioPath, campaign, trial: 2 });
    const [record] = parseCampaignRecords(line, 'crash');
    expect(record!.outcome).toBe('crash');
    expect(record!.systemFailure).toEqual({ atNs: 0, cause: 'crash' });
    expect(record!.timeline[0]!.detail).toMatch(/RuntimeError: unreachable executed/);
    expect(await runTrial({ scenarioPath, campaign, trial: 2 })).toBe(line);
  });
});
