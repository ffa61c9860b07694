/**
 * Version-3 streams for the tests, written from docs/stream-format.md ("PAGE_COMPRESSED")
 * alone: a second implementation of both codecs, so the core's decoder is checked against
 * the specification and not only against its own encoder. compressStream turns every page
 * of a valid version-2 stream's PAGE_DATA records that a codec shrinks into a
 * PAGE_COMPRESSED record, chooses the codec as the core does (zero and dictionary-matching
 * words: 3/4 of the page or more, the word codec; else LZ), and reseals the stream.
 */
import { crc32c, RecordType } from '../../host/stream-inspect.js';
import { getU32, sealStream, splitStream } from './stream-builder.js';
import type { RawRecord } from './stream-builder.js';

export const PAGE_COMPRESSED = 0x12;
const PAGE_BYTES = 4096;
const RAW_LIMIT = PAGE_BYTES - 64;

const slotOf = (word: number): number => Number((BigInt(word >>> 10) * 0x9e3779b1n) & 0xffff_ffffn) >>> 28;

function words(page: Uint8Array): Uint32Array {
  return new Uint32Array(page.buffer.slice(page.byteOffset, page.byteOffset + PAGE_BYTES));
}

/** Zero or dictionary-matching words (upper 22 bits), as the classification counts them. */
export function regularWords(page: Uint8Array): number {
  const dictionary = new Uint32Array(16);
  let regular = 0;
  for (const word of words(page)) {
    if (word === 0) { regular++; continue; }
    const slot = slotOf(word);
    if (dictionary[slot]! >>> 10 === word >>> 10) regular++;
    dictionary[slot] = word;
  }
  return regular;
}

export function encodeWords(page: Uint8Array): Uint8Array {
  const dictionary = new Uint32Array(16);
  const tags = new Uint8Array(256);
  const payload: number[] = [];
  words(page).forEach((word, i) => {
    let tag = 0;
    if (word !== 0) {
      const slot = slotOf(word);
      const known = dictionary[slot]!;
      if (known === word) { tag = 1; payload.push(slot); }
      else if (known >>> 10 === word >>> 10) { tag = 2; payload.push(slot, word & 0xff, (word >>> 8) & 0x03); }
      else { tag = 3; payload.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24); }
      dictionary[slot] = word;
    }
    tags[i >> 2] |= tag << ((i & 3) * 2);
  });
  return new Uint8Array([...tags, ...payload]);
}

export function encodeLz(page: Uint8Array): Uint8Array {
  const out: number[] = [];
  const last = new Map<number, number>();
  const literals = (from: number, to: number): void => {
    for (let at = from; at < to; at += 128) {
      const run = Math.min(128, to - at);
      out.push(run - 1, ...page.subarray(at, at + run));
    }
  };
  const view = new DataView(page.buffer, page.byteOffset, PAGE_BYTES);
  let start = 0;
  let position = 0;
  while (position + 4 <= PAGE_BYTES) {
    const key = view.getUint32(position, true);
    const from = last.get(key);
    last.set(key, position);
    if (from === undefined) { position++; continue; }
    let length = 4;
    while (position + length < PAGE_BYTES && length < 131 && page[from + length] === page[position + length]) length++;
    literals(start, position);
    const distance = position - from;
    out.push(0x80 | (length - 4), distance & 0xff, distance >>> 8);
    position += length;
    start = position;
  }
  literals(start, PAGE_BYTES);
  return new Uint8Array(out);
}

/** The PAGE_COMPRESSED body for `page` (number `number`), or undefined when no codec wins or the page is zero. */
export function compressedRecord(number: number, page: Uint8Array): Uint8Array | undefined {
  if (page.every((byte) => byte === 0)) return undefined;
  const strong = regularWords(page) >= 768;
  const encoded = strong ? encodeWords(page) : encodeLz(page);
  if (encoded.length >= RAW_LIMIT) return undefined;
  const body = new Uint8Array(16 + encoded.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, number, true);
  view.setUint32(4, strong ? 1 : 2, true);
  view.setUint32(8, encoded.length, true);
  view.setUint32(12, crc32c(page), true);
  body.set(encoded, 16);
  return body;
}

/** PAGE_DATA's pages, each as one PAGE_DATA record or one PAGE_COMPRESSED record. */
function splitPageData(body: Uint8Array): RawRecord[] {
  const count = getU32(body, 0);
  const contents = 8 + 4 * (count + (count & 1));
  const out: RawRecord[] = [];
  for (let i = 0; i < count; i++) {
    const number = getU32(body, 8 + 4 * i);
    const page = body.slice(contents + i * PAGE_BYTES, contents + (i + 1) * PAGE_BYTES);
    const compressed = compressedRecord(number, page);
    if (compressed !== undefined) { out.push({ type: PAGE_COMPRESSED, body: compressed }); continue; }
    const raw = new Uint8Array(16 + PAGE_BYTES);
    new DataView(raw.buffer).setUint32(0, 1, true);
    new DataView(raw.buffer).setUint32(8, number, true);
    raw.set(page, 16);
    out.push({ type: RecordType.PAGE_DATA, body: raw });
  }
  return out;
}

/** `stream` (version 2) as version 3 with its compressible pages compressed; the pages it compressed. */
export function compressStream(stream: Uint8Array): { stream: Uint8Array; compressedPages: number } {
  const { header, records } = splitStream(stream);
  const out: RawRecord[] = [];
  for (const record of records) {
    if (record.type === RecordType.PAGE_DATA) out.push(...splitPageData(record.body));
    else out.push(record);
  }
  const v3 = header.slice();
  const view = new DataView(v3.buffer);
  view.setUint32(12, 3, true);
  view.setUint32(20, crc32c(v3.subarray(0, 20)), true);
  return { stream: sealStream(v3, out), compressedPages: out.filter((record) => record.type === PAGE_COMPRESSED).length };
}
