/**
 * Mutates valid Ferry streams for the fuzz test: raw byte damage (bit flips,
 * truncation, splices, length edits, padding) and structural edits that are
 * resealed (every CRC, count and digest recomputed) so that they reach the
 * core's semantic checks. Deterministic: the same Prng gives the same cases.
 */
import { Prng } from '../../host/prng.js';
import { RecordType, parseStream } from '../../host/stream-inspect.js';
import { sealStream, splitStream } from './stream-builder.js';
import type { RawRecord } from './stream-builder.js';

export interface Mutation {
  bytes: Uint8Array;
  /** What was done, for a failure message. */
  what: string;
  /**
   * True when the mutation recomputed the checksums: the result may be a valid
   * stream that means something else. False: raw damage, which the core must
   * refuse unless it left the stream's meaning intact.
   */
  resealed: boolean;
}

const INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 0xff, 0x100, 0x7ff, 0x800, 0xfff, 0x1000, 0x1001, 0x1_0000, 0x10_0000, 0x10_0001,
  0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_fffe, 0xffff_ffff];

type Mutator = (stream: Uint8Array, prng: Prng) => Mutation;

const pick = <T>(prng: Prng, items: readonly T[]): T => items[prng.nextBelow(items.length)]!;

function interesting(prng: Prng): number {
  return prng.nextBelow(3) === 0 ? prng.nextU32() : pick(prng, INTERESTING_U32);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const flipBits: Mutator = (stream, prng) => {
  const bytes = stream.slice();
  const flips = 1 + prng.nextBelow(4);
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    // Half the flips land in the first 512 bytes: header, config, state records.
    const offset = prng.nextBelow(2) === 0 ? prng.nextBelow(Math.min(512, bytes.length)) : prng.nextBelow(bytes.length);
    bytes[offset]! ^= 1 << prng.nextBelow(8);
    at.push(offset);
  }
  return { bytes, what: `flip bits at ${at.join(',')}`, resealed: false };
};

const truncate: Mutator = (stream, prng) => {
  const length = prng.nextBelow(stream.length);
  return { bytes: stream.slice(0, length), what: `truncate to ${length}`, resealed: false };
};

const deleteRange: Mutator = (stream, prng) => {
  const start = prng.nextBelow(stream.length);
  const end = Math.min(stream.length, start + 1 + prng.nextBelow(prng.nextBelow(2) === 0 ? 16 : 8192));
  return { bytes: concat(stream.subarray(0, start), stream.subarray(end)), what: `delete ${start}..${end}`, resealed: false };
};

const spliceCopy: Mutator = (stream, prng) => {
  const from = prng.nextBelow(stream.length);
  const length = 1 + prng.nextBelow(Math.min(4096, stream.length - from));
  const to = prng.nextBelow(stream.length + 1);
  const piece = stream.subarray(from, from + length);
  const overwrite = prng.nextBelow(2) === 0;
  const bytes = overwrite
    ? concat(stream.subarray(0, to), piece, stream.subarray(Math.min(stream.length, to + length)))
    : concat(stream.subarray(0, to), piece, stream.subarray(to));
  return { bytes, what: `${overwrite ? 'overwrite' : 'insert'} ${from}+${length} at ${to}`, resealed: false };
};

/** Whole records moved, dropped or repeated, checksums left as they were. */
const recordShuffle: Mutator = (stream, prng) => {
  const records = parseStream(stream).records;
  const pieces = records.map((r) => stream.subarray(r.offset, r.offset + r.sizeBytes));
  const i = prng.nextBelow(pieces.length);
  const j = prng.nextBelow(pieces.length);
  const action = prng.nextBelow(3);
  if (action === 0) pieces.splice(i, 1);
  else if (action === 1) pieces.splice(j, 0, pieces[i]!);
  else [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
  const what = `${['drop', 'repeat', 'swap'][action]} record ${i}${action === 0 ? '' : ` (${j})`}`;
  return { bytes: concat(stream.subarray(0, 24), ...pieces), what, resealed: false };
};

const editLength: Mutator = (stream, prng) => {
  const records = parseStream(stream).records;
  const record = pick(prng, records);
  const bytes = stream.slice();
  const deltas = [-8, -4, -1, 1, 4, 8, 4096];
  const value = prng.nextBelow(3) === 0 ? interesting(prng) : Math.max(0, record.length + pick(prng, deltas));
  new DataView(bytes.buffer).setUint32(record.offset + 4, value >>> 0, true);
  return { bytes, what: `length of record ${record.index} ${record.length} -> ${value >>> 0}`, resealed: false };
};

const editPadding: Mutator = (stream, prng) => {
  const padded = parseStream(stream).records.filter((r) => (r.length + 4) % 8 !== 0);
  if (padded.length === 0) return flipBits(stream, prng);
  const record = pick(prng, padded);
  const bytes = stream.slice();
  bytes[record.offset + 12 + record.length + prng.nextBelow(record.sizeBytes - 12 - record.length)] = 1 + prng.nextBelow(255);
  return { bytes, what: `padding of record ${record.index}`, resealed: false };
};

const appendGarbage: Mutator = (stream, prng) => {
  const garbage = new Uint8Array(1 + prng.nextBelow(40));
  for (let i = 0; i < garbage.length; i++) garbage[i] = prng.nextBelow(4) === 0 ? prng.nextBelow(256) : 0;
  return { bytes: concat(stream, garbage), what: `append ${garbage.length} bytes`, resealed: false };
};

/** A field of a record changed, then every checksum, count and digest fixed up. */
const editFieldResealed: Mutator = (stream, prng) => {
  const { header, records } = splitStream(stream);
  const record = pick(prng, records);
  if (record.body.length >= 4) {
    // Most edits in the first 300 bytes of the body, where the fields are.
    const words = Math.floor(Math.min(record.body.length, prng.nextBelow(4) === 0 ? record.body.length : 300) / 4);
    const at = prng.nextBelow(Math.max(1, words)) * 4;
    new DataView(record.body.buffer).setUint32(at, interesting(prng) >>> 0, true);
    return { bytes: sealStream(header, records), what: `resealed: ${record.type.toString(16)} body word at ${at}`, resealed: true };
  }
  return { bytes: sealStream(header, records), what: 'resealed: no edit', resealed: true };
};

const RECORD_TYPES = Object.values(RecordType);

/** Records dropped, repeated, moved, resized or invented, then resealed. */
const editRecordsResealed: Mutator = (stream, prng) => {
  const { header, records } = splitStream(stream);
  const i = prng.nextBelow(records.length);
  const action = prng.nextBelow(5);
  const invented = (): RawRecord => {
    const type = prng.nextBelow(2) === 0 ? pick(prng, RECORD_TYPES) : (prng.nextU32() & 0x8000_00ff) >>> 0;
    const body = new Uint8Array(prng.nextBelow(4) * 8 + prng.nextBelow(9));
    for (let k = 0; k < body.length; k += 4) if (k + 4 <= body.length) new DataView(body.buffer).setUint32(k, interesting(prng) >>> 0, true);
    return { type, body };
  };
  if (action === 0) records.splice(i, 1);
  else if (action === 1) records.splice(prng.nextBelow(records.length + 1), 0, { type: records[i]!.type, body: records[i]!.body.slice() });
  else if (action === 2) records.splice(prng.nextBelow(records.length + 1), 0, invented());
  else if (action === 3) {
    const record = records[i]!;
    record.body = record.body.subarray(0, prng.nextBelow(record.body.length + 1));
  } else {
    const j = prng.nextBelow(records.length);
    [records[i], records[j]] = [records[j]!, records[i]!];
  }
  return { bytes: sealStream(header, records), what: `resealed: ${['drop', 'repeat', 'invent', 'shorten', 'swap'][action]} record ${i}`, resealed: true };
};

const MUTATORS: [Mutator, number][] = [
  [flipBits, 5], [truncate, 2], [deleteRange, 2], [spliceCopy, 2], [recordShuffle, 2], [editLength, 2],
  [editPadding, 1], [appendGarbage, 1], [editFieldResealed, 5], [editRecordsResealed, 3],
];
const TOTAL_WEIGHT = MUTATORS.reduce((sum, [, weight]) => sum + weight, 0);

export function mutate(stream: Uint8Array, prng: Prng): Mutation {
  let draw = prng.nextBelow(TOTAL_WEIGHT);
  for (const [mutator, weight] of MUTATORS) {
    if (draw < weight) return mutator(stream, prng);
    draw -= weight;
  }
  throw new Error('unreachable');
}
