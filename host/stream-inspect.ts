/**
 * Reads a Ferry stream (docs/stream-format.md) for people: every record with
 * its offset, type, length and a one-line summary, as `ferry inspect` prints
 * it. This reader is lenient — it shows as much of a damaged stream as it can
 * frame — and decides nothing: whether a stream is acceptable is the core's
 * verdict (restoreCheck), which `ferry inspect` prints after the records.
 */
import { hex } from './format.js';

export const STREAM_HEADER_BYTES = 24;
export { STREAM_VERSION } from './numbers.js';
export const STREAM_MAGIC = Uint8Array.of(0x89, 0x46, 0x45, 0x52, 0x52, 0x59, 0x0d, 0x0a);
export const RECORD_OPTIONAL = 0x8000_0000;
export const MAX_RECORD_BODY_BYTES = 1 << 20;

export const RecordType = {
  END: 0x00,
  VM_CONFIG: 0x01,
  VCPU: 0x02,
  TIMER: 0x03,
  IRQ: 0x04,
  CONSOLE: 0x05,
  TASK_SET: 0x06,
  CHANNELS: 0x07,
  SCHEDULE: 0x08,
  PAGE_DATA: 0x10,
  ZERO_PAGES: 0x11,
  PAGE_COMPRESSED: 0x12,
  CHECKPOINT_END: 0x20,
  INPUT_LOG: 0x30,
  PRODUCER: 0x8000_0100,
  PMP: 0x8000_0101,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(RecordType).map(([name, type]) => [type, name]));

/** "PAGE_DATA", or "unknown optional 0x80000200" / "unknown 0x00000042". */
export function recordTypeName(type: number): string {
  const name = TYPE_NAMES.get(type >>> 0);
  if (name !== undefined) return name;
  return `${(type & RECORD_OPTIONAL) !== 0 ? 'unknown optional' : 'unknown'} ${hex32(type)}`;
}

export function hex32(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}

// ---- CRC32C (Castagnoli), as the core computes it (assembly/crc32c.ts). ----

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f6_3b78 : crc >>> 1;
    table[n] = crc >>> 0;
  }
  return table;
})();

/** Continues a CRC32C over `bytes`; start with crc = 0. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let state = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) state = CRC_TABLE[(state ^ bytes[i]!) & 0xff]! ^ (state >>> 8);
  return ~state >>> 0;
}

/** Continues a digest by one CRC (its 4 little-endian bytes). */
export function crc32cWord(crc: number, value: number): number {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return crc32c(bytes, crc);
}

// ---- Framing ----

export interface StreamRecord {
  index: number;
  offset: number;
  type: number;
  typeName: string;
  /** Body bytes. */
  length: number;
  /** Bytes the whole record occupies (header, body, crc, padding). */
  sizeBytes: number;
  crc: number;
  crcOk: boolean;
  summary: string;
  body: Uint8Array;
}

export interface StreamHeader {
  magicOk: boolean;
  byteOrder: number;
  version: number;
  flags: number;
  crcOk: boolean;
}

export interface ParsedStream {
  bytes: number;
  header?: StreamHeader;
  records: StreamRecord[];
  /** Where framing stopped, if it stopped before the end: offset and why. */
  framingProblem?: { offset: number; problem: string };
}

/** Bytes a record with a body of `length` bytes occupies. */
export function recordSizeBytes(length: number): number {
  return 8 + Math.ceil((length + 4) / 8) * 8;
}

export function parseStream(stream: Uint8Array): ParsedStream {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const parsed: ParsedStream = { bytes: stream.length, records: [] };
  if (stream.length < STREAM_HEADER_BYTES) {
    parsed.framingProblem = { offset: 0, problem: `only ${stream.length} bytes: no room for the ${STREAM_HEADER_BYTES}-byte header` };
    return parsed;
  }
  parsed.header = {
    magicOk: STREAM_MAGIC.every((byte, i) => stream[i] === byte),
    byteOrder: view.getUint32(8, true),
    version: view.getUint32(12, true),
    flags: view.getUint32(16, true),
    crcOk: crc32c(stream.subarray(0, 20)) === view.getUint32(20, true),
  };
  let offset = STREAM_HEADER_BYTES;
  while (offset < stream.length) {
    const record = frameRecord(stream, view, offset, parsed.records.length);
    if (typeof record === 'string') {
      parsed.framingProblem = { offset, problem: record };
      break;
    }
    parsed.records.push(record);
    offset += record.sizeBytes;
  }
  return parsed;
}

function frameRecord(stream: Uint8Array, view: DataView, offset: number, index: number): StreamRecord | string {
  const left = stream.length - offset;
  if (left < 8) return `${left} bytes left: not enough for a record header`;
  const type = view.getUint32(offset, true);
  const length = view.getUint32(offset + 4, true);
  if (length > MAX_RECORD_BODY_BYTES) return `${recordTypeName(type)} record claims ${length} bytes, over the ${MAX_RECORD_BODY_BYTES}-byte limit`;
  const sizeBytes = recordSizeBytes(length);
  if (left < sizeBytes) return `${recordTypeName(type)} record needs ${sizeBytes} bytes, ${left} left`;
  const crc = view.getUint32(offset + 8 + length, true);
  const body = stream.subarray(offset + 8, offset + 8 + length);
  const crcOk = crc32c(stream.subarray(offset, offset + 8 + length)) === crc;
  return { index, offset, type, typeName: recordTypeName(type), length, sizeBytes, crc, crcOk, summary: summarize(type, body), body };
}

// ---- Summaries ----

const KIND_NAMES = ['paravirtual', 'machine'];
const MODE_NAMES: Record<number, string> = { 0: 'U', 1: 'S', 3: 'M' };
const EXIT_NAMES = ['running', 'shutdown', 'failure', 'tohost', 'finisher', 'reboot', 'fault'];

/** Bytes of a port in the CHANNELS record before its slots (docs/stream-format.md, version 2). */
const CHANNEL_PORT_BYTES = 240;

/** "2 ports: channel 1 port 0 sampling destination (1 queued), …" */
function channelsSummary(u32: (at: number) => number, length: number): string {
  const count = u32(0);
  if (count === 0) return 'no channel ports';
  const ports: string[] = [];
  for (let i = 0, at = 8; i < count && at + CHANNEL_PORT_BYTES <= length; i++) {
    const isSource = (u32(at + 12) & 1) !== 0;
    const queuing = u32(at + 8) === 0;
    const [next, acked, consumed, depth, max] = [u32(at + 28), u32(at + 32), u32(at + 36), u32(at + 20), u32(at + 16)];
    const state = isSource
      ? (queuing ? `, next ${next}, ${(next - acked) >>> 0} unacknowledged, ${depth - ((next - consumed) >>> 0)} credits` : `, next ${next}`)
      : `, next ${next}, ${u32(at + 44)} queued`;
    ports.push(`channel ${u32(at)} port ${u32(at + 4)} ${queuing ? 'queuing' : 'sampling'} ${isSource ? 'source' : 'destination'}${state}`);
    const slotBytes = isSource ? (queuing ? 16 + max : 0) : 4 + max;
    at += CHANNEL_PORT_BYTES + depth * slotBytes;
  }
  return `${count} port${count === 1 ? '' : 's'}: ${ports.join('; ')}`;
}

function summarize(type: number, body: Uint8Array): string {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const u32 = (at: number): number => (at + 4 <= body.length ? view.getUint32(at, true) : NaN);
  const u64 = (at: number): bigint => (at + 8 <= body.length ? view.getBigUint64(at, true) : -1n);
  switch (type) {
    case RecordType.VM_CONFIG: return vmConfigSummary(u32);
    case RecordType.VCPU: return vcpuSummary(u32, u64);
    case RecordType.TIMER: return `mtimecmp ${ticks(u64(0))}, stimecmp ${ticks(u64(8))}`;
    case RecordType.IRQ: return `software-pending ${hex(u32(0) >>> 0)}, external line ${u32(4)}`;
    case RecordType.CONSOLE: return `${u32(0)} console bytes buffered`;
    case RecordType.TASK_SET: return u32(0) === 0 ? 'no task set reported' : `${u32(0)} task${u32(0) === 1 ? '' : 's'} reported`;
    case RecordType.CHANNELS: return channelsSummary(u32, body.length);
    case RecordType.SCHEDULE: return `windows used ${u64(16)}, overruns ${u64(24)}, deadline misses ${u64(48)}${u32(0) & 1 ? ', yielded' : ''}`;
    case RecordType.PAGE_DATA: return pageListSummary(u32(0), (i) => u32(8 + 4 * i), body.length);
    case RecordType.PAGE_COMPRESSED: return `page ${u32(0)}, ${['', 'word dictionary', 'LZ'][u32(4) & 0xff] ?? `codec ${u32(4) & 0xff}`}, ${u32(8)} bytes for 4096`;
    case RecordType.ZERO_PAGES: return pageListSummary(u32(0), (i) => u32(8 + 4 * i), body.length) + ', all zero';
    case RecordType.CHECKPOINT_END: return checkpointEndSummary(u32, u64);
    case RecordType.INPUT_LOG: return `${(u32(0) & 1) !== 0 ? 'final, ' : ''}${u32(4)} input${u32(4) === 1 ? '' : 's'}, instructions ${u64(8)} to ${u64(16)}`
      + ((u32(0) & 1) !== 0 ? `, state digest ${hex32(u32(24))}` : '');
    case RecordType.END: return `${u32(0)} checkpoint${u32(0) === 1 ? '' : 's'}`;
    case RecordType.PRODUCER: return JSON.stringify(new TextDecoder().decode(body));
    case RecordType.PMP: return `pmpcfg0-3 ${[0, 4, 8, 12].map((at) => hex32(u32(at))).join(' ')}, pmpaddr0 ${hex32(u32(16))}`;
  }
  return (type & RECORD_OPTIONAL) !== 0 ? 'unknown optional record: a reader skips it' : 'unknown mandatory record: a reader refuses it';
}

function vmConfigSummary(u32: (at: number) => number): string {
  const ramBytes = u32(4);
  const pageBytes = u32(8);
  const tohost = u32(16);
  return `${KIND_NAMES[u32(0)] ?? `kind ${u32(0)}`}, ${ramBytes / 1024} KiB RAM (${pageBytes ? ramBytes / pageBytes : '?'} pages of ${pageBytes}), `
    + `source VM ${u32(12)}${tohost ? `, tohost ${hex(tohost)}` : ''}`;
}

function vcpuSummary(u32: (at: number) => number, u64: (at: number) => bigint): string {
  const exit = u32(140);
  const waiting = (u32(136) & 1) !== 0 ? ', waiting in wfi' : '';
  const state = exit === 0 ? `running${waiting}` : `stopped: ${EXIT_NAMES[exit] ?? exit} (code ${hex(u32(144) >>> 0)})`;
  return `pc ${hex(u32(128) >>> 0)}, mode ${MODE_NAMES[u32(132)] ?? u32(132)}, instret ${u64(216) - u64(224)}, ${state}`;
}

function ticks(value: bigint): string {
  return value === 2n ** 64n - 1n ? 'disarmed' : `${value} ticks`;
}

function checkpointEndSummary(u32: (at: number) => number, u64: (at: number) => bigint): string {
  const flags = u32(0);
  const kind = (flags & 1) !== 0 ? `incremental #${u32(4)}` : 'full';
  const memoryOnly = (flags & 2) !== 0 ? ' (memory only)' : '';
  return `${kind}${memoryOnly} at cycle ${u64(8)} (${u32(16)} Hz), ${u32(20)} records, chain ${hex32(u32(24))}`;
}

/** "3 pages: 0-1, 7": page numbers as ranges, shortened past a few. */
function pageListSummary(count: number, pageAt: (i: number) => number, bodyBytes: number): string {
  if (!Number.isFinite(count) || 8 + 4 * count > bodyBytes) return `${count} pages (list does not fit the body)`;
  const ranges: string[] = [];
  let start = pageAt(0);
  let previous = start;
  for (let i = 1; i <= count; i++) {
    const page = i < count ? pageAt(i) : NaN;
    if (page === previous + 1) { previous = page; continue; }
    ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = previous = page;
  }
  const shown = ranges.length > 6 ? [...ranges.slice(0, 6), `… (${ranges.length - 6} more ranges)`] : ranges;
  return `${count} page${count === 1 ? '' : 's'}: ${shown.join(', ')}`;
}

/** The stream as text: a header line, then one line per record. */
export function formatStream(parsed: ParsedStream, name: string): string {
  const lines = [`${name}: ${parsed.bytes} bytes`, `${'offset'.padEnd(10)}  ${'type'.padEnd(30)}  ${'length'.padStart(7)}  summary`];
  if (parsed.header !== undefined) lines.push(`${hex32(0)}  ${'header'.padEnd(30)}  ${String(STREAM_HEADER_BYTES).padStart(7)}  ${headerSummary(parsed.header)}`);
  for (const record of parsed.records) {
    const type = `${record.typeName}${record.typeName.startsWith('unknown') ? '' : ` (${hex32(record.type)})`}`;
    const crc = record.crcOk ? '' : ' [CRC MISMATCH]';
    lines.push(`${hex32(record.offset)}  ${type.padEnd(30)}  ${String(record.length).padStart(7)}  ${record.summary}${crc}`);
  }
  if (parsed.framingProblem !== undefined) lines.push(`${hex32(parsed.framingProblem.offset)}  cannot frame further: ${parsed.framingProblem.problem}`);
  return lines.join('\n') + '\n';
}

function headerSummary(header: StreamHeader): string {
  const problems = [
    header.magicOk ? undefined : 'BAD MAGIC',
    header.byteOrder === 0x0a0b0c0d ? undefined : `byte order mark ${hex32(header.byteOrder)}`,
    header.flags === 0 ? undefined : `flags ${hex32(header.flags)}`,
    header.crcOk ? undefined : 'HEADER CRC MISMATCH',
  ].filter((problem) => problem !== undefined);
  return `Ferry stream version ${header.version}, little-endian${problems.length > 0 ? ` [${problems.join(', ')}]` : ''}`;
}

/** The stream as JSON-ready data (bodies left out; page lists and fields summarised). */
export function streamJson(parsed: ParsedStream): object {
  return {
    bytes: parsed.bytes,
    header: parsed.header ?? null,
    records: parsed.records.map(({ index, offset, type, typeName, length, crc, crcOk, summary }) => ({
      index, offset, type, typeName, length, crc, crcOk, summary,
    })),
    framingProblem: parsed.framingProblem ?? null,
  };
}
