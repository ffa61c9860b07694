/** Guest addresses and sizes are read in hex, as in readelf and the linker script. */
export function hex(value: number | bigint): string {
  return '0x' + value.toString(16);
}

/**
 * JSON.stringify's replacer for every JSON Ferry prints (summaries, reports, traces):
 * a bigint is a number while it is exact (below 2^53), a decimal string beyond, and
 * a non-finite number is null — so the output is always valid JSON (docs/cli.md, "JSON").
 */
export function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/** A value as indented JSON text with a final newline, through jsonValue. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, jsonValue, 2)}\n`;
}
