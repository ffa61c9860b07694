/**
 * Builds small ELF files byte by byte for tests: valid RV32 executables by
 * default, and anything else (other classes, machines, types, broken offsets)
 * by overriding fields or patching the result at the offsets exported here.
 */

export interface SegmentSpec {
  type?: number;
  paddr: number;
  vaddr?: number;
  data?: Uint8Array;
  /** Defaults to data.length. */
  memBytes?: number;
  flags?: number;
}

export interface SymbolSpec {
  name: string;
  value: number;
  sizeBytes?: number;
  /** STB_LOCAL 0, STB_GLOBAL 1 (default). */
  bind?: number;
  /** STT_OBJECT 1 (default). */
  type?: number;
  /** Defaults to SHN_ABS; 0 makes the symbol undefined. */
  sectionIndex?: number;
}

export interface ElfSpec {
  /** 1 = ELFCLASS32 (default); 2 builds a bare 64-byte ELF64 header and nothing else. */
  elfClass?: number;
  /** 1 = little-endian (default), 2 = big-endian (header fields written big-endian). */
  data?: number;
  version?: number;
  machine?: number;
  type?: number;
  entry?: number;
  flags?: number;
  segments?: SegmentSpec[];
  /** Adds .symtab, .strtab and .shstrtab sections when given. */
  symbols?: SymbolSpec[];
}

export const EM_RISCV = 243;
export const EM_386 = 3;
export const EM_X86_64 = 62;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const RAM_BASE = 0x8000_0000;

/** Byte offsets of ELF32 header fields, for patching. */
export const EHDR = {
  class: 4, data: 5, version: 6, type: 16, machine: 18, entry: 24, phoff: 28, shoff: 32, flags: 36,
  phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50,
} as const;
export const EHDR_BYTES = 52;
export const PHDR_BYTES = 32;
export const SHDR_BYTES = 40;
export const SYM_BYTES = 16;
/** Offsets inside one program header. */
export const PHDR = { type: 0, offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20, flags: 24, align: 28 } as const;
/** Offsets inside one section header. */
export const SHDR = { name: 0, type: 4, offset: 16, size: 20, link: 24, entsize: 36 } as const;

/** Four RV32I instructions: addi a0,zero,1; addi a1,zero,2; add a2,a0,a1; j . */
export const SAMPLE_CODE = new Uint8Array([
  0x13, 0x05, 0x10, 0x00, 0x93, 0x05, 0x20, 0x00, 0x33, 0x06, 0xb5, 0x00, 0x6f, 0x00, 0x00, 0x00,
]);

const SHN_ABS = 0xfff1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;

export function buildElf(spec: ElfSpec = {}): Uint8Array {
  if ((spec.elfClass ?? 1) === 2) return buildElf64Header(spec);
  const segments = spec.segments ?? [{ paddr: RAM_BASE, data: SAMPLE_CODE, flags: 5 }];
  const layout = new Writer();
  layout.reserve(EHDR_BYTES);
  const phoff = layout.reserve(segments.length * PHDR_BYTES);
  const dataOffsets = segments.map((s) => layout.append(s.data ?? new Uint8Array(0), 4));
  const sections = spec.symbols === undefined ? undefined : appendSymbolSections(layout, spec.symbols);
  const little = (spec.data ?? 1) === 1;
  const bytes = layout.bytes();
  const view = new DataView(bytes.buffer);
  writeHeader(bytes, view, spec, little, phoff, segments.length, sections);
  segments.forEach((s, i) => writeProgramHeader(view, phoff + i * PHDR_BYTES, s, dataOffsets[i]!, little));
  return bytes;
}

function writeHeader(
  bytes: Uint8Array, view: DataView, spec: ElfSpec, little: boolean,
  phoff: number, phnum: number, sections: { shoff: number; shnum: number } | undefined,
): void {
  bytes.set([0x7f, 0x45, 0x4c, 0x46, spec.elfClass ?? 1, spec.data ?? 1, spec.version ?? 1]);
  view.setUint16(EHDR.type, spec.type ?? ET_EXEC, little);
  view.setUint16(EHDR.machine, spec.machine ?? EM_RISCV, little);
  view.setUint32(20, 1, little);
  view.setUint32(EHDR.entry, spec.entry ?? RAM_BASE, little);
  view.setUint32(EHDR.phoff, phnum > 0 ? phoff : 0, little);
  view.setUint32(EHDR.shoff, sections?.shoff ?? 0, little);
  view.setUint32(EHDR.flags, spec.flags ?? 0, little);
  view.setUint16(40, EHDR_BYTES, little);
  view.setUint16(EHDR.phentsize, PHDR_BYTES, little);
  view.setUint16(EHDR.phnum, phnum, little);
  view.setUint16(EHDR.shentsize, SHDR_BYTES, little);
  view.setUint16(EHDR.shnum, sections?.shnum ?? 0, little);
  view.setUint16(EHDR.shstrndx, sections === undefined ? 0 : 3, little);
}

function writeProgramHeader(view: DataView, at: number, s: SegmentSpec, offset: number, little: boolean): void {
  const fileBytes = s.data?.length ?? 0;
  view.setUint32(at + PHDR.type, s.type ?? PT_LOAD, little);
  view.setUint32(at + PHDR.offset, offset, little);
  view.setUint32(at + PHDR.vaddr, s.vaddr ?? s.paddr, little);
  view.setUint32(at + PHDR.paddr, s.paddr, little);
  view.setUint32(at + PHDR.filesz, fileBytes, little);
  view.setUint32(at + PHDR.memsz, s.memBytes ?? fileBytes, little);
  view.setUint32(at + PHDR.flags, s.flags ?? 7, little);
  view.setUint32(at + PHDR.align, 4, little);
}

/** Section headers: 0 null, 1 .symtab, 2 .strtab, 3 .shstrtab. */
function appendSymbolSections(layout: Writer, symbols: SymbolSpec[]): { shoff: number; shnum: number } {
  const strtab = new StringTable();
  const symtab = new Uint8Array((symbols.length + 1) * SYM_BYTES);
  const view = new DataView(symtab.buffer);
  symbols.forEach((sym, i) => {
    const at = (i + 1) * SYM_BYTES;
    view.setUint32(at, strtab.add(sym.name), true);
    view.setUint32(at + 4, sym.value, true);
    view.setUint32(at + 8, sym.sizeBytes ?? 8, true);
    view.setUint8(at + 12, ((sym.bind ?? 1) << 4) | (sym.type ?? 1));
    view.setUint16(at + 14, sym.sectionIndex ?? SHN_ABS, true);
  });
  const shstrtab = new StringTable();
  const names = ['.symtab', '.strtab', '.shstrtab'].map((n) => shstrtab.add(n));
  const symtabOffset = layout.append(symtab, 4);
  const strtabOffset = layout.append(strtab.bytes(), 1);
  const shstrtabOffset = layout.append(shstrtab.bytes(), 1);
  const headers = new Uint8Array(4 * SHDR_BYTES);
  const hv = new DataView(headers.buffer);
  writeSection(hv, 1, names[0]!, SHT_SYMTAB, symtabOffset, symtab.length, 2, SYM_BYTES);
  writeSection(hv, 2, names[1]!, SHT_STRTAB, strtabOffset, strtab.bytes().length, 0, 0);
  writeSection(hv, 3, names[2]!, SHT_STRTAB, shstrtabOffset, shstrtab.bytes().length, 0, 0);
  return { shoff: layout.append(headers, 4), shnum: 4 };
}

function writeSection(
  view: DataView, index: number, name: number, type: number, offset: number, size: number, link: number, entsize: number,
): void {
  const at = index * SHDR_BYTES;
  view.setUint32(at + SHDR.name, name, true);
  view.setUint32(at + SHDR.type, type, true);
  view.setUint32(at + SHDR.offset, offset, true);
  view.setUint32(at + SHDR.size, size, true);
  view.setUint32(at + SHDR.link, link, true);
  view.setUint32(at + SHDR.entsize, entsize, true);
}

/** The 64-byte ELF64 header of an executable with no tables: enough to be refused. */
function buildElf64Header(spec: ElfSpec): Uint8Array {
  const bytes = new Uint8Array(64);
  const view = new DataView(bytes.buffer);
  const little = (spec.data ?? 1) === 1;
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, spec.data ?? 1, spec.version ?? 1]);
  view.setUint16(16, spec.type ?? ET_EXEC, little);
  view.setUint16(18, spec.machine ?? EM_X86_64, little);
  view.setUint32(20, 1, little);
  view.setUint16(52, 64, little);
  return bytes;
}

export function patch32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(offset, value, true);
  return bytes;
}

export function patch16(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint16(offset, value, true);
  return bytes;
}

export function read32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, true);
}

/** Offset of program header `index` in an image built with buildElf. */
export function phdrAt(index: number): number {
  return EHDR_BYTES + index * PHDR_BYTES;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  reserve(sizeBytes: number): number {
    return this.append(new Uint8Array(sizeBytes), 1);
  }

  append(data: Uint8Array, align: number): number {
    const padding = (align - (this.length % align)) % align;
    if (padding > 0) this.push(new Uint8Array(padding));
    const offset = this.length;
    this.push(data);
    return offset;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  private push(data: Uint8Array): void {
    this.chunks.push(data);
    this.length += data.length;
  }
}

class StringTable {
  private text = '\0';

  add(name: string): number {
    const offset = this.text.length;
    this.text += name + '\0';
    return offset;
  }

  bytes(): Uint8Array {
    return new TextEncoder().encode(this.text);
  }
}
