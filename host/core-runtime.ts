/**
 * What the host can ask of one processor's core, whatever form of the core runs it
 * (docs/runtimes.md). The interface itself is the WIT world (wit/ferry.wit), generated
 * into host/core-world.ts: a runtime adapts its form of the core to CoreWorld — the
 * plain module in core.ts, the component in core-component.ts — and nothing else in the
 * host knows export names or lowered signatures. u32 arrive as numbers, u64 as unsigned
 * BigInt, byte lists as Uint8Array.
 */
import type { BoardImports, CoreWorld } from './core-world.js';
import { VmKind } from './numbers.js';

export { VmExitReason, VmKind } from './numbers.js';
export type { BoardImports, CoreWorld } from './core-world.js';

/**
 * One processor's core, as every runtime presents it. A processor in another process
 * (docs/runtimes.md) also has `close`, which ends it, and `ahead`, which sends a call and
 * returns at once: the next call, which must be the same, collects its result, and the
 * processor works meanwhile.
 */
export type CoreRuntime = CoreWorld & {
  close?(): void;
  ahead?<K extends keyof CoreWorld>(name: K, ...args: Parameters<CoreWorld[K]>): void;
};

export type VmMode = keyof typeof VmKind;

/** Bytes a VM wrote to its console, copied out of the core's memory. */
export type ConsoleSink = (vm: number, bytes: Uint8Array) => void;
/** A trace event from the core: virtual time in cycles, two event-specific values (docs/trace.md). */
export type TraceSink = (event: number, vm: number, atCycles: bigint, a: bigint, b: bigint) => void;
/** A frame the core sends to processor `peer` over the board's link, at its virtual time `atCycles`. */
export type LinkSink = (peer: number, atCycles: bigint, frame: Uint8Array) => void;
/** A lifecycle event the core reports (CoreEvent in wit/numbers.json), at board time `atNs`. */
export type EventSink = (kind: number, id: number, vm: number, atNs: bigint, a: bigint, b: bigint) => void;

/** Where a processor's trace events, link frames and lifecycle events go. */
export interface BoardSinks {
  onTrace?: TraceSink;
  onLinkSend?: LinkSink;
  onEvent?: EventSink;
}

/** The board imports a runtime gives its core, from the sinks (absent sinks drop what comes). */
export function boardImports(onConsole: ConsoleSink, sinks: BoardSinks = {}): BoardImports {
  const { onTrace, onLinkSend, onEvent } = sinks;
  return {
    consoleWrite: onConsole,
    linkSend: onLinkSend ?? (() => {}),
    trace: onTrace ?? (() => {}),
    event: onEvent ?? (() => {}),
  };
}

/** Creates one processor's core; each call gives a fresh instance with its own memory. */
export type CoreFactory = (onConsole: ConsoleSink, sinks?: BoardSinks) => Promise<CoreRuntime>;

/**
 * The forms of the core the host can run (docs/runtimes.md): build/core.wasm as a plain
 * module and the component built from wit/ferry.wit and transpiled by jco, both in this
 * process; the same component on wasmtime, and the native firmware (wasm2c + gcc), each
 * in a process of its own.
 */
export const CORE_RUNTIMES = ['module', 'component', 'wasmtime', 'native'] as const;
export type CoreRuntimeName = (typeof CORE_RUNTIMES)[number];

/** Copies `bytes` into VM `vm`'s RAM at `guestAddr`, a staging buffer (the core's stagingBytes) at a time: 0, or the core's first refusal. */
export function loadBytes(core: CoreRuntime, vm: number, guestAddr: number, bytes: Uint8Array): number {
  const chunkBytes = core.stagingBytes();
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const chunk = bytes.subarray(at, at + chunkBytes);
    const loaded = core.vmLoad(vm, guestAddr + at, chunk);
    if (loaded !== 0) return loaded;
  }
  return 0;
}

/** Takes the checkpoint stream bytes the core has produced so far. */
export function checkpointTake(core: CoreRuntime): Uint8Array {
  const out = new Uint8Array(core.checkpointPending());
  for (let at = 0; at < out.length;) {
    const chunk = core.checkpointRead(core.stagingBytes());
    if (chunk.length === 0) throw new Error(`checkpoint-read gave nothing with ${out.length - at} bytes pending`);
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Writes a whole stream to restore, a staging buffer at a time: 0, or the core's first refusal. */
export function restoreWriteAll(core: CoreRuntime, bytes: Uint8Array): number {
  const chunkBytes = core.stagingBytes();
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const written = core.restoreWrite(bytes.subarray(at, at + chunkBytes));
    if (written !== 0) return written;
  }
  return 0;
}
