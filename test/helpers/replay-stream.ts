/**
 * Version-4 (trace-replay) streams for the tests, written from docs/stream-format.md
 * ("INPUT_LOG") alone: a valid version-2 stream's checkpoint, then two INPUT_LOG records
 * with one entry of every kind, then a checkpoint of state only (incremental, no pages)
 * and END. Every check of INPUT_LOG passes on it; a whole-stream restore refuses it (its
 * memory at the end is the replay's).
 */
import { crc32c, RecordType } from '../../host/stream-inspect.js';
import { sealStream, splitStream } from './stream-builder.js';
import type { RawRecord } from './stream-builder.js';

export const INPUT_LOG = 0x30;
const ENTRY_BYTES = 32;

interface Entry { position: bigint; kind: number; a?: number; b?: number; offset?: number; data?: Uint8Array }

function logBody(flags: number, from: bigint, until: bigint, digest: number, entries: Entry[]): Uint8Array {
  const size = entries.reduce((sum, e) => sum + ENTRY_BYTES + (((e.data?.length ?? 0) + 7) & ~7), 32);
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  view.setUint32(0, flags, true);
  view.setUint32(4, entries.length, true);
  view.setBigUint64(8, from, true);
  view.setBigUint64(16, until, true);
  view.setUint32(24, digest, true);
  let at = 32;
  for (const e of entries) {
    view.setBigUint64(at, e.position, true);
    view.setUint32(at + 8, e.kind, true);
    view.setUint32(at + 12, e.a ?? 0, true);
    view.setUint32(at + 16, e.b ?? 0, true);
    view.setUint32(at + 20, e.offset ?? 0, true);
    view.setUint32(at + 24, e.data?.length ?? 0, true);
    if (e.data !== undefined) body.set(e.data, at + ENTRY_BYTES);
    at += ENTRY_BYTES + (((e.data?.length ?? 0) + 7) & ~7);
  }
  return body;
}

/** `single`: a version-2 stream of one full, complete checkpoint. */
export function replayStream(single: Uint8Array): Uint8Array {
  const { header, records } = splitStream(single);
  const v4 = header.slice();
  const hv = new DataView(v4.buffer);
  hv.setUint32(12, 4, true);
  hv.setUint32(20, crc32c(v4.subarray(0, 20)), true);
  const checkpoint = records.filter((r) => r.type !== RecordType.END);
  const vcpu = checkpoint.find((r) => r.type === RecordType.VCPU)!;
  const from = new DataView(vcpu.body.buffer, vcpu.body.byteOffset).getBigUint64(216, true);
  const message = new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x21, 0x0a, 0x00, 0x01]); // 9 bytes: padded to 16
  const first = logBody(0, from, from + 100n, 0, [
    { position: from + 10n, kind: 1, a: 0x1234, b: 0xc01 }, // a time read
    { position: from + 20n, kind: 2, a: 5 }, // an interrupt (STI) taken before instruction from + 20
    { position: from + 30n, kind: 3, a: 0, b: 9, offset: 0x1000, data: message }, // channel_receive: 9 bytes at RAM 0x1000
  ]);
  const last = logBody(1, from + 100n, from + 200n, 0xdead_beef, [
    { position: from + 100n, kind: 4, a: 1 }, // an sc.w that failed
    { position: from + 150n, kind: 5, a: 0x55 }, // a device load
    { position: from + 200n, kind: 2, a: 9 }, // an interrupt at the stop
  ]);
  const states = checkpoint.filter((r) => r.type === RecordType.VM_CONFIG || (r.type >= RecordType.VCPU && r.type <= RecordType.SCHEDULE));
  const endIndex = checkpoint.findIndex((r) => r.type === RecordType.CHECKPOINT_END);
  const end = checkpoint[endIndex]!.body.slice();
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 1, true); // incremental
  ev.setUint32(4, 1, true); // sequence 1
  const tail: RawRecord[] = [...states.map((r) => ({ type: r.type, body: r.body.slice() })), { type: RecordType.CHECKPOINT_END, body: end }];
  return sealStream(v4, [
    ...checkpoint,
    { type: INPUT_LOG, body: first },
    { type: INPUT_LOG, body: last },
    ...tail,
    { type: RecordType.END, body: new Uint8Array(8) },
  ]);
}
