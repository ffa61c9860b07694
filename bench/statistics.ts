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

/** Parses `--runs N --json` with Node's own parser; a bad or unknown option throws, naming it. */
export function parseRunOptions(argv: string[]): RunOptions {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, not ${values.runs}`);
  return { runs, json: values.json === true };
}
