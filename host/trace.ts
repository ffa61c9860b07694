/**
 * The run trace: one JSON object per line, written synchronously so a trace
 * is complete up to the moment a run stops, even if it stops badly. The lines
 * go to a temporary file beside the trace; only at the end is it renamed to the
 * trace's name, so a reader never sees half a trace under that name, and a run
 * refused for bad input (exit 2) leaves an earlier trace there untouched.
 *
 * Board runs (docs/trace.md) record the core's events — VM switches,
 * interrupts, hypercalls, deadline misses, frames — which the core reports
 * through its `trace` import with a virtual time in cycles, and the host's
 * own (run start and end, VM loads, link deliveries and faults). BoardTrace
 * stamps every record with virtual nanoseconds, names VMs, and writes each
 * quantum's records in time order.
 */
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VmExitReason } from './core-runtime.js';
import { DROP_REASON_LABELS, TraceEvent } from './numbers.js';
import type { TraceSink } from './core-runtime.js';
import { cyclesToNs } from './lockstep.js';
import { FerryError } from './errors.js';
import { jsonValue } from './format.js';
import { describeFsError } from './input-file.js';

export class TraceWriter {
  private closed = false;

  private constructor(private readonly fd: number, private readonly partialPath: string, readonly path: string) {}

  /** Starts a trace that will be named `path` when it is committed; refuses a path that is not (to be) a regular file. */
  static open(path: string): TraceWriter {
    // Found by test/cli-fuzz.test.ts: an empty name opened a partial file that could not be renamed to ''.
    if (path.trim() === '') throw new FerryError('--trace: give a file name (it is empty)');
    const partial = partialPathOf(path);
    try {
      refuseSpecialFile(path);
      return new TraceWriter(openSync(partial, 'wx'), partial, path);
    } catch (error) {
      if (error instanceof FerryError) throw error;
      throw new FerryError(`trace ${path}: cannot write it (${describeFsError(error)})`);
    }
  }

  write(event: object): void {
    writeSync(this.fd, traceLine(event));
  }

  /** Several records in one write. */
  writeAll(events: readonly object[]): void {
    if (events.length > 0) writeSync(this.fd, events.map(traceLine).join(''));
  }

  /** Ends the trace and gives it its name (replacing any file there). */
  commit(): void {
    if (this.finish()) renameSync(this.partialPath, this.path);
  }

  /** Ends the trace and removes it: the name keeps whatever it had. */
  discard(): void {
    if (this.finish()) rmSync(this.partialPath, { force: true });
  }

  private finish(): boolean {
    if (this.closed) return false;
    this.closed = true;
    closeSync(this.fd);
    return true;
  }
}

/**
 * Runs `run` with a trace at `path` (none without one). It is committed when the run
 * ends or stops with a bug (the partial trace helps find it), and discarded when the
 * input was refused (FerryError: exit 2).
 */
export async function withTrace<T>(path: string | undefined, run: (trace: TraceWriter | undefined) => Promise<T>): Promise<T> {
  if (path === undefined) return run(undefined);
  const trace = TraceWriter.open(path);
  try {
    const result = await run(trace);
    trace.commit();
    return result;
  } catch (error) {
    if (error instanceof FerryError) trace.discard();
    else trace.commit();
    throw error;
  }
}

/** `.out.jsonl.<pid>.partial` beside `out.jsonl`: the same file system, so the rename is atomic. */
function partialPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
}

/** A FIFO or a device would block or never hold the trace: only regular files (or new names) are written. */
function refuseSpecialFile(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return; // a new file
  }
  if (stat.isDirectory()) throw new FerryError(`trace ${path}: cannot write it (it is a directory)`);
  if (!stat.isFile()) throw new FerryError(`trace ${path}: cannot write it (it is not a regular file)`);
}

/** One record as its line in the file, newline included (cycle counts are bigints: host/format.ts jsonValue). */
export function traceLine(event: object): string {
  return JSON.stringify(event, jsonValue) + '\n';
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

/**
 * The core's events of one VM on processor 0 (`ferry run <image>`, checkpoint,
 * restore) as trace records, one at a time: the VM is named after its file
 * (hello.elf → hello). `clockHz` is read per event: a restore learns it from the stream.
 */
export function imageTraceSink(path: string, clockHz: () => number, sink: (records: TraceRecord[]) => void): TraceSink {
  const name = basename(path).replace(/\.(elf|ferry)$/i, '');
  return (event, vm, atCycles, a, b) => sink([coreTraceRecord(0, cyclesToNs(atCycles, clockHz()), event, vm, atCycles, a, b, () => name)]);
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
