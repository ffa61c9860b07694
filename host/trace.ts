/**
 * The run trace: one JSON object per line, written synchronously so a trace
 * is complete up to the moment a run stops, even if it stops badly.
 *
 * Board runs (docs/trace.md) record the core's events — VM switches,
 * interrupts, hypercalls, deadline misses, frames — which the core reports
 * through its `trace` import with a virtual time in cycles, and the host's
 * own (run start and end, VM loads, link deliveries and faults). BoardTrace
 * stamps every record with virtual nanoseconds, names VMs, and writes each
 * quantum's records in time order.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { VmExitReason } from './core-runtime.js';
import { DROP_REASON_LABELS, TraceEvent } from './numbers.js';
import { FerryError } from './errors.js';

export class TraceWriter {
  private constructor(private readonly fd: number) {}

  /** Creates (or truncates) the trace file. */
  static open(path: string): TraceWriter {
    try {
      return new TraceWriter(openSync(path, 'w'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new FerryError(`trace ${path}: cannot write it (${code})`);
    }
  }

  write(event: object): void {
    writeSync(this.fd, traceLine(event));
  }

  /** Several records in one write. */
  writeAll(events: readonly object[]): void {
    if (events.length > 0) writeSync(this.fd, events.map(traceLine).join(''));
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One record as its line in the file, newline included. */
export function traceLine(event: object): string {
  return JSON.stringify(event, jsonValue) + '\n';
}

/** Cycle counts are bigints: numbers while exact, decimal strings beyond 2^53. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

// ------------------------------------------------------------ core events

/** The core's trace event numbers (TraceEvent in wit/numbers.json; docs/trace.md). */
export const CoreTraceEvent = TraceEvent;

/** The core's "no VM" (the processor idles). */
export const NO_VM = 0xffff_ffff;

/** Why the core dropped a received frame (event 7, b): DropReason in wit/numbers.json. */
export const FRAME_DROP_REASONS: Readonly<Record<number, string>> = DROP_REASON_LABELS;

const EXIT_REASON_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(VmExitReason).map(([name, value]) => [value, name]),
);

/** A trace record: virtual time first, then where, then what. */
export type TraceRecord = { ns: bigint; event: string } & Record<string, unknown>;

/** Names a processor's VMs (by the core's local id) in trace records. */
export type VmNamer = (vmId: number) => string;

/**
 * A core event as a record: `ns`, `cycles`, `cpu`, `event`, `vm`, then the
 * event's own fields. Unknown event numbers are kept as `core-<n>` with a, b.
 */
export function coreTraceRecord(
  cpu: number, ns: bigint, event: number, vm: number, atCycles: bigint, a: bigint, b: bigint, name: VmNamer,
): TraceRecord {
  const head: TraceRecord = { ns, cycles: atCycles, cpu, event: coreEventName(event) };
  if (vm !== NO_VM) head['vm'] = name(vm);
  switch (event) {
    case CoreTraceEvent.vmSwitch:
      return { ...head, from: vmOrIdle(a, name), to: vmOrIdle(b, name) };
    case CoreTraceEvent.interrupt:
      return { ...head, cause: a, latenessCycles: b };
    case CoreTraceEvent.hypercall:
      return { ...head, eid: a, fid: b };
    case CoreTraceEvent.deadlineMiss:
      return { ...head, task: a, latenessNs: b };
    case CoreTraceEvent.frameSent:
    case CoreTraceEvent.frameReceived:
      return { ...head, peer: a, bytes: b };
    case CoreTraceEvent.frameDropped:
      return { ...head, peer: a, reason: FRAME_DROP_REASONS[Number(b)] ?? b };
    case CoreTraceEvent.vmExit:
      return { ...head, reason: EXIT_REASON_NAMES[Number(a)] ?? a, code: b };
    default:
      return { ...head, a, b };
  }
}

const CORE_EVENT_NAMES: Record<number, string> = {
  [CoreTraceEvent.vmSwitch]: 'vm-switch',
  [CoreTraceEvent.interrupt]: 'interrupt',
  [CoreTraceEvent.hypercall]: 'hypercall',
  [CoreTraceEvent.deadlineMiss]: 'deadline-miss',
  [CoreTraceEvent.frameSent]: 'frame-sent',
  [CoreTraceEvent.frameReceived]: 'frame-received',
  [CoreTraceEvent.frameDropped]: 'frame-dropped',
  [CoreTraceEvent.vmExit]: 'vm-exit',
};

export function coreEventName(event: number): string {
  return CORE_EVENT_NAMES[event] ?? `core-${event}`;
}

function vmOrIdle(id: bigint, name: VmNamer): string {
  return id === BigInt(NO_VM) ? 'idle' : name(Number(id));
}

// ------------------------------------------------------------- board trace

/**
 * Collects a board run's records and writes them in virtual-time order: the
 * lockstep loop calls flush() at every quantum boundary, and every record
 * of a quantum lies in it, so the file is in time order throughout. Records
 * with the same time keep the order in which they were made (processors in
 * ascending id, each in its own order), which is itself deterministic.
 */
export class BoardTrace {
  private pending: { record: TraceRecord; seq: number }[] = [];
  private seq = 0;

  constructor(private readonly sink: (records: TraceRecord[]) => void) {}

  add(record: TraceRecord): void {
    this.pending.push({ record, seq: this.seq++ });
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const sorted = this.pending.sort((x, y) => (x.record.ns < y.record.ns ? -1 : x.record.ns > y.record.ns ? 1 : x.seq - y.seq));
    this.pending = [];
    this.sink(sorted.map((entry) => entry.record));
  }
}
