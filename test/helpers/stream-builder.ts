/**
 * Takes Ferry streams apart into records and puts them back together with
 * every checksum, count and digest recomputed (docs/stream-format.md), so a
 * test can make a stream that is well-formed except for exactly the thing it
 * wants the core to refuse (a page out of range, an illegal register value, an
 * unknown record type).
 */
import { RecordType, STREAM_HEADER_BYTES, crc32c, crc32cWord, parseStream, recordSizeBytes } from '../../host/stream-inspect.js';

export interface RawRecord {
  type: number;
  body: Uint8Array;
}

/** The stream's records (bodies copied), and its 24-byte header. */
export function splitStream(stream: Uint8Array): { header: Uint8Array; records: RawRecord[] } {
  const parsed = parseStream(stream);
  if (parsed.framingProblem !== undefined) throw new Error(`splitStream: ${parsed.framingProblem.problem}`);
  return {
    header: stream.slice(0, STREAM_HEADER_BYTES),
    records: parsed.records.map((record) => ({ type: record.type, body: record.body.slice() })),
  };
}

/** One framed record: type, length, body, crc, zero padding. */
export function frameRecord(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(recordSizeBytes(body.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, type >>> 0, true);
  view.setUint32(4, body.length, true);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32c(out.subarray(0, 8 + body.length)), true);
  return out;
}

/**
 * Frames `records` after `header`, recomputing what depends on other records:
 * each CHECKPOINT_END's record count, digest and chain id (a full checkpoint's
 * is its digest; an increment's that of the full one before it), and END's
 * checkpoint count and digest.
 */
export function sealStream(header: Uint8Array, records: RawRecord[]): Uint8Array {
  const parts: Uint8Array[] = [header];
  let groupDigest = 0;
  let groupRecords = 0;
  let streamDigest = 0;
  let checkpoints = 0;
  let chainId = 0;
  for (const record of records) {
    const body = record.body.slice();
    const view = new DataView(body.buffer);
    if (record.type === RecordType.VM_CONFIG) {
      groupDigest = 0;
      groupRecords = 0;
    }
    if (record.type === RecordType.CHECKPOINT_END && body.length === 32) {
      if ((view.getUint32(0, true) & 1) === 0) chainId = groupDigest;
      view.setUint32(20, groupRecords, true);
      view.setUint32(24, chainId, true);
      view.setUint32(28, groupDigest, true);
      checkpoints++;
    }
    if (record.type === RecordType.END && body.length === 8) {
      view.setUint32(0, checkpoints, true);
      view.setUint32(4, streamDigest, true);
    }
    const framed = frameRecord(record.type, body);
    const crc = new DataView(framed.buffer).getUint32(8 + body.length, true);
    if (record.type !== RecordType.CHECKPOINT_END && record.type !== RecordType.END) {
      groupDigest = crc32cWord(groupDigest, crc);
      groupRecords++;
    }
    if (record.type !== RecordType.END) streamDigest = crc32cWord(streamDigest, crc);
    parts.push(framed);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Offsets of each record in a well-formed stream. */
export function recordOffsets(stream: Uint8Array): number[] {
  return parseStream(stream).records.map((record) => record.offset);
}

export function setU32(body: Uint8Array, offset: number, value: number): Uint8Array {
  new DataView(body.buffer, body.byteOffset).setUint32(offset, value >>> 0, true);
  return body;
}

export function getU32(body: Uint8Array, offset: number): number {
  return new DataView(body.buffer, body.byteOffset).getUint32(offset, true);
}
