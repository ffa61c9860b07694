// Adaptive page compression (page-compression.ts): each class of page gets its codec,
// every encoding decodes to the page it came from, and a damaged encoding is refused
// rather than decoded into something else.
import { PAGE_BYTES } from "../config";
import {
  CLASS_RAW, CLASS_STRONG, CLASS_WEAK, CLASS_ZERO, CODEC_LZ, CODEC_WORDS, compressPage, decompressPage, ENCODE_CAPACITY_BYTES,
  lastClass, lastCodec, PAGE_RAW_LIMIT_BYTES,
} from "../page-compression";

const page = heap.alloc(PAGE_BYTES);
const decoded = heap.alloc(PAGE_BYTES);
const encoded = heap.alloc(ENCODE_CAPACITY_BYTES);

function fill(word: (i: u32) => u32): void {
  for (let i: u32 = 0; i < PAGE_BYTES / 4; i++) store<u32>(page + (<usize>i << 2), word(i));
}

/** A small deterministic generator (xorshift32). */
let state: u32 = 0x1234_5678;
function next(): u32 {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

/** Compresses `page`, expects class `expected`, and checks the round trip. */
function roundTrip(expected: u32): u32 {
  const bytes = compressPage(page, encoded);
  expect(lastClass).toBe(expected);
  if (bytes == 0) return 0;
  expect(bytes).toBeLessThan(PAGE_RAW_LIMIT_BYTES);
  memory.fill(decoded, 0xA5, PAGE_BYTES);
  expect(decompressPage(lastCodec, encoded, bytes, decoded)).toBe(true);
  expect(memory.compare(page, decoded, PAGE_BYTES)).toBe(0, "decoded page differs");
  return bytes;
}

describe("classes and codecs", () => {
  it("a zero page is class zero (it needs no codec)", () => {
    fill((i: u32): u32 => 0);
    expect(roundTrip(CLASS_ZERO)).toBe(0);
  });

  it("mostly zero words with a few small values is strongly regular: the word codec, many times smaller", () => {
    fill((i: u32): u32 => i % 16 == 0 ? 0x8000_1000 + (i & 0x3F) : 0);
    const bytes = roundTrip(CLASS_STRONG);
    expect(lastCodec).toBe(CODEC_WORDS);
    expect(bytes).toBeLessThan(PAGE_BYTES / 8);
  });

  it("pointers into one region (upper bits alike) are strongly regular", () => {
    fill((i: u32): u32 => 0x8000_4000 + ((i * 12) & 0x3FF));
    roundTrip(CLASS_STRONG);
  });

  it("text-like bytes (repeated phrases, varied words) are weakly regular: LZ", () => {
    const phrase = "the quick brown fox jumps over the lazy dog; ";
    for (let i: u32 = 0; i < PAGE_BYTES; i++) store<u8>(page + i, <u8>phrase.charCodeAt((i * 7 / 5) % phrase.length));
    const bytes = roundTrip(CLASS_WEAK);
    expect(lastCodec).toBe(CODEC_LZ);
    expect(bytes).toBeLessThan(PAGE_BYTES / 2);
  });

  it("random words are incompressible: raw", () => {
    fill((i: u32): u32 => next());
    roundTrip(CLASS_RAW);
  });
});

describe("a damaged encoding is refused", () => {
  it("the word codec: a slot out of range, a missing payload, trailing bytes", () => {
    fill((i: u32): u32 => i % 4 == 0 ? 0x4000_0000 + i : 0);
    const bytes = compressPage(page, encoded);
    expect(lastCodec).toBe(CODEC_WORDS);
    expect(decompressPage(CODEC_WORDS, encoded, bytes - 1, decoded)).toBe(false);
    store<u8>(encoded + bytes, 0);
    expect(decompressPage(CODEC_WORDS, encoded, bytes + 1, decoded)).toBe(false);
    // Word 0 is a miss (4 bytes after the 256 bytes of tags); word 4 shares its upper bits: a
    // partial match, whose slot byte comes next. Slot 200 names no dictionary word.
    expect((load<u8>(encoded) & 3)).toBe(3);
    expect((load<u8>(encoded + 1) & 3)).toBe(2);
    expect(decompressPage(CODEC_WORDS, encoded, bytes, decoded)).toBe(true);
    store<u8>(encoded + 260, 200);
    expect(decompressPage(CODEC_WORDS, encoded, bytes, decoded)).toBe(false);
  });

  it("LZ: a distance before the page, a match past its end, a short page", () => {
    store<u8>(encoded, 0x80); store<u16>(encoded + 1, 1); // a match with nothing produced yet
    expect(decompressPage(CODEC_LZ, encoded, 3, decoded)).toBe(false);
    store<u8>(encoded, 0); store<u8>(encoded + 1, 7); // one literal: a page of one byte
    expect(decompressPage(CODEC_LZ, encoded, 2, decoded)).toBe(false);
    // One literal, then matches of 131 bytes at distance 1: 1 + 32 × 131 > 4096.
    store<u8>(encoded, 0); store<u8>(encoded + 1, 7);
    for (let i: u32 = 0; i < 32; i++) { store<u8>(encoded + 2 + i * 3, 0xFF); store<u16>(encoded + 3 + i * 3, 1); }
    expect(decompressPage(CODEC_LZ, encoded, 2 + 32 * 3, decoded)).toBe(false);
  });

  it("an unknown codec, or no bytes at all", () => {
    expect(decompressPage(3, encoded, 10, decoded)).toBe(false);
    expect(decompressPage(CODEC_LZ, encoded, 0, decoded)).toBe(false);
  });
});
