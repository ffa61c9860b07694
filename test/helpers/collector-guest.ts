/**
 * A guest booted on a fresh core with its collector exports, for checkpoint
 * tests: run it to a cycle, take streams, restore them elsewhere, and compare.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointTake, restoreWriteAll } from '../../host/core-runtime.js';
import type { CoreRuntime } from '../../host/core-runtime.js';
import { loadCore } from '../../host/core.js';
import { VmExitReason, VmKind } from '../../host/core-runtime.js';
import { parseElf } from '../../host/elf.js';
import { loadImage } from '../../host/loader.js';
import { ROOT } from './paths.js';

export const GUESTS = join(ROOT, 'guests', 'build');

export interface BootedGuest {
  core: CoreRuntime;
  vm: number;
  /** Console output so far. */
  console: () => string;
}

/** A fresh processor (100 MHz) with an empty console log. */
export async function freshCore(): Promise<{ core: CoreRuntime; console: () => string }> {
  const chunks: Uint8Array[] = [];
  const core = await loadCore({ onConsole: (_vm, bytes) => chunks.push(bytes) });
  core.configure(100_000_000, 0);
  return { core, console: () => Buffer.concat(chunks).toString('utf8') };
}

export async function bootGuest(image: string, options: { ramBytes?: number; mode?: 'paravirtual' | 'machine' } = {}): Promise<BootedGuest> {
  const { core, console } = await freshCore();
  const elf = parseElf(readFileSync(join(GUESTS, image)));
  const ramBytes = options.ramBytes ?? 8 * 1024 * 1024;
  const mode = options.mode ?? (elf.symbols.has('tohost') ? 'machine' : 'paravirtual');
  const vm = core.vmCreate(VmKind[mode], ramBytes);
  loadImage(core, vm, elf, ramBytes);
  return { core, vm, console };
}

/** Runs the processor to exactly `cycles` (in 1M-cycle quanta, as ferry run does). */
export function runTo(core: CoreRuntime, cycles: bigint): void {
  while (core.now() < cycles) {
    const left = cycles - core.now();
    if (core.run(left < 1_000_000n ? left : 1_000_000n) === 0n) break;
  }
}

/** Runs until VM `vm` stops (or the limit); returns the cycle it got to. */
export function runToEnd(core: CoreRuntime, vm: number, limit = 10_000_000_000n): bigint {
  while (core.vmExit(vm) === VmExitReason.running && core.now() < limit) core.run(1_000_000n);
  return core.now();
}

/** One stream: a checkpoint of `vm` (full or incremental), closed with END. */
export function takeStream(core: CoreRuntime, vm: number, incremental = false): Uint8Array {
  core.checkpointBegin();
  const result = core.checkpointCapture(vm, incremental ? 1 : 0);
  if (result !== 0) throw new Error(`checkpointCapture(${vm}, ${incremental}) = ${result}`);
  if (core.checkpointEnd() !== 0) throw new Error('checkpointEnd failed');
  return checkpointTake(core);
}

/** Registers, pc, mode-visible CSRs and counters of a VM, for comparisons. */
export function vcpuSnapshot(core: CoreRuntime, vm: number): Record<string, string> {
  const snapshot: Record<string, string> = { pc: core.vmGetPc(vm).toString(16), instret: String(core.vmInstret(vm)) };
  for (let r = 0; r < 32; r++) snapshot[`x${r}`] = core.vmGetReg(vm, r).toString(16);
  const csrs = { mstatus: 0x300, mie: 0x304, mtvec: 0x305, mepc: 0x341, mcause: 0x342, sstatus: 0x100, stvec: 0x105, sepc: 0x141, scause: 0x142, sscratch: 0x140, mip: 0x344 };
  for (const [name, csr] of Object.entries(csrs)) snapshot[name] = core.vmGetCsr(vm, csr).toString(16);
  return snapshot;
}
