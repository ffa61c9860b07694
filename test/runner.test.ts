import { describe, expect, it } from 'vitest';
import { VmExitReason } from '../host/core-runtime.js';
import { ConfigError, CoreLoadError, ImageError } from '../host/errors.js';
import { loadCore } from '../host/core.js';
import { runImage } from '../host/runner.js';
import type { RunEvent } from '../host/runner.js';
import { describeVmExit } from '../host/vm-exit.js';
import { buildElf, RAM_BASE } from './helpers/elf-builder.js';
import { fakeCoreFactory } from './helpers/fake-core.js';
import { assemble, ecall, li, reg, spin } from './helpers/rv32.js';
import { hasCore } from './helpers/paths.js';
import { printAndShutdownGuest, spinningGuest, tohostGuest } from './helpers/test-guests.js';

describe('runImage with a scripted core', () => {
  it('runs in quanta until the VM stops and reports instret and cycles', async () => {
    const { factory, cores } = fakeCoreFactory({ exitAtCycle: 2_500_000n, exitReason: VmExitReason.shutdown });
    const result = await runImage({ image: buildElf(), core: factory });
    expect(result).toMatchObject({ exitStatus: 0, reason: 'shutdown', code: 0, instret: 2_500_000n, cycles: 2_500_000n });
    expect(result.message).toBeUndefined();
    expect(cores[0]!.runCalls).toEqual([1_000_000n, 1_000_000n, 1_000_000n]);
    expect(cores[0]!.calls.slice(0, 2)).toEqual(['configure(100000000)', `vmCreate(0, ${8 * 1024 * 1024})`]);
  });

  it('stops at maxCycles with exit status 124, never running past the limit', async () => {
    const { factory, cores } = fakeCoreFactory({ pc: 0x8000_0040 });
    const result = await runImage({ image: buildElf(), core: factory, maxCycles: 2_300_000, quantumCycles: 1_000_000n });
    expect(result).toMatchObject({ exitStatus: 124, reason: 'max-cycles', cycles: 2_300_000n });
    expect(result.message).toBe('max-cycles: the guest was still running after 2300000 cycles (pc 0x80000040)');
    expect(cores[0]!.runCalls).toEqual([1_000_000n, 1_000_000n, 300_000n]);
  });

  it('reports an exit that happens exactly at the limit as the exit', async () => {
    const { factory } = fakeCoreFactory({ exitAtCycle: 1000n, exitReason: VmExitReason.shutdown });
    expect((await runImage({ image: buildElf(), core: factory, maxCycles: 1000 })).exitStatus).toBe(0);
  });

  it('ends a VM that waits with nothing to wake it instead of looping forever', async () => {
    const { factory } = fakeCoreFactory({ stallAtCycle: 5000n });
    const result = await runImage({ image: buildElf(), core: factory });
    expect(result).toMatchObject({ exitStatus: 1, reason: 'fault', cycles: 5000n });
    expect(result.message).toMatch(/^stalled: /);
  });

  it('collects console output when no onConsole is given', async () => {
    const consoleOutput = new TextEncoder().encode('héllo\n');
    const { factory } = fakeCoreFactory({ exitAtCycle: 10n, consoleOutput });
    expect((await runImage({ image: buildElf(), core: factory })).console).toBe('héllo\n');
  });

  it('passes console bytes through unchanged to onConsole', async () => {
    const consoleOutput = new Uint8Array([0xff, 0x00, 0x0a]);
    const { factory } = fakeCoreFactory({ exitAtCycle: 10n, consoleOutput });
    const seen: number[] = [];
    const result = await runImage({ image: buildElf(), core: factory, onConsole: (bytes) => seen.push(...bytes) });
    expect(seen).toEqual([0xff, 0x00, 0x0a]);
    expect(result.console).toBe('');
  });

  it('picks machine mode for an image with a tohost symbol', async () => {
    const { factory, cores } = fakeCoreFactory({ exitAtCycle: 10n });
    await runImage({ image: buildElf({ symbols: [{ name: 'tohost', value: RAM_BASE + 64 }] }), core: factory });
    expect(cores[0]!.calls).toContain(`vmCreate(1, ${8 * 1024 * 1024})`);
    expect(cores[0]!.tohost).toBe(RAM_BASE + 64);
  });

  it('reports start and exit events', async () => {
    const { factory } = fakeCoreFactory({ exitAtCycle: 10n, exitReason: VmExitReason.tohost, exitCode: 7 });
    const events: RunEvent[] = [];
    await runImage({ image: buildElf(), core: factory, clockHz: 50_000_000, onEvent: (e) => events.push(e) });
    expect(events).toEqual([
      { event: 'start', image: '<image>', mode: 'paravirtual', ramBytes: 8 * 1024 * 1024, clockHz: 50_000_000, entry: RAM_BASE },
      { event: 'exit', reason: 'tohost', code: 7, exitStatus: 1, message: 'tohost: test 3 failed', instret: 10n, cycles: 10n },
    ]);
  });

  it('refuses bad settings before touching the core', async () => {
    const { factory, cores } = fakeCoreFactory();
    await expect(runImage({ image: buildElf(), core: factory, ramBytes: 1000 })).rejects.toThrow(ConfigError);
    await expect(runImage({ image: buildElf(), core: factory, clockHz: 0 })).rejects.toThrow(ConfigError);
    await expect(runImage({ image: buildElf(), core: factory, maxCycles: -1 })).rejects.toThrow(ConfigError);
    expect(cores).toHaveLength(0);
  });

  it('refuses an image that does not fit before touching the core', async () => {
    const { factory, cores } = fakeCoreFactory();
    const image = buildElf({ segments: [{ paddr: RAM_BASE, memBytes: 0x2000 }] });
    await expect(runImage({ image, core: factory, ramBytes: 4096 })).rejects.toThrow(
      'image needs 8192 bytes but the VM has 4096',
    );
    expect(cores).toHaveLength(0);
  });

  it('names the file in image errors', async () => {
    await expect(runImage({ imagePath: '/nonexistent/guest.elf' })).rejects.toThrow(
      new ImageError('/nonexistent/guest.elf: cannot read the image (no such file)'),
    );
  });

  it('explains a missing core build', async () => {
    await expect(loadCore({ wasmPath: '/nonexistent/core.wasm' })).rejects.toThrow(CoreLoadError);
    await expect(loadCore({ wasmPath: '/nonexistent/core.wasm' })).rejects.toThrow(/not built yet: run `npm run build:core`/);
  });

  it('reports a VM the core refuses to create', async () => {
    const { factory } = fakeCoreFactory({ vmCreateResult: -1 });
    await expect(runImage({ image: buildElf(), core: factory })).rejects.toThrow(/cannot create a paravirtual VM.*no memory/);
  });
});

describe('describeVmExit', () => {
  const cases: [number, number, number, string | undefined][] = [
    [VmExitReason.shutdown, 0, 0, undefined],
    [VmExitReason.failure, 1, 1, 'shutdown: the guest reported a system failure (SRST reason 1)'],
    [VmExitReason.tohost, 1, 0, undefined],
    [VmExitReason.tohost, 7, 1, 'tohost: test 3 failed'],
    [VmExitReason.tohost, 4, 1, 'tohost: unsupported value 0x4 (HTIF device requests are not supported)'],
    [VmExitReason.finisher, 0x5555, 0, undefined],
    [VmExitReason.finisher, 0x3333 | (7 << 16), 1, 'finisher: fail, code 7'],
    [VmExitReason.reboot, 1, 1, 'reboot: the guest asked for a cold reboot (SRST type 1); ferry does not reboot guests'],
    [VmExitReason.fault, 2, 1, 'fault: the guest trapped with no usable handler: illegal instruction (cause 0x2) at pc 0x80000004'],
  ];
  it.each(cases)('reason %i code %i → exit %i', (reason, code, exitStatus, message) => {
    const outcome = describeVmExit(reason, code, 0x8000_0004);
    expect(outcome.exitStatus).toBe(exitStatus);
    expect(outcome.message).toBe(message);
  });
});

describe.skipIf(!hasCore())(`runImage on build/core.wasm${hasCore() ? '' : ' — SKIPPED: build/core.wasm not built (npm run build:core)'}`, () => {
  it('runs a paravirtual guest to SRST shutdown and collects its console', async () => {
    const result = await runImage({ image: printAndShutdownGuest('ok\n') });
    expect(result).toMatchObject({ exitStatus: 0, reason: 'shutdown', console: 'ok\n' });
    expect(result.instret).toBeGreaterThan(0n);
  });

  it('reports SRST system failure', async () => {
    expect(await runImage({ image: printAndShutdownGuest('', 1) })).toMatchObject({ exitStatus: 1, reason: 'failure', code: 1 });
  });

  it('ends a machine guest at its tohost write', async () => {
    expect(await runImage({ image: tohostGuest(1) })).toMatchObject({ exitStatus: 0, reason: 'tohost', code: 1 });
    const failed = await runImage({ image: tohostGuest(7) });
    expect(failed).toMatchObject({ exitStatus: 1, reason: 'tohost', message: 'tohost: test 3 failed' });
  });

  it('ends a guest asleep in wfi with no timer armed (nothing on a lone processor can wake it)', async () => {
    const wfi = [0x1050_0073];
    const image = buildElf({ segments: [{ paddr: RAM_BASE, data: assemble(wfi, spin()), flags: 5 }] });
    const result = await runImage({ image, quantumCycles: 10_000n });
    expect(result).toMatchObject({ exitStatus: 1, reason: 'fault', cycles: 10_000n, instret: 1n });
    expect(result.message).toMatch(/^stalled: the VM waits at pc 0x80000004/);
  });

  it('does not call a guest asleep with its timer armed stalled', async () => {
    // set_timer(now + 1000 ticks) by SBI, then wfi: it wakes, and spins to the cycle limit.
    const setTimer = [...li(reg.a7, 0x5449_4d45), ...li(reg.a6, 0), ...li(reg.a0, 1000), ...li(reg.a1, 0), ...ecall()];
    const image = buildElf({ segments: [{ paddr: RAM_BASE, data: assemble(setTimer, [0x1050_0073], spin()), flags: 5 }] });
    const result = await runImage({ image, quantumCycles: 1_000n, maxCycles: 50_000 });
    expect(result).toMatchObject({ exitStatus: 124, reason: 'max-cycles' });
  });

  it('stops a spinning guest at the cycle limit', async () => {
    const result = await runImage({ image: spinningGuest(), maxCycles: 12_345 });
    expect(result).toMatchObject({ exitStatus: 124, reason: 'max-cycles', cycles: 12_345n });
  });

  it('runs processors as separate instances with their own memory', async () => {
    const [a, b] = await Promise.all([loadCore(), loadCore()]);
    a!.configure(100_000_000, 0);
    expect(a!.vmCreate(0, 4096)).toBe(0);
    expect(a!.vmExit(0)).toBe(VmExitReason.running);
    expect(b!.vmExit(0)).toBe(VmExitReason.gone); // b has no VM: another instance, another memory
    expect(a!.stagingBytes()).toBeGreaterThan(0);
  });
});
