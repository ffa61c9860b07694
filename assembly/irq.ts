// IRQ lines of a vCPU: which interrupts are pending (timer, external, software) and
// whether one can be taken now. The timer and external lines are level signals computed
// from virtual time and the board's line; software bits live in vm.mipSoft.
import { cyclesToTicks, ticksToCycles } from "./clock";
import { IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER, KIND_PARAVIRTUAL, MODE_M, MODE_S } from "./config";
import { Vm } from "./vm";

export const MSTATUS_SIE: u32 = 1 << 1;
export const MSTATUS_MIE: u32 = 1 << 3;

/** The interrupt bit the VM's timer raises: STIP for paravirtual guests (SBI set_timer), MTIP for machine guests (CLINT). */
function timerBit(vm: Vm): u32 {
  return vm.kind == KIND_PARAVIRTUAL ? 1 << IRQ_S_TIMER : 1 << IRQ_M_TIMER;
}

function timerCompare(vm: Vm): u64 {
  return vm.kind == KIND_PARAVIRTUAL ? vm.stimecmp : vm.mtimecmp;
}

function externalBit(vm: Vm): u32 {
  return vm.kind == KIND_PARAVIRTUAL ? 1 << IRQ_S_EXT : 1 << IRQ_M_EXT;
}

/** mip as the guest sees it at processor cycle `atCycles`. */
export function pendingBits(vm: Vm, atCycles: u64): u32 {
  let mip = vm.mipSoft;
  if (cyclesToTicks(atCycles) >= timerCompare(vm)) mip |= timerBit(vm);
  if (vm.externalLevel != 0) mip |= externalBit(vm);
  return mip;
}

/** Processor cycle at which the VM's timer fires; u64.MAX_VALUE when disarmed. */
export function timerDueCycles(vm: Vm): u64 {
  return ticksToCycles(timerCompare(vm));
}

// Priority order of the privileged spec: MEI, MSI, MTI, SEI, SSI, STI.
const PRIORITY: StaticArray<u32> = [IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER];

function highestPriority(bits: u32): i32 {
  for (let i = 0; i < PRIORITY.length; i++) {
    if ((bits >> PRIORITY[i]) & 1) return PRIORITY[i];
  }
  return -1;
}

/**
 * The interrupt the vCPU takes now, or -1. An interrupt not delegated by mideleg goes to
 * M-mode and is enabled below M or with mstatus.MIE; a delegated one goes to S-mode and
 * is enabled below S or in S with mstatus.SIE (never in M).
 */
export function interruptToTake(vm: Vm, atCycles: u64): i32 {
  const pending = pendingBits(vm, atCycles) & vm.mie;
  if (pending == 0) return -1;
  const toM = pending & ~vm.mideleg;
  if (toM != 0 && (vm.mode < MODE_M || (vm.mstatus & MSTATUS_MIE) != 0)) return highestPriority(toM);
  const toS = pending & vm.mideleg;
  if (toS != 0 && (vm.mode < MODE_S || (vm.mode == MODE_S && (vm.mstatus & MSTATUS_SIE) != 0))) {
    return highestPriority(toS);
  }
  return -1;
}

/** wfi resumes when any interrupt is pending and enabled in mie, whatever the global enables say. */
export function shouldWake(vm: Vm, atCycles: u64): bool {
  return (pendingBits(vm, atCycles) & vm.mie) != 0;
}
