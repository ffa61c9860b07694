/**
 * `ferry report <results.jsonl> [--board b] [--mission 10y] [--rate-per-hour r] [--coverage c] -o <dir>`:
 * reads a campaign's records, writes the reliability report
 * (host/report/write-report.ts) and prints where it is with the headline.
 */
import { Command } from 'commander';
import { readCampaignRecords } from '../reliability/campaign-records.js';
import { SECONDS_PER_YEAR } from '../reliability/units.js';
import { formatHeadline } from '../report/headline.js';
import { writeReport } from '../report/write-report.js';
import { jsonText } from '../format.js';
import { exitStatusHelp } from './exit-status.js';
import { campaignBoard, parseCoverage, parseMission, parseRatePerHour } from './reliability-options.js';

interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

interface ReportFlags {
  board?: string;
  mission: number;
  ratePerHour?: number;
  coverage?: number;
  out: string;
  json?: boolean;
}

const HELP = `
Writes <dir>/index.html (self-contained: open it in any browser), summary.md
and report.json. The board is --board, or the board of the scenario the
records name; without a board the report shows what was measured only.
The model is compared with the campaign at the campaign's (accelerated)
rates, then extrapolated to --mission at the real rates (--rate-per-hour, or
the board's failureRate fields) with the measured coverage. docs/reliability.md
says how every figure is computed.
`;

export function addReportCommand(program: Command, io: Io, setExitStatus: (status: number) => void): void {
  program
    .command('report')
    .description('the reliability report of a campaign: R(t) measured and modelled, with and without migration, coverage, outcomes (docs/reliability.md)')
    .argument('<results.jsonl>', 'the campaign\'s records (docs/campaign-records.md)')
    .option('--board <file>', 'the board the campaign ran (default: the board of the campaign\'s scenario)')
    .option('--mission <time>', 'mission time to extrapolate to, with a unit: 10y, 8760h', parseMission, 10 * SECONDS_PER_YEAR)
    .option('--rate-per-hour <rate>', 'the real failure rate of every processor, per hour (default: the board\'s failureRate fields)', parseRatePerHour)
    .option('--coverage <c>', 'use this coverage in the model instead of the measured one', parseCoverage)
    .option('-o, --out <dir>', 'the folder to write the report into', 'report')
    .option('--json', 'print where the report is and its headline as JSON on stdout')
    .addHelpText('after', HELP + exitStatusHelp('report'))
    .action(async (resultsPath: string, flags: ReportFlags) => setExitStatus(await reportCommand(resultsPath, flags, io)));
}

export async function reportCommand(resultsPath: string, flags: ReportFlags, io: Io): Promise<number> {
  const records = await readCampaignRecords(resultsPath);
  const { board, why } = await campaignBoard(records, resultsPath, flags.board);
  if (why !== undefined && flags.json !== true) io.stderr.write(`ferry: note: no model in the report: ${why}\n`);
  const written = await writeReport(records, {
    resultsPath,
    outDir: flags.out,
    missionS: flags.mission,
    ...(board === undefined ? {} : { board }),
    ...(flags.ratePerHour === undefined ? {} : { realRatePerS: flags.ratePerHour }),
    ...(flags.coverage === undefined ? {} : { coverage: flags.coverage }),
  });
  if (flags.json === true) {
    io.stdout.write(jsonText({ report: written.indexPath, trials: records.length, headline: written.headline, ...(why === undefined ? {} : { note: `no model in the report: ${why}` }) }));
    return 0;
  }
  io.stdout.write(`report: ${written.indexPath} (summary.md and report.json beside it)\n`);
  io.stdout.write(formatHeadline(written.headline, records.length));
  return 0;
}
