/**
 * Units of time and of failure rates, in one place. The reliability library
 * works in SI seconds throughout (rates per second, times in seconds); what
 * users write ("2e-5/h", "10y", "20ms") is converted here and only here.
 *
 * A year is 365 days = 8760 h (the convention of MIL-HDBK-217 and most
 * reliability texts; a Julian year of 8766 h would change 10-year figures by
 * 0.07 %).
 */

/** Seconds per unit, for durations ("10h") and for rates ("2e-5/h"). */
export const SECONDS_PER: Readonly<Record<TimeUnit, number>> = {
  ns: 1e-9,
  us: 1e-6,
  ms: 1e-3,
  s: 1,
  min: 60,
  h: 3600,
  d: 86_400,
  y: 8760 * 3600,
};

export type TimeUnit = 'ns' | 'us' | 'ms' | 's' | 'min' | 'h' | 'd' | 'y';

export const SECONDS_PER_HOUR = SECONDS_PER.h;
export const SECONDS_PER_YEAR = SECONDS_PER.y;
export const NS_PER_S = 1e9;

const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const UNIT = 'ns|us|ms|s|min|h|d|y';

/** A rate such as 2e-5/h or 0.05/s (the board file's `failureRate`). */
export const RATE_PATTERN = `^${NUMBER}/(?:${UNIT})$`;
/** A duration such as 10h, 20ms or 10y (the board file's `repairTime`, `--mission`). */
export const DURATION_PATTERN = `^${NUMBER}(?:${UNIT})$`;

/** "2e-5/h" → failures per second; undefined if it is not a rate. */
export function parseRatePerS(text: string): number | undefined {
  const match = new RegExp(`^(${NUMBER})/(${UNIT})$`).exec(text.trim());
  if (match === null) return undefined;
  const perUnit = Number(match[1]);
  return Number.isFinite(perUnit) ? perUnit / SECONDS_PER[match[2] as TimeUnit] : undefined;
}

/** "10h" → seconds; undefined if it is not a duration. */
export function parseDurationS(text: string): number | undefined {
  const match = new RegExp(`^(${NUMBER})(${UNIT})$`).exec(text.trim());
  if (match === null) return undefined;
  const count = Number(match[1]);
  return Number.isFinite(count) ? count * SECONDS_PER[match[2] as TimeUnit] : undefined;
}

export const perHourToPerS = (ratePerHour: number): number => ratePerHour / SECONDS_PER_HOUR;
export const perSToPerHour = (ratePerS: number): number => ratePerS * SECONDS_PER_HOUR;
export const hoursToS = (tHours: number): number => tHours * SECONDS_PER_HOUR;
export const sToHours = (tS: number): number => tS / SECONDS_PER_HOUR;
export const nsToS = (ns: number): number => ns / NS_PER_S;

/** A duration in seconds in the largest unit that keeps it ≥ 1 (for text): "10 y", "4.2 s", "350 ms". */
export function formatDurationS(tS: number, digits = 3): string {
  const order: TimeUnit[] = ['y', 'd', 'h', 'min', 's', 'ms', 'us', 'ns'];
  const unit = order.find((candidate) => Math.abs(tS) >= SECONDS_PER[candidate]) ?? 'ns';
  const value = tS / SECONDS_PER[unit];
  return `${Number(value.toPrecision(digits))} ${unit === 'us' ? 'µs' : unit}`;
}
