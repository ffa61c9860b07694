// The SYSTEM opcode, kept off the hart's fast path: ecall, ebreak, mret, sret, wfi,
// sfence.vma and the six CSR instructions. Each leaves vm.pc at the next instruction or
// at a trap vector.
import { CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ILLEGAL_INSTRUCTION, MODE_M, MODE_S } from "./config";
import { CSR_ILLEGAL, csrAccessAllowed, MSTATUS_TSR, MSTATUS_TVM, MSTATUS_TW, readCsr, writeCsr } from "./csr";
import { raiseException } from "./dispatcher";
import { returnFromMachineTrap, returnFromSupervisorTrap } from "./trap";
import { csrInput } from "./input-log";
import { getReg, setReg, Vm } from "./vm";

const ECALL: u32 = 0x0000_0073;
const EBREAK: u32 = 0x0010_0073;
const MRET: u32 = 0x3020_0073;
const SRET: u32 = 0x1020_0073;
const WFI: u32 = 0x1050_0073;

export function illegalInstruction(vm: Vm, inst: u32): void {
  raiseException(vm, CAUSE_ILLEGAL_INSTRUCTION, inst);
}

export function executeSystem(vm: Vm, inst: u32): void {
  const funct3 = (inst >> 12) & 7;
  if (funct3 == 0) privileged(vm, inst);
  else if (funct3 == 4) illegalInstruction(vm, inst);
  else csrInstruction(vm, inst, funct3);
}

function privileged(vm: Vm, inst: u32): void {
  const tsr = (vm.mstatus & MSTATUS_TSR) != 0;
  const tw = (vm.mstatus & MSTATUS_TW) != 0;
  const tvm = (vm.mstatus & MSTATUS_TVM) != 0;
  if (inst == ECALL) {
    raiseException(vm, CAUSE_ECALL_U + vm.mode, 0); // 8 from U, 9 from S, 11 from M
  } else if (inst == EBREAK) {
    raiseException(vm, CAUSE_BREAKPOINT, vm.pc);
  } else if (inst == MRET && vm.mode == MODE_M) {
    returnFromMachineTrap(vm);
  } else if (inst == SRET && (vm.mode == MODE_M || (vm.mode == MODE_S && !tsr))) {
    returnFromSupervisorTrap(vm);
  } else if (inst == WFI && (vm.mode == MODE_M || (vm.mode == MODE_S && !tw))) {
    vm.waiting = true;
    vm.pc += 4;
  } else if (isSfenceVma(inst) && (vm.mode == MODE_M || (vm.mode == MODE_S && !tvm))) {
    vm.pc += 4; // no MMU, no TLB to flush
  } else {
    illegalInstruction(vm, inst);
  }
}

function isSfenceVma(inst: u32): bool {
  return (inst >> 25) == 0x09 && (inst & 0x0000_7F80) == 0;
}

function csrInstruction(vm: Vm, inst: u32, funct3: u32): void {
  const rd = (inst >> 7) & 0x1F;
  const field = (inst >> 15) & 0x1F; // rs1, or the 5-bit immediate
  const csr = inst >> 20;
  const operation = funct3 & 3; // 1 write, 2 set bits, 3 clear bits
  const source = (funct3 & 4) != 0 ? field : getReg(vm, field);
  const writes = operation == 1 || field != 0;
  if (!csrAccessAllowed(vm, csr, writes)) { illegalInstruction(vm, inst); return; }
  const read = readCsr(vm, csr);
  if (read == CSR_ILLEGAL) { illegalInstruction(vm, inst); return; }
  const old = csrInput(vm, csr, read); // time and interrupt state are inputs (trace-replay logs or replays them)
  if (writes) {
    const value = operation == 1 ? source : operation == 2 ? <u32>old | source : <u32>old & ~source;
    if (!writeCsr(vm, csr, value)) { illegalInstruction(vm, inst); return; }
  }
  setReg(vm, rd, <u32>old);
  vm.pc += 4;
}
