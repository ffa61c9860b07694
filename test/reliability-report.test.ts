/**
 * The reliability report (host/report) and the commands ferry report and
 * ferry analyze, on synthetic campaigns: the figures it writes are the ones
 * the analysis computes, the same inputs give the same bytes, a model that
 * disagrees with the campaign is flagged, and bad input is one line (exit 2).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { boardModelInput } from '../host/reliability/board-input.js';
import { analyseCampaign } from '../host/reliability/campaign-analysis.js';
import type { CampaignRecord } from '../host/reliability/campaign-records.js';
import type { ReportData } from '../host/report/report-data.js';
import { formatProbability } from '../host/report/report-format.js';
import { writeReport } from '../host/report/write-report.js';
import type { WrittenReport } from '../host/report/write-report.js';
import { lines, runFerry } from './helpers/ferry-cli.js';
import { writeQuadSpare } from './helpers/reliability-board.js';
import { syntheticCampaign, writeRecords } from './helpers/synthetic-records.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-report-'));
const { path: boardPath, board } = writeQuadSpare(dir);
const simulated = boardModelInput(board, { kind: 'uniform', failureRatePerS: 0.03 });
const records: CampaignRecord[] = syntheticCampaign({ model: simulated, coverage: 0.9, horizonS: 10, trials: 2000, seed: 3, scenario: 'quad-spare' });
const resultsPath = join(dir, 'results.jsonl');
writeRecords(records, resultsPath);

const read = (report: WrittenReport, name: string): string => readFileSync(join(report.indexPath, '..', name), 'utf8');

describe('writeReport', () => {
  let report: WrittenReport;
  let json: ReportData;
  beforeAll(async () => {
    report = await writeReport(records, { resultsPath: 'results.jsonl', board, outDir: join(dir, 'a') });
    json = JSON.parse(read(report, 'report.json')) as ReportData;
  });

  it('report.json holds what the analysis measured, and the headline is taken from it', () => {
    const analysis = analyseCampaign(records);
    expect(json.format).toBe('ferry-reliability-report/1');
    expect(json.measured.trials).toBe(2000);
    expect(json.measured.coverage.covered).toBe(analysis.coverage.covered);
    expect(json.measured.coverage.interval).toEqual(analysis.coverage.interval);
    expect(json.measured.kaplanMeier.steps.length).toBe(analysis.km.steps.length);
    expect(report.headline.coverage?.estimate).toBe(analysis.coverage.interval!.estimate);
    expect(json.headline).toEqual(report.headline);
    // The generator's coverage is inside the measured interval, and the model agrees with the campaign.
    expect(json.measured.coverage.interval!.lower).toBeLessThan(0.9);
    expect(json.measured.coverage.interval!.upper).toBeGreaterThan(0.9);
    expect(json.simulated?.agrees).toBe(true);
    expect(report.headline.agreement).toBe('agrees');
  });

  it('extrapolates to the mission at the board\'s rates: migration beats the static mapping, inside its coverage band', () => {
    const e = json.extrapolated!;
    expect(e.missionS).toBe(10 * 8760 * 3600);
    expect(e.ratesPerS.every((p) => Math.abs(p.failureRatePerS - 1e-5 / 3600) < 1e-20)).toBe(true);
    expect(e.staticR).toBeCloseTo(Math.exp(-3 * 1e-5 * 87_600), 12);
    expect(e.migrationR.low).toBeLessThanOrEqual(e.migrationR.estimate);
    expect(e.migrationR.estimate).toBeLessThanOrEqual(e.migrationR.high);
    expect(e.migrationR.estimate).toBeGreaterThan(e.staticR);
    expect(report.headline.migrationR).toEqual(e.migrationR);
  });

  it('index.html is self-contained: every plot inline as SVG with its Vega-Lite spec, nothing fetched', () => {
    const html = read(report, 'index.html');
    const svgs = html.match(/<svg[\s>]/g) ?? [];
    const specs = html.match(/<summary>Vega-Lite spec<\/summary>/g) ?? [];
    expect(svgs.length).toBe(6);
    expect(specs.length).toBe(svgs.length);
    expect(html).not.toMatch(/<script\b|<link\b|<img\b|(src|href)="https?:|url\(["']?https?:|@import/);
    expect(html).toContain(`ferry replay results.jsonl --trial ${json.measured.worstTrial.trial} --trace`);
    expect(html).toContain(formatProbability(json.measured.coverage.interval!.estimate));
  });

  it('summary.md has the same figures as tables', () => {
    const markdown = read(report, 'summary.md');
    const e = json.extrapolated!;
    expect(markdown).toContain(`| R(10 y) | ${formatProbability(e.staticR)} | ${formatProbability(e.migrationR.estimate)} |`);
    expect(markdown).toContain(`| all failures | ${json.measured.coverage.failures.toLocaleString('en-US')} | ${json.measured.coverage.covered.toLocaleString('en-US')} |`);
    expect(markdown).toMatch(/\| double-active \| 0 \| 0 \| < 0\.0015 \(never seen\) \|/);
  });

  it('the same records and options give byte-identical files', async () => {
    const again = await writeReport(records, { resultsPath: 'results.jsonl', board, outDir: join(dir, 'b') });
    for (const name of ['index.html', 'summary.md', 'report.json']) expect(read(again, name) === read(report, name), name).toBe(true);
  });

  it('flags a model whose coverage is not the campaign\'s', async () => {
    const flagged = await writeReport(records, { resultsPath: 'results.jsonl', board, outDir: join(dir, 'c'), coverage: 0.999 });
    expect(flagged.headline.agreement).toBe('disagrees');
    expect(flagged.data.simulated!.disagreements.length).toBeGreaterThan(0);
    expect(read(flagged, 'index.html')).toContain('Model and simulation disagree at');
    expect(read(flagged, 'summary.md')).toContain('**Model and simulation disagree**');
  });

  it('without a board: the measured side only, and says why', async () => {
    const bare = await writeReport(records, { resultsPath: 'results.jsonl', outDir: join(dir, 'd') });
    expect(bare.data.simulated).toBeUndefined();
    expect(bare.data.extrapolated).toBeUndefined();
    expect(bare.headline.agreement).toBe('not compared');
    expect(bare.data.notes.join(' ')).toMatch(/No board was given/);
    expect((read(bare, 'index.html').match(/<svg[\s>]/g) ?? []).length).toBe(5);
  });
});

describe('ferry report and ferry analyze', () => {
  it('ferry report writes the report and prints its path and the headline', () => {
    const out = join(dir, 'cli');
    const result = runFerry(['report', resultsPath, '--board', boardPath, '--mission', '5y', '-o', out]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const printed = lines(result.stdout);
    expect(printed[0]).toBe(`report: ${join(out, 'index.html')} (summary.md and report.json beside it)`);
    expect(printed[1]).toMatch(/^R\(5 y\): 0\.\d+ with migration \[0\.\d+, 0\.\d+\], 0\.\d+ static mapping \(extrapolated\)$/);
    expect(printed[2]).toMatch(/^coverage: 0\.\d+ \[0\.\d+, 0\.\d+\] over [\d,]+ failures \(measured\)$/);
    expect(printed[3]).toMatch(/^campaign: R\(10 s\) = 0\.\d+ \[0\.\d+, 0\.\d+\] over 2,000 trials \(measured\); the model agrees$/);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportData;
    expect(printed[1]).toContain(formatProbability(json.extrapolated!.migrationR.estimate));
  });

  it('refuses a bad record with one line naming file:line and the pointer (exit 2)', () => {
    const bad = join(dir, 'bad.jsonl');
    const spoiled = records.slice(0, 3).map((record) => JSON.stringify(record));
    spoiled[1] = spoiled[1]!.replace('"outcome":"', '"outcome":"x');
    writeFileSync(bad, spoiled.join('\n'));
    const result = runFerry(['report', bad, '-o', join(dir, 'never')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^ferry: error: .*bad\.jsonl:2: \/outcome: must be one of "ok", .*, not "x\w*"\n$/);
  });

  it('ferry analyze prints R, MTTF and availability with and without migration; --json the same figures', () => {
    const { path } = writeQuadSpare(mkdtempSync(join(tmpdir(), 'ferry-analyze-')), { repairTime: '24h' });
    const text = runFerry(['analyze', path, '--coverage', '0.99', '--t', '1y']);
    expect(text.status).toBe(0);
    expect(lines(text.stdout)).toEqual([
      'board quad-spare: 4 processors, 3 VMs (3 protected); coverage 0.99 (given)',
      'rates: 0: 1e-5/h, repair 1 d; 1: 1e-5/h, repair 1 d; 2: 1e-5/h, repair 1 d; 3: 1e-5/h, repair 1 d',
      expect.stringMatching(/^ +static mapping +with migration$/),
      expect.stringMatching(/^R\(1 y\) +0\.\d+ +0\.\d+$/),
      expect.stringMatching(/^MTTF +[\d.]+ y +[\d.]+ y$/),
      expect.stringMatching(/^availability +0\.\d+ +0\.\d+$/),
      'survives: 4 of 4 sets of 1 failed processor; 6 of 6 sets of 2 failed processors; 0 of 4 sets of 3 failed processors',
    ]);
    const json = JSON.parse(runFerry(['analyze', path, '--coverage', '0.99', '--t', '1y', '--json']).stdout) as { static: { reliability: number }; migration: { reliability: { estimate: number } } };
    expect(json.static.reliability).toBeCloseTo(Math.exp(-3 * 1e-5 * 8760), 12);
    expect(text.stdout).toContain(formatProbability(json.migration.reliability.estimate));
  });

  it('ferry analyze --from estimates the coverage from a campaign and carries it as a band', () => {
    const result = runFerry(['analyze', boardPath, '--from', resultsPath]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/coverage 0\.\d+ \[0\.\d+, 0\.\d+\] \(measured; R and MTTF over its 95 % interval\)/);
    expect(result.stdout).toMatch(/^R\(10 y\) +0\.\d+ +0\.\d+ {2}\[0\.\d+, 0\.\d+\]$/m);
  });

  it('ferry analyze leaves out, and says so, what is beyond the model\'s limits (MTTF and availability with repair above 8 processors)', () => {
    const MIB = 1 << 20;
    const path = join(dir, 'nine.json');
    writeFileSync(path, JSON.stringify({
      processors: Array.from({ length: 9 }, (_, id) => ({ id, clockHz: 100_000_000, ramBytes: 2 * MIB, failureRate: '1e-4/h', repairTime: '10h' })),
      vms: [{ name: 'ctl', image: 'x.elf', memoryBytes: MIB, processor: 0, protection: { policies: ['restart'] } }],
    }));
    const result = runFerry(['analyze', path, '--coverage', '0.9', '--t', '1y']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^R\(1 y\) +0\.\d+ +0\.\d+$/m);
    expect(result.stdout).toMatch(/^MTTF +[\d.]+ y +–$/m);
    expect(result.stdout).toContain('not computed: an MTTF with repair is computed for boards of at most 8 processors (a dense chain of 2^n states), not 9');
    expect(result.stdout).toContain('not computed: an availability is computed for boards of at most 8 processors');
  });

  it('bad options and boards are one line, exit 2', () => {
    for (const [args, message] of [
      [['analyze', boardPath, '--t', '10'], /--t <time>' argument '10' is invalid\. Expected a duration with a unit/],
      [['analyze', boardPath, '--coverage', '1.5'], /Expected a coverage from 0 to 1/],
      [['analyze', boardPath, '--coverage', '0.9', '--from', resultsPath], /cannot be used with option '--from/],
      [['analyze', join(dir, 'none.json')], /cannot read it \(no such file\)/],
      [['report', resultsPath, '--rate-per-hour', 'fast'], /Expected failures per hour/],
    ] as const) {
      const result = runFerry([...args]);
      expect(result.status, result.stderr).toBe(2);
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
  });
});
