// Architectural trap entry and return: what the hardware does when an exception or an
// interrupt is taken into M- or S-mode, and on mret / sret. Where a trap goes is decided
// by the dispatcher (dispatcher.ts); this file only moves the vCPU.
import { CAUSE_INTERRUPT, EXIT_FAULT, MODE_M, MODE_S, MODE_U, RAM_BASE } from "./config";
import { MSTATUS_MIE, MSTATUS_SIE } from "./irq";
import { MSTATUS_MPIE, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_SPIE, MSTATUS_SPP } from "./csr";
import { Vm } from "./vm";

/** Target pc of a trap through `tvec`; vectored mode offsets interrupts by 4 * cause. */
function vectorTarget(tvec: u32, cause: u32): u32 {
  const base = tvec & ~3;
  if ((tvec & 3) == 1 && (cause & CAUSE_INTERRUPT) != 0) return base + ((cause & 0x7FFF_FFFF) << 2);
  return base;
}

/**
 * Stops the VM if a trap would jump to a vector outside its RAM: it would only fault
 * again on the fetch, forever. The guest never installed a handler; say so instead.
 */
function vectorUsable(vm: Vm, target: u32, cause: u32): bool {
  if (target - RAM_BASE < vm.ramBytes) return true;
  vm.exit = EXIT_FAULT;
  vm.exitCode = cause;
  return false;
}

export function enterMachineTrap(vm: Vm, cause: u32, tval: u32): void {
  const target = vectorTarget(vm.mtvec, cause);
  vm.mepc = vm.pc;
  vm.mcause = cause;
  vm.mtval = tval;
  const mie = (vm.mstatus & MSTATUS_MIE) != 0;
  vm.mstatus = (vm.mstatus & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP))
    | (mie ? MSTATUS_MPIE : 0) | (vm.mode << MSTATUS_MPP_SHIFT);
  vm.mode = MODE_M;
  if (vectorUsable(vm, target, cause)) vm.pc = target;
}

export function enterSupervisorTrap(vm: Vm, cause: u32, tval: u32): void {
  const target = vectorTarget(vm.stvec, cause);
  vm.sepc = vm.pc;
  vm.scause = cause;
  vm.stval = tval;
  const sie = (vm.mstatus & MSTATUS_SIE) != 0;
  vm.mstatus = (vm.mstatus & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP))
    | (sie ? MSTATUS_SPIE : 0) | (vm.mode == MODE_U ? 0 : MSTATUS_SPP);
  vm.mode = MODE_S;
  if (vectorUsable(vm, target, cause)) vm.pc = target;
}

export function returnFromMachineTrap(vm: Vm): void {
  const previous = (vm.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
  const mpie = (vm.mstatus & MSTATUS_MPIE) != 0;
  let status = (vm.mstatus & ~(MSTATUS_MIE | MSTATUS_MPP)) | MSTATUS_MPIE | (mpie ? MSTATUS_MIE : 0);
  if (previous != MODE_M) status &= ~MSTATUS_MPRV;
  vm.mstatus = status;
  vm.mode = previous;
  vm.pc = vm.mepc;
  vm.reservation = 0; // a trap return breaks an LR/SC sequence (atomic.ts)
}

export function returnFromSupervisorTrap(vm: Vm): void {
  const previous = (vm.mstatus & MSTATUS_SPP) != 0 ? MODE_S : MODE_U;
  const spie = (vm.mstatus & MSTATUS_SPIE) != 0;
  vm.mstatus = (vm.mstatus & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | MSTATUS_SPIE | (spie ? MSTATUS_SIE : 0);
  vm.mode = previous;
  vm.pc = vm.sepc;
  vm.reservation = 0;
}
