/**
 * ELF32 little-endian RISC-V executable parser: the entry point, the PT_LOAD
 * segments and the symbol table. Everything in the file is untrusted: every
 * offset and size is checked against the file before it is used, and anything
 * ferry cannot run is refused with a one-line ImageError.
 */
import { ImageError } from './errors.js';
import { hex } from './format.js';

export { ImageError };

export interface ElfSegment {
  /** Position in the program header table (as `readelf -l` numbers it). */
  index: number;
  /** Guest-physical load address. */
  paddr: number;
  vaddr: number;
  /** The bytes from the file (p_filesz of them); a view into the image. */
  data: Uint8Array;
  /** Size in memory; the bytes past data.length are zero (bss). */
  memBytes: number;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  sizeBytes: number;
  /** STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2. */
  bind: number;
  /** STT_NOTYPE 0, STT_OBJECT 1, STT_FUNC 2, ... */
  type: number;
}

export interface ElfImage {
  entry: number;
  /** e_flags: for RISC-V, the ABI and compressed-instruction flags. */
  flags: number;
  /** PT_LOAD segments with a non-zero memory size, in file order. */
  segments: ElfSegment[];
  /** Defined symbols by name; a global definition wins over a local one. */
  symbols: Map<string, ElfSymbol>;
}

export const EM_RISCV = 243;
export const ELF32_HEADER_BYTES = 52;
export const ELF32_PHDR_BYTES = 32;
export const ELF32_SHDR_BYTES = 40;
export const ELF32_SYM_BYTES = 16;

const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const EV_CURRENT = 1;
const ET_EXEC = 2;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const STB_GLOBAL = 1;

const EF_RISCV_FLOAT_ABI = 0x6;

/** Machines people are likely to hand us by mistake, for the error message. */
const MACHINE_NAMES: Record<number, string> = {
  0: 'none',
  2: 'SPARC',
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  40: 'ARM',
  43: 'SPARC v9',
  50: 'IA-64',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  247: 'BPF',
  258: 'LoongArch',
};

const TYPE_NAMES: Record<number, string> = {
  0: 'ET_NONE (no file type)',
  1: 'ET_REL (a relocatable object: link it first)',
  3: 'ET_DYN (a shared object or position-independent executable: link it static, non-PIE)',
  4: 'ET_CORE (a core dump)',
};

export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? `unknown machine ${machine}`;
}

/** Parses and validates an RV32 executable; throws ImageError on anything else. */
export function parseElf(bytes: Uint8Array): ElfImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkIdent(bytes, view);
  checkHeader(bytes, view);
  const segments = readSegments(bytes, view);
  const symbols = readSymbols(bytes, view);
  return {
    entry: view.getUint32(24, true),
    flags: view.getUint32(36, true),
    segments,
    symbols,
  };
}

/** True if the bytes start with the ELF magic number (any class, any machine). */
export function hasElfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function checkIdent(bytes: Uint8Array, view: DataView): void {
  if (bytes.length === 0) throw new ImageError('not an ELF file (the file is empty)');
  if (!hasElfMagic(bytes)) throw new ImageError('not an ELF file (no \\x7fELF magic number at the start)');
  if (bytes.length < 16) throw truncated('ELF identification', 0, 16, bytes.length);
  const elfClass = bytes[4];
  const data = bytes[5];
  if (elfClass !== ELFCLASS32) {
    const what = elfClass === ELFCLASS64 ? 'ELFCLASS64' : `EI_CLASS ${elfClass}`;
    throw new ImageError(`not a 32-bit ELF file (${what}${machineSuffix(bytes, view, data)}): ferry runs RV32 executables`);
  }
  if (data !== ELFDATA2LSB) {
    const what = data === ELFDATA2MSB ? 'big-endian, ELFDATA2MSB' : `EI_DATA ${data}`;
    throw new ImageError(`not a little-endian ELF file (${what}${machineSuffix(bytes, view, data)}): RISC-V images are little-endian`);
  }
  if (bytes[6] !== EV_CURRENT) throw new ImageError(`unsupported ELF version ${bytes[6]} (expected ${EV_CURRENT})`);
}

/** ", machine x86-64" when e_machine is readable: e_machine sits at 18 in every class. */
function machineSuffix(bytes: Uint8Array, view: DataView, data: number | undefined): string {
  if (bytes.length < 20 || (data !== ELFDATA2LSB && data !== ELFDATA2MSB)) return '';
  return `, machine ${machineName(view.getUint16(18, data === ELFDATA2LSB))}`;
}

function checkHeader(bytes: Uint8Array, view: DataView): void {
  if (bytes.length < ELF32_HEADER_BYTES) throw truncated('ELF header', 0, ELF32_HEADER_BYTES, bytes.length);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  const flags = view.getUint32(36, true);
  if (machine !== EM_RISCV) {
    throw new ImageError(`not a RISC-V executable: machine is ${machineName(machine)} (e_machine ${machine})`);
  }
  if (type !== ET_EXEC) {
    throw new ImageError(`not an executable: e_type is ${TYPE_NAMES[type] ?? `unknown type ${type}`}`);
  }
  if ((flags & EF_RISCV_FLOAT_ABI) !== 0) {
    throw new ImageError('built for a hard-float ABI (ilp32f/ilp32d): ferry runs RV32IMAC, build with -mabi=ilp32');
  }
}

function readSegments(bytes: Uint8Array, view: DataView): ElfSegment[] {
  const table = readTable(bytes, view, 'program header', 28, 42, 44, ELF32_PHDR_BYTES);
  const segments: ElfSegment[] = [];
  for (let index = 0; index < table.count; index++) {
    const at = table.offset + index * table.entryBytes;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const segment = readSegment(bytes, view, at, index);
    if (segment.memBytes > 0) segments.push(segment);
  }
  if (segments.length === 0) throw new ImageError('no loadable (PT_LOAD) segments: nothing to run');
  checkNoOverlap(segments);
  return segments;
}

/**
 * Two PT_LOAD segments over the same guest memory would make the image's content
 * depend on the order they are copied in: a linker never writes that, so it is a
 * damaged or hand-made file. Sorted by address, each must end before the next starts.
 */
function checkNoOverlap(segments: readonly ElfSegment[]): void {
  const sorted = [...segments].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const segment = sorted[i]!;
    if (segment.paddr < previous.paddr + previous.memBytes) {
      const [first, second] = previous.index < segment.index ? [previous, segment] : [segment, previous];
      throw new ImageError(
        `segments ${first.index} and ${second.index} overlap: ${range(first)} and ${range(second)} (a linker never writes this; is the file damaged?)`,
      );
    }
  }
}

function range(segment: ElfSegment): string {
  return `${hex(segment.paddr)}–${hex(segment.paddr + segment.memBytes - 1)}`;
}

function readSegment(bytes: Uint8Array, view: DataView, at: number, index: number): ElfSegment {
  const fileOffset = view.getUint32(at + 4, true);
  const fileBytes = view.getUint32(at + 16, true);
  const memBytes = view.getUint32(at + 20, true);
  if (fileOffset + fileBytes > bytes.length) {
    throw truncated(`segment ${index}`, fileOffset, fileBytes, bytes.length);
  }
  if (fileBytes > memBytes) {
    throw new ImageError(`segment ${index}: file size ${fileBytes} bytes exceeds its memory size ${memBytes} bytes`);
  }
  return {
    index,
    vaddr: view.getUint32(at + 8, true),
    paddr: view.getUint32(at + 12, true),
    data: bytes.subarray(fileOffset, fileOffset + fileBytes),
    memBytes,
    flags: view.getUint32(at + 24, true),
  };
}

interface Table {
  offset: number;
  count: number;
  entryBytes: number;
}

/** Locates a header table from the ELF header fields and checks it lies inside the file. */
function readTable(
  bytes: Uint8Array, view: DataView, what: string,
  offsetField: number, entryBytesField: number, countField: number, minEntryBytes: number,
): Table {
  const offset = view.getUint32(offsetField, true);
  const entryBytes = view.getUint16(entryBytesField, true);
  const count = view.getUint16(countField, true);
  if (count === 0 || offset === 0) return { offset: 0, count: 0, entryBytes: minEntryBytes };
  if (entryBytes < minEntryBytes) {
    throw new ImageError(`bad ${what} entry size ${entryBytes} bytes (expected ${minEntryBytes})`);
  }
  if (offset + count * entryBytes > bytes.length) {
    throw truncated(`${what}s (${count} × ${entryBytes} bytes)`, offset, count * entryBytes, bytes.length);
  }
  return { offset, count, entryBytes };
}

interface Section {
  type: number;
  offset: number;
  sizeBytes: number;
  link: number;
  entryBytes: number;
}

function readSections(bytes: Uint8Array, view: DataView): Section[] {
  const table = readTable(bytes, view, 'section header', 32, 46, 48, ELF32_SHDR_BYTES);
  const sections: Section[] = [];
  for (let index = 0; index < table.count; index++) {
    const at = table.offset + index * table.entryBytes;
    sections.push({
      type: view.getUint32(at + 4, true),
      offset: view.getUint32(at + 16, true),
      sizeBytes: view.getUint32(at + 20, true),
      link: view.getUint32(at + 24, true),
      entryBytes: view.getUint32(at + 36, true),
    });
  }
  return sections;
}

/** The symbol table is optional (a stripped image has none); a broken one is refused. */
function readSymbols(bytes: Uint8Array, view: DataView): Map<string, ElfSymbol> {
  const symbols = new Map<string, ElfSymbol>();
  const sections = readSections(bytes, view);
  const symtabIndex = sections.findIndex((s) => s.type === SHT_SYMTAB);
  if (symtabIndex < 0) return symbols;
  const symtab = sections[symtabIndex]!;
  const strtab = sections[symtab.link];
  if (strtab === undefined) {
    throw new ImageError(`symbol table (section ${symtabIndex}) links to missing string table section ${symtab.link}`);
  }
  checkSectionInFile(symtab, symtabIndex, bytes.length);
  checkSectionInFile(strtab, symtab.link, bytes.length);
  const strings = bytes.subarray(strtab.offset, strtab.offset + strtab.sizeBytes);
  const entryBytes = Math.max(symtab.entryBytes, ELF32_SYM_BYTES);
  const count = Math.floor(symtab.sizeBytes / entryBytes);
  for (let index = 1; index < count; index++) {
    const symbol = readSymbol(view, symtab.offset + index * entryBytes, strings, index);
    if (symbol !== undefined) addSymbol(symbols, symbol);
  }
  return symbols;
}

function checkSectionInFile(section: Section, index: number, fileBytes: number): void {
  if (section.offset + section.sizeBytes > fileBytes) {
    throw truncated(`section ${index}`, section.offset, section.sizeBytes, fileBytes);
  }
}

/** Returns undefined for undefined (SHN_UNDEF) and unnamed symbols. */
function readSymbol(view: DataView, at: number, strings: Uint8Array, index: number): ElfSymbol | undefined {
  const nameOffset = view.getUint32(at, true);
  const info = view.getUint8(at + 12);
  const sectionIndex = view.getUint16(at + 14, true);
  if (sectionIndex === SHN_UNDEF || nameOffset === 0) return undefined;
  return {
    name: readString(strings, nameOffset, index),
    value: view.getUint32(at + 4, true),
    sizeBytes: view.getUint32(at + 8, true),
    bind: info >> 4,
    type: info & 0xf,
  };
}

function readString(strings: Uint8Array, offset: number, symbolIndex: number): string {
  const end = strings.indexOf(0, offset);
  if (offset >= strings.length || end < 0) {
    throw new ImageError(`symbol ${symbolIndex}: name at string table offset ${offset} runs past the string table (${strings.length} bytes)`);
  }
  return new TextDecoder().decode(strings.subarray(offset, end));
}

function addSymbol(symbols: Map<string, ElfSymbol>, symbol: ElfSymbol): void {
  const existing = symbols.get(symbol.name);
  if (existing === undefined || (existing.bind !== STB_GLOBAL && symbol.bind === STB_GLOBAL)) {
    symbols.set(symbol.name, symbol);
  }
}

function truncated(what: string, offset: number, sizeBytes: number, fileBytes: number): ImageError {
  return new ImageError(
    `truncated: ${what} at offset ${hex(offset)} (${sizeBytes} bytes) runs past the end of the file (${fileBytes} bytes)`,
  );
}
