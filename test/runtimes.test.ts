/**
 * One core, two Node runtimes (docs/runtimes.md): build/core.wasm as a plain
 * module and the component built from wit/ferry.wit and transpiled by jco.
 * Every guest in guests/build must behave identically through both: the same
 * console bytes, exit status, stderr and retired-instruction count.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointGuest, restoreGuest } from '../host/checkpoint.js';
import { loadComponentCore } from '../host/core-component.js';
import { loadCore } from '../host/core.js';
import type { CoreRuntime } from '../host/core-runtime.js';
import { CoreLoadError } from '../host/errors.js';
import { coreFactoryFor, runImage } from '../host/runner.js';
import { lines, runFerry } from './helpers/ferry-cli.js';
import { CORE_WASM, FERRY_BIN, ROOT, hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest, tohostGuest } from './helpers/test-guests.js';

const GUEST_DIR = join(ROOT, 'guests', 'build');
const COMPONENT_JS = join(ROOT, 'build', 'component', 'js', 'ferry-core.js');
const hasComponent = (): boolean => existsSync(COMPONENT_JS);
/** What the component is made from: rebuilt below when any of these is newer (npm test builds it anyway). */
const COMPONENT_SOURCES = [CORE_WASM, join(ROOT, 'wit', 'ferry.wit'), join(ROOT, 'scripts', 'build-component.mjs')];

/**
 * Comparing a fresh module with a stale component would report differences that
 * are not there: rebuild the component first when the core or the WIT changed
 * (e.g. after `npm run build:core` and a bare `npx vitest`). A build that fails
 * (the core and the WIT disagree) fails this file with the build's message.
 */
function rebuildStaleComponent(): void {
  if (!hasCore()) return;
  const built = hasComponent() ? statSync(COMPONENT_JS).mtimeMs : 0;
  if (COMPONENT_SOURCES.every((source) => !existsSync(source) || statSync(source).mtimeMs <= built)) return;
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-component.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build:component failed:\n${build.stdout}${build.stderr}`);
}
rebuildStaleComponent();
const GUESTS = existsSync(GUEST_DIR) ? readdirSync(GUEST_DIR).filter((name) => name.endsWith('.elf')).sort() : [];
const BOARD_DIR = join(ROOT, 'boards');
const BOARDS = existsSync(BOARD_DIR) ? readdirSync(BOARD_DIR).filter((name) => name.endsWith('.json') && name !== 'schema.json').sort() : [];

/**
 * Some guests never stop on their own (they wait for a board's peers, or loop
 * until stopped): every guest runs with this cap, far above what the finite
 * ones need, except cpu.elf (~300 M instructions), which runs to the end below.
 */
const GUEST_MAX_CYCLES = '20_000_000';

const RAM_BASE = 0x8000_0000;
const RAM_BYTES = 64 * 1024;

interface Run { status: number | null; stdout: Buffer; stderr: string }

/** bin/ferry.js as a child process, asynchronously, so the two runtimes run side by side. */
function ferry(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Killed if it hangs, so a failing test leaves no process behind.
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { cwd: ROOT, timeout: 100_000 });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

const skipNote = !hasCore()
  ? ' — SKIPPED: build/core.wasm not built (npm run build:core)'
  : !hasComponent() ? ' — SKIPPED: the component is not built (npm run build:component)' : '';
const ready = hasCore() && hasComponent();

describe.skipIf(!ready)(`every guest image: ferry run --runtime module and --runtime component agree${skipNote}`, () => {
  it('finds the guest images', () => {
    expect(GUESTS.length).toBeGreaterThanOrEqual(5);
  });

  async function expectSameThroughBoth(args: string[]): Promise<Run> {
    const [module, component] = await Promise.all([
      ferry(['run', ...args, '--runtime', 'module']),
      ferry(['run', ...args, '--runtime', 'component']),
    ]);
    expect(component.status, component.stderr).toBe(module.status);
    expect(component.stderr).toBe(module.stderr);
    expect(component.stdout.equals(module.stdout), `stdout differs:\nmodule: ${module.stdout}\ncomponent: ${component.stdout}`).toBe(true);
    return module;
  }

  it.each(GUESTS)(`%s (--max-cycles ${GUEST_MAX_CYCLES}): same stdout, exit status, stderr and instret`, async (name) => {
    const module = await expectSameThroughBoth([join(GUEST_DIR, name), '--instret', '--max-cycles', GUEST_MAX_CYCLES]);
    expect(module.stderr).toMatch(/^instret: [1-9]\d*$/m);
  }, 120_000);

  it('cpu.elf runs to the end with the same checksum and instret', async () => {
    const module = await expectSameThroughBoth([join(GUEST_DIR, 'cpu.elf'), '--instret']);
    expect(module.status).toBe(0);
    expect(module.stdout.toString()).toMatch(/checksum: 0x[0-9a-f]{8}/);
  }, 120_000);

  // Multiprocessor boards: link frames cross the component boundary as lists both ways.
  it.each(BOARDS)('board %s (--max-cycles 5_000_000): same output, exit status and summary', async (name) => {
    await expectSameThroughBoth(['--board', join(BOARD_DIR, name), '--max-cycles', '5_000_000']);
  }, 120_000);

  it('--max-cycles stops both at the same point with 124', async () => {
    const module = await expectSameThroughBoth([join(GUEST_DIR, 'cpu.elf'), '--instret', '--max-cycles', '123457']);
    expect(module.status).toBe(124);
  });
});

describe.skipIf(!ready)(`ferry run --runtime${skipNote}`, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-runtimes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is described in the help, with module as the default', () => {
    const help = runFerry(['run', '--help']);
    expect(help.stdout).toContain('--runtime <runtime>');
    expect(help.stdout).toMatch(/choices:\s+"module",\s+"component",\s+"wasmtime",\s+"native",\s+default:\s+"module"/);
  });

  it('refuses an unknown runtime with exit 2', () => {
    const result = runFerry(['run', join(GUEST_DIR, 'hello.elf'), '--runtime', 'wasm']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--runtime <runtime>' argument 'wasm' is invalid/);
    expect(result.stdout).toBe('');
  });

  it('refuses a bad image through the component with exit 2 and one line', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'not a guest\n');
    const result = runFerry(['run', path, '--runtime', 'component']);
    expect(result.status).toBe(2);
    expect(lines(result.stderr)).toEqual([`ferry: error: ${path}: not an ELF file (no \\x7fELF magic number at the start)`]);
  });
});

describe.skipIf(!ready)(`runImage({ runtime })${skipNote}`, () => {
  const cases: [string, Uint8Array, object][] = [
    ['a paravirtual guest that prints and shuts down', printAndShutdownGuest('hi from the component\n'), {}],
    ['a guest that reports a system failure', printAndShutdownGuest('bye\n', 1), {}],
    ['a machine guest that writes tohost = 7', tohostGuest(7), {}],
    ['a guest that spins until the cycle limit', spinningGuest(), { maxCycles: 2_500_001 }],
  ];

  it.each(cases)('%s: the same result from both runtimes', async (_title, image, extra) => {
    const module = await runImage({ image, runtime: 'module', ...extra });
    const component = await runImage({ image, runtime: 'component', ...extra });
    expect(component).toEqual(module);
    expect(module.instret).toBeGreaterThan(0n);
  });

  it('rejects an unknown runtime name', async () => {
    await expect(runImage({ image: printAndShutdownGuest('x'), runtime: 'wasm' as never })).rejects.toThrow(/runtime must be module, component, wasmtime, native, not wasm/);
  });
});

/** The same calls on both runtimes give the same answers. */
async function bothRuntimes(): Promise<[CoreRuntime, CoreRuntime]> {
  return [await loadCore(), await loadComponentCore()];
}

function createVm(core: CoreRuntime): number {
  core.configure(50_000_000, 0);
  const vm = core.vmCreate(0, RAM_BYTES);
  expect(vm).toBe(0);
  return vm;
}

describe.skipIf(!ready)(`ComponentCore against Core${skipNote}`, () => {
  it('loads bytes through the staging buffer (cabi_realloc) and refuses bad ranges alike', async () => {
    for (const core of await bothRuntimes()) {
      const vm = createVm(core);
      const bytes = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
      expect(core.vmLoad(vm, RAM_BASE + 0x100, bytes)).toBe(0);
      // Past the end of RAM: -11 (bad range), nothing written; no such VM: -3.
      expect(core.vmLoad(vm, RAM_BASE + RAM_BYTES - 8, bytes)).toBe(-11);
      expect(core.vmLoad(7, RAM_BASE, bytes.subarray(0, 4))).toBe(-3);
      // An empty list is a valid (no-op) load.
      expect(core.vmLoad(vm, RAM_BASE, new Uint8Array(0))).toBe(0);
    }
  });

  it('refuses a list larger than the staging buffer, before the core sees it', async () => {
    for (const core of await bothRuntimes()) {
      const tooBig = new Uint8Array(core.stagingBytes() + 1);
      expect(() => core.vmLoad(0, RAM_BASE, tooBig)).toThrow(RangeError);
      expect(() => core.linkReceive(1, tooBig)).toThrow(RangeError);
    }
  });

  it('gives u32 and u64 values the same sign and width', async () => {
    const [module, component] = await bothRuntimes();
    for (const core of [module, component]) {
      const vm = createVm(core);
      core.vmSetReg(vm, 5, 0xffff_fff0);
      core.vmBoot(vm, 0x8000_0000, 0xdead_beef, 0);
    }
    for (const [name, read] of [
      ['x5', (c: CoreRuntime) => c.vmGetReg(0, 5)],
      ['a0', (c: CoreRuntime) => c.vmGetReg(0, 10)],
      ['pc', (c: CoreRuntime) => c.vmGetPc(0)],
      ['misa', (c: CoreRuntime) => c.vmGetCsr(0, 0x301)],
      ['slack', (c: CoreRuntime) => c.vmStat(0, 6)],
      ['now', (c: CoreRuntime) => c.now()],
      ['vmCreate(bad kind)', (c: CoreRuntime) => c.vmCreate(9, 4096)],
    ] as const) {
      expect(read(component), name).toBe(read(module));
    }
    expect(component.vmGetReg(0, 5)).toBe(0xffff_fff0);
    expect(component.vmCreate(9, 4096)).toBe(-3);
  });

  it('gives each processor its own instance and memory', async () => {
    const a = await loadComponentCore();
    const b = await loadComponentCore();
    createVm(a);
    expect(a.vmGetPc(0)).toBe(0);
    a.vmBoot(0, 0x8000_1000, 0, 0);
    // b has no VM 0 yet: its core answers 0 for the pc of a VM that does not exist.
    expect(b.vmGetPc(0)).toBe(0);
    expect(a.vmGetPc(0)).toBe(0x8000_1000);
  });

  it('explains a component that has not been built', async () => {
    await expect(loadComponentCore({ jsDir: join(ROOT, 'build', 'no-such-component') })).rejects.toThrow(CoreLoadError);
    await expect(loadComponentCore({ jsDir: join(ROOT, 'build', 'no-such-component') })).rejects.toThrow(/npm run build:component/);
  });
});

const CHECKPOINT_GUEST = join(GUEST_DIR, 'memcheck-finite.elf');

describe.skipIf(!ready || !existsSync(CHECKPOINT_GUEST))(`checkpoint streams cross runtimes${skipNote}`, () => {
  const checkpoint = (runtime: 'module' | 'component') => checkpointGuest({
    imagePath: CHECKPOINT_GUEST, atCycle: 2_000_000, incrementalEvery: 1_000_000, core: coreFactoryFor(runtime),
  });
  const restore = (stream: Uint8Array, runtime: 'module' | 'component') => restoreGuest({
    stream, maxCycles: 4_000_000, core: coreFactoryFor(runtime),
  });

  it('both runtimes write the same stream, and each restores the other\'s to the same result', async () => {
    const [fromModule, fromComponent] = [await checkpoint('module'), await checkpoint('component')];
    expect(fromModule.checkpoints.map((c) => c.kind)).toEqual(['full', 'incremental']);
    // Bigger than one staging buffer: checkpoint-read and restore-write run in several chunks.
    expect(fromModule.stream.length).toBeGreaterThan(64 * 1024);
    expect(Buffer.from(fromComponent.stream).equals(Buffer.from(fromModule.stream))).toBe(true);
    expect(fromComponent.console).toBe(fromModule.console);

    const inModule = await restore(fromComponent.stream, 'module');
    const inComponent = await restore(fromModule.stream, 'component');
    expect(inComponent).toEqual(inModule);
    expect(inModule.resumedAtCycles).toBe(2_000_000n);
    expect(inModule.instret).toBeGreaterThan(fromModule.instret);
  }, 120_000);
});

describe.skipIf(!hasCore())('cabi_realloc in build/core.wasm (the canonical ABI\'s allocator)', () => {
  async function coreExports(): Promise<Record<string, (...args: number[]) => number>> {
    const noop = (): void => {};
    const board = { 'console-write': noop, 'link-send': noop, trace: noop, event: noop };
    const instance = await WebAssembly.instantiate(new WebAssembly.Module(readFileSync(CORE_WASM)), { 'ferry:core/board': board });
    return instance.exports as unknown as Record<string, (...args: number[]) => number>;
  }

  it('hands out the staging buffer for any list that fits', async () => {
    const core = await coreExports();
    const staging = core.stagingBuffer!();
    expect(core.cabi_realloc!(0, 0, 1, 0)).toBe(staging);
    expect(core.cabi_realloc!(0, 0, 1, 4096)).toBe(staging);
    expect(core.cabi_realloc!(0, 0, 1, core.stagingBytes!())).toBe(staging);
  });

  it('traps on a list larger than the buffer and on a realloc of an earlier block', async () => {
    const core = await coreExports();
    expect(() => core.cabi_realloc!(0, 0, 1, core.stagingBytes!() + 1)).toThrow(WebAssembly.RuntimeError);
    expect(() => core.cabi_realloc!(core.stagingBuffer!(), 16, 1, 32)).toThrow(WebAssembly.RuntimeError);
  });
});
