/**
 * Option parsers every command shares. Each throws commander's InvalidArgumentError,
 * so a bad value is one line naming the option: `ferry: error: option '--duration
 * <time>' argument '2' is invalid. "2" has no unit: write it as 100ms, 2s, ...`.
 * Times and sizes take a unit (host/time-units.ts); a bare number means cycles or
 * bytes only where the option's name says so.
 */
import { InvalidArgumentError, Option } from 'commander';
import { CORE_RUNTIMES } from '../core-runtime.js';
import { MAX_VM_RAM_BYTES } from '../numbers.js';
import { GUEST_PAGE_BYTES } from '../defaults.js';
import { formatSize, parsePositiveTime, parseSize, parseVirtualTime, describeBadTime, MAX_VIRTUAL_TIME_NS } from '../time-units.js';

/** Cycles: decimal or 0x-hex, underscores allowed (100_000_000 or 0x5f5e100), from 1 to below 2^64. */
export function parseCycles(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(digits)) throw new InvalidArgumentError('Expected a whole number of cycles (decimal or 0x hex).');
  const cycles = BigInt(digits);
  if (cycles < 1n || cycles >= 2n ** 64n) throw new InvalidArgumentError('Expected at least 1 and below 2^64.');
  return cycles;
}

/** A virtual time longer than 0: 100ms, 2s, 5000us → ns. */
export function parseDuration(text: string): bigint {
  try {
    return parsePositiveTime(text);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

/** An instant of virtual time, 0 allowed: 0s, 20ms → ns. */
export function parseInstant(text: string): bigint {
  const ns = parseVirtualTime(text);
  if (ns === undefined) throw new InvalidArgumentError(`${describeBadTime(text)}.`);
  if (ns > MAX_VIRTUAL_TIME_NS) throw new InvalidArgumentError(`"${text}" is later than the most Ferry runs (1000000000s).`);
  return ns;
}

/** The hidden --duration-ms alias: milliseconds without a unit, as before the unit convention. */
export function parseDurationMs(text: string): bigint {
  return parseDuration(`${text.replaceAll('_', '')}ms`);
}

/** A nanosecond count without a unit, for the hidden -ns aliases (--affordable-ns). */
export function parseNsCount(text: string): bigint {
  const digits = text.replaceAll('_', '');
  if (!/^\d+$/.test(digits)) throw new InvalidArgumentError('Expected a whole number of nanoseconds.');
  return parseDuration(`${digits}ns`);
}

/** A VM's RAM: 16MiB, 64KiB, 4096B; whole pages, at most MAX_VM_RAM_BYTES. */
export function parseMemory(text: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined) throw new InvalidArgumentError(`"${text}" is not a size such as 16MiB, 512KiB or 65536B.`);
  if (bytes < BigInt(GUEST_PAGE_BYTES) || bytes % BigInt(GUEST_PAGE_BYTES) !== 0n || bytes > BigInt(MAX_VM_RAM_BYTES)) {
    throw new InvalidArgumentError(`Expected whole ${formatSize(GUEST_PAGE_BYTES)} pages from ${formatSize(GUEST_PAGE_BYTES)} to ${formatSize(MAX_VM_RAM_BYTES)}, not ${formatSize(bytes)}.`);
  }
  return Number(bytes);
}

/** A whole number from `min` to `max` (underscores allowed), naming what it counts. */
export function parseWhole(what: string, max: number, min = 0): (text: string) => number {
  return (text) => {
    const digits = text.replaceAll('_', '');
    if (!/^\d+$/.test(digits) || Number(digits) < min || Number(digits) > max) {
      throw new InvalidArgumentError(`Expected ${what}: a whole number from ${min} to ${max}.`);
    }
    return Number(digits);
  };
}

/** Seeds of the link error model: 0 to 2^32 - 1. */
export const parseSeed = parseWhole('a seed', 0xffff_ffff);

/** --runtime: which form of the core runs the processors (docs/runtimes.md); a board file's per-processor runtime wins. */
export function runtimeOption(): Option {
  return new Option('--runtime <runtime>', 'the form of the core: module, component (in this process), wasmtime or native (each processor a process of its own); docs/runtimes.md')
    .choices([...CORE_RUNTIMES])
    .default('module');
}
