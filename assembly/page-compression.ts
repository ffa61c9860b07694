// Adaptive page compression (after Jin et al., Cluster 2009: zero-aware,
// characteristics-based): each page a compressing migration sends is classified by what
// its words look like, and compressed with the codec that suits that class — cheap for
// the regular pages that dominate guest memory — or sent raw when no codec wins.
// docs/stream-format.md, "PAGE_COMPRESSED", specifies both encodings.
//
//   zero             every word 0: a ZERO_PAGES entry (the collector's, 4 bytes)
//   strongly regular at least STRONG_WORDS_PER_PAGE of its 1024 words are zero or match a
//                    word of a 16-entry dictionary of recently seen words in full or in
//                    their upper 22 bits (WKdm-style): CODEC_WORDS, 2-bit tags + payloads
//   weakly regular   the rest: CODEC_LZ, byte literals and back-references
//   raw              a page whose encoding would not be smaller than PAGE_RAW_LIMIT_BYTES
//
// The codecs run on the core's own clock: COMPRESS_CYCLES_PER_BYTE and
// DECOMPRESS_CYCLES_PER_BYTE are what the bound charges for them (downtime.ts).
import { PAGE_BYTES } from "./config";

export const CODEC_WORDS: u8 = 1;
export const CODEC_LZ: u8 = 2;

export const CLASS_ZERO: u32 = 0;
export const CLASS_STRONG: u32 = 1;
export const CLASS_WEAK: u32 = 2;
export const CLASS_RAW: u32 = 3;
export const PAGE_CLASSES: u32 = 4;

/** Words of a page: 1024 of 4 bytes. */
const PAGE_WORDS: u32 = PAGE_BYTES >> 2;
/** A page is strongly regular from this many zero or dictionary-matching words on (3/4). */
export const STRONG_WORDS_PER_PAGE: u32 = 768;
/** An encoding must be smaller than this to be sent: below it, the record's framing is paid for. */
export const PAGE_RAW_LIMIT_BYTES: u32 = PAGE_BYTES - 64;
/** Room an encoder may use before it gives up (a word codec's worst case is 256 + 5 per word). */
export const ENCODE_CAPACITY_BYTES: u32 = PAGE_BYTES + PAGE_BYTES + 512;
/** Classifying and compressing, per byte of page; decompressing, per byte of page (the core's cycles). */
export const COMPRESS_CYCLES_PER_BYTE: u64 = 3;
export const DECOMPRESS_CYCLES_PER_BYTE: u64 = 1;

const WORD_TAGS_BYTES: u32 = PAGE_WORDS >> 2;
const TAG_ZERO: u32 = 0;
const TAG_EXACT: u32 = 1;
const TAG_PARTIAL: u32 = 2;
const TAG_MISS: u32 = 3;
const DICTIONARY_WORDS: u32 = 16;
const LOW_BITS_MASK: u32 = 0x3FF;

const dictionary = new StaticArray<u32>(DICTIONARY_WORDS);
/** LZ's last position of each hashed 4-byte sequence (+1; 0: none). */
const LZ_HASH_SLOTS: u32 = 1024;
const lzHash = new StaticArray<u16>(LZ_HASH_SLOTS);
const LZ_MIN_MATCH: u32 = 4;
const LZ_MAX_MATCH: u32 = 131;
const LZ_MAX_LITERALS: u32 = 128;

/** The dictionary slot of a word: a hash of its upper 22 bits, so a partial match finds it. */
@inline function slotOf(word: u32): u32 {
  return ((word >> 10) * 0x9E3779B1) >> 28;
}

function clearDictionary(): void {
  for (let i: u32 = 0; i < DICTIONARY_WORDS; i++) unchecked(dictionary[i] = 0);
}

/** Zero or dictionary-matching words of the page at `page` (the similarity the class is decided by). */
export function regularWords(page: usize): u32 {
  clearDictionary();
  let regular: u32 = 0;
  for (let i: u32 = 0; i < PAGE_WORDS; i++) {
    const word = load<u32>(page + (<usize>i << 2));
    if (word == 0) { regular++; continue; }
    const slot = slotOf(word);
    if ((unchecked(dictionary[slot]) >> 10) == (word >> 10)) regular++;
    unchecked(dictionary[slot] = word);
  }
  return regular;
}

/** A page of zeros? */
export function isZero(page: usize): bool {
  for (let i: u32 = 0; i < PAGE_BYTES; i += 8) if (load<u64>(page + i) != 0) return false;
  return true;
}

/**
 * Encodes the page at `page` into `out` (ENCODE_CAPACITY_BYTES of room) with the codec its
 * class calls for. Returns the encoded bytes, and sets `lastCodec` and `lastClass`; 0 for
 * a page to send raw (class raw) or as a zero page (class zero).
 */
export function compressPage(page: usize, out: usize): u32 {
  if (isZero(page)) { lastClass = CLASS_ZERO; return 0; }
  const strong = regularWords(page) >= STRONG_WORDS_PER_PAGE;
  const bytes = strong ? encodeWords(page, out) : encodeLz(page, out);
  if (bytes >= PAGE_RAW_LIMIT_BYTES) { lastClass = CLASS_RAW; return 0; }
  lastClass = strong ? CLASS_STRONG : CLASS_WEAK;
  lastCodec = strong ? CODEC_WORDS : CODEC_LZ;
  return bytes;
}

export let lastClass: u32 = CLASS_RAW;
export let lastCodec: u8 = 0;

// ---- the word codec (strongly regular pages) ----

function encodeWords(page: usize, out: usize): u32 {
  clearDictionary();
  memory.fill(out, 0, WORD_TAGS_BYTES);
  let at: u32 = WORD_TAGS_BYTES;
  for (let i: u32 = 0; i < PAGE_WORDS; i++) {
    const word = load<u32>(page + (<usize>i << 2));
    let tag = TAG_ZERO;
    if (word != 0) {
      const slot = slotOf(word);
      const known = unchecked(dictionary[slot]);
      if (known == word) { tag = TAG_EXACT; store<u8>(out + at, <u8>slot); at += 1; }
      else if ((known >> 10) == (word >> 10)) { tag = TAG_PARTIAL; store<u8>(out + at, <u8>slot); store<u16>(out + at + 1, <u16>(word & LOW_BITS_MASK)); at += 3; }
      else { tag = TAG_MISS; store<u32>(out + at, word); at += 4; }
      unchecked(dictionary[slot] = word);
    }
    const tags = out + (i >> 2);
    store<u8>(tags, load<u8>(tags) | <u8>(tag << ((i & 3) << 1)));
  }
  return at;
}

/** Decodes `bytes` of the word codec at `input` into the page at `page`; false if they are not exactly one page's encoding. */
function decodeWords(input: usize, bytes: u32, page: usize): bool {
  if (bytes < WORD_TAGS_BYTES) return false;
  clearDictionary();
  let at: u32 = WORD_TAGS_BYTES;
  for (let i: u32 = 0; i < PAGE_WORDS; i++) {
    const tag = (<u32>load<u8>(input + (i >> 2)) >> ((i & 3) << 1)) & 3;
    let word: u32 = 0;
    if (tag == TAG_EXACT || tag == TAG_PARTIAL) {
      if (at + (tag == TAG_EXACT ? 1 : 3) > bytes) return false;
      const slot = <u32>load<u8>(input + at);
      if (slot >= DICTIONARY_WORDS) return false;
      word = unchecked(dictionary[slot]);
      if (tag == TAG_PARTIAL) {
        const low = <u32>load<u16>(input + at + 1);
        if (low > LOW_BITS_MASK) return false;
        word = (word & ~LOW_BITS_MASK) | low;
      }
      at += tag == TAG_EXACT ? 1 : 3;
    } else if (tag == TAG_MISS) {
      if (at + 4 > bytes) return false;
      word = load<u32>(input + at);
      at += 4;
    }
    if (tag != TAG_ZERO) {
      if (word == 0) return false; // a zero word has its own tag: the encoding is canonical
      unchecked(dictionary[slotOf(word)] = word);
    }
    store<u32>(page + (<usize>i << 2), word);
  }
  return at == bytes;
}

// ---- the LZ codec (weakly regular pages) ----

@inline function hash4(at: usize): u32 {
  return (load<u32>(at) * 0x9E3779B1) >> 22;
}

/** Writes `count` literals from `from` as runs of at most LZ_MAX_LITERALS; returns the new output offset (or past the limit). */
function emitLiterals(out: usize, at: u32, from: usize, count: u32): u32 {
  while (count > 0) {
    const run = count < LZ_MAX_LITERALS ? count : LZ_MAX_LITERALS;
    if (at + 1 + run > PAGE_RAW_LIMIT_BYTES) return PAGE_RAW_LIMIT_BYTES;
    store<u8>(out + at, <u8>(run - 1));
    memory.copy(out + at + 1, from, run);
    at += 1 + run;
    from += run;
    count -= run;
  }
  return at;
}

function encodeLz(page: usize, out: usize): u32 {
  for (let i: u32 = 0; i < LZ_HASH_SLOTS; i++) unchecked(lzHash[i] = 0);
  let at: u32 = 0;
  let literalStart: u32 = 0;
  let position: u32 = 0;
  while (position + LZ_MIN_MATCH <= PAGE_BYTES) {
    const slot = hash4(page + position);
    const candidate = <u32>unchecked(lzHash[slot]);
    unchecked(lzHash[slot] = <u16>(position + 1));
    if (candidate != 0 && load<u32>(page + candidate - 1) == load<u32>(page + position)) {
      const from = candidate - 1;
      let length = LZ_MIN_MATCH;
      while (position + length < PAGE_BYTES && length < LZ_MAX_MATCH && load<u8>(page + from + length) == load<u8>(page + position + length)) length++;
      at = emitLiterals(out, at, page + literalStart, position - literalStart);
      if (at + 3 > PAGE_RAW_LIMIT_BYTES) return PAGE_RAW_LIMIT_BYTES;
      store<u8>(out + at, <u8>(0x80 | (length - LZ_MIN_MATCH)));
      store<u16>(out + at + 1, <u16>(position - from));
      at += 3;
      position += length;
      literalStart = position;
    } else {
      position++;
    }
  }
  return emitLiterals(out, at, page + literalStart, PAGE_BYTES - literalStart);
}

/** Decodes `bytes` of the LZ codec at `input` into the page at `page`; false unless they make exactly one page. */
function decodeLz(input: usize, bytes: u32, page: usize): bool {
  let at: u32 = 0;
  let produced: u32 = 0;
  while (at < bytes) {
    const control = <u32>load<u8>(input + at);
    at++;
    if (control < 0x80) {
      const run = control + 1;
      if (at + run > bytes || produced + run > PAGE_BYTES) return false;
      memory.copy(page + produced, input + at, run);
      at += run;
      produced += run;
    } else {
      if (at + 2 > bytes) return false;
      const length = (control & 0x7F) + LZ_MIN_MATCH;
      const distance = <u32>load<u16>(input + at);
      at += 2;
      if (distance == 0 || distance > produced || produced + length > PAGE_BYTES) return false;
      for (let i: u32 = 0; i < length; i++) store<u8>(page + produced + i, load<u8>(page + produced - distance + i));
      produced += length;
    }
  }
  return produced == PAGE_BYTES;
}

/** Decodes one page encoded with `codec`; false for an unknown codec or an encoding that is not exactly one page. */
export function decompressPage(codec: u32, input: usize, bytes: u32, page: usize): bool {
  if (bytes == 0 || bytes >= PAGE_RAW_LIMIT_BYTES) return false;
  if (codec == <u32>CODEC_WORDS) return decodeWords(input, bytes, page);
  if (codec == <u32>CODEC_LZ) return decodeLz(input, bytes, page);
  return false;
}
