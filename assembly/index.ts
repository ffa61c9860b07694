// The core's exported interface: everything the board (host) may do to this processor
// and its VMs. docs/core-interface.md is the contract; wit/ describes the same world.
import { now as clockNow, setClockHz } from "./clock";
import { KIND_MACHINE, KIND_PARAVIRTUAL, MODE_M, PAGE_BYTES, SBI_ERR_BAD_RANGE, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM, STAGING_BYTES } from "./config";
import { readCsr } from "./csr";
import { noteWritten, ramOffset } from "./guestmem";
import { runProcessor } from "./processor";
import { createVm, getReg, setReg, Vm, vmById } from "./vm";

const staging = heap.alloc(STAGING_BYTES);

export function configure(clockHz: u32): void {
  setClockHz(clockHz == 0 ? 1 : clockHz);
}

export function now(): u64 {
  return clockNow();
}

export function run(cycles: u64): u64 {
  return runProcessor(cycles);
}

export function stagingBuffer(): usize {
  return staging;
}

export function stagingBytes(): u32 {
  return STAGING_BYTES;
}

export function vmCreate(kind: u32, ramBytes: u32): i32 {
  if (kind != KIND_PARAVIRTUAL && kind != KIND_MACHINE) return SBI_ERR_INVALID_PARAM;
  if (ramBytes == 0 || ramBytes % PAGE_BYTES != 0 || ramBytes > 0x4000_0000) return SBI_ERR_INVALID_PARAM;
  const vm = createVm(kind, ramBytes);
  return vm == null ? SBI_ERR_FAILED : <i32>vm.id;
}

export function vmLoad(id: u32, guestAddr: u32, ptr: usize, len: u32): i32 {
  const vm = vmById(id);
  if (vm == null || ptr < staging || len > STAGING_BYTES || ptr - staging > STAGING_BYTES - len) return SBI_ERR_INVALID_PARAM;
  const offset = ramOffset(vm, guestAddr, len);
  if (offset < 0) return SBI_ERR_BAD_RANGE;
  memory.copy(vm.ram + <usize>offset, ptr, len);
  noteWritten(vm, <u32>offset, len);
  return 0;
}

export function vmSetTohost(id: u32, addr: u32): i32 {
  const vm = vmById(id);
  if (vm == null) return SBI_ERR_INVALID_PARAM;
  if (ramOffset(vm, addr, 4) < 0) return SBI_ERR_BAD_RANGE;
  vm.tohost = addr;
  return 0;
}

export function vmBoot(id: u32, pc: u32, a0: u32, a1: u32): i32 {
  const vm = vmById(id);
  if (vm == null) return SBI_ERR_INVALID_PARAM;
  vm.pc = pc;
  setReg(vm, 10, a0);
  setReg(vm, 11, a1);
  return 0;
}

function vmOrNull(id: u32): Vm | null {
  return vmById(id);
}

export function vmExit(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.exit;
}

export function vmExitCode(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.exitCode;
}

export function vmInstret(id: u32): u64 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.executed - vm.trapped;
}

export function vmGetReg(id: u32, r: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null || r > 31 ? 0 : getReg(vm, r);
}

export function vmSetReg(id: u32, r: u32, value: u32): void {
  const vm = vmOrNull(id);
  if (vm != null && r <= 31) setReg(vm, r, value);
}

export function vmGetPc(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.pc;
}

/** Reads any CSR as M-mode would (for tools and tests); 0 for one that does not exist. */
export function vmGetCsr(id: u32, csr: u32): u32 {
  const vm = vmOrNull(id);
  if (vm == null) return 0;
  const mode = vm.mode;
  vm.mode = MODE_M;
  const value = readCsr(vm, csr & 0xFFF);
  vm.mode = mode;
  return <u32>value;
}

export function vmGetMode(id: u32): u32 {
  const vm = vmOrNull(id);
  return vm == null ? 0 : vm.mode;
}

export function vmRaiseExternal(id: u32, level: u32): void {
  const vm = vmOrNull(id);
  if (vm != null) vm.externalLevel = level;
}
