/**
 * The report page, report/index.html: one self-contained file (inline CSS, the
 * SVG plots inline, each plot's Vega-Lite spec beside it; no script, no
 * network), laid out to be looked at: the headline first, then the evidence.
 */
import type { Plot } from './plots.js';
import { COLOURS, FONT } from './plots.js';
import type { ReportData } from './report-data.js';
import { boundRows, coverageRows, detectionRows, disagreementRows, headlineSentence, headlineTitle, missionRows, outcomeRows, provenanceRows, timelineRows, toleranceRows } from './report-text.js';
import type { Table } from './report-text.js';
import { formatDuration, formatProbability as fmt } from './report-format.js';

export interface RenderedPlot {
  plot: Plot;
  svg: string;
}

export function reportHtml(data: ReportData, plots: RenderedPlot[]): string {
  const byId = new Map(plots.map((rendered) => [rendered.plot.id, rendered]));
  const figure = (id: string): string => {
    const rendered = byId.get(id);
    return rendered === undefined ? '' : figureHtml(rendered);
  };
  const sections = [
    notesHtml(data),
    section('At the simulated rates', 'What the campaign measured, beside what the model predicts for the same accelerated rates. Where they disagree, the model or the system is wrong.', [
      figure('reliability-simulated'),
      disagreementHtml(data),
    ]),
    data.extrapolated === undefined ? '' : section(`Over the mission (${formatDuration(data.extrapolated.missionS)})`, 'The model at the real failure rates with the measured coverage: extrapolated, not measured.', [
      figure('reliability-mission'),
      tableHtml(missionRows(data)),
      tableHtml(toleranceRows(data)),
    ]),
    section('Coverage', 'The fraction of processor failures whose failover restored every VM within its interruption and lost-work bounds, with 95 % Clopper–Pearson intervals.', [tableHtml(coverageRows(data))]),
    section('Outcomes', 'Every trial\'s outcome class, with 95 % Clopper–Pearson intervals; for a class never seen, the one-sided 95 % upper bound 1 − 0.05^(1/n).', [tableHtml(outcomeRows(data))]),
    section('Failovers against their bounds', 'Every failover measured against the bound Ferry computed before it, and how long detection took.', [
      tableHtml(boundRows(data)),
      `<div class="grid">${figure('interruption')}${figure('lost-work')}</div>`,
      tableHtml(detectionRows(data)),
      figure('detection-latency'),
    ]),
    section('The worst trial', 'Replay it to get its full trace:', [
      `<pre class="command"><code>${escapeHtml(data.measured.worstTrial.replay)}</code></pre>`,
      figure('worst-trial'),
      tableHtml(timelineRows(data)),
    ]),
    section('How to read this', '', [readingHtml()]),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${headerHtml(data)}
${sections.filter((html) => html !== '').join('\n')}
<footer>${tableHtml(provenanceRows(data))}</footer>
</main>
</body>
</html>
`;
}

function headerHtml(data: ReportData): string {
  return `<header>
<p class="eyebrow">Ferry reliability report · ${escapeHtml(data.campaign.scenario)} · ${data.measured.trials.toLocaleString('en-US')} trials</p>
<h1>${escapeHtml(headlineTitle(data))}</h1>
<p class="lede">${escapeHtml(headlineSentence(data))}</p>
<div class="cards">${cardsHtml(data)}</div>
</header>`;
}

function cardsHtml(data: ReportData): string {
  const h = data.headline;
  const cards: string[] = [];
  const mission = formatDuration(h.missionS);
  if (h.migrationR !== undefined && h.staticR !== undefined) {
    cards.push(card(`R(${mission}) with migration`, fmt(h.migrationR.estimate), `[${fmt(h.migrationR.low)}, ${fmt(h.migrationR.high)}]`, 'extrapolated'));
    cards.push(card(`R(${mission}) static mapping`, fmt(h.staticR), 'no failover', 'extrapolated'));
  }
  const m = h.measuredRAtHorizon;
  cards.push(card(`R(${formatDuration(m.horizonS)}) in the campaign`, fmt(m.survival), `[${fmt(m.lower)}, ${fmt(m.upper)}]`, 'measured'));
  if (h.coverage !== undefined) cards.push(card('coverage', fmt(h.coverage.estimate), `[${fmt(h.coverage.lower)}, ${fmt(h.coverage.upper)}] of ${h.coverage.failures.toLocaleString('en-US')} failures`, 'measured'));
  const verdict = h.agreement === 'agrees' ? 'agree' : h.agreement === 'disagrees' ? 'disagree' : 'not compared';
  cards.push(`<div class="card verdict ${h.agreement}"><div class="label">model and simulation</div><div class="value">${verdict}</div><div class="sub">at the simulated rates</div><span class="tag model">model ⟷ measured</span></div>`);
  return cards.join('');
}

function card(label: string, value: string, sub: string, kind: 'measured' | 'extrapolated'): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="sub">${escapeHtml(sub)}</div><span class="tag ${kind}">${kind}</span></div>`;
}

function notesHtml(data: ReportData): string {
  if (data.notes.length === 0) return '';
  return `<aside class="notes">${data.notes.map((note) => `<p>${escapeHtml(note)}</p>`).join('')}</aside>`;
}

function disagreementHtml(data: ReportData): string {
  const simulated = data.simulated;
  if (simulated === undefined) return '';
  if (simulated.agrees) return `<p class="ok">✓ The Kaplan–Meier band and the model's band overlap at every one of the compared times over the horizon.</p>`;
  return `<p class="alarm">✗ Model and simulation disagree at ${simulated.disagreements.length} of the compared times: their 95 % bands do not overlap.</p>${tableHtml(disagreementRows(data))}`;
}

function readingHtml(): string {
  return `<dl class="reading">
<dt><span class="tag measured">measured</span></dt><dd>counted in the campaign's records: Kaplan–Meier R(t), coverage, outcomes, interruptions, lost work, detection latency. Intervals are 95 %.</dd>
<dt><span class="tag model">model</span></dt><dd>the board model (reliability block structure from bin packing the VMs onto survivors, a Markov chain over the sets of failed processors) at the campaign's accelerated rates, to check the simulation against.</dd>
<dt><span class="tag extrapolated">extrapolated</span></dt><dd>the same model at the real failure rates and mission time, with the measured coverage. Only as good as the model's assumptions: independent, exponential failures, one coverage for every failure (docs/reliability.md).</dd>
</dl>`;
}

function section(title: string, intro: string, parts: string[]): string {
  return `<section>
<h2>${escapeHtml(title)}</h2>
${intro === '' ? '' : `<p class="intro">${escapeHtml(intro)}</p>`}
${parts.filter((part) => part !== '').join('\n')}
</section>`;
}

function figureHtml({ plot, svg }: RenderedPlot): string {
  return `<figure id="${plot.id}">
<figcaption><strong>${escapeHtml(plot.title)}</strong> ${escapeHtml(plot.caption)}</figcaption>
<div class="plot">${svg}</div>
<details><summary>Vega-Lite spec</summary><pre class="spec">${escapeHtml(JSON.stringify(plot.spec, null, 1))}</pre></details>
</figure>`;
}

function tableHtml(table: Table): string {
  if (table.rows.length === 0) return '';
  const head = table.head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('');
  const rows = table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const STYLE = `
:root { --ink: ${COLOURS.ink}; --muted: ${COLOURS.muted}; --measured: ${COLOURS.measured}; --migration: ${COLOURS.migration}; --static: ${COLOURS.static}; --alarm: ${COLOURS.alarm}; --rule: #e5e7eb; --paper: #fbfbfa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink); font: 16px/1.55 ${FONT}; }
main { max-width: 1040px; margin: 0 auto; padding: 48px 28px 64px; }
header { margin-bottom: 40px; }
.eyebrow { margin: 0 0 6px; color: var(--muted); font-size: 13px; letter-spacing: .06em; text-transform: uppercase; }
h1 { margin: 0 0 12px; font-size: 34px; line-height: 1.15; letter-spacing: -.01em; font-weight: 700; }
.lede { margin: 0 0 24px; max-width: 760px; font-size: 18px; color: #374151; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; }
.card { position: relative; background: white; border: 1px solid var(--rule); border-radius: 10px; padding: 14px 16px 30px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; margin: 2px 0; }
.card .sub { color: var(--muted); font-size: 12.5px; font-variant-numeric: tabular-nums; }
.card .tag { position: absolute; left: 16px; bottom: 10px; }
.verdict.agrees .value { color: var(--migration); }
.verdict.disagrees .value { color: var(--alarm); }
.tag { display: inline-block; font-size: 11px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; border-radius: 999px; padding: 1px 8px; }
.tag.measured { background: #dbeafe; color: var(--measured); }
.tag.model { background: #ccfbf1; color: var(--migration); }
.tag.extrapolated { background: #fef3c7; color: #92400e; }
section { margin: 44px 0; }
h2 { font-size: 22px; margin: 0 0 6px; padding-bottom: 6px; border-bottom: 2px solid var(--ink); }
.intro { color: #374151; margin: 8px 0 16px; max-width: 760px; }
figure { margin: 18px 0 26px; background: white; border: 1px solid var(--rule); border-radius: 10px; padding: 16px 18px 10px; }
figcaption { font-size: 14px; color: #374151; margin-bottom: 10px; max-width: 820px; }
figcaption strong { display: block; color: var(--ink); font-size: 15px; margin-bottom: 2px; }
.plot svg { display: block; max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: 1fr; gap: 0 18px; }
details { margin-top: 6px; font-size: 13px; color: var(--muted); }
summary { cursor: pointer; }
pre.spec { max-height: 320px; overflow: auto; background: #f3f4f6; padding: 10px; border-radius: 6px; font-size: 11.5px; }
pre.command { background: #111827; color: #f9fafb; padding: 12px 14px; border-radius: 8px; overflow-x: auto; font-size: 14px; }
table { border-collapse: collapse; width: 100%; margin: 12px 0 8px; font-size: 14px; font-variant-numeric: tabular-nums; background: white; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid #d1d5db; padding: 6px 10px; font-size: 12.5px; text-transform: uppercase; letter-spacing: .03em; }
td { border-bottom: 1px solid var(--rule); padding: 6px 10px; vertical-align: top; }
.notes { background: #fffbeb; border: 1px solid #fde68a; border-radius: 10px; padding: 10px 16px; margin: 24px 0; font-size: 14.5px; }
.notes p { margin: 6px 0; }
.ok { color: var(--migration); font-weight: 600; }
.alarm { color: var(--alarm); font-weight: 600; }
dl.reading { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; font-size: 15px; }
dl.reading dd { margin: 0; color: #374151; }
footer { margin-top: 56px; color: var(--muted); font-size: 13px; }
footer table { background: transparent; font-size: 12.5px; }
`;
