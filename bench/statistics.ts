/** Small statistics and options the benchmarks share. */
import { parseArgs } from 'node:util';

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What the repeated-run benchmarks take: `--runs N` (default 5) and `--json`. */
export interface RunOptions {
  runs: number;
  json: boolean;
}

/** What the repeated-run benchmarks take: `--runs N` and `--json`, for parseArgs. */
export const RUN_OPTIONS = { runs: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } as const;

/** `--runs N --json` from parseArgs' values; a bad count throws, naming it. */
export function runOptionsOf(values: { runs?: string; json?: boolean }): RunOptions {
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, not ${values.runs}`);
  return { runs, json: values.json === true };
}

/** Parses `--runs N --json` with Node's own parser; a bad or unknown option throws, naming it. */
export function parseRunOptions(argv: string[]): RunOptions {
  return runOptionsOf(parseArgs({ args: argv, options: RUN_OPTIONS }).values);
}
