/**
 * Number formats shared by the report's HTML and Markdown, so both print the
 * same figures: reliabilities with as many nines as they have, intervals,
 * durations in the unit that reads best.
 */
import { formatDurationS } from '../reliability/units.js';

/** A reliability or probability near 1 keeps 3 significant digits of its complement: 0.999976, 0.9826. */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return '–';
  if (p >= 1) return '1';
  if (p <= 0) return '0';
  if (p < 0.001) return p.toExponential(2);
  const complement = 1 - p;
  const decimals = p >= 0.9 ? Math.min(12, Math.max(4, Math.ceil(-Math.log10(complement)) + 2)) : 4;
  return p.toFixed(decimals);
}

/** A small probability (a failure fraction, an upper bound): 3 significant digits, exponent when tiny. */
export function formatSmall(p: number): string {
  if (p === 0) return '0';
  if (p >= 0.001) return Number(p.toPrecision(3)).toString();
  return p.toExponential(2);
}

export function formatInterval(lower: number, upper: number, format: (x: number) => string = formatProbability): string {
  return `[${format(lower)}, ${format(upper)}]`;
}

export function formatDuration(tS: number): string {
  return Number.isFinite(tS) ? formatDurationS(tS) : '∞';
}

export function formatNs(ns: number): string {
  return formatDurationS(ns / 1e9);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A rate per second as per hour: "2e-5/h". */
export function formatRatePerHour(ratePerS: number): string {
  return `${compactNumber(ratePerS * 3600)}/h`;
}

/** A rate per second as written in a campaign: "0.05/s". */
export function formatRatePerS(ratePerS: number): string {
  return `${compactNumber(ratePerS)}/s`;
}

/** 3 significant digits, with an exponent below 0.001: 0.05, 2e-5. */
function compactNumber(x: number): string {
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2).replace(/\.?0+e/, 'e');
  return Number(x.toPrecision(3)).toString();
}
