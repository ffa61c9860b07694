// The staging buffer: a scratch area in the core's memory where the host puts the bytes
// it passes in (image data, link frames, stream chunks) and takes bytes out. The
// component build's cabi_realloc (index.ts) hands out the same area.
import { STAGING_BYTES } from "./config";

const staging = heap.alloc(STAGING_BYTES);

export function stagingBuffer(): usize {
  return staging;
}

export function stagingBytes(): u32 {
  return STAGING_BYTES;
}

/** Does [ptr, ptr + len) lie inside the staging buffer? */
export function inStaging(ptr: usize, len: u32): bool {
  return ptr >= staging && len <= STAGING_BYTES && ptr - staging <= STAGING_BYTES - len;
}
