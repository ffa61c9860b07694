// A VM's life on a processor beyond running: reserved for an incoming migration, held
// (not scheduled) while its state is in flight, resumed, and released when it has left
// or its reservation is dropped. Releasing gives everything back — RAM, windows, ports
// and the VM's slot in the table (vm.ts), whose next VM gets a new handle.
import { MAX_PROCESSOR_RAM_BYTES, MAX_VM_RAM_BYTES, MAX_VMS, PAGE_BYTES } from "./config";
import { flushConsole } from "./console";
import { removeWindowsOf } from "./schedule";
import { vmHooks } from "./vm-hooks";
import { createVm, freeVm, Vm, vmAtSlot, vmTableHasRoom } from "./vm";

/** RAM this processor has for VMs; 0 = only what the core's memory allows. */
let ramCapacityBytes: u64 = 0;

export function setRamCapacity(bytes: u64): void {
  ramCapacityBytes = bytes;
}

/** RAM this processor has for VMs: what the board set, or what the core's memory allows. */
export function ramCapacity(): u64 {
  return ramCapacityBytes == 0 || ramCapacityBytes > <u64>MAX_PROCESSOR_RAM_BYTES ? <u64>MAX_PROCESSOR_RAM_BYTES : ramCapacityBytes;
}

export function ramInUse(): u64 {
  let bytes: u64 = 0;
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const vm = vmAtSlot(slot);
    if (vm != null) bytes += vm.ramBytes;
  }
  return bytes;
}

/**
 * Does a VM of `ramBytes` fit beside the VMs here? Within the processor's RAM (if set),
 * and within MAX_PROCESSOR_RAM_BYTES, the most one core's 32-bit memory holds: past it
 * the allocator would trap instead of refusing.
 */
export function ramFits(ramBytes: u32): bool {
  const after = ramInUse() + ramBytes;
  if (after > <u64>MAX_PROCESSOR_RAM_BYTES) return false;
  return ramCapacityBytes == 0 || after <= ramCapacityBytes;
}

// Why reserveVm could not reserve.
export const RESERVE_OK: u32 = 0;
export const RESERVE_BAD_CONFIG: u32 = 1;
export const RESERVE_NO_RAM: u32 = 2;
export const RESERVE_TABLE_FULL: u32 = 3;

let reserveRefusal: u32 = RESERVE_OK;

/** Why the last reserveVm returned null. */
export function lastReserveRefusal(): u32 {
  return reserveRefusal;
}

/** A new VM for an incoming migration or restore, held until it is resumed; null if it does not fit (lastReserveRefusal says why). */
export function reserveVm(kind: u32, ramBytes: u32): Vm | null {
  reserveRefusal = RESERVE_BAD_CONFIG;
  if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > MAX_VM_RAM_BYTES || kind > 1) return null;
  reserveRefusal = RESERVE_NO_RAM;
  if (!ramFits(ramBytes)) return null;
  reserveRefusal = RESERVE_TABLE_FULL;
  if (!vmTableHasRoom()) return null;
  const vm = createVm(kind, ramBytes);
  if (vm == null) return null;
  reserveRefusal = RESERVE_OK;
  vm.held = true;
  return vm;
}

export function holdVm(vm: Vm): void {
  vm.held = true;
}

export function resumeVm(vm: Vm): void {
  vm.held = false;
}

/** The VM is gone from this processor: its console is flushed, its windows, ports, memory and slot given back. */
export function releaseVm(vm: Vm): void {
  flushConsole(vm);
  removeWindowsOf(vm.id); // its time goes back to the processor
  vmHooks.released(vm.id);
  freeVm(vm);
}
