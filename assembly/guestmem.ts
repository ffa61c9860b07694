// Guest memory: the VM's RAM at guest-physical RAM_BASE, held in the core's linear memory.
// The hart's fast path (hart.ts) does in-RAM loads and stores inline with the same rules
// as here; this file holds everything else: device accesses, accesses that need a look
// (a watched page, a straddled page or RAM end, a page still to arrive), writes made on
// the guest's behalf, and the bookkeeping every write into RAM must do. It raises no
// traps: every access says how it went (ACCESS_*) and the hart raises what it must.
import { EXIT_TOHOST, KIND_MACHINE, PAGE_SHIFT, RAM_BASE } from "./config";
import { holdsDecoded, overlapsDecoded, watchLines } from "./decode-cache";
import { DIRTY_ALL, DIRTY_TRACKING, DIRTY_WATCHED } from "./dirty-tracking";
import { deviceLoad, deviceStore, NO_DEVICE } from "./platform";
import { deviceLoadInput } from "./input-log";
import { flushDecodeCache, Vm } from "./vm";

/** Done in RAM, nothing else to know. */
export const ACCESS_RAM: u32 = 0;
/** Done in RAM, and the store overwrote decoded code (now dropped): leave the block. */
export const ACCESS_CODE_CHANGED: u32 = 1;
/** Done by a device, or the store ended the VM (tohost): the slice ends. */
export const ACCESS_DEVICE: u32 = 2;
/** Nothing there: an access fault. */
export const ACCESS_FAULT: u32 = 3;
/** The page has not arrived yet (post-copy): nothing done, vm.awaitingPage is set. */
export const ACCESS_ABSENT: u32 = 4;

/** What the last loadSlow read (when it returned ACCESS_RAM or ACCESS_DEVICE). */
export let loadedValue: u32 = 0;

/** Offset into RAM of [addr, addr + bytes), or -1 if that range is not wholly inside it. */
export function ramOffset(vm: Vm, addr: u32, bytes: u32): i64 {
  const offset = addr - RAM_BASE;
  if (offset >= vm.ramBytes || bytes > vm.ramBytes - offset) return -1;
  return offset;
}

/** guestBuffer: the range lies (partly) in a page that has not arrived yet (post-copy). */
export const BUFFER_ABSENT: i64 = -2;

/**
 * Offset of a buffer a hypercall reads or writes, -1 if it is not wholly in RAM, or
 * BUFFER_ABSENT if a post-copy page of it has not arrived: the VM then waits for the
 * page and the dispatcher runs the ecall again (vm.awaitingPage).
 */
export function guestBuffer(vm: Vm, addr: u32, bytes: u32): i64 {
  const offset = ramOffset(vm, addr, bytes);
  if (offset < 0 || vm.absent == 0 || bytes == 0) return offset;
  const last = (<u32>offset + bytes - 1) >> PAGE_SHIFT;
  for (let page = <u32>offset >> PAGE_SHIFT; page <= last; page++) {
    if (load<u8>(vm.absent + page) != 0) {
      vm.awaitingPage = page + 1;
      return BUFFER_ABSENT;
    }
  }
  return offset;
}

/** Do [a, a + aBytes) and [b, b + bBytes) overlap? (Addresses in RAM: no wrap-around.) */
@inline function overlaps(a: u32, aBytes: u32, b: u32, bBytes: u32): bool {
  return a < b + bBytes && b < a + aBytes;
}

/** Does page `page` hold the tohost word? */
function holdsTohost(vm: Vm, page: u32): bool {
  if (vm.tohost == 0) return false;
  const offset = vm.tohost - RAM_BASE;
  return page == offset >> PAGE_SHIFT || page == (offset + 3) >> PAGE_SHIFT;
}

/** Watches the tohost word (its pages and lines), so that the hart's stores to it come here. */
export function watchTohost(vm: Vm): void {
  if (vm.tohost == 0) return;
  const offset = vm.tohost - RAM_BASE;
  store<u8>(vm.dirty + (offset >> PAGE_SHIFT), load<u8>(vm.dirty + (offset >> PAGE_SHIFT)) | DIRTY_WATCHED);
  store<u8>(vm.dirty + ((offset + 3) >> PAGE_SHIFT), load<u8>(vm.dirty + ((offset + 3) >> PAGE_SHIFT)) | DIRTY_WATCHED);
  watchLines(vm.decode, offset, 4);
}

/** Marks page `page` written; keeps it watched only while it holds decoded code or tohost. */
function markWritten(vm: Vm, page: u32): void {
  let flags = load<u8>(vm.dirty + page);
  if ((flags & DIRTY_WATCHED) != 0 && !holdsDecoded(vm.decode, page) && !holdsTohost(vm, page)) flags &= ~DIRTY_WATCHED;
  if (DIRTY_TRACKING) flags |= DIRTY_ALL;
  store<u8>(vm.dirty + page, flags);
}

/**
 * Bookkeeping for `bytes` just written at RAM `offset`: dirty pages, and decoded code the
 * write overwrote is dropped. ACCESS_CODE_CHANGED if there was such code, else ACCESS_RAM.
 */
function noteStored(vm: Vm, offset: u32, bytes: u32): u32 {
  const lastPage = (offset + bytes - 1) >> PAGE_SHIFT;
  for (let page = offset >> PAGE_SHIFT; page <= lastPage; page++) markWritten(vm, page);
  if (!overlapsDecoded(vm.decode, offset, bytes)) return ACCESS_RAM;
  flushDecodeCache(vm);
  watchTohost(vm); // the flush forgot its line; the slice goes on
  return ACCESS_CODE_CHANGED;
}

/**
 * Bookkeeping for a write of `bytes` at RAM `offset` made outside the hart (the host, a
 * hypercall, a page that arrived): as a store, and like a device's write it breaks an
 * LR/SC reservation on the bytes.
 */
export function noteWritten(vm: Vm, offset: u32, bytes: u32): void {
  if (bytes == 0) return;
  noteStored(vm, offset, bytes);
  if (vm.reservation != 0 && overlaps(vm.reservation, 4, RAM_BASE + offset, bytes)) vm.reservation = 0;
}

/** Ends the VM if the guest just wrote a non-zero value to its HTIF tohost word. */
export function checkTohost(vm: Vm): bool {
  const value = load<u32>(vm.ram + (vm.tohost - RAM_BASE));
  if (value == 0) return false;
  vm.exit = EXIT_TOHOST;
  vm.exitCode = value;
  return true;
}

/** Would an access to RAM [offset, offset + bytes) wait for a page (post-copy)? Then the VM does. */
export function mustAwait(vm: Vm, offset: u32, bytes: u32): bool {
  if (vm.absent == 0) return false;
  let page = offset >> PAGE_SHIFT;
  if (load<u8>(vm.absent + page) == 0) page = (offset + bytes - 1) >> PAGE_SHIFT;
  if (load<u8>(vm.absent + page) == 0) return false;
  vm.awaitingPage = page + 1;
  return true;
}

function readRam(vm: Vm, offset: u32, bytes: u32): u32 {
  if (bytes == 1) return load<u8>(vm.ram + offset);
  if (bytes == 2) return load<u16>(vm.ram + offset);
  return load<u32>(vm.ram + offset);
}

/** A load the fast path did not take (value in loadedValue): RAM, a device, or a fault. */
export function loadSlow(vm: Vm, addr: u32, bytes: u32): u32 {
  const offset = ramOffset(vm, addr, bytes);
  if (offset >= 0) {
    if (mustAwait(vm, <u32>offset, bytes)) return ACCESS_ABSENT;
    loadedValue = readRam(vm, <u32>offset, bytes);
    return ACCESS_RAM;
  }
  if (vm.kind == KIND_MACHINE) {
    const value = deviceLoad(vm, addr, bytes);
    if (value != NO_DEVICE) {
      loadedValue = <u32>deviceLoadInput(vm, value); // an input (trace-replay logs or replays it)
      return ACCESS_DEVICE;
    }
  }
  return ACCESS_FAULT;
}

/** Writes `bytes` of `value` at RAM `offset` with all the bookkeeping; ACCESS_DEVICE if it ended the VM. */
export function storeRam(vm: Vm, offset: u32, bytes: u32, value: u32): u32 {
  const at = vm.ram + <usize>offset;
  if (bytes == 1) store<u8>(at, <u8>value);
  else if (bytes == 2) store<u16>(at, <u16>value);
  else store<u32>(at, value);
  const result = noteStored(vm, offset, bytes);
  if (vm.tohost != 0 && overlaps(vm.tohost, 4, RAM_BASE + offset, bytes) && checkTohost(vm)) return ACCESS_DEVICE;
  return result;
}

/** A store the fast path did not take: RAM that needs a look, a device, or a fault. */
export function storeSlow(vm: Vm, addr: u32, bytes: u32, value: u32): u32 {
  const offset = ramOffset(vm, addr, bytes);
  if (offset >= 0) {
    if (mustAwait(vm, <u32>offset, bytes)) return ACCESS_ABSENT;
    return storeRam(vm, <u32>offset, bytes, value);
  }
  if (vm.kind == KIND_MACHINE && deviceStore(vm, addr, bytes, value)) return ACCESS_DEVICE;
  return ACCESS_FAULT;
}
