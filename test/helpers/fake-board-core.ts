/**
 * A scripted processor for testing the board host (lockstep, links, trace,
 * summary) without build/core.wasm: it sends frames at fixed cycles, records
 * what it receives and when, reports trace events, and stops its VMs at a
 * scripted cycle. Deterministic: it depends only on its script and on what
 * the host hands it.
 */
import type { BoardSinks, ConsoleSink, CoreFactory } from '../../host/core-runtime.js';
import { asCore } from './unsupported-core.js';

export interface FakeSend {
  /** First send at this cycle, then every `everyCycles` (once if absent). */
  atCycle: bigint;
  everyCycles?: bigint;
  peer: number;
  bytes: number;
}

export interface FakeProcessorScript {
  /** Every VM of the processor stops (SRST shutdown) at this cycle; never if absent. */
  stopAtCycle?: bigint;
  /** Exit reason and code when it stops (default 1 shutdown, 0). */
  exitReason?: number;
  exitCode?: number;
  sends?: FakeSend[];
  /** Console text each VM writes at its first run() call. */
  console?: string[];
}

export interface Received {
  peer: number;
  bytes: Uint8Array;
  atCycle: bigint;
}

export const FAKE_TRACE_FRAME_SENT = 5;
export const FAKE_TRACE_FRAME_RECEIVED = 6;

export class FakeBoardCore {
  clockHz = 0;
  processorId = -1;
  traceOn = false;
  calls: string[] = [];
  received: Received[] = [];
  runCalls: bigint[] = [];
  private time = 0n;
  private vmCount = 0;
  private exited = 0;
  private printed = false;
  private sentCount = 0;
  private stoppedAt: bigint | undefined;
  private readonly staging = new Uint8Array(4096);

  constructor(
    private readonly script: (processorId: number) => FakeProcessorScript,
    private readonly onConsole: ConsoleSink,
    private readonly sinks: BoardSinks,
  ) {}

  configure(clockHz: number, processorId = 0): void {
    this.clockHz = clockHz;
    this.processorId = processorId;
    this.calls.push(`configure(${clockHz}, ${processorId})`);
  }
  traceEnable(on: number): void { this.traceOn = on !== 0; }
  scheduleClear(): void { this.calls.push('scheduleClear()'); }
  scheduleSetMajorFrame(ns: bigint): number { this.calls.push(`scheduleSetMajorFrame(${ns})`); return 0; }
  scheduleAddWindow(vm: number, offsetNs: bigint, durationNs: bigint): number {
    this.calls.push(`scheduleAddWindow(${vm}, ${offsetNs}, ${durationNs})`);
    return 0;
  }
  linkConfigure(peer: number, mtuBytes: number): number { this.calls.push(`linkConfigure(${peer}, ${mtuBytes})`); return 0; }
  linkReceive(peer: number, frame: Uint8Array): number {
    this.received.push({ peer, bytes: frame.slice(), atCycle: this.time });
    this.emit(FAKE_TRACE_FRAME_RECEIVED, 0xffff_ffff, BigInt(peer), BigInt(frame.length));
    return 0;
  }
  channelAddSource(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number, destProcessor: number): number {
    this.calls.push(`channelAddSource(${channel}, ${vm}, ${port}, ${kind}, ${maxMessageBytes}, ${depth}, ${destProcessor})`);
    return 0;
  }
  channelAddDestination(channel: number, vm: number, port: number, kind: number, maxMessageBytes: number, depth: number): number {
    this.calls.push(`channelAddDestination(${channel}, ${vm}, ${port}, ${kind}, ${maxMessageBytes}, ${depth})`);
    return 0;
  }
  vmStat(_vm: number, stat: number): bigint {
    if (stat === 6) return 2n ** 64n - 1n;
    if (stat === 8) return BigInt(this.sentCount);
    if (stat === 9) return BigInt(this.received.length);
    return 0n;
  }
  processorStat(stat: number): bigint {
    if (stat === 0) return BigInt(this.sentCount);
    if (stat === 1) return BigInt(this.received.length);
    return 0n;
  }
  now(): bigint { return this.time; }

  /** As the real core: time always advances by `cycles`; a processor whose VMs have stopped idles. */
  run(cycles: bigint): bigint {
    this.runCalls.push(cycles);
    const start = this.time;
    const end = start + cycles;
    if (this.exited === 0 && this.vmCount > 0) {
      this.printOnce();
      const stopAt = this.script(this.processorId).stopAtCycle;
      const busyUntil = stopAt !== undefined && stopAt < end ? (stopAt < start ? start : stopAt) : end;
      for (const at of this.sendTimesIn(start, busyUntil)) {
        this.time = at.cycle;
        this.sendFrame(at.send);
      }
      if (stopAt !== undefined && busyUntil >= stopAt) {
        this.exited = this.script(this.processorId).exitReason ?? 1;
        this.stoppedAt = stopAt;
      }
    }
    this.time = end;
    return cycles;
  }

  stagingBytes(): number { return this.staging.length; }
  linkSetTiming(): number { return 0; }
  processorSetRam(): void {}
  vmCreate(_kind: number, _ramBytes: number): number { return this.vmCount++; }
  vmLoad(): number { return 0; }
  vmSetTohost(): number { return 0; }
  vmBoot(): number { return 0; }
  vmExit(_vm: number): number { return this.exited; }
  vmExitCode(_vm: number): number { return this.exited === 0 ? 0 : (this.script(this.processorId).exitCode ?? 0); }
  /** One instruction per cycle until the VMs stopped. */
  vmInstret(_vm: number): bigint { return this.stoppedAt ?? this.time; }
  vmGetReg(): number { return 0; }
  vmSetReg(): void {}
  vmGetPc(): number { return 0x8000_0000; }
  vmGetCsr(): number { return 0; }
  vmRaiseExternal(): void {}
  vmAsleep(_vm: number): number { return 0; }

  /** Send times in [start, end), in order (ties by script order). */
  private sendTimesIn(start: bigint, end: bigint): { cycle: bigint; send: FakeSend }[] {
    const due: { cycle: bigint; send: FakeSend; order: number }[] = [];
    (this.script(this.processorId).sends ?? []).forEach((send, order) => {
      let cycle = send.atCycle;
      if (send.everyCycles === undefined) {
        if (cycle >= start && cycle < end) due.push({ cycle, send, order });
        return;
      }
      if (cycle < start) cycle += ((start - cycle + send.everyCycles - 1n) / send.everyCycles) * send.everyCycles;
      for (; cycle < end; cycle += send.everyCycles) due.push({ cycle, send, order });
    });
    return due.sort((a, b) => (a.cycle < b.cycle ? -1 : a.cycle > b.cycle ? 1 : a.order - b.order));
  }

  private sendFrame(send: FakeSend): void {
    const frame = new Uint8Array(send.bytes);
    // Sender, sequence and a filler pattern: every frame's bytes are distinct and predictable.
    frame[0] = this.processorId & 0xff;
    if (frame.length > 1) frame[1] = this.sentCount & 0xff;
    for (let i = 2; i < frame.length; i++) frame[i] = (i * 7 + this.sentCount) & 0xff;
    this.sentCount++;
    this.emit(FAKE_TRACE_FRAME_SENT, 0, BigInt(send.peer), BigInt(send.bytes));
    this.sinks.onLinkSend?.(send.peer, this.time, frame);
  }

  private emit(event: number, vm: number, a: bigint, b: bigint): void {
    if (this.traceOn) this.sinks.onTrace?.(event, vm, this.time, a, b);
  }

  private printOnce(): void {
    if (this.printed) return;
    this.printed = true;
    const lines = this.script(this.processorId).console ?? [];
    lines.forEach((text, vm) => { if (vm < this.vmCount) this.onConsole(vm, new TextEncoder().encode(text)); });
  }
}

/** A CoreFactory of FakeBoardCores; `script` is looked up by processor id at run time. */
export function fakeBoardFactory(script: (processorId: number) => FakeProcessorScript): { factory: CoreFactory; cores: FakeBoardCore[] } {
  const cores: FakeBoardCore[] = [];
  const factory: CoreFactory = async (onConsole, sinks = {}) => {
    const core = new FakeBoardCore(script, onConsole, sinks);
    cores.push(core);
    return asCore(core);
  };
  return { factory, cores };
}
