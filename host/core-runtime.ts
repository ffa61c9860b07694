/**
 * What the host can ask of one processor's core, independent of how the core
 * is run (a plain WebAssembly module today, a component through jco later).
 * Mirrors docs/core-interface.md with JS types: u32 as number, u64 as bigint.
 * Only the runtime implementations know the core's export names.
 */

/** vmCreate kinds. */
export const VmKind = {
  /** Starts in S-mode; ecall from S is a hypercall. */
  paravirtual: 0,
  /** Starts in M-mode with QEMU-virt devices; ecall traps to the guest's mtvec. */
  machine: 1,
} as const;
export type VmMode = keyof typeof VmKind;

/** vmExit reasons. */
export const VmExitReason = {
  running: 0,
  shutdown: 1,
  failure: 2,
  tohost: 3,
  finisher: 4,
  reboot: 5,
  fault: 6,
  /** Left by migration: the VM runs on another processor now. */
  migrated: 7,
} as const;

/** Bytes a VM wrote to its console, copied out of the core's memory. */
export type ConsoleSink = (vm: number, bytes: Uint8Array) => void;

/** A trace event from the core: virtual time in cycles, two event-specific values (docs/trace.md). */
export type TraceSink = (event: number, vm: number, atCycles: bigint, a: bigint, b: bigint) => void;
/** A frame the core sends to processor `peer` over the board's link. */
export type LinkSink = (peer: number, frame: Uint8Array) => void;
/** Where a processor's trace events and link frames go. */
export interface BoardSinks {
  onTrace?: TraceSink;
  onLinkSend?: LinkSink;
}

export interface CoreRuntime {
  /** The processor's clock and its id on the board; call before creating VMs. */
  configure(clockHz: number, processorId?: number): void;
  /** Turns the core's trace events (to the onTrace sink) on or off. */
  traceEnable(on: boolean): void;
  scheduleClear(): void;
  /** 0, or -3 if a window would fall outside the frame. */
  scheduleSetMajorFrame(ns: bigint): number;
  /** 0, or -3 for an overlapping window or one outside the major frame. */
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number;
  linkConfigure(peer: number, mtuBytes: number): number;
  /** Hands the core a frame that arrived from `peer`. */
  linkReceive(peer: number, frame: Uint8Array): number;
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number;
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number;
  /** Per-VM counters (docs/core-interface.md). */
  vmStat(vm: number, stat: number): bigint;
  /** Processor counters: 0 frames sent, 1 received, 2 dropped, 3 lost. */
  processorStat(stat: number): bigint;
  /** Virtual time in cycles. */
  now(): bigint;
  /** Advances virtual time by up to `cycles`; returns the cycles advanced. */
  run(cycles: bigint): bigint;

  /** Size of the scratch area the host passes bytes through. */
  stagingBytes(): number;
  /**
   * Copies `bytes` (at most stagingBytes()) into the staging buffer and returns
   * its address in core memory, for vmLoad.
   */
  stage(bytes: Uint8Array): number;

  /** Returns the VM id, or a negative SBI error. */
  vmCreate(kind: number, ramBytes: number): number;
  /** 0, or a negative SBI error (-11 bad range, -3 no such VM); nothing written on error. */
  vmLoad(vm: number, guestAddr: number, ptr: number, lengthBytes: number): number;
  vmSetTohost(vm: number, guestAddr: number): void;
  vmBoot(vm: number, pc: number, a0: number, a1: number): number;
  /** 0 while running, else a VmExitReason. */
  vmExit(vm: number): number;
  vmExitCode(vm: number): number;
  vmInstret(vm: number): bigint;
  vmGetReg(vm: number, reg: number): number;
  vmSetReg(vm: number, reg: number, value: number): void;
  vmGetPc(vm: number): number;
  vmGetCsr(vm: number, csr: number): number;
  vmRaiseExternal(vm: number, level: number): void;
  /** 0 awake or stopped; 1 asleep in wfi with its timer armed; 2 asleep with nothing armed (only the board could wake it). */
  vmAsleep(vm: number): number;
}

/**
 * The collector's exports (docs/stream-format.md, docs/core-interface.md
 * "Checkpoints"): checkpoint streams out of the core, restore streams into it.
 * A runtime that has them implements this beside CoreRuntime
 * (host/checkpoint.ts: withCollector).
 */
export interface CheckpointRuntime {
  /** Starts a stream in the core's output buffer. */
  checkpointBegin(): void;
  /** Appends a full or incremental checkpoint of `vm`; 0 or a negative SBI error. */
  checkpointCapture(vm: number, incremental: boolean): number;
  /** Ends the stream (END record); 0 or -10 if none was begun. */
  checkpointEnd(): number;
  /** Takes the stream bytes produced so far out of the core (in staging-buffer chunks). */
  checkpointTake(): Uint8Array;
  /** Starts collecting a stream to restore. */
  restoreBegin(): void;
  /** Appends bytes of the stream (in staging-buffer chunks); 0 or a negative SBI error. */
  restoreWrite(bytes: Uint8Array): number;
  /** Checks the written stream for VM `vm` (-1: a new VM); 0 accepted, -3 refused. */
  restoreCheck(vm: number): number;
  /** Checks, then applies; the VM's id, or a negative SBI error (nothing changed). */
  restoreApply(vm: number): number;
  /** Why the last check refused: 0 code, 1 offset, 2 record index, 3 type, 4-5 details. */
  restoreError(field: number): bigint;
  /** After an accepted check: 0 checkpoints, 1 capture cycles, 2 clock Hz, 3 kind, 4 RAM bytes, 5 flags, 6 source VM. */
  restoreInfo(field: number): bigint;
  /** Starts a fresh processor's clock at `cycles`; 0, or -10 once time has advanced. */
  processorSetTime(cycles: bigint): number;
}

/**
 * The migration manager's exports (docs/migration.md, "Core interface"): link timing
 * and RAM for the downtime bound and admission, parameters, start, cancel and the
 * report. The module and component runtimes implement this beside CoreRuntime; a
 * scripted core may not (host/migration.ts: migrationCore).
 */
export interface MigrationRuntime {
  /** What the board says about the link to `peer`: bandwidth, latency and the delivery granularity (the lockstep quantum). 0 or -3. */
  linkSetTiming(peer: number, bandwidthBytesPerS: bigint, latencyNs: bigint, granularityNs: bigint): number;
  /** RAM this processor has for VMs: an incoming VM that does not fit is refused. 0 = no limit. */
  processorSetRam(bytes: bigint): void;
  /** A migration parameter (MigrationParam in host/migration.ts): 0, or -3 for an unknown key. */
  migrationSetParam(key: number, value: bigint): number;
  /** Starts migrating `vm` to processor `destProcessor` with a strategy (0 stop-copy, 1 pre-copy, 2 throttled, 3 post-copy): 0, -4 refused, -3 bad arguments, -10 one already running. */
  migrationStart(vm: number, destProcessor: number, strategy: number): number;
  /** 0 cancelled, -4 too late (committing, post-copy), -10 nothing to cancel. */
  migrationCancel(): number;
  /** The migration's report and state (MigrationStat in host/migration.ts). */
  migrationStat(key: number): bigint;
}

/** Creates one processor's core; each call gives a fresh instance with its own memory. */
export type CoreFactory = (onConsole: ConsoleSink, sinks?: BoardSinks) => Promise<CoreRuntime>;

/**
 * The forms of the core the host can run (docs/runtimes.md): build/core.wasm as
 * a plain module, or the component built from wit/ferry.wit and transpiled by
 * jco. (The third form, native firmware, is its own program: build/native/ferry-native.)
 */
export const CORE_RUNTIMES = ['module', 'component'] as const;
export type CoreRuntimeName = (typeof CORE_RUNTIMES)[number];
