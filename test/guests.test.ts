/**
 * The guest images in guests/build/ (built by guests/build.sh from guests/):
 * that they are well-formed RV32IM executables for Ferry's boot convention,
 * and that each one does what it is for when run through the `ferry` CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FERRY_BIN, ROOT, hasCore } from './helpers/paths.js';

const execFileAsync = promisify(execFile);

const GUEST_DIR = join(ROOT, 'guests', 'build');
const RAM_BASE = 0x8000_0000;
/** Guests are kept small: every segment inside the first MiB of RAM. */
const MAX_IMAGE_BYTES = 1024 * 1024;

const PARAVIRTUAL = ['hello', 'fail', 'timer', 'cpu', 'cpu-small'];
/** Machine guests carry a `tohost` symbol, which is how `ferry run` picks the machine kind. */
const MACHINE = ['isa', 'virt', 'virt-fail'];

const guestPath = (name: string): string => join(GUEST_DIR, `${name}.elf`);

// ---------------------------------------------------------------- ELF reading

interface Segment { type: number; offset: number; paddr: number; fileBytes: number; memBytes: number; flags: number }
interface ElfInfo {
  elfClass: number; data: number; type: number; machine: number; entry: number; flags: number;
  segments: Segment[]; symbols: Map<string, number>;
}

function readElf(bytes: Buffer): ElfInfo {
  const u16 = (at: number): number => bytes.readUInt16LE(at);
  const u32 = (at: number): number => bytes.readUInt32LE(at);
  const phoff = u32(28);
  const segments: Segment[] = [];
  for (let i = 0; i < u16(44); i++) {
    const at = phoff + i * u16(42);
    segments.push({ type: u32(at), offset: u32(at + 4), paddr: u32(at + 12), fileBytes: u32(at + 16), memBytes: u32(at + 20), flags: u32(at + 24) });
  }
  const symbols = new Map<string, number>();
  const shoff = u32(32);
  const sections = Array.from({ length: u16(48) }, (_, i) => shoff + i * u16(46));
  for (const sh of sections) {
    if (u32(sh + 4) !== 2) continue; // SHT_SYMTAB
    const strtab = sections[u32(sh + 24)]!;
    const strOffset = u32(strtab + 16);
    for (let at = u32(sh + 16); at < u32(sh + 16) + u32(sh + 20); at += 16) {
      const nameAt = strOffset + u32(at);
      const name = bytes.subarray(nameAt, bytes.indexOf(0, nameAt)).toString('latin1');
      if (name) symbols.set(name, u32(at + 4));
    }
  }
  return {
    elfClass: bytes[4]!, data: bytes[5]!, type: u16(16), machine: u16(18), entry: u32(24), flags: u32(36),
    segments, symbols,
  };
}

describe('guest images in guests/build', () => {
  for (const name of [...PARAVIRTUAL, ...MACHINE]) {
    it(`${name}.elf is an RV32IM executable loaded in RAM at 0x80000000`, () => {
      const path = guestPath(name);
      expect(existsSync(path), `${path} is missing: run bash guests/build.sh`).toBe(true);
      const bytes = readFileSync(path);
      expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
      const elf = readElf(bytes);
      expect(elf.elfClass, 'ELFCLASS32').toBe(1);
      expect(elf.data, 'little-endian').toBe(1);
      expect(elf.type, 'ET_EXEC').toBe(2);
      expect(elf.machine, 'EM_RISCV').toBe(243);
      expect(elf.flags & 0x1, 'no compressed instructions (EF_RISCV_RVC)').toBe(0);
      expect(elf.flags & 0x6, 'soft-float ABI (ilp32)').toBe(0);
      expect(elf.entry).toBe(RAM_BASE);

      const loads = elf.segments.filter((s) => s.type === 1 && s.memBytes > 0);
      expect(loads.length).toBeGreaterThan(0);
      for (const s of loads) {
        expect(s.paddr).toBeGreaterThanOrEqual(RAM_BASE);
        expect(s.paddr + s.memBytes).toBeLessThanOrEqual(RAM_BASE + MAX_IMAGE_BYTES);
        expect(s.fileBytes).toBeLessThanOrEqual(s.memBytes);
        expect(s.offset + s.fileBytes).toBeLessThanOrEqual(bytes.length);
      }
      const entrySegment = loads.find((s) => elf.entry >= s.paddr && elf.entry < s.paddr + s.fileBytes);
      expect(entrySegment, 'the entry point lies in a loaded segment').toBeDefined();
      expect(entrySegment!.flags & 1, 'the entry segment is executable').toBe(1);

      if (MACHINE.includes(name)) {
        const tohost = elf.symbols.get('tohost');
        expect(tohost, 'machine guests define tohost').toBeDefined();
        expect(tohost! % 8, 'tohost is 64-bit aligned').toBe(0);
        expect(elf.symbols.has('fromhost')).toBe(true);
      } else {
        expect(elf.symbols.has('tohost'), 'paravirtual guests have no tohost').toBe(false);
      }
    });
  }
});

// ---------------------------------------------------------------- end to end

interface Run { status: number; stdout: string; stderr: string }

/** `node bin/ferry.js run <image> [args]`, as a user would run it. */
async function ferryRun(image: string, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [FERRY_BIN, 'run', guestPath(image), ...args], {
      cwd: ROOT, timeout: 50_000, maxBuffer: 16 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error; // killed by the timeout, or could not start
    return { status: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Enough virtual time for every shipped test guest (they need well under 10 ms). */
const LIMIT = ['--max-cycles', '500000000'];

function cpuSmallIterations(): number {
  const text = readFileSync(join(ROOT, 'guests', 'cpu', 'iterations.sh'), 'utf8');
  const match = /^CPU_SMALL_ITERATIONS=(\d+)/m.exec(text);
  if (!match) throw new Error('guests/cpu/iterations.sh: no CPU_SMALL_ITERATIONS=');
  return Number(match[1]);
}

const e2eNote = hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)';

describe.skipIf(!hasCore())(`guests run through ferry run${e2eNote}`, () => {
  it('hello greets, reports what SBI Base says, and shuts down with status 0', async () => {
    const r = await ferryRun('hello', ...LIMIT);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('Hello from a Ferry guest!\n')).toBe(true);
    expect(r.stdout).toMatch(/^hart 0, SBI spec \d+\.\d+$/m);
    expect(r.stdout).toMatch(/^SBI implementation id 0x[0-9a-f]+, version 0x[0-9a-f]+$/m);
    expect(r.stdout).toContain('extensions: TIME yes, SRST yes, DBCN yes\n');
    expect(r.stdout.endsWith('Goodbye.\n')).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('isa passes every test and reports through tohost (status 0)', async () => {
    const r = await ferryRun('isa', ...LIMIT);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^isa: all \d+ tests passed$/m);
  });

  it('fail reports a system failure: status 1', async () => {
    const r = await ferryRun('fail', ...LIMIT);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('fail: this guest reports a system failure on purpose\n');
    expect(r.stderr).toMatch(/system failure/);
  });

  it('virt prints on the UART, takes 5 CLINT timer interrupts and passes through the finisher', async () => {
    const r = await ferryRun('virt', '--mode', 'machine', ...LIMIT);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^virt: machine-mode guest, hart 0, misa 0x[0-9a-f]{8}$/m);
    expect(r.stdout.match(/^virt: tick \d at mtime=\d+$/gm)).toHaveLength(5);
    expect(r.stdout).toMatch(/^virt: saw 5 timer interrupts in \d+ us$/m);
    expect(r.stdout.endsWith('virt: pass\n')).toBe(true);
  });

  it('virt is recognised as a machine guest without --mode (it has tohost)', async () => {
    const r = await ferryRun('virt', ...LIMIT);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('virt: pass\n');
  });

  it('virt-fail fails through the finisher with code 7: status 1', async () => {
    const r = await ferryRun('virt-fail', '--mode', 'machine', ...LIMIT);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('virt-fail: reporting failure code 7 through the test finisher\n');
    expect(r.stderr).toMatch(/\bcode 7\b/);
  });

  it('timer prints 10 ticks, 1 ms of `time` apart, and shuts down with status 0', async () => {
    const r = await ferryRun('timer', ...LIMIT);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const ticks = [...r.stdout.matchAll(/^tick (\d+): time=(\d+) \(\+(\d+) us\)$/gm)];
    expect(ticks.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const times = ticks.map((m) => BigInt(m[2]!));
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!, `tick ${i + 1}`).toBeGreaterThanOrEqual(10_000n); // 1 ms at 10 MHz
    }
    expect(r.stdout.endsWith('timer: done\n')).toBe(true);
  });

  it('cpu-small prints its iteration count and checksum and shuts down with status 0', async () => {
    const r = await ferryRun('cpu-small', ...LIMIT);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^iterations: ${cpuSmallIterations()}\\nchecksum: 0x[0-9a-f]{8}\\n$`));
  });

  it('cpu stopped early by --max-cycles exits 124', async () => {
    const r = await ferryRun('cpu', '--max-cycles', '1000000');
    expect(r.status).toBe(124);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/max-cycles/);
  });
});
