/**
 * The report's headline as a few lines of text: what `ferry report` prints
 * after writing the report, and what `npm start` prints after its campaign.
 */
import type { Headline } from './report-data.js';
import { formatCount, formatDuration, formatInterval, formatProbability } from './report-format.js';

export function formatHeadline(h: Headline, trials: number): string {
  const lines: string[] = [];
  if (h.migrationR !== undefined && h.staticR !== undefined) {
    lines.push(`R(${formatDuration(h.missionS)}): ${formatProbability(h.migrationR.estimate)} with migration ${formatInterval(h.migrationR.low, h.migrationR.high)}, ${formatProbability(h.staticR)} static mapping (extrapolated)`);
  }
  if (h.coverage !== undefined) lines.push(`coverage: ${formatProbability(h.coverage.estimate)} ${formatInterval(h.coverage.lower, h.coverage.upper)} over ${formatCount(h.coverage.failures)} failures (measured)`);
  const m = h.measuredRAtHorizon;
  const agreement = h.agreement === 'not compared' ? 'not compared with the model' : h.agreement === 'agrees' ? 'the model agrees' : 'the model DISAGREES';
  lines.push(`campaign: R(${formatDuration(m.horizonS)}) = ${formatProbability(m.survival)} ${formatInterval(m.lower, m.upper)} over ${formatCount(trials)} trials (measured); ${agreement}`);
  return `${lines.join('\n')}\n`;
}
