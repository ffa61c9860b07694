// The ISA emulator: runs a vCPU's RV32IM instructions from the decode cache (decode.ts).
// This is the hot loop. Registers, RAM and the decode cache are reached through locals;
// loads and stores inside RAM are done inline, everything else (devices, faults, system
// instructions) goes to a slow path and ends the slice, so that the run loop
// (processor.ts) sees every change of interrupt state at once.
import { CAUSE_MISALIGNED_FETCH, CAUSE_FETCH_ACCESS, PAGE_SHIFT, RAM_BASE } from "./config";
import { decodeInto, Op } from "./decode";
import { DIRTY_ALL, DIRTY_TRACKING } from "./dirty-tracking";
import { raiseException } from "./dispatcher";
import { checkTohost, DECODE_MASK, invalidateDecoded, loadSlow, LOAD_TRAPPED, storeSlow } from "./guestmem";
import { executeSystem, illegalInstruction } from "./system";
import { REG_SLOTS, RUNNING_REGS, Vm } from "./vm";

/**
 * Decodes the instruction at `pc` into its cache entry and returns the entry, or 0 if
 * the fetch trapped (vm.pc then points at the handler).
 */
@inline(never) function fetchAndDecode(vm: Vm, pc: u32, entry: usize): usize {
  if ((pc & 3) != 0) {
    vm.pc = pc;
    raiseException(vm, CAUSE_MISALIGNED_FETCH, pc);
    return 0;
  }
  const offset = pc - RAM_BASE;
  if (offset > vm.ramBytes - 4) {
    vm.pc = pc;
    raiseException(vm, CAUSE_FETCH_ACCESS, pc);
    return 0;
  }
  if (vm.absent != 0 && absent(vm, offset, 4)) {
    awaitPage(vm, pc, offset);
    return 0;
  }
  decodeInto(entry, load<u32>(vm.ram + offset), pc);
  return entry;
}

/** The instruction at `pc` needs a page that has not arrived: the VM waits, and runs it again once it has. */
function awaitPage(vm: Vm, pc: u32, offset: u32): void {
  vm.pc = pc;
  vm.awaitingPage = (offset >> PAGE_SHIFT) + 1;
}

/** Takes the branch-misaligned trap of the instruction at `pc` if its branch is taken. */
function misalignedBranch(vm: Vm, pc: u32, inst: u32, r1: i32, r2: i32, target: u32): bool {
  let taken = true;
  if ((inst & 0x7F) == 0x63) {
    switch ((inst >> 12) & 7) {
      case 0: taken = r1 == r2; break;
      case 1: taken = r1 != r2; break;
      case 4: taken = r1 < r2; break;
      case 5: taken = r1 >= r2; break;
      case 6: taken = <u32>r1 < <u32>r2; break;
      default: taken = <u32>r1 >= <u32>r2; break;
    }
  }
  if (!taken) return false;
  vm.pc = pc;
  raiseException(vm, CAUSE_MISALIGNED_FETCH, target);
  return true;
}

/**
 * What every store into RAM must do besides writing: mark the page(s) it touched dirty
 * for the collector, and drop decoded instructions of the word(s) it overwrote.
 */
@inline function noteStore(dirty: usize, decode: usize, offset: u32, addr: u32, bytes: u32): void {
  // compiled out only in the benchmark's comparison build (dirty-tracking.ts)
  if (DIRTY_TRACKING) store<u8>(dirty + (offset >> PAGE_SHIFT), DIRTY_ALL);
  invalidateDecoded(decode, addr);
  // A misaligned store may reach into the next word, and so the next page: rare, so test.
  const last = addr + bytes - 1;
  if (bytes > 1 && ((addr ^ last) & ~3) != 0) {
    if (DIRTY_TRACKING) store<u8>(dirty + ((offset + bytes - 1) >> PAGE_SHIFT), DIRTY_ALL);
    invalidateDecoded(decode, last);
  }
}

/** A load the inline path did not take. Returns the next pc: pc + 4, or a trap vector. */
function loadSlowInto(vm: Vm, pc: u32, executed: i32, addr: u32, bytes: u32, signExtend: bool, dest: usize): u32 {
  vm.pc = pc;
  vm.sliceExecuted = executed - 1;
  const result = loadSlow(vm, addr, bytes);
  if (result == LOAD_TRAPPED) return vm.pc;
  let value = <u32>result;
  if (signExtend) value = bytes == 1 ? <u32><i32><i8>value : <u32><i32><i16>value;
  store<u32>(RUNNING_REGS + dest, value);
  return pc + 4;
}

/** A store the inline path did not take. Returns the next pc: pc + 4, or a trap vector. */
function storeSlowFrom(vm: Vm, pc: u32, executed: i32, addr: u32, bytes: u32, value: i32): u32 {
  vm.pc = pc;
  vm.sliceExecuted = executed - 1;
  return storeSlow(vm, addr, bytes, <u32>value) ? pc + 4 : vm.pc;
}

@inline function mulhSigned(a: i32, b: i32): i32 {
  return <i32>((<i64>a * <i64>b) >> 32);
}

@inline function mulhSignedUnsigned(a: i32, b: i32): i32 {
  return <i32>((<i64>a * <i64><u32>b) >> 32);
}

@inline function mulhUnsigned(a: i32, b: i32): i32 {
  return <i32>((<u64><u32>a * <u64><u32>b) >> 32);
}

@inline function divSigned(a: i32, b: i32): i32 {
  if (b == 0) return -1;
  if (a == i32.MIN_VALUE && b == -1) return a;
  return a / b;
}

@inline function remSigned(a: i32, b: i32): i32 {
  if (b == 0) return a;
  if (a == i32.MIN_VALUE && b == -1) return 0;
  return a % b;
}

@inline function divUnsigned(a: i32, b: i32): i32 {
  return b == 0 ? -1 : <i32>(<u32>a / <u32>b);
}

@inline function remUnsigned(a: i32, b: i32): i32 {
  return b == 0 ? a : <i32>(<u32>a % <u32>b);
}

// Two builds of the loop from one source: Resident for VMs whose RAM is all here, and
// DemandPaged for a VM arriving by post-copy migration, whose loads and stores first
// check that their page has arrived (migration.ts). The check compiles away in Resident.
class Resident {}
class DemandPaged {}

@inline function demandPaged<Mode>(): bool {
  return idof<Mode>() == idof<DemandPaged>();
}

/** Is any page of [offset, offset + bytes) still absent? Then the VM waits for it. */
@inline function absent(vm: Vm, offset: u32, bytes: u32): bool {
  return (load<u8>(vm.absent + (offset >> PAGE_SHIFT)) | load<u8>(vm.absent + ((offset + bytes - 1) >> PAGE_SHIFT))) != 0;
}

/**
 * Executes up to `budget` instructions of `vm` and returns how many it executed. Stops
 * early after a trap, a system instruction, a device access, a halt, or (post-copy) an
 * access to a page that has not arrived yet.
 */
export function executeSlice(vm: Vm, budget: i32): i32 {
  return vm.absent != 0 ? executeSliceAs<DemandPaged>(vm, budget) : executeSliceAs<Resident>(vm, budget);
}

function executeSliceAs<Mode>(vm: Vm, budget: i32): i32 {
  // The running vCPU's registers live at a fixed address, so every register access in
  // the loop below is a load or store with a constant offset.
  const ownRegs = vm.regs;
  memory.copy(RUNNING_REGS, ownRegs, REG_SLOTS << 2);
  vm.regs = RUNNING_REGS;
  const ram = vm.ram;
  const ramBytes = vm.ramBytes;
  const dirty = vm.dirty;
  const decode = vm.decode;
  const tohost = vm.tohost;
  let pc = vm.pc;
  let executed = 0;
  let limit = budget;
  while (executed < limit) {
    executed++;
    let entry = decode + ((<usize>(pc >> 2) & DECODE_MASK) << 4);
    if (load<u32>(entry) != pc) {
      entry = fetchAndDecode(vm, pc, entry);
      if (entry == 0) {
        if (vm.awaitingPage != 0) executed--; // not fetched: it runs once its page is here
        pc = vm.pc;
        break;
      }
    }
    const word = load<u32>(entry, 4);
    const imm = load<i32>(entry, 8);
    const dest: usize = (word >> 8) & 0xFF;
    const r1 = load<i32>((word >> 16) & 0xFF, RUNNING_REGS);
    const r2 = load<i32>(word >> 24, RUNNING_REGS);
    switch (word & 0xFF) {
      case Op.LUI: store<i32>(dest, imm, RUNNING_REGS); pc += 4; break;
      case Op.JAL: store<u32>(dest, pc + 4, RUNNING_REGS); pc = <u32>imm; break;
      case Op.JALR: {
        const target = <u32>(r1 + imm) & ~1;
        if ((target & 2) != 0) {
          vm.pc = pc;
          raiseException(vm, CAUSE_MISALIGNED_FETCH, target);
          pc = vm.pc; limit = executed; break;
        }
        store<u32>(dest, pc + 4, RUNNING_REGS);
        pc = target;
        break;
      }
      case Op.BEQ: pc = r1 == r2 ? <u32>imm : pc + 4; break;
      case Op.BNE: pc = r1 != r2 ? <u32>imm : pc + 4; break;
      case Op.BLT: pc = r1 < r2 ? <u32>imm : pc + 4; break;
      case Op.BGE: pc = r1 >= r2 ? <u32>imm : pc + 4; break;
      case Op.BLTU: pc = <u32>r1 < <u32>r2 ? <u32>imm : pc + 4; break;
      case Op.BGEU: pc = <u32>r1 >= <u32>r2 ? <u32>imm : pc + 4; break;
      case Op.BRANCH_MISALIGNED: {
        if (misalignedBranch(vm, pc, load<u32>(entry, 12), r1, r2, <u32>imm)) { pc = vm.pc; limit = executed; }
        else pc += 4;
        break;
      }
      // Loads inside RAM inline (wasm loads may be misaligned); anything else slow.
      case Op.LW: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset <= ramBytes - 4) {
          if (demandPaged<Mode>() && absent(vm, offset, 4)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(dest, load<i32>(ram + offset), RUNNING_REGS); pc += 4;
        }
        else { limit = executed; pc = loadSlowInto(vm, pc, executed, addr, 4, false, dest); }
        break;
      }
      case Op.LH: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset <= ramBytes - 2) {
          if (demandPaged<Mode>() && absent(vm, offset, 2)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(dest, load<i16>(ram + offset), RUNNING_REGS); pc += 4;
        }
        else { limit = executed; pc = loadSlowInto(vm, pc, executed, addr, 2, true, dest); }
        break;
      }
      case Op.LHU: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset <= ramBytes - 2) {
          if (demandPaged<Mode>() && absent(vm, offset, 2)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(dest, load<u16>(ram + offset), RUNNING_REGS); pc += 4;
        }
        else { limit = executed; pc = loadSlowInto(vm, pc, executed, addr, 2, false, dest); }
        break;
      }
      case Op.LB: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset < ramBytes) {
          if (demandPaged<Mode>() && absent(vm, offset, 1)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(dest, load<i8>(ram + offset), RUNNING_REGS); pc += 4;
        }
        else { limit = executed; pc = loadSlowInto(vm, pc, executed, addr, 1, true, dest); }
        break;
      }
      case Op.LBU: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset < ramBytes) {
          if (demandPaged<Mode>() && absent(vm, offset, 1)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(dest, load<u8>(ram + offset), RUNNING_REGS); pc += 4;
        }
        else { limit = executed; pc = loadSlowInto(vm, pc, executed, addr, 1, false, dest); }
        break;
      }
      // Stores inside RAM inline, with the bookkeeping every RAM write needs (noteStore).
      case Op.SW: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset <= ramBytes - 4) {
          if (demandPaged<Mode>() && absent(vm, offset, 4)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i32>(ram + offset, r2);
          noteStore(dirty, decode, offset, addr, 4);
          pc += 4;
          if (addr - tohost < 4 && checkTohost(vm)) limit = executed;
        } else { limit = executed; pc = storeSlowFrom(vm, pc, executed, addr, 4, r2); }
        break;
      }
      case Op.SH: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset <= ramBytes - 2) {
          if (demandPaged<Mode>() && absent(vm, offset, 2)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i16>(ram + offset, r2);
          noteStore(dirty, decode, offset, addr, 2);
          pc += 4;
          if (addr - tohost < 4 && checkTohost(vm)) limit = executed;
        } else { limit = executed; pc = storeSlowFrom(vm, pc, executed, addr, 2, r2); }
        break;
      }
      case Op.SB: {
        const addr = <u32>(r1 + imm);
        const offset = addr - RAM_BASE;
        if (offset < ramBytes) {
          if (demandPaged<Mode>() && absent(vm, offset, 1)) { awaitPage(vm, pc, offset); executed--; limit = executed; break; }
          store<i8>(ram + offset, r2);
          noteStore(dirty, decode, offset, addr, 1);
          pc += 4;
          if (addr - tohost < 4 && checkTohost(vm)) limit = executed;
        } else { limit = executed; pc = storeSlowFrom(vm, pc, executed, addr, 1, r2); }
        break;
      }
      case Op.ADDI: store<i32>(dest, r1 + imm, RUNNING_REGS); pc += 4; break;
      case Op.SLTI: store<i32>(dest, r1 < imm ? 1 : 0, RUNNING_REGS); pc += 4; break;
      case Op.SLTIU: store<i32>(dest, <u32>r1 < <u32>imm ? 1 : 0, RUNNING_REGS); pc += 4; break;
      case Op.XORI: store<i32>(dest, r1 ^ imm, RUNNING_REGS); pc += 4; break;
      case Op.ORI: store<i32>(dest, r1 | imm, RUNNING_REGS); pc += 4; break;
      case Op.ANDI: store<i32>(dest, r1 & imm, RUNNING_REGS); pc += 4; break;
      case Op.SLLI: store<i32>(dest, r1 << imm, RUNNING_REGS); pc += 4; break;
      case Op.SRLI: store<i32>(dest, <i32>(<u32>r1 >> imm), RUNNING_REGS); pc += 4; break;
      case Op.SRAI: store<i32>(dest, r1 >> imm, RUNNING_REGS); pc += 4; break;
      case Op.ADD: store<i32>(dest, r1 + r2, RUNNING_REGS); pc += 4; break;
      case Op.SUB: store<i32>(dest, r1 - r2, RUNNING_REGS); pc += 4; break;
      case Op.SLL: store<i32>(dest, r1 << (r2 & 31), RUNNING_REGS); pc += 4; break;
      case Op.SLT: store<i32>(dest, r1 < r2 ? 1 : 0, RUNNING_REGS); pc += 4; break;
      case Op.SLTU: store<i32>(dest, <u32>r1 < <u32>r2 ? 1 : 0, RUNNING_REGS); pc += 4; break;
      case Op.XOR: store<i32>(dest, r1 ^ r2, RUNNING_REGS); pc += 4; break;
      case Op.SRL: store<i32>(dest, <i32>(<u32>r1 >> (r2 & 31)), RUNNING_REGS); pc += 4; break;
      case Op.SRA: store<i32>(dest, r1 >> (r2 & 31), RUNNING_REGS); pc += 4; break;
      case Op.OR: store<i32>(dest, r1 | r2, RUNNING_REGS); pc += 4; break;
      case Op.AND: store<i32>(dest, r1 & r2, RUNNING_REGS); pc += 4; break;
      case Op.MUL: store<i32>(dest, r1 * r2, RUNNING_REGS); pc += 4; break;
      case Op.MULH: store<i32>(dest, mulhSigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.MULHSU: store<i32>(dest, mulhSignedUnsigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.MULHU: store<i32>(dest, mulhUnsigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.DIV: store<i32>(dest, divSigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.DIVU: store<i32>(dest, divUnsigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.REM: store<i32>(dest, remSigned(r1, r2), RUNNING_REGS); pc += 4; break;
      case Op.REMU: store<i32>(dest, remUnsigned(r1, r2), RUNNING_REGS); pc += 4; break;
      // fence orders memory for other harts and devices: one hart, nothing to order.
      // fence.i: stores already dropped stale decoded instructions.
      case Op.FENCE: pc += 4; break;
      case Op.SYSTEM: {
        vm.pc = pc;
        vm.sliceExecuted = executed - 1;
        executeSystem(vm, load<u32>(entry, 12));
        pc = vm.pc;
        limit = executed;
        break;
      }
      default: {
        vm.pc = pc;
        illegalInstruction(vm, load<u32>(entry, 12));
        pc = vm.pc;
        limit = executed;
        break;
      }
    }
  }
  vm.pc = pc;
  vm.sliceExecuted = 0; // outside a slice, counters are exactly vm.executed and friends
  memory.copy(ownRegs, RUNNING_REGS, REG_SLOTS << 2);
  vm.regs = ownRegs;
  return executed;
}
