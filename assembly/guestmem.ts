// Guest memory: the VM's RAM at guest-physical RAM_BASE, held in the core's linear memory.
// The hart's fast path (hart.ts) does in-RAM loads and stores inline with the same rules
// as here; this file holds everything else: device accesses, access faults, writes made
// on the guest's behalf, and the bookkeeping every write into RAM must do.
import { CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, DECODE_ENTRIES, EXIT_TOHOST, KIND_MACHINE, PAGE_SHIFT, RAM_BASE } from "./config";
import { raiseException } from "./dispatcher";
import { deviceLoad, deviceStore, NO_DEVICE } from "./platform";
import { Vm } from "./vm";

export const DECODE_MASK: usize = DECODE_ENTRIES - 1;

/** Returned by loadSlow when the access trapped. */
export const LOAD_TRAPPED: u64 = 1 << 33;

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

/** Clears the decode cache entry that holds the instruction word at `addr`, if any. */
@inline export function invalidateDecoded(decode: usize, addr: u32): void {
  const entry = decode + ((<usize>(addr >> 2) & (DECODE_MASK)) << 4);
  if (load<u32>(entry) == (addr & ~3)) store<u32>(entry, 1);
}

/** Bookkeeping for a write of `bytes` at RAM `offset` made outside the hart's fast path. */
export function noteWritten(vm: Vm, offset: u32, bytes: u32): void {
  if (bytes == 0) return;
  const lastPage = (offset + bytes - 1) >> PAGE_SHIFT;
  for (let page = offset >> PAGE_SHIFT; page <= lastPage; page++) store<u8>(vm.dirty + page, 0xFF);
  const end = offset + bytes;
  for (let word = offset & ~3; word < end; word += 4) invalidateDecoded(vm.decode, RAM_BASE + word);
}

/** Ends the VM if the guest just wrote a non-zero value to its HTIF tohost word. */
export function checkTohost(vm: Vm): bool {
  const value = load<u32>(vm.ram + (vm.tohost - RAM_BASE));
  if (value == 0) return false;
  vm.exit = EXIT_TOHOST;
  vm.exitCode = value;
  return true;
}

function readRam(vm: Vm, offset: u32, bytes: u32): u32 {
  if (bytes == 1) return load<u8>(vm.ram + offset);
  if (bytes == 2) return load<u16>(vm.ram + offset);
  return load<u32>(vm.ram + offset);
}

/** A load the fast path did not take: devices, a range straddling RAM's end, or a fault. */
export function loadSlow(vm: Vm, addr: u32, bytes: u32): u64 {
  const offset = ramOffset(vm, addr, bytes);
  if (offset >= 0) return readRam(vm, <u32>offset, bytes);
  if (vm.kind == KIND_MACHINE) {
    const value = deviceLoad(vm, addr, bytes);
    if (value != NO_DEVICE) return value;
  }
  raiseException(vm, CAUSE_LOAD_ACCESS, addr);
  return LOAD_TRAPPED;
}

/** A store the fast path did not take; false when it trapped. */
export function storeSlow(vm: Vm, addr: u32, bytes: u32, value: u32): bool {
  const offset = ramOffset(vm, addr, bytes);
  if (offset >= 0) {
    const at = vm.ram + <usize>offset;
    if (bytes == 1) store<u8>(at, <u8>value);
    else if (bytes == 2) store<u16>(at, <u16>value);
    else store<u32>(at, value);
    noteWritten(vm, <u32>offset, bytes);
    if (vm.tohost != 0 && addr - vm.tohost < 4) checkTohost(vm);
    return true;
  }
  if (vm.kind == KIND_MACHINE && deviceStore(vm, addr, bytes, value)) return true;
  raiseException(vm, CAUSE_STORE_ACCESS, addr);
  return false;
}
