// The VM scheduler's table: a cyclic major frame divided into windows, each owned by one
// VM (time partitioning after ARINC 653). A VM runs only inside its own windows. This
// file answers "who owns the processor at cycle t, and until when"; processor.ts acts
// on it.
import { getClockHz, nsToCycles, workNsAt } from "./clock";
import { MAX_VMS, MAX_WINDOWS } from "./config";
import { vmAtSlot, vmById, vmSetVersion } from "./vm";

/** Frame used when the board configures no windows: every VM gets an equal share. */
const DEFAULT_FRAME_NS: u64 = 10_000_000;

// Windows sorted by start, in cycles from the start of the major frame.
const windowVm = new StaticArray<u32>(MAX_WINDOWS);
const windowStart = new StaticArray<u64>(MAX_WINDOWS);
const windowEnd = new StaticArray<u64>(MAX_WINDOWS);
let windowCount: i32 = 0;
let configured = false;
let frameCycles: u64 = 0;
/** The VM set (vm.ts vmSetVersion) the default table was made for; -1: none yet. */
let defaultFor: i64 = -1;

export function clearSchedule(): void {
  windowCount = 0;
  configured = false;
  frameCycles = 0;
  defaultFor = -1;
}

/** Has the board configured this processor's schedule (windows only for the VMs it names)? */
export function scheduleConfigured(): bool {
  return configured;
}

export function setMajorFrame(ns: u64): bool {
  if (ns == 0) return false;
  const cycles = nsToCycles(ns);
  for (let i = 0; i < windowCount; i++) if (windowEnd[i] > cycles) return false;
  frameCycles = cycles;
  configured = true;
  return true;
}

/** Adds a window; false if it overlaps another or leaves the major frame. */
export function addWindow(vm: u32, offsetNs: u64, durationNs: u64): bool {
  if (!configured || durationNs == 0 || windowCount == MAX_WINDOWS || vmById(vm) == null) return false;
  const start = nsToCycles(offsetNs);
  const end = nsToCycles(offsetNs + durationNs);
  if (end > frameCycles || end <= start) return false;
  let at = 0;
  while (at < windowCount && windowStart[at] < start) at++;
  if (at > 0 && windowEnd[at - 1] > start) return false;
  if (at < windowCount && windowStart[at] < end) return false;
  for (let i = windowCount; i > at; i--) {
    windowVm[i] = windowVm[i - 1];
    windowStart[i] = windowStart[i - 1];
    windowEnd[i] = windowEnd[i - 1];
  }
  windowVm[at] = vm;
  windowStart[at] = start;
  windowEnd[at] = end;
  windowCount++;
  return true;
}

/** Removes every window of `vm` (a reservation that fell through). */
export function removeWindowsOf(vm: u32): void {
  let kept = 0;
  for (let i = 0; i < windowCount; i++) {
    if (windowVm[i] == vm) continue;
    windowVm[kept] = windowVm[i];
    windowStart[kept] = windowStart[i];
    windowEnd[kept] = windowEnd[i];
    kept++;
  }
  windowCount = kept;
}

/**
 * Gives `vm` the windows listed at `ptr` (`count` pairs of u64 offset ns, duration ns),
 * as an incoming migration asks; all or none. Without a configured table the default
 * one makes room for the VM by itself.
 */
export function addWindowsLike(vm: u32, ptr: usize, count: u32): bool {
  if (!configured) return true;
  for (let i: u32 = 0; i < count; i++) {
    const at = ptr + <usize>i * 16;
    if (!addWindow(vm, load<u64>(at), load<u64>(at, 8))) {
      removeWindowsOf(vm);
      return false;
    }
  }
  return true;
}

/** Without a configured table: one window per live VM, equal shares of DEFAULT_FRAME_NS. */
function ensureDefault(): void {
  if (configured || defaultFor == <i64>vmSetVersion()) return;
  defaultFor = <i64>vmSetVersion();
  frameCycles = nsToCycles(DEFAULT_FRAME_NS);
  windowCount = 0;
  let live = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) if (vmAtSlot(slot) != null) live++;
  if (live == 0) return;
  const share = frameCycles / <u64>live;
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm == null) continue;
    windowVm[windowCount] = vm.id;
    windowStart[windowCount] = share * <u64>windowCount;
    windowEnd[windowCount] = windowCount == live - 1 ? frameCycles : share * <u64>(windowCount + 1);
    windowCount++;
  }
}

/** The slot the processor is in at `atCycles`: a window of a VM, or a gap. */
export class Slot {
  /** VM owning the slot, or -1 in a gap. */
  vm: i32 = -1;
  /** Absolute cycle the slot ends. */
  endCycles: u64 = 0;
  /** Identifies this occurrence of the slot: changes whenever a new slot begins. */
  serial: u64 = 0;
}

const slot = new Slot();

export function slotAt(atCycles: u64): Slot {
  ensureDefault();
  if (windowCount == 0 || frameCycles == 0) {
    slot.vm = -1;
    slot.endCycles = u64.MAX_VALUE;
    slot.serial = 0;
    return slot;
  }
  const frame = atCycles / frameCycles;
  const frameStart = frame * frameCycles;
  const position = atCycles - frameStart;
  // Serials: window i is base + 2i + 1, the gap before it base + 2i, the trailing gap base + 2n.
  const base = frame * (<u64>windowCount * 2 + 2);
  for (let i = 0; i < windowCount; i++) {
    if (position < windowStart[i]) {
      slot.vm = -1;
      slot.endCycles = frameStart + windowStart[i];
      slot.serial = base + <u64>i * 2;
      return slot;
    }
    if (position < windowEnd[i]) {
      slot.vm = <i32>windowVm[i];
      slot.endCycles = frameStart + windowEnd[i];
      slot.serial = base + <u64>i * 2 + 1;
      return slot;
    }
  }
  slot.vm = -1;
  slot.endCycles = frameStart + frameCycles;
  slot.serial = base + <u64>windowCount * 2;
  return slot;
}

const gapStarts = new StaticArray<u64>(MAX_WINDOWS);
const gapEnds = new StaticArray<u64>(MAX_WINDOWS);

function workNs(cycles: u64): u64 {
  return workNsAt(cycles, getClockHz());
}

/** Cycles per major frame and the windows of one VM, for the slack analysis. */
export function frameLengthCycles(): u64 {
  ensureDefault();
  return frameCycles;
}

export function windowsOf(vm: u32, starts: StaticArray<u64>, ends: StaticArray<u64>): i32 {
  ensureDefault();
  let n = 0;
  for (let i = 0; i < windowCount && n < starts.length; i++) {
    if (windowVm[i] != vm) continue;
    starts[n] = windowStart[i];
    ends[n] = windowEnd[i];
    n++;
  }
  return n;
}

/**
 * The longest `vm` may wait for one of its windows from any moment: the longest stretch
 * of the major frame without one. Without a configured table, the whole default frame:
 * that table changes as VMs come and go, so no gap in it is promised.
 */
export function longestWaitNs(vm: u32): u64 {
  if (!configured) return DEFAULT_FRAME_NS;
  const starts = gapStarts, ends = gapEnds;
  const n = windowsOf(vm, starts, ends);
  if (n == 0) return workNs(frameCycles);
  let gap: u64 = starts[0] + frameCycles - ends[n - 1]; // wrapping from the last window to the first
  for (let i = 1; i < n; i++) {
    if (starts[i] - ends[i - 1] > gap) gap = starts[i] - ends[i - 1];
  }
  return workNs(gap);
}
