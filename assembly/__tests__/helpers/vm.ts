// VMs for the tests. A processor holds at most MAX_VMS VMs at once, and each
// spec file is its own wasm instance, so a spec file reuses one VM per kind: every call
// of machineVm() / paravirtualVm() hands back that VM in a clean state (reset vCPU, all
// bookkeeping zeroed, RAM cleared, decode cache flushed, console emptied), and parks
// every other VM (marks it stopped) and gives the VM under test the whole partition
// schedule, so that runProcessor only ever runs the VM under test, at every cycle.
import { advance } from "../../clock";
import { addWindow, clearSchedule, setMajorFrame } from "../../schedule";
import { EXIT_RUNNING, EXIT_SHUTDOWN, KIND_MACHINE, KIND_PARAVIRTUAL, MAX_VMS, MODE_M, PAGE_SHIFT, RAM_BASE } from "../../config";
import { executeSlice } from "../../hart";
import { createVm, flushDecodeCache, getReg, resetVcpu, setReg, Vm, vmAtSlot, vmById, vmTableHasRoom } from "../../vm";
import { clearConsole } from "./console";
import { spin } from "./encode";

export const RAM_BYTES: u32 = 64 * 1024;
/** Where test programs start. */
export const CODE: u32 = RAM_BASE;
/** A data area well away from the code. */
export const DATA: u32 = RAM_BASE + 0x8000;
/** Default machine trap vector (mtvec); holds `j .` after a reset. */
export const M_HANDLER: u32 = RAM_BASE + 0xF000;
/** Default supervisor trap vector (stvec); holds `j .` after a reset. */
export const S_HANDLER: u32 = RAM_BASE + 0xE000;

let machine: Vm | null = null;
let paravirtual: Vm | null = null;

/** The spec file's machine VM (M-mode, QEMU-virt devices), reset. */
export function machineVm(): Vm {
  if (machine == null) machine = newVm(KIND_MACHINE, RAM_BYTES);
  return cleanVm(machine!);
}

/** The spec file's paravirtual VM (S-mode, hypercalls), reset. */
export function paravirtualVm(): Vm {
  if (paravirtual == null) paravirtual = newVm(KIND_PARAVIRTUAL, RAM_BYTES);
  return cleanVm(paravirtual!);
}

/** A VM of its own (counts against MAX_VMS: use sparingly). */
export function newVm(kind: u32, ramBytes: u32): Vm {
  assert(vmTableHasRoom(), "test VM table full");
  return cleanVm(createVm(kind, ramBytes)!);
}

/** Major frame of the test schedule: one window, the VM under test's. */
const FRAME_NS: u64 = 10_000_000;

/** Makes `vm` as new, the only runnable VM, and the owner of every schedule window. */
export function cleanVm(vm: Vm): Vm {
  for (let slot = 0; slot < MAX_VMS; slot++) {
    const other = vmAtSlot(slot);
    if (other != null && other != vm) other.exit = EXIT_SHUTDOWN;
  }
  clearSchedule();
  assert(setMajorFrame(FRAME_NS) && addWindow(vm.id, 0, FRAME_NS), "test schedule");
  resetVcpu(vm);
  vm.yielded = false;
  memory.fill(vm.ram, 0, vm.ramBytes);
  memory.fill(vm.dirty, 0, vm.ramBytes >> PAGE_SHIFT);
  vm.pc = CODE;
  vm.exitCode = 0;
  vm.executed = 0;
  vm.trapped = 0;
  vm.sliceExecuted = 0;
  vm.cycles = 0;
  vm.instretDelta = 0;
  vm.cycleDelta = 0;
  vm.tohost = 0;
  vm.mtvec = vm.kind == KIND_MACHINE ? M_HANDLER : 0;
  vm.mscratch = 0;
  vm.mepc = 0;
  vm.mcause = 0;
  vm.mtval = 0;
  vm.stvec = vm.kind == KIND_PARAVIRTUAL ? S_HANDLER : 0;
  vm.sscratch = 0;
  vm.sepc = 0;
  vm.scause = 0;
  vm.stval = 0;
  vm.scounteren = 0;
  vm.externalLevel = 0;
  vm.consoleBytes = 0;
  store<u32>(vm.ram + (M_HANDLER - RAM_BASE), spin());
  store<u32>(vm.ram + (S_HANDLER - RAM_BASE), spin());
  flushDecodeCache(vm);
  clearConsole(vm.id);
  return vm;
}

/** Writes instruction (or data) words at `addr` directly into RAM, as a loader would. */
export function poke(vm: Vm, addr: u32, words: u32[]): void {
  for (let i = 0; i < words.length; i++) {
    store<u32>(vm.ram + (addr - RAM_BASE) + (<usize>i << 2), words[i]);
  }
  flushDecodeCache(vm);
}

/** Writes 16-bit parcels (compressed instructions, or halves of 32-bit ones) at `addr`. */
export function pokeHalves(vm: Vm, addr: u32, halves: u32[]): void {
  for (let i = 0; i < halves.length; i++) {
    store<u16>(vm.ram + (addr - RAM_BASE) + (<usize>i << 1), <u16>halves[i]);
  }
  flushDecodeCache(vm);
}

/** The halves of the 32-bit instruction `inst`, low first, for mixing it into pokeHalves. */
export function halvesOf(inst: u32): u32[] {
  return [inst & 0xFFFF, inst >> 16];
}

export function pokeByte(vm: Vm, addr: u32, value: u8): void {
  store<u8>(vm.ram + (addr - RAM_BASE), value);
  flushDecodeCache(vm);
}

export function peek(vm: Vm, addr: u32): u32 {
  return load<u32>(vm.ram + (addr - RAM_BASE));
}

export function peekByte(vm: Vm, addr: u32): u8 {
  return load<u8>(vm.ram + (addr - RAM_BASE));
}

/** Loads `words` at CODE and points the pc at them. */
export function program(vm: Vm, words: u32[]): void {
  poke(vm, CODE, words);
  vm.pc = CODE;
}

/**
 * Runs exactly `count` instructions through the hart (hart.ts executeSlice), with the
 * bookkeeping of the run loop (processor.ts) but no interrupts; stops early when the VM
 * stops or waits in wfi. Returns how many ran.
 */
export function step(vm: Vm, count: i32): i32 {
  let done = 0;
  while (done < count && vm.exit == EXIT_RUNNING && !vm.waiting) {
    const executed = executeSlice(vm, count - done);
    advance(<u64>executed);
    vm.executed += <u64>executed;
    vm.cycles += <u64>executed;
    done += executed;
  }
  return done;
}

export function reg(vm: Vm, r: u32): u32 {
  return getReg(vm, r);
}

export function setRegister(vm: Vm, r: u32, value: u32): void {
  setReg(vm, r, value);
}

/** Sets x1..x31 to distinct recognisable values (0xA5000000 | r). */
export function fillRegisters(vm: Vm): void {
  for (let r: u32 = 1; r < 32; r++) setReg(vm, r, 0xA500_0000 | r);
}

/** A trap as a trap CSR set records it. */
export class Trap {
  cause: u32;
  epc: u32;
  tval: u32;
  constructor(cause: u32, epc: u32, tval: u32) {
    this.cause = cause;
    this.epc = epc;
    this.tval = tval;
  }
}

export function machineTrap(vm: Vm): Trap {
  return new Trap(vm.mcause, vm.mepc, vm.mtval);
}

export function supervisorTrap(vm: Vm): Trap {
  return new Trap(vm.scause, vm.sepc, vm.stval);
}

/** True while the VM sits in M-mode at its machine trap vector. */
export function inMachineHandler(vm: Vm): bool {
  return vm.mode == MODE_M && vm.pc == (vm.mtvec & ~3);
}
