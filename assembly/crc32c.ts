// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI and ext4. It guards
// link frames (communication.ts) and every record of a checkpoint stream (docs/stream-format.md).
// Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step, which matters
// because a full checkpoint sums every touched page of guest RAM.

/** The reflected Castagnoli polynomial 0x1EDC6F41. */
const POLYNOMIAL: u32 = 0x82F6_3B78;
const TABLE_ENTRIES: usize = 256;
const TABLE_BYTES: i32 = 8 * 256 * 4;
/** Eight tables of 256 u32: table k gives the CRC of a byte followed by k zero bytes. */
const tables = memory.data(TABLE_BYTES);

function buildTables(): void {
  for (let n: usize = 0; n < TABLE_ENTRIES; n++) {
    let crc = <u32>n;
    for (let bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    store<u32>(tables + (n << 2), crc);
  }
  for (let k: usize = 1; k < 8; k++) {
    for (let n: usize = 0; n < TABLE_ENTRIES; n++) {
      const previous = load<u32>(tables + (((k - 1) * TABLE_ENTRIES + n) << 2));
      store<u32>(tables + ((k * TABLE_ENTRIES + n) << 2), (previous >>> 8) ^ entry(0, previous & 0xFF));
    }
  }
}
buildTables();

@inline function entry(table: usize, index: u32): u32 {
  return load<u32>(tables + ((table * TABLE_ENTRIES + <usize>index) << 2));
}

/**
 * Continues a CRC32C over `bytes` bytes at `ptr`; start with crc = 0:
 * crc32cUpdate(crc32cUpdate(0, a), b) is the CRC32C of a followed by b.
 */
export function crc32cUpdate(crc: u32, ptr: usize, bytes: usize): u32 {
  let state = ~crc;
  let at = ptr;
  const end = ptr + bytes;
  while (at + 8 <= end) {
    const low = load<u32>(at) ^ state;
    const high = load<u32>(at, 4);
    state = entry(7, low & 0xFF) ^ entry(6, (low >>> 8) & 0xFF) ^ entry(5, (low >>> 16) & 0xFF) ^ entry(4, low >>> 24)
      ^ entry(3, high & 0xFF) ^ entry(2, (high >>> 8) & 0xFF) ^ entry(1, (high >>> 16) & 0xFF) ^ entry(0, high >>> 24);
    at += 8;
  }
  while (at < end) {
    state = (state >>> 8) ^ entry(0, (state ^ load<u8>(at)) & 0xFF);
    at++;
  }
  return ~state;
}

/** Extends `crc` by the 4 little-endian bytes of `value` (digests are CRCs over CRCs). */
export function crc32cWord(crc: u32, value: u32): u32 {
  let state = ~crc;
  for (let i = 0; i < 4; i++) {
    state = (state >>> 8) ^ entry(0, (state ^ (value >>> (i << 3))) & 0xFF);
  }
  return ~state;
}

/** The CRC32C of `bytes` bytes at `ptr`. */
export function crc32c(ptr: usize, bytes: usize): u32 {
  return crc32cUpdate(0, ptr, bytes);
}
