/**
 * How long the reliability report takes for a large campaign: N synthetic
 * trials (default 10,000) on the quad board, every VM protected by
 * checkpoints with any processor as a target, drawn from the board model at
 * accelerated rates with a known coverage; then the results file is read and
 * validated and the report built, as `ferry report` does. Prints the times it
 * measured and the report's headline.
 *
 *   npm run bench:report [-- --trials 10000 --rate-per-hour 1e-5 --json]
 */
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBoard } from '../host/board.js';
import { packageRoot } from '../host/package-root.js';
import { boardModelInput } from '../host/reliability/board-input.js';
import { readCampaignRecords } from '../host/reliability/campaign-records.js';
import { syntheticCampaign } from '../host/reliability/synthetic-campaign.js';
import { perHourToPerS } from '../host/reliability/units.js';
import { formatHeadline } from '../host/report/headline.js';
import { writeReport } from '../host/report/write-report.js';

const SIMULATED_RATE_PER_S = 0.02;
const DRAWN_COVERAGE = 0.95;
const HORIZON_S = 10;

const { values } = parseArgs({ options: { trials: { type: 'string', default: '10000' }, 'rate-per-hour': { type: 'string', default: '1e-5' }, json: { type: 'boolean', default: false } } });
const trials = Number(values.trials);
const ratePerHour = Number(values['rate-per-hour']);
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials needs a positive integer, not ${values.trials}`);
if (!(ratePerHour >= 0)) throw new Error(`--rate-per-hour needs a rate ≥ 0, not ${values['rate-per-hour']}`);

const root = packageRoot();
const boardPath = join(root, 'boards', 'quad.json');
const raw = JSON.parse(readFileSync(boardPath, 'utf8')) as { processors: Record<string, unknown>[]; vms: Record<string, unknown>[] };
raw.vms.forEach((vm) => { vm['protection'] = { policies: ['checkpoint'] }; });
const board = parseBoard(raw, boardPath);
const out = join(root, 'build', 'bench-report');
mkdirSync(out, { recursive: true });
const resultsPath = join(out, 'results.jsonl');

let start = performance.now();
const records = syntheticCampaign({ model: boardModelInput(board, { kind: 'uniform', failureRatePerS: SIMULATED_RATE_PER_S }), coverage: DRAWN_COVERAGE, horizonS: HORIZON_S, trials, seed: 1, scenario: 'quad-failover' });
writeFileSync(resultsPath, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
const generateMs = performance.now() - start;

start = performance.now();
const read = await readCampaignRecords(resultsPath);
const readMs = performance.now() - start;
start = performance.now();
const written = await writeReport(read, { resultsPath, board, outDir: out, realRatePerS: perHourToPerS(ratePerHour) });
const buildMs = performance.now() - start;

const figures = {
  trials,
  resultsBytes: statSync(resultsPath).size,
  indexBytes: statSync(written.indexPath).size,
  generateMs: Math.round(generateMs),
  readAndValidateMs: Math.round(readMs),
  buildReportMs: Math.round(buildMs),
  headline: written.headline,
};
if (values.json === true) {
  console.log(JSON.stringify(figures, null, 2));
} else {
  console.log(`report bench: ${trials.toLocaleString('en-US')} synthetic trials on boards/quad.json (every VM: checkpoint, any processor), ${SIMULATED_RATE_PER_S}/s per processor for ${HORIZON_S} s, coverage drawn ${DRAWN_COVERAGE}; real rate ${values['rate-per-hour']}/h`);
  console.log(`  generate records       ${figures.generateMs} ms (${(figures.resultsBytes / 1e6).toFixed(1)} MB of JSONL; not part of the report)`);
  console.log(`  read and validate      ${figures.readAndValidateMs} ms`);
  console.log(`  build the report       ${figures.buildReportMs} ms (analysis, models, 6 plots to SVG, HTML, Markdown, JSON)`);
  console.log(`  time to build          ${figures.readAndValidateMs + figures.buildReportMs} ms in all: ${written.indexPath} (${(figures.indexBytes / 1e6).toFixed(1)} MB)`);
  for (const line of formatHeadline(written.headline, trials).trimEnd().split('\n')) console.log(`  ${line}`);
}
