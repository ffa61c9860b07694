/**
 * `ferry analyze <board> [--coverage c | --from results.jsonl] [--t 10y] [--json]`:
 * the board model's analytic figures alone (host/reliability/analyze.ts),
 * with and without migration. This file parses options and prints.
 */
import { Command, Option } from 'commander';
import { readBoard } from '../board.js';
import { ConfigError } from '../errors.js';
import { analyzeBoard } from '../reliability/analyze.js';
import type { BandFigures, BoardAnalysis } from '../reliability/analyze.js';
import type { RateSource } from '../reliability/board-input.js';
import { analyseCampaign } from '../reliability/campaign-analysis.js';
import { readCampaignRecords } from '../reliability/campaign-records.js';
import { coverageBand, givenCoverage } from '../reliability/comparison.js';
import type { CoverageBand } from '../reliability/comparison.js';
import { SECONDS_PER_YEAR } from '../reliability/units.js';
import { formatDuration, formatInterval, formatProbability, formatRatePerHour } from '../report/report-format.js';
import { exitStatusHelp } from './exit-status.js';
import { parseCoverage, parseMission, parseRatePerHour } from './reliability-options.js';
import { jsonText } from '../format.js';

interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

interface AnalyzeFlags {
  coverage?: number;
  from?: string;
  t: number;
  ratePerHour?: number;
  json?: boolean;
}

const HELP = `
Rates: each processor's failureRate in the board file (docs/boards.md), or
--rate-per-hour for all of them. Coverage: --coverage, or measured in a
campaign (--from results.jsonl: the fraction of failures whose failover
stayed within its bounds, with its 95 % Clopper-Pearson interval carried
into R(t) as a band); without either, c = 1 (perfect coverage) is assumed.
The model and its assumptions: docs/reliability.md.
`;

export function addAnalyzeCommand(program: Command, io: Io, setExitStatus: (status: number) => void): void {
  program
    .command('analyze')
    .description('the reliability model of a board: R(t), MTTF and availability, with and without migration (docs/reliability.md)')
    .argument('<board>', 'the board file (boards/<name>.json)')
    .addOption(new Option('--coverage <c>', 'coverage: P(a failure is detected and its VMs restored within their bounds)').argParser(parseCoverage).conflicts('from'))
    .option('--from <results.jsonl>', 'estimate the coverage from a campaign\'s records')
    .option('--t <time>', 'mission time with a unit: 10y, 8760h, 30d', parseMission, 10 * SECONDS_PER_YEAR)
    .option('--rate-per-hour <rate>', 'the failure rate of every processor, per hour (default: the board\'s failureRate fields)', parseRatePerHour)
    .option('--json', 'print the figures as JSON')
    .addHelpText('after', HELP + exitStatusHelp('analyze'))
    .action(async (boardPath: string, flags: AnalyzeFlags) => {
      io.stdout.write(await analyzeCommand(boardPath, flags));
      setExitStatus(0);
    });
}

export async function analyzeCommand(boardPath: string, flags: AnalyzeFlags): Promise<string> {
  const board = await readBoard(boardPath);
  const rates: RateSource = flags.ratePerHour === undefined ? { kind: 'board' } : { kind: 'uniform', failureRatePerS: flags.ratePerHour };
  const analysis = analyzeBoard(board, { tS: flags.t, coverage: await coverageFor(flags), rates });
  return flags.json === true ? jsonText(analysis) : formatAnalysis(analysis);
}

async function coverageFor(flags: AnalyzeFlags): Promise<CoverageBand> {
  if (flags.coverage !== undefined) return givenCoverage(flags.coverage);
  if (flags.from === undefined) return { ...givenCoverage(1), source: 'assumed' };
  const interval = analyseCampaign(await readCampaignRecords(flags.from)).coverage.interval;
  if (interval === undefined) throw new ConfigError(`--from ${flags.from}: no failure in the campaign needed a failover, so it measured no coverage (give --coverage)`);
  return coverageBand(interval);
}

export function formatAnalysis(a: BoardAnalysis): string {
  const t = formatDuration(a.tS);
  const band = (b: BandFigures, format: (x: number) => string): string => `${format(b.estimate)}${b.low === b.high ? '' : `  ${formatInterval(b.low, b.high, format)}`}`;
  const coverage = a.coverage.source === 'measured'
    ? `coverage ${formatProbability(a.coverage.estimate)} ${formatInterval(a.coverage.low, a.coverage.high)} (measured; R and MTTF over its 95 % interval)`
    : `coverage ${a.coverage.estimate} (${a.coverage.source})`;
  const rows: [string, string, string][] = [
    [`R(${t})`, formatProbability(a.static.reliability), a.migration.reliability === undefined ? '–' : band(a.migration.reliability, formatProbability)],
    ['MTTF', formatDuration(a.static.mttfS), a.migration.mttfS === undefined ? '–' : band(a.migration.mttfS, formatDuration)],
  ];
  if (a.static.availability !== undefined && a.migration.availability !== undefined) {
    rows.push(['availability', formatProbability(a.static.availability), band(a.migration.availability, formatProbability)]);
  }
  const width = Math.max(...rows.map(([name]) => name.length), 12) + 2;
  const staticWidth = Math.max(...rows.map(([, value]) => value.length), 14) + 2;
  const lines = [
    `board ${a.board}: ${a.processors.length} processors, ${a.vms} VMs (${a.protectedVms} protected); ${coverage}`,
    `rates: ${a.processors.map((p) => `${p.id}: ${formatRatePerHour(p.failureRatePerS)}${p.repairTimeS === undefined ? '' : `, repair ${formatDuration(p.repairTimeS)}`}`).join('; ')}`,
    `${''.padEnd(width)}${'static mapping'.padEnd(staticWidth)}with migration`,
    ...rows.map(([name, staticValue, migrationValue]) => `${name.padEnd(width)}${staticValue.padEnd(staticWidth)}${migrationValue}`),
    `survives: ${a.tolerance.filter((row) => row.failures <= 3).map((row) => `${row.survived} of ${row.sets} sets of ${row.failures} failed processor${row.failures === 1 ? '' : 's'}`).join('; ')}`,
  ];
  if (a.protectedVms === 0) lines.push('no VM has a protection policy (docs/boards.md): with migration is the static mapping');
  for (const note of a.notes) lines.push(`not computed: ${note}`);
  return `${lines.join('\n')}\n`;
}
