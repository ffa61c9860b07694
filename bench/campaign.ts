/**
 * Campaign benchmark (docs/campaigns.md, "Figures"):
 *
 *   npm run build && npm run bench:campaign [-- --trials N] [-- --speed-trials M] [-- --json]
 *
 * 1. Trials per second of the default campaign (scenarios/quad-failover.json, 500 ms of
 *    virtual time per trial) with 1 and 2 workers of the piscina pool: M trials each
 *    (default 40), wall time of runCampaign, the golden runs and the determinism reruns
 *    included, as a user's campaign pays them.
 * 2. Failover interruption and lost work against their bounds, and the detection latency,
 *    over N trials (default 10,000) of scenarios/pair-partitions.json on 2 workers.
 * 3. The outcome table of every example scenario: quad-failover (the 2-worker run of 1.),
 *    pair-partitions (2.), pair-warning, memcheck-flips, pair-hostile and pair-repairs (N / 20 trials each, at least 100).
 *
 * Results files go to a temporary folder; nothing in them depends on wall time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runCampaign } from '../host/campaign/campaign-run.js';
import { formatSummary } from '../host/campaign/campaign-summary.js';
import type { CampaignSummary, Distribution } from '../host/campaign/campaign-summary.js';
import { poolExecutor } from '../host/campaign/pool.js';
import { packageRoot } from '../host/package-root.js';

interface Options { trials: number; speedTrials: number; json: boolean }

function options(argv: string[]): Options {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string', default: '10000' }, 'speed-trials': { type: 'string', default: '40' }, json: { type: 'boolean', default: false } } });
  const whole = (text: string | undefined, name: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, not ${text}`);
    return n;
  };
  return { trials: whole(values.trials, 'trials'), speedTrials: whole(values['speed-trials'], 'speed-trials'), json: values.json === true };
}

const root = packageRoot();
const scenario = (name: string): string => join(root, 'scenarios', `${name}.json`);
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-campaign-'));

async function timedCampaign(name: string, trials: number, workers: number, seed = 1): Promise<{ summary: CampaignSummary; wallS: number; trialsPerS: number }> {
  const executor = poolExecutor({ workers });
  const started = performance.now();
  try {
    const summary = await runCampaign({ scenarioPath: scenario(name), seed, trials, resultsPath: join(dir, `${name}-${workers}-${trials}.jsonl`), executor });
    const wallS = (performance.now() - started) / 1000;
    return { summary, wallS, trialsPerS: trials / wallS };
  } finally {
    await executor.close();
  }
}

function ms(ns: number | null): string {
  return ns === null ? '-' : (ns / 1e6).toFixed(3);
}

function distributionRow(name: string, d: Distribution, boundNs: number | null, over: number): string {
  return `${name.padEnd(22)} ${String(d.count).padStart(6)} ${ms(d.minNs).padStart(9)} ${ms(d.p50Ns).padStart(9)} ${ms(d.p95Ns).padStart(9)} ${ms(d.p99Ns).padStart(9)} ${ms(d.maxNs).padStart(9)} ${ms(boundNs).padStart(9)} ${String(over).padStart(5)}`;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const log = (text: string): void => { if (!opts.json) process.stdout.write(text); };
  log(`campaign benchmark: ${opts.speedTrials} trials of quad-failover at 1 and 2 workers, ${opts.trials} trials of pair-partitions\n\n`);

  const one = await timedCampaign('quad-failover', opts.speedTrials, 1);
  const two = await timedCampaign('quad-failover', opts.speedTrials, 2);
  log('1. default campaign (quad-failover, 500 ms virtual per trial)\n');
  log(`   1 worker : ${one.trialsPerS.toFixed(2)} trials/s (${one.wallS.toFixed(1)} s for ${opts.speedTrials})\n`);
  log(`   2 workers: ${two.trialsPerS.toFixed(2)} trials/s (${two.wallS.toFixed(1)} s for ${opts.speedTrials}), ${(two.trialsPerS / one.trialsPerS).toFixed(2)}x\n`);
  log(`   (same records at 1 and 2 workers: ${one.summary.outcomes.map((r) => r.count).join(',') === two.summary.outcomes.map((r) => r.count).join(',') ? 'same outcome counts' : 'OUTCOME COUNTS DIFFER'})\n\n`);

  const big = await timedCampaign('pair-partitions', opts.trials, 2);
  const { failovers, detection } = big.summary;
  log(`2. pair-partitions, ${opts.trials} trials on 2 workers (${big.trialsPerS.toFixed(1)} trials/s, ${big.wallS.toFixed(0)} s)\n`);
  log(`   ${'ms'.padEnd(22)} ${'n'.padStart(6)} ${'min'.padStart(9)} ${'median'.padStart(9)} ${'p95'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)} ${'bound'.padStart(9)} ${'over'.padStart(5)}\n`);
  log(`   ${distributionRow('interruption', failovers.interruption.measured, failovers.interruption.worstBoundNs, failovers.interruption.overBound)}\n`);
  log(`   ${distributionRow('lost work', failovers.lostWork.measured, failovers.lostWork.worstBoundNs, failovers.lostWork.overBound)}\n`);
  log(`   ${distributionRow('detection latency', detection.latency, null, 0)}\n`);
  log(`   failovers ${failovers.count}, not covered ${failovers.uncovered}; false suspicions ${detection.falseSuspicions}\n\n`);

  const extra = Math.max(100, Math.floor(opts.trials / 20));
  const warning = await timedCampaign('pair-warning', extra, 2);
  const flips = await timedCampaign('memcheck-flips', extra, 2);
  const hostile = await timedCampaign('pair-hostile', extra, 2);
  const repairs = await timedCampaign('pair-repairs', extra, 2);
  const tables: [string, CampaignSummary][] = [
    ['quad-failover', two.summary], ['pair-partitions', big.summary], ['pair-warning', warning.summary], ['memcheck-flips', flips.summary],
    ['pair-hostile', hostile.summary], ['pair-repairs', repairs.summary],
  ];
  log('3. outcomes of the example scenarios\n\n');
  for (const [name, summary] of tables) log(`${name}:\n${formatSummary(summary).split('\n').map((line) => `   ${line}`).join('\n')}\n`);

  if (opts.json) {
    process.stdout.write(`${JSON.stringify({
      speed: { trials: opts.speedTrials, oneWorkerTrialsPerS: one.trialsPerS, twoWorkersTrialsPerS: two.trialsPerS },
      pairPartitions: { trials: opts.trials, trialsPerS: big.trialsPerS, failovers, detection },
      outcomes: Object.fromEntries(tables.map(([name, summary]) => [name, { trials: summary.trials, outcomes: summary.outcomes, verdict: summary.verdict }])),
    }, null, 2)}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}

await main();
