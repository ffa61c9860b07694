import { describe, expect, it } from 'vitest';
import { ImageError, parseElf } from '../host/elf.js';
import { checkImageFits, loadImage } from '../host/loader.js';
import { FakeCore } from './helpers/fake-core.js';
import { asCore } from './helpers/unsupported-core.js';
import {
  EHDR, EM_386, EM_X86_64, ET_DYN, ET_REL, PHDR, PT_NOTE, RAM_BASE, SAMPLE_CODE, SHDR, SHDR_BYTES,
  buildElf, patch16, patch32, phdrAt, read32,
} from './helpers/elf-builder.js';

const MiB = 1024 * 1024;

function refusal(bytes: Uint8Array): string {
  try {
    parseElf(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('parseElf accepted the image');
}

function fitRefusal(bytes: Uint8Array, ramBytes: number): string {
  const image = parseElf(bytes);
  try {
    checkImageFits(image, ramBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    return (error as Error).message;
  }
  throw new Error('checkImageFits accepted the image');
}

/** Code, data and a bss: the shape of a linked guest. */
function sampleImage(): Uint8Array {
  return buildElf({
    entry: RAM_BASE + 4,
    segments: [
      { paddr: RAM_BASE, data: SAMPLE_CODE, flags: 5 },
      { type: PT_NOTE, paddr: 0, data: new Uint8Array([1, 2, 3, 4]) },
      { paddr: RAM_BASE + 0x1000, data: new Uint8Array([9, 8, 7]), memBytes: 0x100, flags: 6 },
    ],
    symbols: [
      { name: '_start', value: RAM_BASE, type: 2 },
      { name: 'tohost', value: RAM_BASE + 0x1040, bind: 0 },
      { name: 'tohost', value: RAM_BASE + 0x1080, bind: 1 },
      { name: 'undefined_one', value: 0, sectionIndex: 0 },
    ],
  });
}

describe('parseElf on a valid RV32 executable', () => {
  const image = parseElf(sampleImage());

  it('reads the entry point', () => {
    expect(image.entry).toBe(RAM_BASE + 4);
  });

  it('keeps the PT_LOAD segments with their file bytes and memory size', () => {
    expect(image.segments.map((s) => [s.index, s.paddr, s.memBytes, s.flags])).toEqual([
      [0, RAM_BASE, SAMPLE_CODE.length, 5],
      [2, RAM_BASE + 0x1000, 0x100, 6],
    ]);
    expect([...image.segments[0]!.data]).toEqual([...SAMPLE_CODE]);
    expect([...image.segments[1]!.data]).toEqual([9, 8, 7]);
  });

  it('reads defined symbols, preferring a global definition to a local one', () => {
    expect(image.symbols.get('_start')?.value).toBe(RAM_BASE);
    expect(image.symbols.get('tohost')).toMatchObject({ value: RAM_BASE + 0x1080, bind: 1 });
    expect(image.symbols.has('undefined_one')).toBe(false);
  });

  it('accepts a stripped image (no section headers) with no symbols', () => {
    expect(parseElf(buildElf()).symbols.size).toBe(0);
  });

  it('skips segments with nothing in memory', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: RAM_BASE + 0x100 }] });
    expect(parseElf(bytes).segments).toHaveLength(1);
  });
});

describe('parseElf refuses', () => {
  it('an empty file', () => {
    expect(refusal(new Uint8Array(0))).toBe('not an ELF file (the file is empty)');
  });

  it('a text file', () => {
    expect(refusal(new TextEncoder().encode('#!/bin/sh\necho hello\n'))).toMatch(/^not an ELF file/);
  });

  it('a 64-bit ELF, naming its machine', () => {
    expect(refusal(buildElf({ elfClass: 2, machine: EM_X86_64 }))).toBe(
      'not a 32-bit ELF file (ELFCLASS64, machine x86-64): ferry runs RV32 executables',
    );
  });

  it('a 64-bit RISC-V ELF', () => {
    expect(refusal(buildElf({ elfClass: 2, machine: 243 }))).toMatch(/^not a 32-bit ELF file \(ELFCLASS64, machine RISC-V\)/);
  });

  it('a big-endian ELF', () => {
    expect(refusal(buildElf({ data: 2, machine: 20 }))).toBe(
      'not a little-endian ELF file (big-endian, ELFDATA2MSB, machine PowerPC): RISC-V images are little-endian',
    );
  });

  it('an ELF of another machine, saying which', () => {
    expect(refusal(buildElf({ machine: EM_386 }))).toBe('not a RISC-V executable: machine is x86 (i386) (e_machine 3)');
    expect(refusal(buildElf({ machine: EM_X86_64 }))).toMatch(/machine is x86-64/);
    expect(refusal(buildElf({ machine: 9999 }))).toMatch(/machine is unknown machine 9999/);
  });

  it('a relocatable object or shared object', () => {
    expect(refusal(buildElf({ type: ET_REL }))).toMatch(/^not an executable: e_type is ET_REL \(a relocatable object/);
    expect(refusal(buildElf({ type: ET_DYN }))).toMatch(/^not an executable: e_type is ET_DYN/);
  });

  it('an unknown ELF version', () => {
    expect(refusal(buildElf({ version: 7 }))).toBe('unsupported ELF version 7 (expected 1)');
  });

  it('hard-float images, which an RV32IMAC core cannot run; compressed ones (EF_RISCV_RVC) it runs', () => {
    expect(refusal(buildElf({ flags: 0x4 }))).toMatch(/hard-float ABI/);
    expect(refusal(buildElf({ flags: 0x5 }))).toMatch(/hard-float ABI/);
    expect(() => parseElf(buildElf({ flags: 0x1 }))).not.toThrow();
  });

  it('a truncated ELF header', () => {
    expect(refusal(buildElf().subarray(0, 40))).toBe(
      'truncated: ELF header at offset 0x0 (52 bytes) runs past the end of the file (40 bytes)',
    );
    expect(refusal(buildElf().subarray(0, 10))).toMatch(/^truncated: ELF identification/);
  });

  it('program headers past the end of the file', () => {
    const bytes = patch16(buildElf(), EHDR.phnum, 200);
    expect(refusal(bytes)).toMatch(/^truncated: program headers \(200 × 32 bytes\) at offset 0x34 \(6400 bytes\) runs past the end/);
  });

  it('a program header offset past the end of the file', () => {
    expect(refusal(patch32(buildElf(), EHDR.phoff, 0xffff_fff0))).toMatch(/^truncated: program headers/);
  });

  it('a too small program header entry size', () => {
    expect(refusal(patch16(buildElf(), EHDR.phentsize, 8))).toBe('bad program header entry size 8 bytes (expected 32)');
  });

  it('a segment whose file bytes lie past the end of the file', () => {
    const bytes = buildElf();
    patch32(bytes, phdrAt(0) + PHDR.offset, bytes.length - 4);
    expect(refusal(bytes)).toMatch(/^truncated: segment 0 at offset 0x[0-9a-f]+ \(16 bytes\) runs past the end of the file/);
    patch32(bytes, phdrAt(0) + PHDR.offset, 0xffff_ffff);
    expect(refusal(bytes)).toMatch(/^truncated: segment 0 at offset 0xffffffff/);
  });

  it('a segment with a huge file size', () => {
    expect(refusal(patch32(buildElf(), phdrAt(0) + PHDR.filesz, 0xffff_ffff))).toMatch(/^truncated: segment 0/);
  });

  it('a segment with more bytes in the file than in memory', () => {
    expect(refusal(patch32(buildElf(), phdrAt(0) + PHDR.memsz, 4))).toBe(
      'segment 0: file size 16 bytes exceeds its memory size 4 bytes',
    );
  });

  it('an image with no loadable segment', () => {
    expect(refusal(buildElf({ segments: [{ type: PT_NOTE, paddr: 0, data: new Uint8Array(4) }] }))).toMatch(
      /^no loadable \(PT_LOAD\) segments/,
    );
    expect(refusal(buildElf({ segments: [] }))).toMatch(/^no loadable/);
  });

  it('section headers past the end of the file', () => {
    const bytes = buildElf({ symbols: [{ name: 'tohost', value: RAM_BASE }] });
    expect(refusal(patch16(bytes, EHDR.shnum, 100))).toMatch(/^truncated: section headers \(100 × 40 bytes\)/);
  });

  it('a symbol table that runs past the end of the file', () => {
    const bytes = buildElf({ symbols: [{ name: 'tohost', value: RAM_BASE }] });
    const symtabHeader = read32(bytes, EHDR.shoff) + SHDR_BYTES;
    expect(refusal(patch32(bytes, symtabHeader + SHDR.size, 0x10_0000))).toMatch(/^truncated: section 1 at offset/);
  });

  it('a symbol table linked to a missing string table', () => {
    const bytes = buildElf({ symbols: [{ name: 'tohost', value: RAM_BASE }] });
    const symtabHeader = read32(bytes, EHDR.shoff) + SHDR_BYTES;
    expect(refusal(patch32(bytes, symtabHeader + SHDR.link, 77))).toMatch(/links to missing string table section 77/);
  });

  it('a symbol name outside the string table', () => {
    const bytes = buildElf({ symbols: [{ name: 'tohost', value: RAM_BASE }] });
    const symtab = read32(bytes, read32(bytes, EHDR.shoff) + SHDR_BYTES + SHDR.offset);
    expect(refusal(patch32(bytes, symtab + 16, 5000))).toMatch(/^symbol 1: name at string table offset 5000 runs past/);
  });

  it('random corruption with an ImageError, never another exception', () => {
    const original = sampleImage();
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = original.slice(0, trial % 7 === 0 ? random(original.length) : original.length);
      for (let flips = 1 + random(4); flips > 0 && bytes.length > 0; flips--) bytes[random(bytes.length)] = random(256);
      try {
        parseElf(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(ImageError);
      }
    }
  });
});

describe('checkImageFits', () => {
  it('accepts an image inside RAM', () => {
    expect(() => checkImageFits(parseElf(sampleImage()), 8 * MiB)).not.toThrow();
  });

  it('refuses a segment below RAM', () => {
    const bytes = buildElf({ entry: RAM_BASE, segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: 0x7000_0000, data: SAMPLE_CODE }] });
    expect(fitRefusal(bytes, 8 * MiB)).toBe(
      'segment 1 at 0x70000000 (size 16 bytes) lies outside guest RAM 0x80000000–0x807fffff',
    );
  });

  it('refuses a segment that starts past the end of RAM', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: RAM_BASE + 8 * MiB, memBytes: 64 }] });
    expect(fitRefusal(bytes, 8 * MiB)).toMatch(/^segment 1 at 0x80800000 \(size 64 bytes\) lies outside guest RAM/);
  });

  it('refuses a segment that wraps past the top of the address space', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: 0xffff_f000, memBytes: 0x2000 }] });
    expect(fitRefusal(bytes, 2 ** 31)).toMatch(/^segment 1 at 0xfffff000 \(size 8192 bytes\) lies outside guest RAM 0x80000000–0xffffffff/);
  });

  it('refuses an image bigger than the VM', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE, memBytes: 16 * MiB }] });
    expect(fitRefusal(bytes, 8 * MiB)).toBe(`image needs ${16 * MiB} bytes but the VM has ${8 * MiB}`);
  });

  it('refuses an entry point or tohost outside RAM', () => {
    expect(fitRefusal(buildElf({ entry: 0x1000 }), 8 * MiB)).toBe(
      'entry point 0x1000 lies outside guest RAM 0x80000000–0x807fffff',
    );
    const tohostOutside = buildElf({ symbols: [{ name: 'tohost', value: 0x9000_0000 }] });
    expect(fitRefusal(tohostOutside, 8 * MiB)).toMatch(/^tohost symbol 0x90000000 lies outside guest RAM/);
  });
});

describe('loadImage', () => {
  it('copies the segments in staging-sized chunks, sets tohost and boots at the entry', () => {
    const image = parseElf(sampleImage());
    const core = new FakeCore({ stagingBytes: 5 });
    core.vmCreate(0, 8 * MiB);
    loadImage(asCore(core), 0, image, 8 * MiB);
    expect([...core.ram.subarray(0, SAMPLE_CODE.length)]).toEqual([...SAMPLE_CODE]);
    expect([...core.ram.subarray(0x1000, 0x1004)]).toEqual([9, 8, 7, 0]);
    expect(core.calls.filter((call) => call.startsWith('vmLoad'))).toEqual([
      'vmLoad(0, 0x80000000, 5)', 'vmLoad(0, 0x80000005, 5)', 'vmLoad(0, 0x8000000a, 5)',
      'vmLoad(0, 0x8000000f, 1)', 'vmLoad(0, 0x80001000, 3)',
    ]);
    expect(core.tohost).toBe(RAM_BASE + 0x1080);
    expect(core.bootState).toEqual({ pc: RAM_BASE + 4, a0: 0, a1: 0 });
  });

  it('writes nothing when any segment does not fit', () => {
    const bytes = buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: 0x1000, data: SAMPLE_CODE }] });
    const core = new FakeCore();
    core.vmCreate(0, 8 * MiB);
    expect(() => loadImage(asCore(core), 0, parseElf(bytes), 8 * MiB)).toThrow(ImageError);
    expect(core.calls.filter((call) => call.startsWith('vmLoad'))).toEqual([]);
    expect(core.bootState).toBeUndefined();
  });

  it('sets no tohost when the image has none', () => {
    const core = new FakeCore();
    core.vmCreate(0, 8 * MiB);
    loadImage(asCore(core), 0, parseElf(buildElf()), 8 * MiB);
    expect(core.tohost).toBeUndefined();
  });
});
