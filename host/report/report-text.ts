/**
 * The report's words and tables, shared by index.html and summary.md so that
 * both say the same thing with the same figures.
 */
import type { ReportData } from './report-data.js';
import { formatCount, formatDuration, formatInterval, formatNs, formatProbability as fmt, formatRatePerHour, formatRatePerS, formatSmall } from './report-format.js';

export interface Table {
  head: string[];
  rows: string[][];
}

export function headlineTitle(data: ReportData): string {
  const h = data.headline;
  const mission = formatDuration(h.missionS);
  if (h.migrationR !== undefined && h.staticR !== undefined) {
    return h.migrationR.estimate > h.staticR
      ? `Migration takes R(${mission}) from ${fmt(h.staticR)} to ${fmt(h.migrationR.estimate)}`
      : `Migration does not improve R(${mission}): ${fmt(h.migrationR.estimate)} against ${fmt(h.staticR)} static`;
  }
  const m = h.measuredRAtHorizon;
  return `R(${formatDuration(m.horizonS)}) = ${fmt(m.survival)} measured over ${formatCount(data.measured.trials)} trials`;
}

export function headlineSentence(data: ReportData): string {
  const parts: string[] = [];
  const h = data.headline;
  const e = data.extrapolated;
  if (e !== undefined && h.migrationR !== undefined) {
    const mttf = e.migrationMttfS === undefined ? '' : `; MTTF ${formatDuration(e.migrationMttfS.estimate)} against ${formatDuration(e.staticMttfS)}`;
    parts.push(`Extrapolated to ${formatDuration(e.missionS)} at ${e.rateSource}: with migration the service survives with probability ${fmt(h.migrationR.estimate)} (${formatInterval(h.migrationR.low, h.migrationR.high)} over the coverage interval), against ${fmt(e.staticR)} with a static mapping${mttf}.`);
  }
  if (h.coverage !== undefined) parts.push(`Measured coverage: ${fmt(h.coverage.estimate)} ${formatInterval(h.coverage.lower, h.coverage.upper)} over ${formatCount(h.coverage.failures)} failures.`);
  const m = h.measuredRAtHorizon;
  parts.push(`The campaign measured R(${formatDuration(m.horizonS)}) = ${fmt(m.survival)} ${formatInterval(m.lower, m.upper)} at its accelerated rates${h.agreement === 'agrees' ? ', where the model agrees' : h.agreement === 'disagrees' ? ', where the model DISAGREES' : ''}.`);
  return parts.join(' ');
}

export function missionRows(data: ReportData): Table {
  const e = data.extrapolated;
  if (e === undefined) return { head: [], rows: [] };
  const band = (low: number, high: number, format: (x: number) => string): string => (low === high ? '' : formatInterval(low, high, format));
  const rows: string[][] = [
    [`R(${formatDuration(e.missionS)})`, fmt(e.staticR), fmt(e.migrationR.estimate), band(e.migrationR.low, e.migrationR.high, fmt)],
    ['MTTF', formatDuration(e.staticMttfS), e.migrationMttfS === undefined ? '–' : formatDuration(e.migrationMttfS.estimate), e.migrationMttfS === undefined ? 'beyond the model\'s limits' : band(e.migrationMttfS.low, e.migrationMttfS.high, formatDuration)],
  ];
  if (e.staticAvailability !== undefined && e.migrationAvailability !== undefined) {
    rows.push(['steady-state availability', fmt(e.staticAvailability), fmt(e.migrationAvailability.estimate), band(e.migrationAvailability.low, e.migrationAvailability.high, fmt)]);
  }
  const rates = e.ratesPerS.map((p) => `${p.id}: ${formatRatePerHour(p.failureRatePerS)}${p.repairTimeS === undefined ? '' : `, repair ${formatDuration(p.repairTimeS)}`}`).join('; ');
  rows.push(['processor rates', rates, '', '']);
  return { head: ['extrapolated', 'static mapping', 'with migration', 'over the coverage interval'], rows };
}

export function coverageRows(data: ReportData): Table {
  const c = data.measured.coverage;
  const row = (name: string, failures: number, covered: number, interval?: { estimate: number; lower: number; upper: number }): string[] => [
    name, formatCount(failures), formatCount(covered), interval === undefined ? '–' : fmt(interval.estimate), interval === undefined ? 'not measured' : formatInterval(interval.lower, interval.upper),
  ];
  const rows = [row('all failures', c.failures, c.covered, c.interval), ...c.byFaultKind.map((k) => row(k.kind, k.failures, k.covered, k.interval))];
  if (c.noSurvivor > 0) rows.push(['no survivor could host a VM', formatCount(c.noSurvivor), '–', '–', 'exhaustion, not counted against coverage']);
  return { head: ['failures', 'count', 'covered', 'coverage', '95 % interval'], rows };
}

export function outcomeRows(data: ReportData): Table {
  return {
    head: ['outcome', 'trials', 'fraction', '95 % interval'],
    rows: data.measured.outcomes.map((o) => [
      o.outcome, formatCount(o.count), formatSmall(o.fraction),
      o.zeroFailureUpper === undefined ? formatInterval(o.lower, o.upper, formatSmall) : `< ${formatSmall(o.zeroFailureUpper)} (never seen)`,
    ]),
  };
}

export function boundRows(data: ReportData): Table {
  const row = (name: string, s: ReportData['measured']['interruption']): string[] => [
    name, formatCount(s.count), formatCount(s.overBound), s.medianRatio === null ? '–' : s.medianRatio.toFixed(3), s.p99Ratio === null ? '–' : s.p99Ratio.toFixed(3), s.maxRatio === null ? '–' : s.maxRatio.toFixed(3),
  ];
  return { head: ['measured / bound', 'failovers', 'over the bound', 'median', '99th percentile', 'max'], rows: [row('interruption', data.measured.interruption), row('lost work', data.measured.lostWork)] };
}

export function detectionRows(data: ReportData): Table {
  const d = data.measured.detection;
  const ns = (value: number | null): string => (value === null ? '–' : formatNs(value));
  return { head: ['detections', 'false suspicions', 'median latency', '99th percentile', 'max'], rows: [[formatCount(d.count), formatCount(d.falseDetections), ns(d.medianNs), ns(d.p99Ns), ns(d.maxNs)]] };
}

export function disagreementRows(data: ReportData): Table {
  const rows = (data.simulated?.disagreements ?? []).map((d) => [formatDuration(d.tS), `${fmt(d.km.survival)} ${formatInterval(d.km.lower, d.km.upper)}`, formatInterval(d.model.low, d.model.high), d.direction]);
  return { head: ['t', 'Kaplan–Meier', 'model band', 'which way'], rows };
}

export function timelineRows(data: ReportData): Table {
  return { head: ['virtual time', 'event', 'what'], rows: data.measured.worstTrial.timeline.map((entry) => [formatNs(entry.atNs), entry.event, entry.detail]) };
}

export function provenanceRows(data: ReportData): Table {
  const c = data.campaign;
  const rows = [
    ['scenario', `${c.scenario} (${c.scenarioPath})`],
    ['scenario digest', c.scenarioDigest],
    ['ferry', c.ferry],
    ['core digest', c.coreDigest],
    ['campaign seed', String(c.seed)],
    ['trials', `${formatCount(data.measured.trials)} of ${formatCount(c.trials)} in ${c.resultsPath}`],
  ];
  if (data.simulated !== undefined) rows.push(['simulated rates', data.simulated.ratesPerS.map((p) => `${p.id}: ${formatRatePerS(p.failureRatePerS)}`).join('; ')]);
  if (data.board !== undefined) rows.push(['board', `${data.board.name}: ${data.board.processors} processors, ${data.board.vms} VMs`]);
  return { head: ['', ''], rows };
}

export function toleranceRows(data: ReportData): Table {
  return {
    head: ['failed processors', 'sets the board survives', 'of'],
    rows: (data.board?.tolerance ?? []).map((row) => [String(row.failures), formatCount(row.survived), formatCount(row.sets)]),
  };
}
