/**
 * Words for the core's stream refusals (assembly/stream.ts ERR_*): the core
 * reports a code, the record (index, type), its byte offset and two details;
 * this file turns them into the one line a user reads.
 */
import type { CoreRuntime } from './core-runtime.js';
import { FerryError } from './errors.js';
import { hex } from './format.js';
import { hex32, recordTypeName } from './stream-inspect.js';
import { STREAM_VERSION } from './numbers.js';

/** A stream the core refused: the message names the record and its offset. */
export class StreamError extends FerryError {
  override name = 'StreamError';

  constructor(message: string, readonly refusal: StreamRefusal) {
    super(message);
  }
}

export interface StreamRefusal {
  code: number;
  offset: number;
  /** 0-based record index after the header; undefined for the header itself. */
  index?: number;
  type: number;
  detailA: bigint;
  detailB: bigint;
}

const HEADER_INDEX = 0xffff_ffff;

export function readRefusal(core: CoreRuntime): StreamRefusal {
  const index = Number(core.restoreError(2));
  return {
    code: Number(core.restoreError(0)),
    offset: Number(core.restoreError(1)),
    index: index === HEADER_INDEX ? undefined : index,
    type: Number(core.restoreError(3)),
    detailA: core.restoreError(4),
    detailB: core.restoreError(5),
  };
}

/** Names of VCPU fields by body offset, for "illegal value" messages. */
const VCPU_FIELDS: Record<number, string> = {
  0: 'x0', 128: 'pc', 132: 'mode', 136: 'flags', 140: 'exit', 144: 'exitCode', 148: 'mstatus', 152: 'medeleg',
  156: 'mideleg', 160: 'mie', 164: 'mtvec', 172: 'mepc', 188: 'stvec', 196: 'sepc', 212: 'reserved', 224: 'trapped',
};

const FIELDS: Record<string, Record<number, string>> = {
  VCPU: VCPU_FIELDS,
  VM_CONFIG: { 0: 'kind', 4: 'ramBytes', 8: 'pageBytes', 16: 'tohostAddr', 20: 'reserved' },
  IRQ: { 0: 'mipSoft', 4: 'externalLevel' },
  CONSOLE: { 0: 'bytes', 4: 'reserved' },
  SCHEDULE: { 0: 'flags', 4: 'reserved' },
  TASK_SET: { 0: 'count', 4: 'reserved' },
  CHANNELS: { 0: 'count', 4: 'reserved' },
  PAGE_DATA: { 0: 'count', 4: 'reserved' },
  ZERO_PAGES: { 0: 'count', 4: 'reserved' },
  PAGE_COMPRESSED: { 0: 'page', 5: 'reserved' },
  CHECKPOINT_END: { 0: 'flags', 4: 'sequence', 8: 'captureCycles', 16: 'clockHz' },
};

/** TASK_SET's tasks: 40 bytes each after its 8-byte header (docs/stream-format.md). */
const TASK_FIELDS = ['period', 'wcet', 'deadline', 'release origin', 'jobs done'];

function fieldName(type: number, offset: number): string {
  const name = FIELDS[recordTypeName(type)]?.[offset];
  if (name !== undefined) return name;
  if (recordTypeName(type) === 'TASK_SET' && offset >= 8 && (offset - 8) % 8 === 0) {
    return `task ${Math.floor((offset - 8) / 40)}'s ${TASK_FIELDS[((offset - 8) % 40) / 8]}`;
  }
  return `the field at body offset ${offset}`;
}

const hexBig = (value: bigint): string => '0x' + value.toString(16);

/** What was wrong, without where. */
export function describeRefusalCause(r: StreamRefusal): string {
  const { detailA: a, detailB: b } = r;
  switch (r.code) {
    case 1: return a === 0n && r.index !== undefined
      ? 'the stream ends here without an END record (truncated)'
      : `truncated: ${a} bytes left where ${b} are needed`;
    case 2: return 'not a Ferry stream (bad magic)';
    case 3: return `byte order mark ${hex32(Number(a))} is not the little-endian 0x0a0b0c0d this reader reads`;
    case 4: return `unsupported stream version ${a} (this ferry reads versions ${STREAM_VERSION} to ${b})`;
    case 5: return `header flags ${hex32(Number(a))} are reserved and must be 0`;
    case 6: return `header CRC mismatch (header says ${hex32(Number(a))}, contents give ${hex32(Number(b))})`;
    case 7: return `bad length: ${a} bytes is over the ${b}-byte record limit`;
    case 8: return `CRC mismatch (record says ${hex32(Number(a))}, contents give ${hex32(Number(b))})`;
    case 9: return `padding byte at offset ${hex(Number(a))} is not zero`;
    case 10: return `unknown mandatory record type ${hex32(Number(a))}`;
    case 11: return `bad length: ${a} bytes, expected ${b}`;
    case 12: return `out of order: expected ${recordTypeName(Number(a))} here`;
    case 13: return `a second ${recordTypeName(Number(a))} record in one checkpoint`;
    case 14: return `the checkpoint has no ${recordTypeName(Number(a))} record`;
    case 15: return `illegal value ${hexBig(b)} in ${fieldName(r.type, Number(a))}`;
    case 16: return `page ${a} is out of range (the VM has ${b} pages)`;
    case 17: return `page ${a} is listed twice in one checkpoint`;
    case 18: return 'the VM configuration differs from the stream\'s first one';
    case 19: return `record count ${a} does not match the ${b} found (a record was lost, added or moved)`;
    case 20: return `digest ${hex32(Number(a))} does not match ${hex32(Number(b))} (a record was lost, added or moved)`;
    case 21: return `checkpoint ${b} of chain ${hex32(Number(a))} does not continue the target VM's checkpoints `
      + '(restore the full checkpoint and the increments before it first, and do not run the VM in between)';
    case 22: return `${a} bytes follow the END record`;
    case 23: return r.type === 0x30
      ? 'a trace-replay stream (INPUT_LOG records): its memory at the end is what replaying the log makes, which only a migration\'s destination does'
      : 'the stream has no complete checkpoint to resume from';
    case 24: if (a === 0xffff_fffen) return `there is no VM ${b} on this processor`;
      if (a === 0xffff_fffdn) return `no room for its ${b} channel ports on this processor (64 at most)`;
      return a === 0xffff_ffffn ? `no room for the VM on this processor (its VM table or its RAM is full)` : `the target VM differs: its ${fieldName(0x01, Number(a))} is ${b}`;
    case 25: return `the stream is too large (${a} bytes; at most ${b})`;
    case 26: return b === 0n ? `the compressed page does not decode to one page (codec ${a})` : `the decompressed page's CRC ${hex32(Number(b))} is not the ${hex32(Number(a))} the record names`;
  }
  return `refused (code ${r.code})`;
}

/** "record 5 (PAGE_DATA) at offset 0x1a8", or "header". */
export function describeRefusalPlace(r: StreamRefusal): string {
  if (r.index === undefined) return 'header';
  if (r.code === 1 && r.detailA === 0n) return `at offset ${hex(r.offset)} (record ${r.index})`;
  if (r.code === 22) return `at offset ${hex(r.offset)}`;
  return `record ${r.index} (${recordTypeName(r.type)}) at offset ${hex(r.offset)}`;
}

export function describeRefusal(r: StreamRefusal): string {
  return `${describeRefusalPlace(r)}: ${describeRefusalCause(r)}`;
}
