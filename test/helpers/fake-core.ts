/**
 * A CoreRuntime in TypeScript for testing the host without build/core.wasm:
 * it keeps guest RAM, records calls, and "runs" by counting cycles until a
 * scripted exit.
 */
import type { ConsoleSink, CoreFactory } from '../../host/core-runtime.js';
import { asCore } from './unsupported-core.js';

export interface FakeCoreScript {
  /** Staging buffer size (small values exercise chunking). */
  stagingBytes?: number;
  /** Virtual time at which the VM stops; never if undefined. */
  exitAtCycle?: bigint;
  exitReason?: number;
  exitCode?: number;
  /** Console bytes the VM "writes" during its first run() call. */
  consoleOutput?: Uint8Array;
  /** run() advances no time once this cycle is reached (a VM waiting forever). */
  stallAtCycle?: bigint;
  /** Instructions per cycle, for instret. */
  instretPerCycle?: bigint;
  pc?: number;
  /** vmCreate's answer (a negative SBI error to test refusals). */
  vmCreateResult?: number;
}

const RAM_BASE = 0x8000_0000;

export class FakeCore {
  ram = new Uint8Array(0);
  calls: string[] = [];
  runCalls: bigint[] = [];
  tohost: number | undefined;
  bootState: { pc: number; a0: number; a1: number } | undefined;
  private time = 0n;
  private staging: Uint8Array;
  private exited = 0;
  private printed = false;

  constructor(private readonly script: FakeCoreScript = {}, private readonly onConsole: ConsoleSink = () => {}) {
    this.staging = new Uint8Array(script.stagingBytes ?? 64);
  }

  configure(clockHz: number): void { this.calls.push(`configure(${clockHz})`); }
  traceEnable(): void {}
  now(): bigint { return this.time; }
  stagingBytes(): number { return this.staging.length; }


  vmCreate(kind: number, ramBytes: number): number {
    this.calls.push(`vmCreate(${kind}, ${ramBytes})`);
    if (this.script.vmCreateResult !== undefined) return this.script.vmCreateResult;
    this.ram = new Uint8Array(ramBytes);
    return 0;
  }

  vmLoad(vm: number, guestAddr: number, bytes: Uint8Array): number {
    this.calls.push(`vmLoad(${vm}, 0x${guestAddr.toString(16)}, ${bytes.length})`);
    if (bytes.length > this.staging.length) throw new RangeError('staging overflow');
    const at = guestAddr - RAM_BASE;
    if (at < 0 || at + bytes.length > this.ram.length) return -11;
    this.ram.set(bytes, at);
    return 0;
  }

  vmSetTohost(_vm: number, guestAddr: number): number { this.tohost = guestAddr; return 0; }

  vmBoot(_vm: number, pc: number, a0: number, a1: number): number {
    this.bootState = { pc, a0, a1 };
    return 0;
  }

  run(cycles: bigint): bigint {
    this.runCalls.push(cycles);
    this.printConsoleOnce();
    let advanced = cycles;
    if (this.script.stallAtCycle !== undefined) advanced = clamp(advanced, this.script.stallAtCycle - this.time);
    if (this.script.exitAtCycle !== undefined) advanced = clamp(advanced, this.script.exitAtCycle - this.time);
    this.time += advanced;
    if (this.script.exitAtCycle !== undefined && this.time >= this.script.exitAtCycle) {
      this.exited = this.script.exitReason ?? 1;
    }
    return advanced;
  }

  vmExit(_vm: number): number { return this.exited; }
  vmExitCode(_vm: number): number { return this.exited === 0 ? 0 : (this.script.exitCode ?? 0); }
  vmInstret(_vm: number): bigint { return this.time * (this.script.instretPerCycle ?? 1n); }
  vmGetReg(_vm: number, _reg: number): number { return 0; }
  vmSetReg(): void {}
  vmGetPc(_vm: number): number { return this.script.pc ?? 0x8000_0010; }
  vmGetCsr(_vm: number, _csr: number): number { return 0; }
  vmRaiseExternal(): void {}
  vmAsleep(_vm: number): number {
    return this.script.stallAtCycle !== undefined && this.time >= this.script.stallAtCycle ? 2 : 0;
  }

  private printConsoleOnce(): void {
    if (this.printed || this.script.consoleOutput === undefined) return;
    this.printed = true;
    this.onConsole(0, this.script.consoleOutput);
  }
}

function clamp(value: bigint, max: bigint): bigint {
  return value < max ? value : max < 0n ? 0n : max;
}

/** A CoreFactory that hands out one FakeCore and lets the test inspect it. */
export function fakeCoreFactory(script: FakeCoreScript = {}): { factory: CoreFactory; cores: FakeCore[] } {
  const cores: FakeCore[] = [];
  const factory: CoreFactory = async (onConsole) => {
    const core = new FakeCore(script, onConsole);
    cores.push(core);
    return asCore(core);
  };
  return { factory, cores };
}
