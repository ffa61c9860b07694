/**
 * Size benchmark: how big Ferry's core is as firmware, and what takes the space.
 *
 *   npm run build && npm run bench:size [-- --json] [-- --top N]
 *
 * Reports the release core (build/core.wasm) in bytes and gzipped, its
 * sections, its code by source file and its largest functions (names from the
 * wasm name section, or from the release text build/core.wat when the binary
 * has none: asc prints the functions in the binary's order); the component
 * (build/component/); and the native firmware (build/native/ferry-native,
 * rebuilt here when stale and wasm2c + gcc are present): text/data/bss from
 * `size`, split into the core, wasm2c's runtime and the board runtime.
 * Compared with Proteus, a comparable embedded hypervisor, at about 15 KB.
 *
 * With -O3 asc inlines aggressively: a function's bytes include what it inlined
 * (the interpreter loop carries the decoder and the instruction semantics).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../host/package-root.js';

const PROTEUS_BYTES = 15 * 1024;

interface Options { json: boolean; top: number }

function parseArgs(argv: string[]): Options {
  const options: Options = { json: false, top: 15 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--top') {
      options.top = Number(argv[++i]);
      if (!Number.isInteger(options.top) || options.top < 1) throw new Error('--top needs a positive integer');
    } else throw new Error(`bench/size: unknown argument ${arg} (use --json, --top N)`);
  }
  return options;
}

// --- A minimal wasm reader: sections, function bodies, names -------------------

const SECTION_NAMES = [
  'custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount', 'tag',
];

interface Section { id: number; name: string; bytes: number; start: number; end: number }
interface WasmFunction { index: number; name: string; bytes: number }
interface WasmLayout { totalBytes: number; sections: Section[]; functions: WasmFunction[]; namesFrom: string }

class Reader {
  constructor(readonly bytes: Uint8Array, public at = 0) {}
  u8(): number {
    if (this.at >= this.bytes.length) throw new Error('bench/size: unexpected end of the wasm file');
    return this.bytes[this.at++]!;
  }
  leb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }
  name(): string {
    const length = this.leb();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }
}

function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('bench/size: not a WebAssembly module');
  }
  const sections: Section[] = [];
  const reader = new Reader(bytes, 8);
  while (reader.at < bytes.length) {
    const headerStart = reader.at;
    const id = reader.u8();
    const size = reader.leb();
    const start = reader.at;
    let name = SECTION_NAMES[id] ?? `section ${id}`;
    if (id === 0) name = `custom "${new Reader(bytes, start).name()}"`;
    sections.push({ id, name, bytes: start + size - headerStart, start, end: start + size });
    reader.at = start + size;
  }
  return sections;
}

function countImportedFunctions(bytes: Uint8Array, section: Section | undefined): number {
  if (section === undefined) return 0;
  const reader = new Reader(bytes, section.start);
  let functions = 0;
  for (let count = reader.leb(); count > 0; count--) {
    reader.name();
    reader.name();
    const kind = reader.u8();
    if (kind === 0) {
      functions++;
      reader.leb();
    } else if (kind === 1) { // table: reftype, limits
      reader.u8();
      skipLimits(reader);
    } else if (kind === 2) skipLimits(reader); // memory
    else if (kind === 3) { // global: valtype, mutability
      reader.u8();
      reader.u8();
    } else if (kind === 4) { // tag
      reader.u8();
      reader.leb();
    } else throw new Error(`bench/size: unknown import kind ${kind}`);
  }
  return functions;
}

function skipLimits(reader: Reader): void {
  const flags = reader.u8();
  reader.leb();
  if (flags & 1) reader.leb();
}

function bodySizes(bytes: Uint8Array, code: Section): number[] {
  const reader = new Reader(bytes, code.start);
  const sizes: number[] = [];
  for (let count = reader.leb(); count > 0; count--) {
    const size = reader.leb();
    sizes.push(size);
    reader.at += size;
  }
  return sizes;
}

/** Function names from the name section (subsection 1), by function index. */
function nameSectionNames(bytes: Uint8Array, sections: Section[]): Map<number, string> {
  const names = new Map<number, string>();
  const section = sections.find((s) => s.name === 'custom "name"');
  if (section === undefined) return names;
  const reader = new Reader(bytes, section.start);
  reader.name();
  while (reader.at < section.end) {
    const kind = reader.u8();
    const size = reader.leb();
    const end = reader.at + size;
    if (kind === 1) {
      for (let count = reader.leb(); count > 0; count--) {
        const index = reader.leb();
        names.set(index, reader.name());
      }
    }
    reader.at = end;
  }
  return names;
}

function exportNames(bytes: Uint8Array, section: Section | undefined): Map<number, string> {
  const names = new Map<number, string>();
  if (section === undefined) return names;
  const reader = new Reader(bytes, section.start);
  for (let count = reader.leb(); count > 0; count--) {
    const name = reader.name();
    const kind = reader.u8();
    const index = reader.leb();
    if (kind === 0 && !names.has(index)) names.set(index, `export ${name}`);
  }
  return names;
}

/** The release text file lists the defined functions in binary order with their internal names. */
function watNames(watPath: string, definedCount: number): string[] | undefined {
  if (!existsSync(watPath)) return undefined;
  const names = [...readFileSync(watPath, 'utf8').matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]!);
  return names.length === definedCount ? names : undefined;
}

function readLayout(wasmPath: string, watPath: string): WasmLayout {
  const bytes = readFileSync(wasmPath);
  const sections = readSections(bytes);
  const code = sections.find((s) => s.id === 10);
  const sizes = code === undefined ? [] : bodySizes(bytes, code);
  const imported = countImportedFunctions(bytes, sections.find((s) => s.id === 2));
  const fromNameSection = nameSectionNames(bytes, sections);
  const fromWat = fromNameSection.size === 0 && existsSync(watPath) && statSync(watPath).mtimeMs >= statSync(wasmPath).mtimeMs - 5000
    ? watNames(watPath, sizes.length)
    : undefined;
  const fromExports = exportNames(bytes, sections.find((s) => s.id === 7));
  const namesFrom = fromNameSection.size > 0 ? 'the name section' : fromWat !== undefined ? 'build/core.wat' : 'exports only';
  const functions = sizes.map((size, i) => {
    const index = imported + i;
    const name = fromNameSection.get(index) ?? fromWat?.[i] ?? fromExports.get(index) ?? `func[${index}]`;
    return { index, name, bytes: size };
  });
  return { totalBytes: bytes.length, sections, functions, namesFrom };
}

/** "assembly/hart/executeSlice" → "assembly/hart"; "~lib/rt/tlsf/allocateBlock" → "~lib/rt/tlsf". */
function sourceOf(name: string): string {
  // "start:assembly/channel": the file's top-level initialisation.
  if (name.startsWith('start:')) return name.slice('start:'.length);
  const plain = name.split(/[<#]/)[0]!;
  const slash = plain.lastIndexOf('/');
  return slash > 0 ? plain.slice(0, slash) : plain.startsWith('start:') || plain.startsWith('~start') ? '(start)' : '(other)';
}

/** Where a source file belongs, to set the core beside a hypervisor that runs guests on real hardware. */
const ISA_EMULATION = new Set(['hart', 'decode', 'decode-cache', 'atomic', 'csr', 'system', 'trap', 'guestmem', 'platform']);

function partOf(source: string): string {
  if (source.startsWith('~lib')) return 'AssemblyScript runtime (allocator, memory)';
  const file = source.replace(/^assembly\//, '');
  if (ISA_EMULATION.has(file)) return 'ISA emulation (interpreter, CSRs, traps, guest memory, virt devices)';
  if (file === 'index') return 'exported interface (index.ts, with what it inlined)';
  return 'hypervisor services (hypercalls, scheduling, links, collector, migration, ...)';
}

// --- Native --------------------------------------------------------------------

interface SizeRow { text: number; data: number; bss: number }
interface NativeSizes {
  binary: string; total: SizeRow; parts: { name: string; file: string; size: SizeRow }[]; note?: string;
  /** The core's text in the build with explicit bounds checks (FERRY_NATIVE_BOUNDS=explicit), when that is built. */
  explicitCore?: SizeRow;
}

const found = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

function sizeOf(path: string): SizeRow | undefined {
  const result = spawnSync('size', ['-B', path], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const row = result.stdout.trim().split('\n')[1]?.trim().split(/\s+/).map(Number);
  return row === undefined ? undefined : { text: row[0]!, data: row[1]!, bss: row[2]! };
}

function nativeSizes(root: string): NativeSizes | string {
  const dir = join(root, 'build', 'native');
  const binary = join(dir, 'ferry-native');
  const core = join(root, 'build', 'core.wasm');
  const stale = !existsSync(binary) || statSync(binary).mtimeMs < statSync(core).mtimeMs;
  if (stale) {
    if (!found('wasm2c') || !found('gcc')) return 'not built, and wasm2c or gcc is missing (apt-get install wabt gcc)';
    const build = spawnSync('bash', [join(root, 'scripts', 'build-native.sh')], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) return `npm run build:native failed: ${build.stderr.trim().split('\n').pop()}`;
  }
  if (!found('size')) return '`size` (binutils) not found';
  const total = sizeOf(binary);
  if (total === undefined) return `size ${binary} failed`;
  const parts = [
    { name: 'core (wasm2c output, guard pages)', file: 'ferry-core.o' },
    { name: 'wasm2c runtime (wasm-rt-impl)', file: 'wasm-rt-impl.o' },
    { name: 'board runtime (board.c)', file: 'board.o' },
    { name: 'ELF loader (elf.c)', file: 'elf.o' },
    { name: 'board protocol (serve.c)', file: 'serve.o' },
    { name: 'export table (core-world.c)', file: 'core-world.o' },
  ].flatMap(({ name, file }) => {
    const size = sizeOf(join(dir, 'obj', file));
    return size === undefined ? [] : [{ name, file, size }];
  });
  const explicitCore = sizeOf(join(root, 'build', 'native-explicit', 'obj', 'ferry-core.o'));
  return { binary: 'build/native/ferry-native', total, parts, ...(explicitCore === undefined ? {} : { explicitCore }) };
}

// --- Report --------------------------------------------------------------------

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const num = (value: number): string => value.toLocaleString('en-US');
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

function groupBy<T>(items: T[], key: (item: T) => string, bytes: (item: T) => number): { key: string; bytes: number; count: number }[] {
  const groups = new Map<string, { key: string; bytes: number; count: number }>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k) ?? { key: k, bytes: 0, count: 0 };
    group.bytes += bytes(item);
    group.count++;
    groups.set(k, group);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const root = packageRoot();
  const wasmPath = join(root, 'build', 'core.wasm');
  if (!existsSync(wasmPath)) throw new Error('bench/size: build/core.wasm is not built: run `npm run build`');
  const layout = readLayout(wasmPath, join(root, 'build', 'core.wat'));
  const gzipBytes = gzipSync(readFileSync(wasmPath), { level: 9 }).length;
  const componentPath = join(root, 'build', 'component', 'ferry-core.component.wasm');
  const componentBytes = existsSync(componentPath) ? statSync(componentPath).size : undefined;
  const codeBytes = layout.functions.reduce((sum, f) => sum + f.bytes, 0);
  const bySource = groupBy(layout.functions, (f) => sourceOf(f.name), (f) => f.bytes);
  const byPart = groupBy(layout.functions, (f) => partOf(sourceOf(f.name)), (f) => f.bytes);
  const largest = [...layout.functions].sort((a, b) => b.bytes - a.bytes).slice(0, options.top);
  const native = nativeSizes(root);

  if (options.json) {
    process.stdout.write(`${JSON.stringify({
      coreWasmBytes: layout.totalBytes, coreWasmGzipBytes: gzipBytes, componentBytes: componentBytes ?? null,
      proteusBytes: PROTEUS_BYTES, functions: layout.functions.length, codeBytes, namesFrom: layout.namesFrom,
      sections: layout.sections.map(({ name, bytes }) => ({ name, bytes })),
      byPart, bySource, largestFunctions: largest,
      native: typeof native === 'string' ? { note: native } : native,
    }, null, 2)}\n`);
    return;
  }

  const out: string[] = [];
  out.push('Ferry core size (release build)');
  out.push('');
  out.push(`  build/core.wasm           ${num(layout.totalBytes).padStart(8)} bytes  ${kb(layout.totalBytes).padStart(9)}   gzip -9: ${num(gzipBytes)} bytes`);
  if (componentBytes !== undefined) {
    out.push(`  component (jco)           ${num(componentBytes).padStart(8)} bytes  ${kb(componentBytes).padStart(9)}   (the core + WIT types + adapter shims)`);
  }
  out.push(`  Proteus (for comparison)  ~${num(PROTEUS_BYTES).padStart(7)} bytes  ${kb(PROTEUS_BYTES).padStart(9)}   core.wasm is ${(layout.totalBytes / PROTEUS_BYTES).toFixed(1)}x that`);
  out.push('');
  out.push('  Sections of build/core.wasm');
  for (const section of layout.sections) {
    out.push(`    ${section.name.padEnd(22)} ${num(section.bytes).padStart(8)} bytes  ${pct(section.bytes, layout.totalBytes).padStart(6)}`);
  }
  out.push('');
  out.push(`  Code by part (${layout.functions.length} functions, ${num(codeBytes)} bytes of bodies; names from ${layout.namesFrom})`);
  for (const part of byPart) {
    out.push(`    ${part.key.padEnd(78)} ${num(part.bytes).padStart(7)}  ${pct(part.bytes, codeBytes).padStart(6)}`);
  }
  out.push('');
  out.push('  Code by source file');
  for (const source of bySource) {
    out.push(`    ${source.key.padEnd(34)} ${num(source.bytes).padStart(7)} bytes  ${pct(source.bytes, codeBytes).padStart(6)}  ${String(source.count).padStart(3)} fn`);
  }
  out.push('');
  out.push(`  Largest functions (with what they inlined)`);
  for (const fn of largest) {
    out.push(`    ${fn.name.padEnd(60).slice(0, 60)} ${num(fn.bytes).padStart(7)} bytes  ${pct(fn.bytes, codeBytes).padStart(6)}`);
  }
  out.push('');
  if (typeof native === 'string') {
    out.push(`  Native firmware: ${native}`);
  } else {
    const { text, data, bss } = native.total;
    out.push(`  Native firmware ${native.binary} (wasm2c + gcc -O2, x86-64; size -B)`);
    out.push(`    ${'whole binary'.padEnd(40)} text ${num(text).padStart(8)}  data ${num(data).padStart(6)}  bss ${num(bss).padStart(7)}`);
    for (const part of native.parts) {
      out.push(`    ${part.name.padEnd(40)} text ${num(part.size.text).padStart(8)}  data ${num(part.size.data).padStart(6)}  bss ${num(part.size.bss).padStart(7)}`);
    }
    if (native.explicitCore !== undefined) {
      const core = native.explicitCore;
      out.push(`    ${'core with explicit bounds checks'.padEnd(40)} text ${num(core.text).padStart(8)}  data ${num(core.data).padStart(6)}  bss ${num(core.bss).padStart(7)}   (build/native-explicit)`);
    }
    out.push('    (the rest of the text is the C library start-up and PLT. Guest RAM is not in bss:');
    out.push('    it lives in the core\'s linear memory, allocated as VMs are created. wasm2c\'s 64 KiB');
    out.push('    bss is its buffer for wasm exceptions, which the core never throws; wabt 1.0.32');
    out.push('    fixes its size. The board\'s bss is the ELF image table and the core instance.)');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
