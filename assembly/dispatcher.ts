// The dispatcher routes every trap of a vCPU. An exception goes to the guest's own
// handler in S-mode if delegated, else to M-mode. For a machine guest M-mode is the
// guest's own; for a paravirtual guest M-mode is Ferry: ecall from S is a hypercall, and
// any other trap that reaches M is a guest crash (there is no guest code in M to run).
import { CAUSE_ECALL_S, CAUSE_INTERRUPT, EXIT_FAULT, KIND_PARAVIRTUAL, MODE_S } from "./config";
import { handleHypercall } from "./hypercall";
import { enterMachineTrap, enterSupervisorTrap } from "./trap";
import { Vm } from "./vm";

/** Raises exception `cause` at vm.pc (the instruction that caused it). */
export function raiseException(vm: Vm, cause: u32, tval: u32): void {
  if (vm.mode <= MODE_S && ((vm.medeleg >> cause) & 1) != 0) {
    vm.trapped++;
    enterSupervisorTrap(vm, cause, tval);
    return;
  }
  if (vm.kind == KIND_PARAVIRTUAL) {
    if (cause == CAUSE_ECALL_S) {
      handleHypercall(vm);
      // A hypercall whose buffer has not arrived yet (post-copy) did nothing: it runs
      // again once the page is here, and retires then.
      if (vm.awaitingPage != 0) vm.trapped++;
      else vm.pc += 4;
      vm.reservation = 0; // the hypercall returns as firmware's mret would
      return;
    }
    vm.trapped++;
    vm.exit = EXIT_FAULT;
    vm.exitCode = cause;
    return;
  }
  vm.trapped++;
  enterMachineTrap(vm, cause, tval);
}

/** Takes interrupt `irq` (chosen by irq.ts) before the instruction at vm.pc. */
export function raiseInterrupt(vm: Vm, irq: u32): void {
  vm.waiting = false;
  const cause = CAUSE_INTERRUPT | irq;
  if (((vm.mideleg >> irq) & 1) != 0) enterSupervisorTrap(vm, cause, 0);
  else enterMachineTrap(vm, cause, 0);
}
