// The dispatcher routes every trap of a vCPU. An exception goes to the guest's own
// handler in S-mode if delegated, else to M-mode. For a machine guest M-mode is the
// guest's own; for a paravirtual guest M-mode is Ferry: ecall from S is a hypercall, and
// any other trap that reaches M is a guest crash (there is no guest code in M to run).
import { CAUSE_ECALL_S, CAUSE_INTERRUPT, EXIT_FAULT, KIND_PARAVIRTUAL, MODE_S } from "./config";
import { ramOffset, noteWritten } from "./guestmem";
import { handleHypercall } from "./hypercall";
import { EXT_FERRY } from "./hypercall-ferry";
import { ENTRY_BYTES, hypercallInput, INPUT_HYPERCALL, takeInput, TRACE_REPLAYING } from "./input-log";
import { enterMachineTrap, enterSupervisorTrap } from "./trap";
import { getReg, setReg, Vm } from "./vm";

const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12, A6: u32 = 16, A7: u32 = 17;

/**
 * A hypercall and its results as an input (input-log.ts): its a0, a1 and what it wrote
 * into guest RAM — only channel_receive writes (Ferry function 5: the message, a1 bytes
 * at the buffer a1 named).
 */
function hypercallLogged(vm: Vm): void {
  const receive = getReg(vm, A7) == EXT_FERRY && getReg(vm, A6) == 5;
  const buffer = receive ? ramOffset(vm, getReg(vm, A1), getReg(vm, A2)) : -1;
  const capacity = getReg(vm, A2);
  handleHypercall(vm);
  if (vm.awaitingPage != 0) return;
  const a0 = getReg(vm, A0), a1 = getReg(vm, A1);
  const written = buffer >= 0 && a0 == 0 ? min(a1, capacity) : 0;
  hypercallInput(vm, a0, a1, written != 0 ? <u32>buffer : 0, written);
}

/**
 * Replaying: the hypercall is not run again (its effects outside the guest — console
 * output, messages sent, reports — happened on the source); its results come from the log.
 */
function hypercallReplayed(vm: Vm): bool {
  const at = takeInput(vm, INPUT_HYPERCALL);
  if (at == 0) return false;
  setReg(vm, A0, load<u32>(at, 12));
  setReg(vm, A1, load<u32>(at, 16));
  const bytes = load<u32>(at, 24);
  if (bytes != 0) {
    memory.copy(vm.ram + <usize>load<u32>(at, 20), at + ENTRY_BYTES, bytes);
    noteWritten(vm, load<u32>(at, 20), bytes);
  }
  return true;
}

/** Raises exception `cause` at vm.pc (the instruction that caused it). */
export function raiseException(vm: Vm, cause: u32, tval: u32): void {
  if (vm.mode <= MODE_S && ((vm.medeleg >> cause) & 1) != 0) {
    vm.trapped++;
    enterSupervisorTrap(vm, cause, tval);
    return;
  }
  if (vm.kind == KIND_PARAVIRTUAL) {
    if (cause == CAUSE_ECALL_S) {
      if (vm.traceMode == TRACE_REPLAYING) {
        if (!hypercallReplayed(vm)) return; // the log disagrees: the replay stops here
      } else hypercallLogged(vm);
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
