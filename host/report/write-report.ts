/**
 * writeReport: a campaign's records (and its board) → report/index.html,
 * report/summary.md and report/report.json, and the headline numbers for the
 * caller to print (ferry report, npm start). The same inputs give the same
 * bytes: nothing here reads the clock.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CampaignRecord } from '../reliability/campaign-records.js';
import { reportHtml } from './html.js';
import type { RenderedPlot } from './html.js';
import { reportMarkdown } from './markdown.js';
import { renderSvg, reportPlots } from './plots.js';
import { buildReportData } from './report-data.js';
import type { Headline, ReportData, ReportOptions } from './report-data.js';

export interface WriteReportOptions extends ReportOptions {
  /** The folder to write into (created if missing). */
  outDir: string;
}

export interface WrittenReport {
  headline: Headline;
  data: ReportData;
  indexPath: string;
  summaryPath: string;
  jsonPath: string;
}

export async function writeReport(records: CampaignRecord[], options: WriteReportOptions): Promise<WrittenReport> {
  const data = buildReportData(records, options);
  const plots: RenderedPlot[] = [];
  for (const plot of reportPlots(data)) plots.push({ plot, svg: await renderSvg(plot) });
  await mkdir(options.outDir, { recursive: true });
  const indexPath = join(options.outDir, 'index.html');
  const summaryPath = join(options.outDir, 'summary.md');
  const jsonPath = join(options.outDir, 'report.json');
  await writeFile(indexPath, reportHtml(data, plots));
  await writeFile(summaryPath, reportMarkdown(data));
  await writeFile(jsonPath, reportJson(data));
  return { headline: data.headline, data, indexPath, summaryPath, jsonPath };
}

/** report.json: every figure; an unbounded MTTF (no failure possible) is written as null. */
export function reportJson(data: ReportData): string {
  return `${JSON.stringify(data, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}
