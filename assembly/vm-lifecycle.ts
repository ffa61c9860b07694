// A VM's life on a processor beyond running: reserved for an incoming migration, held
// (not scheduled) while its state is in flight, resumed, and released when it has left
// or its reservation is dropped. A released VM keeps its id (the table is append-only)
// but gives its memory back.
import { EXIT_MIGRATED, EXIT_RUNNING, PAGE_BYTES } from "./config";
import { removeWindowsOf } from "./schedule";
import { createVm, noteVmSetChanged, Vm, vmById, vmCountNow } from "./vm";

/** RAM this processor has for VMs; 0 = only what the core's memory allows. */
let ramCapacityBytes: u64 = 0;

export function setRamCapacity(bytes: u64): void {
  ramCapacityBytes = bytes;
}

function ramInUse(): u64 {
  let bytes: u64 = 0;
  for (let id = 0; id < vmCountNow(); id++) bytes += vmById(<u32>id)!.ramBytes;
  return bytes;
}

/** A new VM for an incoming migration, held until the migration commits; null if it does not fit. */
export function reserveVm(kind: u32, ramBytes: u32): Vm | null {
  if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > 0x4000_0000 || kind > 1) return null;
  if (ramCapacityBytes != 0 && ramInUse() + ramBytes > ramCapacityBytes) return null;
  const vm = createVm(kind, ramBytes);
  if (vm != null) vm.held = true;
  return vm;
}

export function holdVm(vm: Vm): void {
  vm.held = true;
}

export function resumeVm(vm: Vm): void {
  vm.held = false;
}

/** The VM is gone from this processor: it stops for good and its memory is freed. */
export function releaseVm(vm: Vm): void {
  vm.held = false;
  if (vm.exit == EXIT_RUNNING) vm.exit = EXIT_MIGRATED;
  if (vm.ram != 0) {
    heap.free(vm.ram);
    heap.free(vm.dirty);
    heap.free(vm.decode);
  }
  vm.ram = 0;
  vm.dirty = 0;
  vm.decode = 0;
  vm.ramBytes = 0;
  removeWindowsOf(vm.id); // its time goes back to the processor
  noteVmSetChanged();
}
