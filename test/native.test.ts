/**
 * The core as native firmware (docs/runtimes.md): build/core.wasm translated by
 * wasm2c, compiled by gcc with native/board.c into build/native/ferry-native.
 * `ferry-native <image>` must behave like `ferry run <image>`: the same console
 * bytes, exit status, stderr and retired-instruction count, and the same
 * one-line refusal of a bad image or option (exit 2). The build with explicit
 * bounds checks (for a target without an MMU) must behave like the default one.
 *
 * Needs wasm2c (Debian wabt) and gcc. Without them the suite is skipped with a
 * visible message, except under CI=true, where it fails: CI installs them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EHDR, EM_X86_64, ET_DYN, ET_REL, PHDR, PT_NOTE, RAM_BASE, SAMPLE_CODE, buildElf, patch16, patch32, phdrAt,
} from './helpers/elf-builder.js';
import { FERRY_BIN, ROOT } from './helpers/paths.js';
import { NATIVE, NATIVE_EXPLICIT, buildNativeIfStale, inCi, nativeMissing } from './helpers/runtime-tools.js';
import { printAndShutdownGuest, spinningGuest, tohostGuest } from './helpers/test-guests.js';

const GUEST_DIR = join(ROOT, 'guests', 'build');
const GUESTS = existsSync(GUEST_DIR) ? readdirSync(GUEST_DIR).filter((name) => name.endsWith('.elf')).sort() : [];

/**
 * Some guests never stop on their own (they wait for a board's peers, or loop
 * until stopped): every guest runs with this cap, far above what the finite
 * ones need, except cpu.elf (~300 M instructions), which runs to the end below.
 */
const GUEST_MAX_CYCLES = '20_000_000';

const missing = nativeMissing();

interface Run { status: number | null; stdout: Buffer; stderr: string }

function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Killed if it hangs, so a failing test leaves no process behind.
    const child = spawn(command, args, { cwd: ROOT, timeout: 100_000 });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

const native = (args: string[]): Promise<Run> => run(NATIVE, args);
const ferryRun = (args: string[]): Promise<Run> => run(process.execPath, [FERRY_BIN, 'run', ...args]);

/** Runs the image both ways and checks they agree on everything. */
async function expectSameAsFerryRun(args: string[]): Promise<Run> {
  const [cli, firmware] = await Promise.all([ferryRun(args), native(args)]);
  expect(firmware.status, firmware.stderr).toBe(cli.status);
  expect(firmware.stderr).toBe(cli.stderr);
  expect(firmware.stdout.equals(cli.stdout), `stdout differs:\nferry run: ${cli.stdout}\nnative: ${firmware.stdout}`).toBe(true);
  return firmware;
}

if (missing !== undefined && inCi) {
  describe('native firmware (wasm2c + gcc)', () => {
    it(`needs what CI must install: ${missing}`, () => {
      expect.fail(`${missing}: the native runtime cannot be built or tested`);
    });
  });
} else if (missing !== undefined) {
  console.warn(`test/native.test.ts: SKIPPED: ${missing}`);
  describe('native firmware (wasm2c + gcc)', () => {
    it.skip(`SKIPPED: ${missing}`, () => {});
  });
} else {
  describe('native firmware: ferry-native behaves like ferry run', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-native-'));
      buildNativeIfStale();
    }, 180_000);

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function file(name: string, contents: Uint8Array | string): string {
      const path = join(dir, name);
      writeFileSync(path, contents);
      return path;
    }

    it('finds the guest images', () => {
      expect(GUESTS.length).toBeGreaterThanOrEqual(5);
    });

    it.each(GUESTS)(`%s (--max-cycles ${GUEST_MAX_CYCLES}): same stdout, exit status, stderr and instret`, async (name) => {
      const result = await expectSameAsFerryRun([join(GUEST_DIR, name), '--instret', '--max-cycles', GUEST_MAX_CYCLES]);
      expect(result.stderr).toMatch(/^instret: [1-9]\d*$/m);
    }, 120_000);

    it('cpu.elf runs to the end with the same checksum and instret', async () => {
      const result = await expectSameAsFerryRun([join(GUEST_DIR, 'cpu.elf'), '--instret']);
      expect(result.status).toBe(0);
      expect(result.stdout.toString()).toMatch(/checksum: 0x[0-9a-f]{8}/);
    }, 120_000);

    it.each([
      ['prints and shuts down', () => printAndShutdownGuest('hello from native\n'), 0],
      ['reports a system failure', () => printAndShutdownGuest('oops\n', 1), 1],
      ['writes tohost = 1', () => tohostGuest(1), 0],
      ['writes tohost = 7 (test 3 failed)', () => tohostGuest(7), 1],
    ] as const)('an inline guest that %s', async (title, build, status) => {
      const path = file(`${title.replace(/\W+/g, '-')}.elf`, build());
      expect((await expectSameAsFerryRun([path, '--instret'])).status).toBe(status);
    });

    it('--max-cycles N: exit 124 at the same point, same message and instret', async () => {
      const spin = await expectSameAsFerryRun([file('spin.elf', spinningGuest()), '--max-cycles', '2_500_001', '--instret']);
      expect(spin.status).toBe(124);
      expect(spin.stderr).toMatch(/^max-cycles: the guest was still running after 2500001 cycles \(pc 0x8[0-9a-f]+\)\ninstret: \d+\n$/);
      const cpu = await expectSameAsFerryRun([join(GUEST_DIR, 'cpu.elf'), '--max-cycles', '0x10000', '--instret']);
      expect(cpu.status).toBe(124);
    });

    it('--mode overrides the kind picked from the image', async () => {
      const result = await expectSameAsFerryRun([join(GUEST_DIR, 'hello.elf'), '--mode', 'machine', '--instret']);
      expect(result.status).toBe(1);
    });

    const outsideRam = (): Uint8Array => buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE }, { paddr: 0x1000, data: SAMPLE_CODE }] });
    const badImages: [string, () => Uint8Array | string][] = [
      ['a text file', () => 'this is not a guest\n'],
      ['an empty file', () => new Uint8Array(0)],
      ['a truncated ELF header', () => buildElf().subarray(0, 30)],
      ['an ELF64 x86-64 file', () => buildElf({ elfClass: 2, machine: EM_X86_64 })],
      ['a 32-bit x86-64 file', () => buildElf({ machine: EM_X86_64 })],
      ['a big-endian file', () => buildElf({ data: 2 })],
      ['ELF version 2', () => buildElf({ version: 2 })],
      ['a relocatable object', () => buildElf({ type: ET_REL })],
      ['a position-independent executable', () => buildElf({ type: ET_DYN })],
      ['a hard-float image', () => buildElf({ flags: 0x4 })],
      ['a segment past the end of the file', () => patch32(buildElf(), phdrAt(0) + PHDR.filesz, 0x10000)],
      ['a segment whose file size exceeds its memory size', () => patch32(buildElf(), phdrAt(0) + PHDR.memsz, 4)],
      ['a bad program header entry size', () => patch16(buildElf(), EHDR.phentsize, 16)],
      ['no loadable segment', () => buildElf({ segments: [{ type: PT_NOTE, paddr: RAM_BASE, data: SAMPLE_CODE }] })],
      ['a segment outside guest RAM', outsideRam],
      ['an image bigger than the VM', () => buildElf({ segments: [{ paddr: RAM_BASE, data: SAMPLE_CODE, memBytes: 16 * 1024 * 1024 }] })],
      ['an entry point outside RAM', () => buildElf({ entry: 0x1000 })],
      ['a tohost symbol outside RAM', () => buildElf({ symbols: [{ name: 'tohost', value: 0x4000 }] })],
    ];

    it.each(badImages)('refuses %s with exit 2 and the CLI\'s one-line message', async (title, build) => {
      const path = file(`${title.replace(/\W+/g, '-')}.elf`, build());
      const [cli, firmware] = await Promise.all([ferryRun([path]), native([path])]);
      expect(cli.status).toBe(2);
      expect(firmware.status).toBe(2);
      expect(firmware.stdout.length).toBe(0);
      expect(firmware.stderr).toMatch(/^ferry-native: error: [^\n]+\n$/);
      expect(firmware.stderr.replace(/^ferry-native: /, '')).toBe(cli.stderr.replace(/^ferry: /, ''));
    });

    it('refuses a missing file, a directory, a FIFO and a device like the CLI (at once: no wait for a writer)', async () => {
      const fifo = join(dir, 'fifo.elf');
      if (!existsSync(fifo)) spawnSync('mkfifo', [fifo]);
      for (const path of [join(dir, 'missing.elf'), dir, fifo, '/dev/zero']) {
        const [cli, firmware] = await Promise.all([ferryRun([path]), native([path])]);
        expect(firmware.status).toBe(2);
        expect(firmware.stderr.replace(/^ferry-native: /, '')).toBe(cli.stderr.replace(/^ferry: /, ''));
      }
    });

    it.each([
      [['--bogus', 'x.elf'], /unknown option '--bogus'/],
      [[], /missing required argument 'image\.elf'/],
      [['--max-cycles', '0', 'x.elf'], /'--max-cycles <n>' argument '0' is invalid/],
      [['--max-cycles', 'lots', 'x.elf'], /'--max-cycles <n>' argument 'lots' is invalid/],
      [['--mode', 'bare', 'x.elf'], /'--mode <mode>' argument 'bare' is invalid/],
      [['a.elf', 'b.elf'], /too many arguments/],
    ] as const)('refuses bad options %j with exit 2 and one line', async (args, pattern) => {
      const result = await native([...args]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^ferry-native: error: [^\n]+\n$/);
      expect(result.stderr).toMatch(pattern);
    });

    it('catches a fault in the core by its guard pages: a SIGSEGV is reported as the core trapping, exit 3', async () => {
      const child = spawn(NATIVE, [file('spin-forever.elf', spinningGuest())], { cwd: ROOT });
      const stderr: Buffer[] = [];
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      const status = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, 300)); // well into the run loop
      child.kill('SIGSEGV');
      expect(await status).toBe(3);
      expect(Buffer.concat(stderr).toString()).toMatch(/^ferry-native: internal error: the core trapped: /);
    });

    it('--help describes the options and exit statuses', async () => {
      const result = await native(['--help']);
      expect(result.status).toBe(0);
      for (const text of ['--mode', '--max-cycles', '--instret', '124']) expect(result.stdout.toString()).toContain(text);
    });
  });

  describe('native firmware with explicit bounds checks (FERRY_NATIVE_BOUNDS=explicit) behaves like the guard-page build', () => {
    beforeAll(() => {
      buildNativeIfStale();
      buildNativeIfStale('explicit');
    }, 180_000);

    it.each(GUESTS)(`%s (--max-cycles ${GUEST_MAX_CYCLES}): same stdout, exit status, stderr and instret`, async (name) => {
      const args = [join(GUEST_DIR, name), '--instret', '--max-cycles', GUEST_MAX_CYCLES];
      const [guard, explicit] = await Promise.all([native(args), run(NATIVE_EXPLICIT, args)]);
      expect(explicit.status, explicit.stderr).toBe(guard.status);
      expect(explicit.stderr).toBe(guard.stderr);
      expect(explicit.stdout.equals(guard.stdout)).toBe(true);
      expect(explicit.stderr).toMatch(/^instret: [1-9]\d*$/m);
    }, 120_000);
  });
}
