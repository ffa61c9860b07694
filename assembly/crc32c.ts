// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI and ext4.
// Guards link frames and checkpoint stream records. Table-driven, one byte at a time:
// small and plenty fast for frames and records.
const POLY: u32 = 0x82F6_3B78;
const table = new StaticArray<u32>(256);
let tableReady = false;

function buildTable(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ POLY : c >> 1;
    unchecked(table[n] = c);
  }
  tableReady = true;
}

/** Continues a CRC32C over `len` bytes at `ptr`; start with crc = 0. */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  if (!tableReady) buildTable();
  let c = ~crc;
  for (let i: usize = 0; i < len; i++) {
    c = unchecked(table[(c ^ load<u8>(ptr + i)) & 0xFF]) ^ (c >> 8);
  }
  return ~c;
}

export function crc32c(ptr: usize, len: usize): u32 {
  return crc32cUpdate(0, ptr, len);
}
