/**
 * Lockstep virtual time for a board: every processor (its own core instance)
 * advances by the same quantum of virtual nanoseconds, one after the other
 * in ascending processor id, and link frames are handed over only at
 * quantum boundaries. The quantum is at most the smallest link latency, so a
 * frame sent during a quantum never arrives before the quantum's end: it is
 * delivered, by the destination core's linkReceive, at the first boundary at
 * or after its arrival time, before the destination runs on. Nothing here
 * looks at wall time; the same board, inputs and seed give the same run.
 */
import type { CoreRuntime } from './core-runtime.js';
import { describeSbiError } from './errors.js';
import { LinkError } from './link.js';
import type { InFlightFrame, LinkNetwork, SendOutcome } from './link.js';
import { pauseForSignals } from './interrupt.js';

const NS_PER_S = 1_000_000_000n;

export interface LockstepProcessor {
  id: number;
  clockHz: number;
  core: CoreRuntime;
}

export interface LockstepOptions {
  /** Virtual time per step; at most the network's smallest latency. */
  quantumNs: bigint;
  /** Stop when virtual time reaches this (the run was cut short). */
  limitNs?: bigint;
  network: LinkNetwork;
  /** A frame went onto a link (outcome says whether and when it arrives). */
  onSend?(from: number, to: number, bytes: Uint8Array, sentNs: bigint, outcome: SendOutcome): void;
  /** A frame is about to be handed to its destination core at boundary `atNs`. */
  onDeliver?(frame: InFlightFrame, atNs: bigint): void;
  /** Virtual time reached a quantum boundary. */
  onBoundary?(atNs: bigint): void;
  /**
   * Asked at every boundary (after the frames due there were delivered): true ends
   * the run as 'stopped'. A core keeps time moving after its VMs stop (a processor
   * idles, and may still receive a migrating VM), so the board decides when its
   * VMs are all done.
   */
  finished?(): boolean;
  /** Asked at every boundary: true ends the run as 'interrupted' (Ctrl-C, host/interrupt.ts). */
  interrupted?(): boolean;
}

export type LockstepEnd = 'stopped' | 'limit' | 'interrupted';

/** A processor's hardware state (host/faults.ts injects the others). */
export type ProcessorHealth = 'up' | 'failed' | 'hung';

export class Lockstep {
  /** In stepping order: ascending id. */
  readonly processors: readonly LockstepProcessor[];
  private readonly byId = new Map<number, LockstepProcessor>();
  /** Processors whose VMs have all stopped (run() advanced less than asked). */
  private readonly stopped = new Set<number>();
  private boundaryNs = 0n;
  private steps = 0;
  /** Injected hardware faults: a failed processor never runs again; a hung one lets time pass and does nothing. */
  private readonly health = new Map<number, ProcessorHealth>();
  private framesLostAtDeadProcessors = 0;

  constructor(processors: readonly LockstepProcessor[], private readonly options: LockstepOptions) {
    if (options.quantumNs < 1n) throw new RangeError(`lockstep quantum must be at least 1 ns, not ${options.quantumNs}`);
    const minLatency = options.network.minLatencyNs();
    if (minLatency !== undefined && options.quantumNs > minLatency) {
      throw new RangeError(`lockstep quantum ${options.quantumNs} ns exceeds the smallest link latency ${minLatency} ns: frames would arrive late`);
    }
    this.processors = [...processors].sort((a, b) => a.id - b.id);
    for (const processor of this.processors) this.byId.set(processor.id, processor);
  }

  /** Virtual time of the last boundary every processor has reached. */
  nowNs(): bigint {
    return this.boundaryNs;
  }

  /** Quanta run so far. */
  stepCount(): number {
    return this.steps;
  }

  isStopped(id: number): boolean {
    return this.stopped.has(id);
  }

  healthOf(id: number): ProcessorHealth {
    return this.health.get(id) ?? 'up';
  }

  /** Processor `id` stops for good (fail-stop): it runs no more, frames to it are lost. */
  fail(id: number): void {
    this.processor(id);
    this.health.set(id, 'failed');
  }

  /** Processor `id`, failed, is back: the board put a fresh core in its slot (board-runner.ts); it runs from the next quantum. */
  repair(id: number): void {
    this.processor(id);
    this.health.delete(id);
    this.stopped.delete(id);
  }

  /** Processor `id` hangs (`on`) or goes on: while hung, time passes and nothing runs, is sent or taken. */
  hang(id: number, on: boolean): void {
    this.processor(id);
    if (this.healthOf(id) === 'failed') return;
    if (on) this.health.set(id, 'hung');
    else this.health.delete(id);
  }

  /** Frames that arrived at a failed or hung processor (nobody took them). */
  framesLostAtFaultyProcessors(): number {
    return this.framesLostAtDeadProcessors;
  }

  /** Processor `from` sends a frame to `to` at its cycle `atCycles` (from its core's link-send import). */
  send(from: number, to: number, atCycles: bigint, bytes: Uint8Array): SendOutcome {
    const processor = this.processor(from);
    // A failed or hung processor transmits nothing, whatever its core is asked to do.
    if (this.healthOf(from) !== 'up') return { frames: [], dropped: true };
    const sentNs = cyclesToNs(atCycles, processor.clockHz);
    const outcome = this.options.network.send(from, to, bytes, sentNs);
    this.options.onSend?.(from, to, bytes, sentNs, outcome);
    return outcome;
  }

  /** Runs quanta until every processor has stopped, the limit is reached, or the run is interrupted. */
  async run(): Promise<LockstepEnd> {
    for (;;) {
      this.deliverArrived();
      if (this.stopped.size + this.failedCount() === this.processors.length || this.options.finished?.() === true) return 'stopped';
      if (this.options.limitNs !== undefined && this.boundaryNs >= this.options.limitNs) return 'limit';
      if (this.options.interrupted !== undefined) {
        await pauseForSignals(this.steps);
        if (this.options.interrupted()) return 'interrupted';
      }
      this.step();
    }
  }

  /** Advances every running processor to the next boundary. */
  step(): void {
    let next = this.boundaryNs + this.options.quantumNs;
    if (this.options.limitNs !== undefined && next > this.options.limitNs) next = this.options.limitNs;
    const quanta = this.quantaTo(next);
    // A processor in another process starts its quantum now and runs beside the others;
    // its imports still reach the board in processor order, when its result is collected.
    for (const { processor, cycles, hung } of quanta) processor.core.ahead?.(hung ? 'processorStall' : 'run', cycles);
    for (const { processor, cycles, hung } of quanta) {
      if (hung) { processor.core.processorStall(cycles); continue; }
      if (processor.core.run(cycles) < cycles) this.stopped.add(processor.id);
    }
    this.boundaryNs = next;
    this.steps++;
    this.options.onBoundary?.(next);
  }

  /** The cycles each processor that runs (or hangs) in this quantum advances to reach `nextNs`. */
  private quantaTo(nextNs: bigint): { processor: LockstepProcessor; cycles: bigint; hung: boolean }[] {
    const quanta = [];
    for (const processor of this.processors) {
      const health = this.healthOf(processor.id);
      if (this.stopped.has(processor.id) || health === 'failed') continue;
      const target = nsToCycles(nextNs, processor.clockHz);
      const now = processor.core.now();
      if (target > now) quanta.push({ processor, cycles: target - now, hung: health === 'hung' });
    }
    return quanta;
  }

  /** Hands every frame that has arrived by now to its destination core. */
  deliverArrived(): void {
    for (const frame of this.options.network.takeArrived(this.boundaryNs)) {
      if (this.healthOf(frame.to) !== 'up') { this.framesLostAtDeadProcessors++; continue; }
      this.options.onDeliver?.(frame, this.boundaryNs);
      const result = this.processor(frame.to).core.linkReceive(frame.from, frame.bytes);
      // The core judges the frame itself (CRC, sequence) and counts what it drops; a refusal is a broken call.
      if (result !== 0) {
        throw new LinkError(`processor ${frame.to} refused linkReceive(${frame.from}, ${frame.bytes.length} bytes): ${describeSbiError(result)}`);
      }
    }
  }

  private failedCount(): number {
    let failed = 0;
    for (const [id, health] of this.health) if (health === 'failed' && !this.stopped.has(id)) failed++;
    return failed;
  }

  private processor(id: number): LockstepProcessor {
    const processor = this.byId.get(id);
    if (processor === undefined) throw new RangeError(`no processor ${id} on this board`);
    return processor;
  }
}

/** Virtual ns at a processor's cycle count (rounded down). */
export function cyclesToNs(cycles: bigint, clockHz: number): bigint {
  return (cycles * NS_PER_S) / BigInt(clockHz);
}

/** A processor's cycle count at virtual time `ns` (rounded down). */
export function nsToCycles(ns: bigint, clockHz: number): bigint {
  return (ns * BigInt(clockHz)) / NS_PER_S;
}
