// CRC32C (crc32c.ts): the slicing-by-8 loop must agree with the bytewise definition for
// every length and alignment, and extending a CRC must equal summing the concatenation —
// the stream's records and digests rely on both.
import { crc32c, crc32cUpdate, crc32cWord } from "../crc32c";

/** The definition, one bit at a time. */
function reference(ptr: usize, bytes: usize): u32 {
  let crc: u32 = 0xFFFF_FFFF;
  for (let i: usize = 0; i < bytes; i++) {
    crc ^= load<u8>(ptr + i);
    for (let bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F6_3B78 : crc >>> 1;
  }
  return ~crc;
}

describe("crc32c", () => {
  it("gives the Castagnoli check value for \"123456789\"", () => {
    const text = memory.data<u8>([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    expect(crc32c(text, 9)).toBe(0xE306_9283);
  });

  it("agrees with the bitwise definition at every length and alignment up to 70 bytes", () => {
    const buffer = heap.alloc(96);
    for (let i: usize = 0; i < 96; i++) store<u8>(buffer + i, <u8>(i * 37 + 11));
    let mismatches = 0;
    for (let start: usize = 0; start < 8; start++) {
      for (let bytes: usize = 0; bytes <= 70; bytes++) {
        if (crc32c(buffer + start, bytes) != reference(buffer + start, bytes)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it("extends: the CRC of a then b is the CRC of their concatenation", () => {
    const buffer = heap.alloc(64);
    for (let i: usize = 0; i < 64; i++) store<u8>(buffer + i, <u8>(255 - i * 3));
    expect(crc32cUpdate(crc32c(buffer, 13), buffer + 13, 51)).toBe(crc32c(buffer, 64));
    store<u32>(buffer, 0xDEAD_BEEF);
    expect(crc32cWord(7, 0xDEAD_BEEF)).toBe(crc32cUpdate(7, buffer, 4));
  });
});
