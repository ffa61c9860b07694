/**
 * The report's plots as Vega-Lite specifications, rendered to SVG on the
 * server by Vega (no browser, no canvas: deterministic bytes). Each spec
 * carries its data inline, so the page can show it beside the plot and
 * anyone can re-render or restyle it.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { SECONDS_PER_YEAR } from '../reliability/units.js';
import type { BoundSummary, Histogram, ReportData } from './report-data.js';

export const COLOURS = {
  measured: '#1d4ed8',
  migration: '#0f766e',
  static: '#c2410c',
  alarm: '#b91c1c',
  ink: '#111827',
  muted: '#6b7280',
  fault: '#f87171',
} as const;

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const WIDTH = 640;
const HEIGHT = 280;

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, titleColor: COLOURS.ink, labelColor: '#374151', gridColor: '#eceff3', domainColor: '#9ca3af', tickColor: '#9ca3af' },
  legend: { orient: 'bottom', labelFontSize: 11, titleFontSize: 11, symbolStrokeWidth: 3, labelLimit: 300 },
} as const;

export interface Plot {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const SERIES = {
  measured: 'Kaplan–Meier, measured (95 % band)',
  migration: 'Model with migration (coverage band)',
  static: 'Model, static mapping',
  disagreement: 'Model and simulation disagree',
};

const seriesScale = (names: string[]): object => ({
  domain: names,
  range: names.map((name) => (name === SERIES.measured ? COLOURS.measured : name === SERIES.migration ? COLOURS.migration : name === SERIES.static ? COLOURS.static : COLOURS.alarm)),
});

/** All plots the data supports, in page order. */
export function reportPlots(data: ReportData): Plot[] {
  const plots: Plot[] = [simulatedReliabilityPlot(data)];
  if (data.extrapolated !== undefined) plots.push(missionReliabilityPlot(data));
  plots.push(
    boundPlot('interruption', 'Interruption against its bound', 'Each failover\'s measured interruption (last instruction on the failed processor to the first on the new one) divided by the bound computed for it; right of the line: over the bound.', data.measured.interruption, 'interruption / bound'),
    boundPlot('lost-work', 'Lost work against the RPO bound', 'Work lost in each failover (virtual time since the last checkpoint that reached the backup) divided by its bound.', data.measured.lostWork, 'lost work / RPO bound'),
    detectionPlot(data),
    timelinePlot(data),
  );
  return plots;
}

function simulatedReliabilityPlot(data: ReportData): Plot {
  const km = [{ tS: 0, survival: 1, lower: 1, upper: 1 }, ...data.measured.kaplanMeier.steps.map(({ tS, survival, lower, upper }) => ({ tS, survival, lower, upper }))];
  const model = data.simulated === undefined ? [] : [{ tS: 0, staticR: 1, low: 1, estimate: 1, high: 1 }, ...data.simulated.curve];
  const alarms = data.simulated?.disagreements.map((d) => ({ tS: d.tS, survival: d.km.survival })) ?? [];
  const names = [SERIES.measured, ...(model.length > 0 ? [SERIES.migration, SERIES.static] : []), ...(alarms.length > 0 ? [SERIES.disagreement] : [])];
  const yMin = lowerDomain([...km.map((p) => p.lower), ...model.map((p) => Math.min(p.low, p.staticR))]);
  const x = { field: 'tS', type: 'quantitative', title: 'virtual time (s)', scale: { domain: [0, data.measured.horizonS], nice: false } } as const;
  const y = { type: 'quantitative', title: 'R(t)', scale: { domain: [yMin, 1], zero: false } } as const;
  const color = { field: 'series', type: 'nominal', title: null, scale: seriesScale(names) } as const;
  const layers: object[] = [
    { data: { values: km }, transform: [{ calculate: `'${SERIES.measured}'`, as: 'series' }], mark: { type: 'area', interpolate: 'step-after', opacity: 0.18 }, encoding: { x, y: { ...y, field: 'lower' }, y2: { field: 'upper' }, color } },
    { data: { values: km }, transform: [{ calculate: `'${SERIES.measured}'`, as: 'series' }], mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 }, encoding: { x, y: { ...y, field: 'survival' }, color } },
  ];
  if (model.length > 0) {
    layers.push(
      { data: { values: model }, transform: [{ calculate: `'${SERIES.migration}'`, as: 'series' }], mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color } },
      { data: { values: model }, transform: [{ calculate: `'${SERIES.migration}'`, as: 'series' }], mark: { type: 'line', strokeWidth: 2, strokeDash: [6, 3] }, encoding: { x, y: { ...y, field: 'estimate' }, color } },
      { data: { values: model }, transform: [{ calculate: `'${SERIES.static}'`, as: 'series' }], mark: { type: 'line', strokeWidth: 2, strokeDash: [2, 2] }, encoding: { x, y: { ...y, field: 'staticR' }, color } },
    );
  }
  if (alarms.length > 0) {
    layers.push({ data: { values: alarms }, transform: [{ calculate: `'${SERIES.disagreement}'`, as: 'series' }], mark: { type: 'point', shape: 'diamond', size: 70, filled: true }, encoding: { x, y: { ...y, field: 'survival' }, color } });
  }
  return {
    id: 'reliability-simulated',
    title: 'R(t) at the simulated rates: measured against the model',
    caption: model.length === 0
      ? 'Kaplan–Meier estimate of the probability that the service has not failed by t, with its pointwise 95 % band (Greenwood, log-log).'
      : 'Kaplan–Meier estimate (pointwise 95 % band, Greenwood, log-log) against the board model at the campaign\'s accelerated rates: with migration (band: coverage at the ends of its 95 % interval) and the static mapping. Diamonds mark times where the two bands do not overlap.',
    spec: topLevel({ layer: layers }),
  };
}

function missionReliabilityPlot(data: ReportData): Plot {
  const extrapolated = data.extrapolated!;
  const curve = [{ tS: 0, staticR: 1, low: 1, estimate: 1, high: 1 }, ...extrapolated.curve].map((p) => ({ ...p, years: p.tS / SECONDS_PER_YEAR }));
  const names = [SERIES.migration, SERIES.static];
  const x = { field: 'years', type: 'quantitative', title: 'mission time (years)', scale: { domain: [0, extrapolated.missionS / SECONDS_PER_YEAR], nice: false } } as const;
  const y = { type: 'quantitative', title: 'R(t)', scale: { domain: [lowerDomain(curve.map((p) => Math.min(p.low, p.staticR))), 1], zero: false } } as const;
  const color = { field: 'series', type: 'nominal', title: null, scale: seriesScale(names) } as const;
  return {
    id: 'reliability-mission',
    title: 'R(t) over the mission: extrapolated from the model',
    caption: `The board model at ${extrapolated.rateSource}, with the coverage ${extrapolated.coverage.source === 'measured' ? 'measured in the campaign (band: its 95 % interval)' : extrapolated.coverage.source === 'given' ? 'given on the command line' : 'assumed perfect'}. These are extrapolations, not measurements.`,
    spec: topLevel({
      layer: [
        { data: { values: curve }, transform: [{ calculate: `'${SERIES.migration}'`, as: 'series' }], mark: { type: 'area', opacity: 0.22 }, encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color } },
        { data: { values: curve }, transform: [{ calculate: `'${SERIES.migration}'`, as: 'series' }], mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { ...y, field: 'estimate' }, color } },
        { data: { values: curve }, transform: [{ calculate: `'${SERIES.static}'`, as: 'series' }], mark: { type: 'line', strokeWidth: 2, strokeDash: [2, 2] }, encoding: { x, y: { ...y, field: 'staticR' }, color } },
      ],
    }),
  };
}

function histogramRows(histogram: Histogram): { from: number; to: number; count: number }[] {
  return histogram.counts.map((count, i) => ({ from: histogram.edges[i]!, to: histogram.edges[i + 1]!, count }));
}

function boundPlot(id: string, title: string, caption: string, summary: BoundSummary, xTitle: string): Plot {
  const rows = histogramRows(summary.histogram).map((row) => ({ ...row, side: row.from >= 1 ? 'over the bound' : 'within the bound' }));
  const x = { field: 'from', type: 'quantitative', title: xTitle, scale: { domain: [0, summary.histogram.edges[summary.histogram.edges.length - 1] ?? 1.5], nice: false } } as const;
  return {
    id,
    title,
    caption: summary.count === 0 ? `${caption} No failover in the campaign measured one.` : caption,
    spec: topLevel({
      layer: [
        {
          data: { values: rows },
          mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
          encoding: {
            x, x2: { field: 'to' },
            y: { field: 'count', type: 'quantitative', title: 'failovers' },
            y2: { datum: 0 },
            color: { field: 'side', type: 'nominal', title: null, scale: { domain: ['within the bound', 'over the bound'], range: [COLOURS.migration, COLOURS.alarm] } },
          },
        },
        { data: { values: [{ from: 1 }] }, mark: { type: 'rule', strokeWidth: 1.5, strokeDash: [4, 3], color: COLOURS.ink }, encoding: { x } },
        { data: { values: [{ from: 1, label: 'bound' }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'top', fontSize: 11, color: COLOURS.ink }, encoding: { x, y: { value: 0 }, text: { field: 'label' } } },
      ],
    }),
  };
}

function detectionPlot(data: ReportData): Plot {
  const rows = histogramRows(data.measured.detection.histogramMs);
  return {
    id: 'detection-latency',
    title: 'Detection latency',
    caption: rows.length === 0 ? 'No failure was detected in the campaign.' : 'Time from a processor\'s failure to the first time another processor suspected it (true detections only).',
    spec: topLevel({
      data: { values: rows },
      mark: { type: 'rect', color: COLOURS.measured, stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'from', type: 'quantitative', title: 'detection latency (ms)', scale: { nice: false } },
        x2: { field: 'to' },
        y: { field: 'count', type: 'quantitative', title: 'detections' },
        y2: { datum: 0 },
      },
    }),
  };
}

const LANES = ['fault', 'detection', 'failover', 'repair', 'system-failure'];

function timelinePlot(data: ReportData): Plot {
  const worst = data.measured.worstTrial;
  const horizonS = worst.horizonNs / 1e9;
  const repairs = worst.timeline.filter((entry) => entry.event === 'repair');
  const shaded = worst.faults.map((fault) => {
    const repaired = repairs.find((entry) => entry.processor === fault.processor && entry.atNs >= fault.atNs);
    const endNs = fault.untilNs ?? repaired?.atNs ?? worst.horizonNs;
    return { from: fault.atNs / 1e9, to: Math.max(endNs, fault.atNs) / 1e9, kind: fault.processor === undefined ? fault.kind : `${fault.kind} ${fault.processor}` };
  });
  const lanes = [...LANES, ...new Set(worst.timeline.map((entry) => entry.event).filter((event) => !LANES.includes(event)))];
  const events = worst.timeline.map((entry) => ({ tS: entry.atNs / 1e9, event: entry.event, detail: entry.detail }));
  // Zoom in when everything happened early: the story, not the empty rest of the horizon.
  const lastS = Math.max(0, ...events.map((event) => event.tS), ...shaded.map((fault) => fault.from));
  const endS = Math.min(horizonS, Math.max(lastS * 1.25, horizonS / 50));
  const x = { field: 'tS', type: 'quantitative', title: endS < horizonS ? `virtual time (s; the trial ran to ${horizonS} s)` : 'virtual time (s)', scale: { domain: [0, endS], nice: false } } as const;
  const y = { field: 'event', type: 'nominal', title: null, scale: { domain: lanes }, axis: { labelFontSize: 11 } } as const;
  const layers: object[] = [
    { data: { values: shaded }, mark: { type: 'rect', color: COLOURS.fault, opacity: 0.16, clip: true }, encoding: { x: { ...x, field: 'from' }, x2: { field: 'to' } } },
    { data: { values: shaded }, mark: { type: 'rule', color: COLOURS.fault, strokeWidth: 1.5, clip: true }, encoding: { x: { ...x, field: 'from' } } },
    {
      data: { values: events },
      mark: { type: 'point', filled: true, size: 60 },
      encoding: { x, y, color: { field: 'event', type: 'nominal', title: null, legend: null, scale: { domain: lanes, range: [COLOURS.alarm, COLOURS.measured, COLOURS.migration, COLOURS.muted, COLOURS.ink, '#7c3aed', '#a16207'] } } },
    },
  ];
  if (worst.systemFailure !== null) {
    layers.push({ data: { values: [{ tS: worst.systemFailure.atNs / 1e9 }] }, mark: { type: 'rule', color: COLOURS.ink, strokeWidth: 2 }, encoding: { x } });
  }
  return {
    id: 'worst-trial',
    title: `The worst trial: ${worst.trial} (${worst.outcome})`,
    caption: 'Faults shaded from when they struck to their repair or the end of the trial (Jepsen style); each notable event on its lane; the black line is the loss of service.',
    spec: topLevel({ height: 40 + lanes.length * 26, layer: layers }),
  };
}

function topLevel(body: object): TopLevelSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: WIDTH, height: HEIGHT, config: CONFIG, ...body } as TopLevelSpec;
}

/** The y domain's lower end: a little below the lowest value, rounded, so bands near 1 are not flattened. */
function lowerDomain(values: number[]): number {
  const low = Math.min(1, ...values.filter(Number.isFinite));
  const span = Math.max(1e-6, 1 - low);
  const step = 10 ** Math.floor(Math.log10(span));
  return Math.max(0, Math.floor((low - span * 0.05) / step) * step);
}

/** Renders a spec to SVG with Vega's headless renderer; its ids are prefixed so several SVGs can share one page. */
export async function renderSvg(plot: Plot): Promise<string> {
  const view = new vega.View(vega.parse(compile(plot.spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return prefixIds(svg, plot.id);
}

/**
 * Vega numbers its clip paths from a counter global to the process, so the
 * same plot gets other ids on a second render: renumber them in order of
 * appearance (deterministic bytes) under the plot's own prefix (unique ids on the page).
 */
function prefixIds(svg: string, prefix: string): string {
  const renamed = new Map<string, string>();
  const name = (id: string): string => {
    if (!renamed.has(id)) renamed.set(id, `${prefix}-${renamed.size + 1}`);
    return renamed.get(id)!;
  };
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${name(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${name(id)})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${name(id)}"`);
}
