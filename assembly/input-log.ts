// A VM's nondeterministic inputs, for trace-replay migration (trace-replay.ts,
// docs/migration.md "Trace-replay"). The hart is instruction-exact (hart.ts): given the
// same state and the same inputs at the same instruction, a vCPU executes the same
// instructions. So only what the guest observes from outside its own state needs logging,
// each with its *position* — the VM's instruction count (vm.executed + the slice's
// instructions before the one observing it):
//
//   CSR          a read of a CSR whose value follows from time: time(h), cycle(h) / mcycle(h)
//                (they count idle cycles), mip / sip (the timer and external lines)
//   INTERRUPT    an interrupt taken, before the instruction at the position
//   HYPERCALL    an ecall's results (a0, a1) and the bytes it wrote into guest RAM
//                (channel_receive); the hypercall itself is not run again
//   SC           an sc.w's outcome (a reservation breaks on a context switch, which the
//                schedule decides)
//   DEVICE_LOAD  a machine VM's load from a device (the CLINT's mtime, the UART)
//
// Everything else the guest sees is a function of its state: instret, its own memory, the
// results of its own instructions. Timer arrivals, external interrupts, link frames and
// channel messages reach a guest only through these five; wfi's wake-up changes nothing
// the guest can see but time, which is read through a CSR.
//
// One processor logs at most one VM (its outgoing migration) and replays at most one (its
// incoming one). The hooks below are called from the slow paths only (CSR instructions,
// ecall, sc.w, device loads, interrupt delivery): the hart's inline path is unchanged.
import { Vm } from "./vm";

/** vm.traceMode: inputs go nowhere (counted only), into the log, or come from the replay log. */
export const TRACE_OFF: u32 = 0;
export const TRACE_LOGGING: u32 = 1;
export const TRACE_REPLAYING: u32 = 2;

export const INPUT_CSR: u32 = 1;
export const INPUT_INTERRUPT: u32 = 2;
export const INPUT_HYPERCALL: u32 = 3;
export const INPUT_SC: u32 = 4;
export const INPUT_DEVICE_LOAD: u32 = 5;
export const INPUT_KINDS: u32 = 5;

/** An entry: u64 position, u32 kind, u32 a, u32 b, u32 offset, u32 dataBytes, u32 0; then the data, padded to 8. */
export const ENTRY_BYTES: u32 = 32;
/** Most bytes of data one entry carries (a channel message). */
export const MAX_ENTRY_DATA_BYTES: u32 = 4096;

@inline export function entryBytes(dataBytes: u32): u32 {
  return ENTRY_BYTES + ((dataBytes + 7) & ~7);
}

/** The VM's position: instructions executed before the one now executing. */
@inline export function positionOf(vm: Vm): u64 {
  return vm.executed + vm.sliceExecuted;
}

/** A growable byte log of entries, read from `head`. */
class EntryLog {
  ptr: usize = 0;
  capacity: u32 = 0;
  bytes: u32 = 0;
  head: u32 = 0;
  entries: u32 = 0;

  clear(): void {
    this.bytes = 0;
    this.head = 0;
    this.entries = 0;
  }

  reserve(extra: u32): usize {
    if (this.head != 0 && this.head == this.bytes) { this.bytes = 0; this.head = 0; }
    const needed = this.bytes + extra;
    if (needed > this.capacity) {
      let capacity = this.capacity == 0 ? <u32>(1 << 14) : this.capacity;
      while (capacity < needed) capacity <<= 1;
      this.ptr = this.ptr == 0 ? heap.alloc(capacity) : heap.realloc(this.ptr, capacity);
      this.capacity = capacity;
    }
    const at = this.ptr + this.bytes;
    this.bytes = needed;
    return at;
  }
}

const logged = new EntryLog();
const replay = new EntryLog();
/** Replay may run the VM up to this position (the last INPUT_LOG's untilPosition). */
let replayUntil: u64 = 0;
/** The last INPUT_LOG said the source stopped at replayUntil. */
let replayFinal: bool = false;
/** What the replayed VM did disagreed with the log: the replay is void. */
let diverged: bool = false;

// -------------------------------------------------------------------------------------
// Both sides: the hooks
// -------------------------------------------------------------------------------------

/** Does this CSR's value follow from time (so that a read of it is an input)? */
export function csrIsInput(csr: u32): bool {
  return csr == 0x344 || csr == 0x144 || csr == 0xC01 || csr == 0xC81
    || csr == 0xB00 || csr == 0xC00 || csr == 0xB80 || csr == 0xC80;
}

function append(vm: Vm, kind: u32, a: u32, b: u32, offset: u32, data: usize, dataBytes: u32): void {
  const size = entryBytes(dataBytes);
  vm.inputLogBytes += size;
  if (vm.traceMode != TRACE_LOGGING) return;
  const at = logged.reserve(size);
  store<u64>(at, positionOf(vm));
  store<u32>(at, kind, 8);
  store<u32>(at, a, 12);
  store<u32>(at, b, 16);
  store<u32>(at, offset, 20);
  store<u32>(at, dataBytes, 24);
  store<u32>(at, 0, 28);
  if (dataBytes != 0) {
    memory.copy(at + ENTRY_BYTES, data, dataBytes);
    memory.fill(at + ENTRY_BYTES + dataBytes, 0, entryBytes(dataBytes) - ENTRY_BYTES - dataBytes);
  }
  logged.entries++;
}

/**
 * Replaying: the next entry, which must be of `kind` at the VM's position now; 0 (and the
 * replay void) if it is not.
 */
export function takeInput(vm: Vm, kind: u32): usize {
  if (replay.head >= replay.bytes) { diverged = true; return 0; }
  const at = replay.ptr + replay.head;
  if (load<u32>(at, 8) != kind || load<u64>(at) != positionOf(vm)) { diverged = true; return 0; }
  replay.head += entryBytes(load<u32>(at, 24));
  return at;
}

/** A CSR instruction read `value` from `csr`: what the guest gets (from the log when replaying). */
export function csrInput(vm: Vm, csr: u32, value: u64): u64 {
  if (!csrIsInput(csr)) return value;
  if (vm.traceMode == TRACE_REPLAYING) {
    const at = takeInput(vm, INPUT_CSR);
    return at == 0 ? value : <u64>load<u32>(at, 12);
  }
  append(vm, INPUT_CSR, <u32>value, csr, 0, 0, 0);
  return value;
}

/** The run loop took interrupt `irq` (not called when replaying: the replay takes them from the log). */
export function interruptInput(vm: Vm, irq: u32): void {
  append(vm, INPUT_INTERRUPT, irq, 0, 0, 0, 0);
}

/** An ecall returned a0, a1 and wrote `dataBytes` at RAM `offset`. */
export function hypercallInput(vm: Vm, a0: u32, a1: u32, offset: u32, dataBytes: u32): void {
  append(vm, INPUT_HYPERCALL, a0, a1, offset, vm.ram + offset, dataBytes);
}

/** Replaying, before an sc.w on `addr`: the reservation is what the source's was. */
export function scReplay(vm: Vm, addr: u32): void {
  const at = takeInput(vm, INPUT_SC);
  if (at != 0) vm.reservation = load<u32>(at, 12) == 0 ? addr : 0;
}

/** An sc.w ended with `result` (0 stored, 1 failed). */
export function scInput(vm: Vm, result: u32): void {
  if (vm.traceMode != TRACE_REPLAYING) append(vm, INPUT_SC, result, 0, 0, 0, 0);
}

/** A device load read `value` (replaying: the logged value; the device is not asked). */
export function deviceLoadInput(vm: Vm, value: u64): u64 {
  if (vm.traceMode == TRACE_REPLAYING) {
    const at = takeInput(vm, INPUT_DEVICE_LOAD);
    return at == 0 ? value : <u64>load<u32>(at, 12);
  }
  append(vm, INPUT_DEVICE_LOAD, <u32>value, 0, 0, 0, 0);
  return value;
}

// -------------------------------------------------------------------------------------
// The source: the log
// -------------------------------------------------------------------------------------

/** From now on `vm`'s inputs go into the log (which starts empty). */
export function startLogging(vm: Vm): void {
  logged.clear();
  vm.traceMode = TRACE_LOGGING;
}

export function stopLogging(vm: Vm): void {
  if (vm.traceMode == TRACE_LOGGING) vm.traceMode = TRACE_OFF;
  logged.clear();
}

export function loggedBytes(): u32 {
  return logged.bytes - logged.head;
}

export function loggedEntries(): u32 {
  return logged.entries;
}

export function loggedPtr(): usize {
  return logged.ptr + logged.head;
}

export function clearLogged(): void {
  logged.clear();
}

// -------------------------------------------------------------------------------------
// The destination: the replay log
// -------------------------------------------------------------------------------------

/** `vm` replays from its position now; nothing may run until the first INPUT_LOG arrives. */
export function startReplay(vm: Vm): void {
  replay.clear();
  replayUntil = vm.executed;
  replayFinal = false;
  diverged = false;
  vm.traceMode = TRACE_REPLAYING;
}

export function endReplay(vm: Vm): void {
  if (vm.traceMode == TRACE_REPLAYING) vm.traceMode = TRACE_OFF;
  replay.clear();
}

/** An INPUT_LOG record's entries (checked), to replay up to `until`. */
export function appendReplay(entries: usize, bytes: u32, until: u64, final: bool): void {
  if (bytes != 0) memory.copy(replay.reserve(bytes), entries, bytes);
  replayUntil = until;
  replayFinal = final;
}

export function replayLimit(): u64 {
  return replayUntil;
}

export function replayIsFinal(): bool {
  return replayFinal;
}

export function replayDiverged(): bool {
  return diverged;
}

export function markDiverged(): void {
  diverged = true;
}

/** Replay entries not yet consumed. */
export function replayPending(): bool {
  return replay.head < replay.bytes;
}

/** The position of the next entry (u64 max if none). */
export function nextInputPosition(): u64 {
  return replay.head < replay.bytes ? load<u64>(replay.ptr + replay.head) : u64.MAX_VALUE;
}

/** The kind of the next entry (0 if none). */
export function nextInputKind(): u32 {
  return replay.head < replay.bytes ? load<u32>(replay.ptr + replay.head, 8) : 0;
}

/** Takes the next entry, an interrupt at the VM's position now: its irq. */
export function takeInterrupt(vm: Vm): u32 {
  const at = takeInput(vm, INPUT_INTERRUPT);
  return at == 0 ? 0 : load<u32>(at, 12);
}
