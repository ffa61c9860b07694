/** report/summary.md: the report's figures as Markdown tables (the same tables the page shows). */
import type { ReportData } from './report-data.js';
import { formatDuration } from './report-format.js';
import { boundRows, coverageRows, detectionRows, disagreementRows, headlineSentence, headlineTitle, missionRows, outcomeRows, provenanceRows, timelineRows, toleranceRows } from './report-text.js';
import type { Table } from './report-text.js';

export function reportMarkdown(data: ReportData): string {
  const parts = [
    `# ${headlineTitle(data)}`,
    headlineSentence(data),
    ...data.notes.map((note) => `> ${note}`),
    '## At the simulated rates (measured vs model)',
    data.simulated === undefined ? 'Not compared: no model.' : data.simulated.agrees
      ? 'The Kaplan–Meier band and the model\'s band overlap at every compared time.'
      : `**Model and simulation disagree** at ${data.simulated.disagreements.length} of the compared times:`,
    markdownTable(disagreementRows(data)),
  ];
  if (data.extrapolated !== undefined) {
    parts.push(`## Over the mission (${formatDuration(data.extrapolated.missionS)}, extrapolated)`, `At ${data.extrapolated.rateSource}, coverage ${data.extrapolated.coverage.source}.`, markdownTable(missionRows(data)), markdownTable(toleranceRows(data)));
  }
  parts.push(
    '## Coverage (measured)', markdownTable(coverageRows(data)),
    '## Outcomes (measured)', markdownTable(outcomeRows(data)),
    '## Failovers against their bounds (measured)', markdownTable(boundRows(data)), markdownTable(detectionRows(data)),
    `## The worst trial: ${data.measured.worstTrial.trial} (${data.measured.worstTrial.outcome})`, '```', data.measured.worstTrial.replay, '```', markdownTable(timelineRows(data)),
    '## Campaign', markdownTable(provenanceRows(data)),
  );
  return `${parts.filter((part) => part !== '').join('\n\n')}\n`;
}

function markdownTable(table: Table): string {
  if (table.rows.length === 0) return '';
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const line = (cells: string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  return [line(table.head), line(table.head.map(() => '---')), ...table.rows.map(line)].join('\n');
}
