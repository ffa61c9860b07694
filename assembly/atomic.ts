// RV32A: lr.w / sc.w with one reservation per vCPU, and the nine AMOs. One hart per VM,
// so every access is atomic by construction; aq/rl order nothing and are accepted.
//
// The reservation is the naturally aligned word lr.w read (vm.reservation, its address).
// sc.w succeeds only on that word and only while the reservation holds; it is cleared by
// every sc.w, by mret/sret (trap.ts) and a hypercall's return (dispatcher.ts), by a write
// to the word from outside the hart (guestmem.ts noteWritten), when the processor ran
// another VM in between (hart.ts), and by a restore: it is not carried in checkpoint or
// migration streams (docs/stream-format.md, "LR/SC reservation").
//
// AMOs, lr.w and sc.w work only on RAM: on a device or outside RAM they raise an access
// fault (load access for lr.w, store/AMO access for the others), and on an address that
// is not 4-byte aligned an address-misaligned exception (load for lr.w, store/AMO for the
// others). AMOs and successful sc.w mark pages dirty and drop overwritten code like stores.
import { AMO_LR, AMO_SC } from "./decode";
import { ACCESS_ABSENT, ACCESS_FAULT, ACCESS_RAM, mustAwait, ramOffset, storeRam } from "./guestmem";
import { Vm } from "./vm";

/** Not 4-byte aligned: an address-misaligned exception. */
export const ACCESS_MISALIGNED: u32 = 5;

/** What the last atomic put in rd. */
export let atomicResult: u32 = 0;

function amoValue(funct5: u32, old: u32, operand: u32): u32 {
  switch (funct5) {
    case 0x00: return old + operand;
    case 0x01: return operand;
    case 0x04: return old ^ operand;
    case 0x08: return old | operand;
    case 0x0C: return old & operand;
    case 0x10: return <i32>old < <i32>operand ? old : operand;
    case 0x14: return <i32>old > <i32>operand ? old : operand;
    case 0x18: return old < operand ? old : operand;
    default: return old > operand ? old : operand; // 0x1C amomaxu
  }
}

/**
 * Executes the RV32A instruction with function `funct5` on the word at `addr` (`operand`
 * is rs2) and returns how the access went (guestmem.ts ACCESS_*, or ACCESS_MISALIGNED);
 * on ACCESS_RAM and ACCESS_CODE_CHANGED / ACCESS_DEVICE (a store that dropped code or
 * ended the VM) rd gets atomicResult.
 */
export function executeAtomic(vm: Vm, funct5: u32, addr: u32, operand: u32): u32 {
  if ((addr & 3) != 0) return ACCESS_MISALIGNED;
  const found = ramOffset(vm, addr, 4);
  if (found < 0) return ACCESS_FAULT;
  const offset = <u32>found;
  if (mustAwait(vm, offset, 4)) return ACCESS_ABSENT;
  const old = load<u32>(vm.ram + offset);
  if (funct5 == AMO_LR) {
    vm.reservation = addr;
    atomicResult = old;
    return ACCESS_RAM;
  }
  if (funct5 == AMO_SC) {
    const reserved = vm.reservation == addr;
    vm.reservation = 0;
    atomicResult = reserved ? 0 : 1;
    return reserved ? storeRam(vm, offset, 4, operand) : ACCESS_RAM;
  }
  atomicResult = old;
  return storeRam(vm, offset, 4, amoValue(funct5, old, operand));
}

