// The decode cache: a VM's pre-decoded basic blocks (decode.ts builds them, hart.ts runs
// them), in one allocation that grows with the code the VM runs (vm.decode points at it):
//
//   header   capacity, bytes used from the bottom, RAM pages, generation (bumped by every
//            flush), the top of the free space
//   directory  one u32 per RAM page: the page's code map, 0 while it holds no decoded code
//   lines    one bit per 64-byte line of RAM that holds decoded code (or the tohost word):
//            a store to a watched page whose line is clear needs no slow path
//   arena    blocks from the bottom up, code maps from the top down (a block's entries
//            stay contiguous even when it needs a code map for the next page)
//
// A code map has one u32 per halfword of its page (the block that starts there, or 0) and
// a coverage bitmap (one bit per halfword that lies inside a decoded instruction). A page
// with a code map has DIRTY_WATCHED set in its dirty byte; a store to it looks at its
// 64-byte line, and only a store to a line with code takes the slow path, which asks the
// bitmap whether the store overwrote decoded code; if so the whole cache is flushed
// (self-modifying code is rare; blocks link to each other directly, and a flush is what
// makes every link void at once). Data next to code in one page stays fast.
//
// Nothing here imports the Vm: vm.ts allocates and flushes the cache through this file.
import { PAGE_BYTES, PAGE_SHIFT } from "./config";
import { DIRTY_WATCHED } from "./dirty-tracking";

const CAPACITY: usize = 0;
const USED: usize = 4;
const PAGES: usize = 8;
const GENERATION: usize = 12;
const TOP: usize = 16;
const DIRECTORY: usize = 32;
/** The line bitmap follows the directory: 8 bytes (64 lines of 64 bytes) per page. */
const LINE_SHIFT: u32 = 6;

const HALFWORDS_PER_PAGE: u32 = PAGE_BYTES >> 1;
const MAP_SLOTS_BYTES: u32 = HALFWORDS_PER_PAGE << 2;
const MAP_COVERAGE_BYTES: u32 = HALFWORDS_PER_PAGE >> 3;
/** A code map: block slots, then the coverage bitmap (a multiple of 16 bytes). */
export const CODE_MAP_BYTES: u32 = MAP_SLOTS_BYTES + MAP_COVERAGE_BYTES;

/** Arena of a new cache; it doubles when full, up to MAX_ARENA_BYTES, then is flushed. */
const FIRST_ARENA_BYTES: u32 = 128 << 10;
const MAX_ARENA_BYTES: u32 = 8 << 20;

/** Directory and line bitmap: 4 + 8 bytes per page. */
function directoryBytes(pages: u32): u32 {
  return ((pages * 12) + 15) & ~15;
}

@inline function linesOf(cache: usize): usize {
  return cache + DIRECTORY + (<usize>load<u32>(cache + PAGES) << 2);
}

/** Does the 64-byte line of RAM offset `offset` hold decoded code or the tohost word? */
@inline export function lineWatched(cache: usize, offset: u32): bool {
  return ((<u32>load<u8>(linesOf(cache) + (offset >> (LINE_SHIFT + 3))) >> ((offset >> LINE_SHIFT) & 7)) & 1) != 0;
}

/** Watches the lines of RAM bytes [offset, offset + bytes). */
export function watchLines(cache: usize, offset: u32, bytes: u32): void {
  for (let line = offset >> LINE_SHIFT; line <= (offset + bytes - 1) >> LINE_SHIFT; line++) {
    const at = linesOf(cache) + (line >> 3);
    store<u8>(at, <u32>load<u8>(at) | (1 << (line & 7)));
  }
}

/** A new, empty cache for a VM with `pages` pages of RAM and room for `arenaBytes` of blocks. */
export function newDecodeCache(pages: u32, arenaBytes: u32 = FIRST_ARENA_BYTES, generation: u32 = 0): usize {
  const capacity = <u32>DIRECTORY + directoryBytes(pages) + arenaBytes;
  const cache = heap.alloc(capacity);
  store<u32>(cache + CAPACITY, capacity);
  store<u32>(cache + PAGES, pages);
  store<u32>(cache + GENERATION, generation);
  resetDecodeCache(cache);
  return cache;
}

/**
 * Drops every decoded block. Pages keep DIRTY_WATCHED where they had it: their next store
 * finds no code map and clears it (the slow path's job), which costs one slow store per
 * page and keeps a flush from having to know which page holds the tohost word.
 */
export function resetDecodeCache(cache: usize): void {
  const pages = load<u32>(cache + PAGES);
  store<u32>(cache + GENERATION, load<u32>(cache + GENERATION) + 1);
  store<u32>(cache + USED, <u32>DIRECTORY + directoryBytes(pages));
  store<u32>(cache + TOP, load<u32>(cache + CAPACITY));
  memory.fill(cache + DIRECTORY, 0, pages * 12);
}

export function decodeGeneration(cache: usize): u32 {
  return load<u32>(cache + GENERATION);
}

/**
 * A bigger cache in place of a full one (the old one is freed), or the same one flushed
 * once it has reached its largest size. Either way every block is gone.
 */
export function growDecodeCache(cache: usize): usize {
  const pages = load<u32>(cache + PAGES);
  const arena = load<u32>(cache + CAPACITY) - <u32>DIRECTORY - directoryBytes(pages);
  if (arena >= MAX_ARENA_BYTES) {
    resetDecodeCache(cache);
    return cache;
  }
  const bigger = newDecodeCache(pages, arena << 1, load<u32>(cache + GENERATION));
  heap.free(cache);
  return bigger;
}

/** Room for `bytes` more in the arena? */
export function arenaHasRoom(cache: usize, bytes: u32): bool {
  return load<u32>(cache + TOP) - load<u32>(cache + USED) >= bytes;
}

/** Takes `bytes` (a multiple of 16) from the bottom of the arena; the caller made sure there is room. */
export function arenaTake(cache: usize, bytes: u32): usize {
  const used = load<u32>(cache + USED);
  store<u32>(cache + USED, used + bytes);
  return cache + used;
}

/** Takes `bytes` from the top of the arena. */
function arenaTakeTop(cache: usize, bytes: u32): usize {
  const top = load<u32>(cache + TOP) - bytes;
  store<u32>(cache + TOP, top);
  return cache + top;
}

/** The code map of RAM page `page`, or 0. */
@inline export function codeMapOf(cache: usize, page: u32): usize {
  return load<u32>(cache + DIRECTORY + (<usize>page << 2));
}

/** The block that starts at RAM offset `offset` (even, inside RAM), or 0. */
@inline export function blockAt(cache: usize, offset: u32): usize {
  const map = codeMapOf(cache, offset >> PAGE_SHIFT);
  if (map == 0) return 0;
  return load<u32>(map + (<usize>(offset & (PAGE_BYTES - 1)) << 1));
}

export function setBlockAt(cache: usize, offset: u32, block: usize): void {
  store<u32>(codeMapOf(cache, offset >> PAGE_SHIFT) + (<usize>(offset & (PAGE_BYTES - 1)) << 1), <u32>block);
}

/**
 * Makes sure page `page` has a code map (taken from the arena, which must have room for
 * CODE_MAP_BYTES) and is watched, so that stores to it look at the map.
 */
export function ensureCodeMap(cache: usize, dirty: usize, page: u32): void {
  if (codeMapOf(cache, page) != 0) return;
  const map = arenaTakeTop(cache, CODE_MAP_BYTES);
  memory.fill(map, 0, CODE_MAP_BYTES);
  store<u32>(cache + DIRECTORY + (<usize>page << 2), <u32>map);
  store<u8>(dirty + page, load<u8>(dirty + page) | DIRTY_WATCHED);
}

/** Marks RAM bytes [offset, offset + bytes) as decoded code; their pages have code maps. */
export function markDecoded(cache: usize, offset: u32, bytes: u32): void {
  watchLines(cache, offset, bytes);
  for (let half = offset >> 1; half <= (offset + bytes - 1) >> 1; half++) {
    const bits = codeMapOf(cache, half >> (PAGE_SHIFT - 1)) + MAP_SLOTS_BYTES + ((half & (HALFWORDS_PER_PAGE - 1)) >> 3);
    store<u8>(bits, <u32>load<u8>(bits) | (1 << (half & 7)));
  }
}

/** Does [offset, offset + bytes) of RAM overlap a decoded instruction? Pages without code are skipped whole. */
export function overlapsDecoded(cache: usize, offset: u32, bytes: u32): bool {
  if (bytes == 0) return false;
  const last = (offset + bytes - 1) >> 1;
  let half = offset >> 1;
  while (half <= last) {
    const map = codeMapOf(cache, half >> (PAGE_SHIFT - 1));
    if (map == 0) {
      half = (half | (HALFWORDS_PER_PAGE - 1)) + 1;
      continue;
    }
    const bits: u32 = load<u8>(map + MAP_SLOTS_BYTES + ((half & (HALFWORDS_PER_PAGE - 1)) >> 3));
    if (((bits >> (half & 7)) & 1) != 0) return true;
    half++;
  }
  return false;
}

/** Does page `page` hold decoded code (have a code map)? */
export function holdsDecoded(cache: usize, page: u32): bool {
  return codeMapOf(cache, page) != 0;
}
