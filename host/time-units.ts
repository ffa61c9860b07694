/**
 * The one way Ferry writes virtual times and sizes (docs/cli.md, "Units"): a
 * number with a unit — `100ms`, `2s`, `5000us`, `16MiB`. Every duration or instant
 * option and file field goes through parseVirtualTime; every byte-size option
 * through parseSize. A bare number means cycles or bytes only where the option's
 * name says so (`--max-cycles`, `--threshold` bytes).
 */

/** Nanoseconds per unit; `µs` is `us`. */
const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, min: 60_000_000_000n, h: 3_600_000_000_000n,
};

/**
 * The longest virtual time Ferry accepts: 10^18 ns (about 31.7 years). Beyond
 * it, cycle counts of a 4 GHz clock would not fit the core's u64.
 */
export const MAX_VIRTUAL_TIME_NS = 1_000_000_000_000_000_000n;

/** What a time option's help and its refusal say. */
export const TIME_EXAMPLES = '100ms, 2s, 5000us, 1.5ms or 250ns';

/** "20ms", "1.5s", "250us", "100ns", "2min" → ns. Undefined if it is not such a time or finer than a nanosecond. */
export function parseVirtualTime(text: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|min|h)$/.exec(text.trim().replaceAll('_', ''));
  if (match === null) return undefined;
  const perUnit = NS_PER_UNIT[match[3]!]!;
  const fraction = match[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(match[1]! + fraction) * perUnit);
  if (scaled % scale !== 0n) return undefined; // finer than a nanosecond
  return scaled / scale;
}

/** Why parseVirtualTime refused `text`, for one-line messages. */
export function describeBadTime(text: string): string {
  if (/^\d+(\.\d+)?$/.test(text.trim())) return `"${text}" has no unit: write it as ${TIME_EXAMPLES}`;
  if (/^\d+(\.\d+)?(ns|us|µs|ms|s|min|h)$/.test(text.trim())) return `"${text}" is finer than a nanosecond`;
  return `"${text}" is not a virtual time such as ${TIME_EXAMPLES}`;
}

/** A time from 1 ns to MAX_VIRTUAL_TIME_NS; throws Error with a one-line reason otherwise. */
export function parsePositiveTime(text: string): bigint {
  const ns = parseVirtualTime(text);
  if (ns === undefined) throw new Error(describeBadTime(text));
  if (ns < 1n) throw new Error(`"${text}" must be longer than 0`);
  if (ns > MAX_VIRTUAL_TIME_NS) throw new Error(`"${text}" is longer than the most Ferry runs (1000000000s)`);
  return ns;
}

/** Bytes per unit: binary units, as guest RAM is counted. */
const BYTES_PER_UNIT: Record<string, bigint> = { B: 1n, KiB: 1n << 10n, MiB: 1n << 20n, GiB: 1n << 30n };

/** "16MiB", "4096B", "64KiB", "1.5GiB" → bytes (whole bytes only). Undefined if it is not such a size. */
export function parseSize(text: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d+))?(B|KiB|MiB|GiB)$/.exec(text.trim().replaceAll('_', ''));
  if (match === null) return undefined;
  const fraction = match[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(match[1]! + fraction) * BYTES_PER_UNIT[match[3]!]!;
  return scaled % scale === 0n ? scaled / scale : undefined;
}

/** "16 MiB", "4 KiB", "5000 B": a size for people (exact, the largest unit that divides it). */
export function formatSize(bytes: number | bigint): string {
  const value = BigInt(bytes);
  for (const unit of ['GiB', 'MiB', 'KiB'] as const) {
    const per = BYTES_PER_UNIT[unit]!;
    if (value >= per && value % per === 0n) return `${value / per} ${unit}`;
  }
  return `${value} B`;
}
