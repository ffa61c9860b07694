/**
 * Every processor on any runtime (docs/runtimes.md): the component on wasmtime and the
 * native firmware, each in a process of its own behind the protocol of remote-core.ts,
 * behave as the module does — the same console bytes, exit status, messages,
 * retired-instruction count and trace for every guest image and board; checkpoint streams
 * byte for byte the same, each restoring on the others; a VM migrated live across three
 * runtimes arrives whole, within its bound, with the trace of an all-module board.
 * (test/runtimes.test.ts checks the component against the module the same way.)
 *
 * Needs wasm2c and gcc (the native firmware) and the .venv with wasmtime 49
 * (npm run setup:wasmtime). Without them the suite is skipped with its reason, except
 * under CI=true, where it fails: CI installs them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBoard } from '../host/board.js';
import { runBoard } from '../host/board-runner.js';
import { checkpointGuest, restoreGuest } from '../host/checkpoint.js';
import { CORE_RUNTIMES } from '../host/core-runtime.js';
import type { CoreRuntimeName } from '../host/core-runtime.js';
import { CoreLoadError } from '../host/errors.js';
import { runImage } from '../host/runner.js';
import type { TraceRecord } from '../host/trace.js';
import { coreFactoryFor } from '../host/runtimes/core-factory.js';
import { nativeCoreFactory } from '../host/runtimes/native.js';
import { wasmtimeCoreFactory } from '../host/runtimes/wasmtime.js';
import { guaranteeBoard, probesHealthy } from './helpers/guarantee-board.js';
import { GUESTS as GUEST_DIR, MIB, migrate, verifiedRounds } from './helpers/migration-board.js';
import { FERRY_BIN, ROOT } from './helpers/paths.js';
import { buildNativeIfStale, inCi, nativeMissing, wasmtimeMissing } from './helpers/runtime-tools.js';

const OUT_OF_PROCESS: CoreRuntimeName[] = ['wasmtime', 'native'];
const GUESTS = existsSync(GUEST_DIR) ? readdirSync(GUEST_DIR).filter((name) => name.endsWith('.elf')).sort() : [];
const BOARD_DIR = join(ROOT, 'boards');
const BOARDS = readdirSync(BOARD_DIR).filter((name) => name.endsWith('.json') && name !== 'schema.json').sort();
/** Guests that never stop on their own stop here; far above what the finite ones need. */
const GUEST_MAX_CYCLES = 20_000_000n;
/** A board's first 20 ms: every board's VMs have started, exchanged frames and run windows by then. */
const BOARD_MAX_CYCLES = '2_000_000';
const MS = 1_000_000n;

interface Run { status: number | null; stdout: Buffer; stderr: string }

/** bin/ferry.js as a child process, so the runtimes run side by side. */
function ferry(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], { cwd: ROOT, timeout: 200_000 });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

/** The same command on the module and on each out-of-process runtime: everything it printed must agree. */
async function expectSameOnEvery(args: string[], traceDir?: string): Promise<Run> {
  const runtimes: CoreRuntimeName[] = ['module', ...OUT_OF_PROCESS];
  const trace = (runtime: string): string[] => (traceDir === undefined ? [] : ['--trace', join(traceDir, `${runtime}.jsonl`)]);
  const [module, ...others] = await Promise.all(runtimes.map((runtime) => ferry([...args, '--runtime', runtime, ...trace(runtime)])));
  others.forEach((other, i) => {
    const runtime = OUT_OF_PROCESS[i]!;
    expect(other.status, `${runtime}: ${other.stderr}`).toBe(module!.status);
    expect(other.stderr, runtime).toBe(module!.stderr);
    expect(other.stdout.equals(module!.stdout), `${runtime}: stdout differs:\nmodule: ${module!.stdout}\n${runtime}: ${other.stdout}`).toBe(true);
    if (traceDir !== undefined) {
      expect(readFileSync(join(traceDir, `${runtime}.jsonl`), 'utf8'), `${runtime}: trace`).toBe(readFileSync(join(traceDir, 'module.jsonl'), 'utf8'));
    }
  });
  return module!;
}

const missing = [nativeMissing(), wasmtimeMissing()].filter((why) => why !== undefined);

if (missing.length > 0 && inCi) {
  describe('every processor on any runtime', () => {
    it(`needs what CI must install: ${missing.join('; ')}`, () => {
      expect.fail(`${missing.join('; ')}: the wasmtime and native runtimes cannot be tested`);
    });
  });
} else if (missing.length > 0) {
  console.warn(`test/runtimes-cross.test.ts: SKIPPED: ${missing.join('; ')}`);
  describe('every processor on any runtime', () => {
    it.skip(`SKIPPED: ${missing.join('; ')}`, () => {});
  });
} else {
  describe('every processor on any runtime', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-runtimes-cross-'));
      buildNativeIfStale();
    }, 180_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('finds the guest images and boards', () => {
      expect(GUESTS.length).toBeGreaterThanOrEqual(5);
      expect(BOARDS).toEqual(expect.arrayContaining(['quad.json', 'cluster16.json']));
    });

    it.each(GUESTS)(`%s (max ${GUEST_MAX_CYCLES} cycles): the same console bytes, exit status, message and instret on wasmtime and native`, async (name) => {
      const run = async (runtime: CoreRuntimeName) => {
        const console: Uint8Array[] = [];
        const result = await runImage({ imagePath: join(GUEST_DIR, name), runtime, maxCycles: GUEST_MAX_CYCLES, onConsole: (bytes) => console.push(bytes) });
        return { ...result, console: Buffer.concat(console).toString('hex') };
      };
      const module = await run('module');
      expect(module.instret).toBeGreaterThan(0n);
      for (const runtime of OUT_OF_PROCESS) expect(await run(runtime), runtime).toEqual(module);
    }, 120_000);

    it.each(BOARDS)(`board %s (--max-cycles ${BOARD_MAX_CYCLES}): the same consoles, summary and trace on wasmtime and native`, async (name) => {
      const traces = mkdtempSync(join(dir, 'board-'));
      await expectSameOnEvery(['run', '--board', join(BOARD_DIR, name), '--max-cycles', BOARD_MAX_CYCLES], traces);
      expect(readFileSync(join(traces, 'module.jsonl'), 'utf8')).toMatch(/"event":"run-end"/);
    }, 200_000);

    it('one board mixes all four runtimes (the board file\'s runtime per processor) and runs as an all-module board does', async () => {
      const quad = JSON.parse(readFileSync(join(BOARD_DIR, 'quad.json'), 'utf8')) as { $schema?: string; processors: object[]; vms: { image: string }[] };
      delete quad.$schema;
      for (const vm of quad.vms) vm.image = join(BOARD_DIR, vm.image);
      const plainBoard = join(dir, 'quad-plain.json');
      const mixedBoard = join(dir, 'quad-mixed.json');
      writeFileSync(plainBoard, JSON.stringify(quad));
      writeFileSync(mixedBoard, JSON.stringify({ ...quad, processors: quad.processors.map((processor, i) => ({ ...processor, runtime: CORE_RUNTIMES[i] })) }));
      const args = (board: string, trace: string): string[] => ['run', '--board', board, '--duration', '30ms', '--trace', join(dir, trace)];
      // --runtime module is the default; the board file's choice wins over it.
      const [plain, four] = await Promise.all([ferry(args(plainBoard, 'plain.jsonl')), ferry([...args(mixedBoard, 'mixed.jsonl'), '--runtime', 'module'])]);
      expect(four.status, four.stderr).toBe(0);
      expect(plain.status).toBe(0);
      expect(four.stdout.equals(plain.stdout)).toBe(true);
      expect(four.stderr).toBe(plain.stderr);
      expect(readFileSync(join(dir, 'mixed.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'plain.jsonl'), 'utf8'));
    }, 120_000);

    it('a checkpoint taken on each runtime is the same stream, byte for byte, and each restores on another with the same result', async () => {
      const image = join(GUEST_DIR, 'memcheck-finite.elf');
      const taken = new Map<CoreRuntimeName, Awaited<ReturnType<typeof checkpointGuest>>>();
      for (const runtime of CORE_RUNTIMES) {
        taken.set(runtime, await checkpointGuest({ imagePath: image, atCycle: 2_000_000, incrementalEvery: 1_000_000, core: coreFactoryFor(runtime) }));
      }
      const first = taken.get('module')!;
      expect(first.checkpoints.map((c) => c.kind)).toEqual(['full', 'incremental']);
      expect(first.stream.length).toBeGreaterThan(64 * 1024); // several staging buffers each way
      for (const [runtime, { stream, console }] of taken) {
        expect(Buffer.from(stream).equals(Buffer.from(first.stream)), `${runtime}'s stream`).toBe(true);
        expect(console, runtime).toBe(first.console);
      }
      // Each runtime restores a stream another one wrote: native's on the module, the module's on wasmtime, ...
      const from: Record<CoreRuntimeName, CoreRuntimeName> = { module: 'native', component: 'wasmtime', wasmtime: 'module', native: 'component' };
      const restored = [];
      for (const runtime of CORE_RUNTIMES) {
        restored.push(await restoreGuest({ stream: taken.get(from[runtime])!.stream, maxCycles: 4_000_000, core: coreFactoryFor(runtime) }));
      }
      for (const result of restored) expect(result).toEqual(restored[0]);
      expect(restored[0]!.resumedAtCycles).toBe(2_000_000n);
      expect(restored[0]!.instret).toBeGreaterThan(first.instret);
    }, 120_000);

    it('a VM migrates live wasmtime -> native -> module: within each bound, every page verified on arrival, the trace of an all-module board', async () => {
      const board = (runtimes: CoreRuntimeName[]) => parseBoard({
        name: 'three',
        processors: runtimes.map((runtime, id) => ({ id, clockHz: 100_000_000, ramBytes: 16 * MIB, runtime })),
        links: [
          { from: 0, to: 1, bandwidthBytesPerS: 100_000_000, latencyNs: 50_000, mtuBytes: 1500 },
          { from: 1, to: 2, bandwidthBytesPerS: 100_000_000, latencyNs: 50_000, mtuBytes: 1500 },
        ],
        vms: [{ name: 'g', image: join(GUEST_DIR, 'memcheck.elf'), memoryBytes: 2 * MIB, processor: 0 }],
      }, join(ROOT, 'test', 'three.json'));
      const events = [migrate(40n * MS, 'pre-copy', { affordableNs: 200n * MS }, 'g', 1), migrate(100n * MS, 'pre-copy', { affordableNs: 200n * MS }, 'g', 2)];
      const run = async (runtimes: CoreRuntimeName[]) => {
        const trace: TraceRecord[] = [];
        // memcheck's lines, with the boundary after which each was printed.
        const lines: { ns: bigint; text: string }[] = [];
        let boundaryNs = 0n;
        const result = await runBoard({
          board: board(runtimes), events, durationNs: 400n * MS,
          onTrace: (records) => trace.push(...records),
          onBoundary: (ns) => { boundaryNs = ns; },
          onConsole: (_vm, bytes) => lines.push({ ns: boundaryNs, text: Buffer.from(bytes).toString() }),
        });
        return { result, lines, trace: trace.map((record) => JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) };
      };
      const across = await run(['wasmtime', 'native', 'module']);
      const [toNative, toModule] = across.result.migrations;
      for (const report of [toNative!, toModule!]) {
        expect(report.outcome, report.message).toBe('completed');
        expect(report.violations).toEqual([]);
        expect(report.downtimeNs!, `downtime ${report.downtimeNs} ns against the bound ${report.boundNs} ns`).toBeLessThanOrEqual(report.boundNs);
      }
      const vm = across.result.vms[0]!;
      expect(vm.processor).toBe(2);
      expect(vm.state).toBe('running');
      // memcheck checks every page each round and stops on the first wrong one: it verified rounds after both moves.
      const console = across.lines.map((line) => line.text).join('');
      expect(console).not.toMatch(/MISMATCH|FAILED/);
      const afterBoth = across.lines.filter((line) => line.ns > toModule!.endedAtNs!).map((line) => line.text).join('');
      expect(verifiedRounds(afterBoth).length, console).toBeGreaterThan(0);
      const allModule = await run(['module', 'module', 'module']);
      expect(across.trace).toEqual(allModule.trace);
      expect(across.result.migrations).toEqual(allModule.result.migrations);
    }, 180_000);

    it('the health monitor across runtimes: a hung processor (stepped with processor-stall) is taken over, and the run is the all-module one', async () => {
      const WINDOW = [{ offsetNs: 0, durationNs: 3_000_000 }];
      const health = guaranteeBoard({
        processors: [0, 1, 2, 3, 4].map(() => ({ majorFrameNs: 10_000_000 })),
        vms: [
          { name: 'tx', image: 'probe-tx.elf', processor: 0, windows: WINDOW, protection: { policies: ['checkpoint'], backup: 2, checkpointInterval: '10ms' } },
          { name: 'rx', image: 'probe-rx.elf', processor: 1, windows: WINDOW, protection: { policies: ['checkpoint'], backup: 3, checkpointInterval: '10ms' } },
        ],
        channels: [{ name: 'q', kind: 'queuing', from: 'tx', to: 'rx' }],
        health: { heartbeat: '1ms' },
      });
      const run = async (runtimes: CoreRuntimeName[]) => {
        const trace: TraceRecord[] = [];
        const board = { ...health, processors: health.processors.map((processor, i) => ({ ...processor, runtime: runtimes[i]! })) };
        const result = await runBoard({
          board, durationNs: 250n * MS, onTrace: (records) => trace.push(...records),
          faults: [{ kind: 'hang', atNs: 100n * MS, processor: 0, forNs: 30n * MS }, { kind: 'flip-ram', atNs: 200n * MS, vm: 'rx', address: 0x8003_0000, bit: 3 }],
        });
        return { result, trace: trace.map((record) => JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) };
      };
      const across = await run(['native', 'wasmtime', 'module', 'native', 'wasmtime']);
      expect(probesHealthy(across.result)).toEqual([]);
      expect(across.result.health!.events.failovers.map((failover) => [failover.vm, failover.processor])).toEqual([['tx', 2]]);
      const allModule = await run(['module', 'module', 'module', 'module', 'module']);
      expect(across.trace).toEqual(allModule.trace);
      expect(across.result.health).toEqual(allModule.result.health);
      expect(across.result.vms).toEqual(allModule.result.vms);
    }, 180_000);

    it('refuses a processor that cannot start with a CoreLoadError that says how to get it', async () => {
      await expect(nativeCoreFactory({ path: join(dir, 'no-ferry-native') })(() => {})).rejects.toThrow(/npm run build:native/);
      await expect(wasmtimeCoreFactory({ python: join(dir, 'no-python') })(() => {})).rejects.toThrow(CoreLoadError);
      // A program that is not a Ferry processor ends before its hello.
      await expect(nativeCoreFactory({ path: '/bin/true' })(() => {})).rejects.toThrow(/before its hello|at its hello/);
    });
  });
}
