/**
 * The guest images in guests/build/ (built by guests/build.sh from guests/):
 * that they are well-formed RV32IMAC executables for Ferry's boot convention,
 * and that each one does what it is for when run through the `ferry` CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FERRY_BIN, ROOT, hasCore } from './helpers/paths.js';

const execFileAsync = promisify(execFile);

const GUEST_DIR = join(ROOT, 'guests', 'build');
const RAM_BASE = 0x8000_0000;
/** Guests are kept small: every segment inside the first MiB of RAM... */
const MAX_IMAGE_BYTES = 1024 * 1024;
/** ...except the memory-check guests, whose point is a 1 MiB region of their own. */
const MAX_IMAGE_BYTES_OF: Record<string, number> = { memcheck: 2 * 1024 * 1024, 'memcheck-finite': 2 * 1024 * 1024 };

const PARAVIRTUAL = ['hello', 'fail', 'timer', 'cpu', 'cpu-small', 'cpu-rv32im', 'cpu-small-rv32im', 'control', 'control-tx',
  'control-rx', 'memcheck', 'memcheck-finite'];
/** Machine guests carry a `tohost` symbol, which is how `ferry run` picks the machine kind. */
const MACHINE = ['isa', 'virt', 'virt-fail', 'gcc-hello'];
/** Guests are built compressed (rv32imac), as embedded toolchains build them, except these, for comparison. */
const UNCOMPRESSED = ['cpu-rv32im', 'cpu-small-rv32im'];

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
    it(`${name}.elf is an RV32IMAC executable loaded in RAM at 0x80000000`, () => {
      const path = guestPath(name);
      expect(existsSync(path), `${path} is missing: run bash guests/build.sh`).toBe(true);
      const bytes = readFileSync(path);
      expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
      const elf = readElf(bytes);
      expect(elf.elfClass, 'ELFCLASS32').toBe(1);
      expect(elf.data, 'little-endian').toBe(1);
      expect(elf.type, 'ET_EXEC').toBe(2);
      expect(elf.machine, 'EM_RISCV').toBe(243);
      expect(elf.flags & 0x1, 'compressed instructions (EF_RISCV_RVC) iff built for rv32imac').toBe(UNCOMPRESSED.includes(name) ? 0 : 1);
      expect(elf.flags & 0x6, 'soft-float ABI (ilp32)').toBe(0);
      expect(elf.entry).toBe(RAM_BASE);

      const loads = elf.segments.filter((s) => s.type === 1 && s.memBytes > 0);
      expect(loads.length).toBeGreaterThan(0);
      for (const s of loads) {
        expect(s.paddr).toBeGreaterThanOrEqual(RAM_BASE);
        expect(s.paddr + s.memBytes).toBeLessThanOrEqual(RAM_BASE + (MAX_IMAGE_BYTES_OF[name] ?? MAX_IMAGE_BYTES));
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

/** `node bin/ferry.js run <image> [args]`, as a user would run it (an image name from guests/build, or a path). */
async function ferryRun(image: string, ...args: string[]): Promise<Run> {
  return ferry('run', image.endsWith('.elf') ? image : guestPath(image), ...args);
}

/** `node bin/ferry.js <args>`. */
async function ferry(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [FERRY_BIN, ...args], {
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

  it('gcc-hello (gcc + picolibc): printf, malloc, setjmp/longjmp, 64-bit arithmetic and atomics all pass', async () => {
    const r = await ferryRun('gcc-hello', ...LIMIT);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^gcc-hello: built by gcc \S+ with picolibc, rv32imac$/m);
    expect(r.stdout.match(/^gcc-hello: +\d+ ok +.+$/gm)).toHaveLength(8);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout.endsWith('gcc-hello: all passed\n')).toBe(true);
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

// ------------------------------------------- the guest RTOS, control and memcheck

interface CtlLine { vm: string; name: string; t: number; setpoint: number; y: number; err: number; u: number; tail: string }

/** The `ctl <name>: t=… setpoint=… y=… err=… u=…` lines, optionally prefixed `[vm] ` (board runs). */
function ctlLines(stdout: string): CtlLine[] {
  const num = '(-?\\d+\\.\\d{3})';
  const re = new RegExp(`^(?:\\[(\\S+)\\] )?ctl (\\S+): t=(\\d+) setpoint=${num} y=${num} err=${num} u=${num}(.*)$`, 'gm');
  return [...stdout.matchAll(re)].map((m) => ({
    vm: m[1] ?? '', name: m[2]!, t: Number(m[3]), setpoint: Number(m[4]), y: Number(m[5]),
    err: Number(m[6]), u: Number(m[7]), tail: m[8]!,
  }));
}

/** One virtual second at the default 100 MHz. */
const SECOND = 100_000_000;

describe.skipIf(!hasCore())(`the guest RTOS and the control application${e2eNote}`, () => {
  it('control runs its PID every 10 ms, prints the error every 100 ms, and the error converges to 0', async () => {
    const r = await ferryRun('control', '--max-cycles', String(4 * SECOND));
    expect(r.status, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/max-cycles/);
    expect(r.stdout).toMatch(/^rtos: 2 tasks, deadline-monotonic fixed-priority preemptive; clock 100000000 Hz, timer 10000000 Hz$/m);
    expect(r.stdout).toMatch(/^rtos: task 0 control: period 10000 us, deadline 10000 us, wcet 20 us \(2000 instructions\), priority 0$/m);
    expect(r.stdout).toMatch(/^rtos: task 1 report: period 100000 us, deadline 100000 us, wcet 200 us \(20000 instructions\), priority 1$/m);
    expect(r.stdout).toMatch(/^rtos: task set reported to Ferry: slack \d+ us$/m);

    const lines = ctlLines(r.stdout);
    expect(lines.map((l) => l.t)).toEqual(Array.from({ length: 40 }, (_, i) => i * 100));
    for (const l of lines) {
      expect(l.name).toBe('control');
      expect(l.setpoint).toBe(100);
      expect(l.err).toBeCloseTo(l.setpoint - l.y, 2);
      expect(Math.abs(l.u)).toBeLessThanOrEqual(12);
    }
    const err = (t: number): number => Math.abs(lines.find((l) => l.t === t)!.err);
    expect(err(0)).toBe(100);
    // Converging: the error shrinks from step to step, and is gone within a second.
    for (let t = 100; t <= 800; t += 100) expect(err(t), `t=${t}`).toBeLessThan(err(t - 100));
    for (let t = 1000; t <= 3000; t += 100) expect(err(t), `t=${t}`).toBeLessThanOrEqual(0.002);
    // The load step at 3 s disturbs it; the integral action removes it again.
    expect(err(3100)).toBeGreaterThan(0.1);
    expect(err(3900)).toBeLessThanOrEqual(0.002);
  });

  it('control is deterministic and meets every deadline (its own count and Ferry job_done)', async () => {
    const [a, b] = await Promise.all([
      ferryRun('control', '--max-cycles', String(5 * SECOND + SECOND / 20)),
      ferryRun('control', '--max-cycles', String(5 * SECOND + SECOND / 20)),
    ]);
    expect(a.status).toBe(124);
    expect(a.stdout).toBe(b.stdout);
    // The statistics every 5 s (after the 50th report): 491 control jobs, 49 reports.
    const control = /^rtos: control: (\d+) jobs, (\d+) misses \(Ferry: (\d+)\), worst response (\d+) us, worst (\d+) instructions$/m.exec(a.stdout);
    const report = /^rtos: report: (\d+) jobs, (\d+) misses \(Ferry: (\d+)\), worst response (\d+) us, worst (\d+) instructions$/m.exec(a.stdout);
    expect(control, a.stdout).not.toBeNull();
    expect(report, a.stdout).not.toBeNull();
    expect(control!.slice(1, 4).map(Number)).toEqual([491, 0, 0]);
    expect(report!.slice(1, 4).map(Number)).toEqual([49, 0, 0]);
    // The declared WCETs (2,000 and 20,000 instructions) hold with margin.
    expect(Number(control![5])).toBeLessThan(1000);
    expect(Number(report![5])).toBeLessThan(10_000);
    expect(Number(control![4])).toBeLessThan(20);
  });

  it('control-rx on its own falls back to its own setpoint (60 rad/s) and converges', async () => {
    const r = await ferryRun('control-rx', '--max-cycles', String(2 * SECOND));
    expect(r.status, r.stderr).toBe(124);
    const lines = ctlLines(r.stdout);
    expect(lines.length).toBe(20);
    for (const l of lines) {
      expect(l.name).toBe('control-rx');
      expect(l.setpoint).toBe(60);
      expect(l.tail).toBe(' (own setpoint)');
    }
    expect(Math.abs(lines.at(-1)!.err)).toBeLessThanOrEqual(0.002);
  });

  it('control-tx on its own controls as control does, counting the sends it cannot make', async () => {
    const [tx, plain] = await Promise.all([
      ferryRun('control-tx', '--max-cycles', String(5 * SECOND + SECOND / 20)),
      ferryRun('control', '--max-cycles', String(5 * SECOND + SECOND / 20)),
    ]);
    expect(tx.status, tx.stderr).toBe(124);
    const strip = (lines: CtlLine[]): string => JSON.stringify(lines.map(({ name: _name, ...rest }) => rest));
    expect(strip(ctlLines(tx.stdout))).toBe(strip(ctlLines(plain.stdout)));
    expect(tx.stdout).toMatch(/^ctl control-tx: channel port 0: 0 sent, 491 errors \(last -\d+\)$/m);
  });

  it('on a board, control-rx follows the speed control-tx sends over a channel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-control-'));
    try {
      const board = join(dir, 'pair.json');
      writeFileSync(board, JSON.stringify({
        name: 'pair',
        description: 'control-tx on processor 0 feeds control-rx on processor 1',
        processors: [
          { id: 0, clockHz: 100_000_000, ramBytes: 4 << 20, majorFrameNs: 10_000_000 },
          { id: 1, clockHz: 100_000_000, ramBytes: 4 << 20, majorFrameNs: 10_000_000 },
        ],
        links: [{ from: 0, to: 1, bandwidthBytesPerS: 12_500_000, latencyNs: 10_000, mtuBytes: 1024 }],
        vms: [
          { name: 'tx', image: guestPath('control-tx'), kind: 'paravirtual', memoryBytes: 1 << 20, processor: 0, windows: [{ offsetNs: 0, durationNs: 5_000_000 }] },
          { name: 'rx', image: guestPath('control-rx'), kind: 'paravirtual', memoryBytes: 1 << 20, processor: 1, windows: [{ offsetNs: 0, durationNs: 10_000_000 }] },
        ],
        channels: [{ name: 'speed', kind: 'sampling', maxMessageBytes: 64, depth: 1, source: { vm: 'tx', port: 0 }, destination: { vm: 'rx', port: 0 } }],
      }));
      const r = await ferry('run', '--board', board, '--duration', '1500ms', '--no-summary');
      // --duration is the run's planned length: VMs still running then exit 0 (docs/boards.md).
      expect(r.status, r.stderr).toBe(0);
      const lines = ctlLines(r.stdout);
      const tx = lines.filter((l) => l.vm === 'tx');
      const rx = lines.filter((l) => l.vm === 'rx');
      expect(tx.length).toBe(15);
      expect(rx.length).toBe(15);
      expect(r.stdout).toMatch(/^\[tx\] rtos: task set reported to Ferry: slack \d+ us$/m);
      expect(r.stdout).toMatch(/^\[rx\] rtos: task set reported to Ferry: slack \d+ us$/m);
      // Period 0 may come before the first sample; from then on the setpoint is tx's speed.
      for (const l of rx.slice(1)) expect(l.tail, `t=${l.t}`).toBe(' (remote setpoint)');
      for (const l of rx.filter((x) => x.t >= 1000)) {
        expect(Math.abs(l.setpoint - 100), `t=${l.t}`).toBeLessThanOrEqual(0.01);
        expect(Math.abs(l.err), `t=${l.t}`).toBeLessThanOrEqual(0.01);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasCore())(`the memory-check guest${e2eNote}`, () => {
  it('memcheck-finite writes and verifies 1 MiB for 100 rounds and shuts down with status 0', async () => {
    const r = await ferryRun('memcheck-finite', '--max-cycles', String(10 * SECOND));
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^memcheck: 1024 KiB at 0x[0-9a-f]{8} \(256 pages\), 100 rounds$/m);
    const rounds = [...r.stdout.matchAll(/^memcheck: round (\d+) ok: 256 pages verified; 10 rounds in (\d+) us$/gm)];
    expect(rounds.map((m) => Number(m[1]))).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(r.stdout.endsWith('memcheck: done: 100 rounds, 1024 KiB verified each\n')).toBe(true);
  });

  it('memcheck runs until stopped, reporting progress (status 124)', async () => {
    const r = await ferryRun('memcheck', '--max-cycles', String(SECOND));
    expect(r.status).toBe(124);
    expect(r.stdout).toMatch(/^memcheck: 1024 KiB at 0x[0-9a-f]{8} \(256 pages\), rounds forever$/m);
    expect(r.stdout).toMatch(/^memcheck: round 30 ok: 256 pages verified; 10 rounds in \d+ us$/m);
    expect(r.stdout).not.toMatch(/MISMATCH/);
  });

  it('memcheck finds a corrupted byte, names its page and offset, and fails with status 1', async () => {
    const bytes = Buffer.from(readFileSync(guestPath('memcheck-finite')));
    const elf = readElf(bytes);
    const at = elf.symbols.get('memcheck_fault');
    expect(at, 'memcheck_fault symbol').toBeDefined();
    const segment = elf.segments.find((s) => s.type === 1 && at! >= s.paddr && at! + 16 <= s.paddr + s.fileBytes)!;
    expect(segment, 'memcheck_fault lies in the file').toBeDefined();
    const offset = segment.offset + at! - segment.paddr;
    expect(bytes.readUInt32LE(offset), 'shipped: never').toBe(0xffff_ffff);
    // Round 3, page 5, byte 1234 ^= 0x40.
    [3, 5, 1234, 0x40].forEach((v, i) => bytes.writeUInt32LE(v, offset + 4 * i));
    const dir = mkdtempSync(join(tmpdir(), 'ferry-memcheck-'));
    try {
      const image = join(dir, 'memcheck-fault.elf');
      writeFileSync(image, bytes);
      const r = await ferryRun(image, '--max-cycles', String(10 * SECOND));
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^memcheck: MISMATCH in round 4: page 5 \(0x[0-9a-f]{8}\), offset 1234: expected 0x([0-9a-f]{2}), found 0x([0-9a-f]{2})$/m);
      const m = /expected 0x([0-9a-f]{2}), found 0x([0-9a-f]{2})/.exec(r.stdout)!;
      expect(parseInt(m[1]!, 16) ^ parseInt(m[2]!, 16)).toBe(0x40);
      expect(r.stdout).toMatch(/^memcheck: FAILED: 1 bytes of page 5 differ from what round 3 wrote$/m);
      expect(r.stderr).toMatch(/system failure/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
