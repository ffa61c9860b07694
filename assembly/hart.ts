// The ISA emulator: runs a vCPU's RV32IMAC instructions from decoded basic blocks
// (decode.ts, decode-cache.ts). This is the hot loop. Per block it checks the budget once
// and finds the next block through a direct link (set on first use) or the cache's page
// map; per instruction it dispatches on the decoded op and nothing else. Registers, RAM
// and the dirty map are reached through locals; loads and stores inside RAM are done
// inline, everything else (devices, faults, watched pages, atomics, system instructions)
// goes to the slow path, which may let the block go on, leave it, or end the slice, so
// that the run loop (processor.ts) sees every change of interrupt state at once.
//
// Exact instret: a block whose instructions do not all fit in what is left of the budget
// runs only the ones that fit (an Op.STOP entry is patched in over the first one that does
// not), so a slice ends after exactly `budget` instructions, as with one instruction at a
// time, and interrupts are taken at the same instruction.
import { CAUSE_BREAKPOINT, CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_LOAD_MISALIGNED, CAUSE_MISALIGNED_FETCH,
  CAUSE_STORE_ACCESS, CAUSE_STORE_MISALIGNED, PAGE_SHIFT, RAM_BASE } from "./config";
import { ACCESS_MISALIGNED, atomicResult, executeAtomic } from "./atomic";
import {
  AMO_LR, AMO_SC, BLOCK_COUNT, BLOCK_HEADER_BYTES, buildBlock, ENTRY_BYTES, ENTRY_PC, ENTRY_RAW, fetchFaultAddress, FUSED_FIRST,
  FUSED_LAST, FUSED_PLAIN, instructionBytes, LAST_END_PC, LAST_LINK_NEXT, LAST_LINK_TAKEN, Op,
} from "./decode";
import { blockAt, decodeGeneration, lineWatched } from "./decode-cache";
import { DIRTY_ALL, DIRTY_TRACKING, DIRTY_WATCHED } from "./dirty-tracking";
import { raiseException } from "./dispatcher";
import {
  ACCESS_ABSENT, ACCESS_CODE_CHANGED, ACCESS_FAULT, ACCESS_RAM, loadedValue, loadSlow, ramOffset, storeSlow, watchTohost,
} from "./guestmem";
import { scInput, scReplay, TRACE_REPLAYING } from "./input-log";
import { executeSystem, illegalInstruction } from "./system";
import { REG_SLOTS, RUNNING_REGS, Vm } from "./vm";

@inline function rs1(word: u32): i32 {
  return load<i32>((word >> 16) & 0xFF, RUNNING_REGS);
}

@inline function rs2(word: u32): i32 {
  return load<i32>(word >> 24, RUNNING_REGS);
}

@inline function setRd(word: u32, value: i32): void {
  store<i32>((word >> 8) & 0xFF, value, RUNNING_REGS);
}

/** rd's offset, for ops whose value needs registers the division takes (x86 idiv): taking
 * it first keeps the compiled loop from holding every decoded word on the stack. */
@inline function rdOf(word: u32): usize {
  return (word >> 8) & 0xFF;
}

@inline function mulhSigned(a: i32, b: i32): i32 {
  return <i32>((<i64>a * <i64>b) >> 32);
}

// The masks make the zero extension explicit: asc turns <i64><u32> of an inlined
// load<i32> into a sign-extending i64.load32_s.
@inline function mulhSignedUnsigned(a: i32, b: i32): i32 {
  return <i32>((<i64>a * (<i64>b & 0xFFFF_FFFF)) >> 32);
}

@inline function mulhUnsigned(a: i32, b: i32): i32 {
  return <i32>(((<u64>a & 0xFFFF_FFFF) * (<u64>b & 0xFFFF_FFFF)) >> 32);
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

/** An inline load of T into rd if it starts below `end` (then it lies in RAM). */
@inline function loadInline<T>(word: u32, ram: usize, offset: u32, end: u32): bool {
  if (offset >= end) return false;
  setRd(word, <i32>load<T>(ram + offset));
  return true;
}

/**
 * An inline store of T if it lies in RAM within one 64-byte line, and that line holds no
 * decoded code and not the tohost word (dirty-tracking.ts, decode-cache.ts). The page's
 * dirty byte is written only when a consumer bit is clear, so steady-state stores cost one
 * byte load (and, to a watched page, a look at the line bitmap).
 */
@inline function storeInline<T>(value: i32, vm: Vm, ram: usize, dirty: usize, offset: u32, end: u32): bool {
  if (offset >= end || (offset & 63) > 64 - sizeof<T>()) return false;
  const flag = dirty + (offset >> PAGE_SHIFT);
  const flags = load<u8>(flag);
  if (DIRTY_TRACKING) { // compiled out only in the benchmark's comparison build
    if (flags != DIRTY_ALL) { // a watched page, or a consumer bit clear
      if ((flags & DIRTY_WATCHED) != 0 && lineWatched(vm.decode, offset)) return false;
      if ((flags & DIRTY_ALL) != DIRTY_ALL) store<u8>(flag, flags | DIRTY_ALL);
    }
  } else if ((flags & DIRTY_WATCHED) != 0 && lineWatched(vm.decode, offset)) return false;
  store<T>(ram + offset, <T>value);
  return true;
}

// How the slow path left an instruction.
/** Done; the block goes on with the next entry. */
const SLOW_CONTINUE: u32 = 0;
/** Done (vm.pc is the next pc); the block is left, the slice goes on. */
const SLOW_LEAVE_BLOCK: u32 = 1;
/** Done, trapped, or waiting for a page (vm.pc says where the VM goes on); the slice ends. */
const SLOW_END_SLICE: u32 = 2;

/** Bytes of the loads and stores, by op from Op.LB. */
const ACCESS_BYTES: StaticArray<u8> = [1, 2, 4, 1, 2, 1, 2, 4];

/** The exception an access that went `access` raises, for a load or a store/AMO. */
function accessCause(access: u32, isLoad: bool): u32 {
  if (access == ACCESS_MISALIGNED) return isLoad ? CAUSE_LOAD_MISALIGNED : CAUSE_STORE_MISALIGNED;
  return isLoad ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS;
}

/** A load, store or atomic the inline path did not take. */
function accessSlow(vm: Vm, word: u32, imm: i32, pc: u32, next: u32): u32 {
  const op = word & 0xFF;
  const isAtomic = op == Op.ATOMIC;
  const isLoad = isAtomic ? <u32>imm == AMO_LR : op <= <u32>Op.LHU;
  const addr = <u32>(rs1(word) + (isAtomic ? 0 : imm));
  let access: u32;
  let value: u32 = 0;
  if (isAtomic) {
    const sc = <u32>imm == AMO_SC;
    // An sc.w's outcome is an input: a context switch breaks the reservation (trace-replay).
    if (sc && vm.traceMode == TRACE_REPLAYING && (addr & 3) == 0 && ramOffset(vm, addr, 4) >= 0) scReplay(vm, addr);
    access = executeAtomic(vm, <u32>imm, addr, rs2(word));
    value = atomicResult;
    if (sc && access != ACCESS_FAULT && access != ACCESS_MISALIGNED && access != ACCESS_ABSENT) scInput(vm, value);
  } else {
    const bytes: u32 = ACCESS_BYTES[op - Op.LB];
    access = isLoad ? loadSlow(vm, addr, bytes) : storeSlow(vm, addr, bytes, rs2(word));
    value = loadedValue;
    if (op == Op.LB) value = <u32><i32><i8>value;
    else if (op == Op.LH) value = <u32><i32><i16>value;
  }
  if (access == ACCESS_ABSENT) return SLOW_END_SLICE;
  if (access == ACCESS_FAULT || access == ACCESS_MISALIGNED) {
    raiseException(vm, accessCause(access, isLoad), addr);
    return SLOW_END_SLICE;
  }
  if (isLoad || isAtomic) setRd(word, <i32>value);
  vm.pc = next;
  if (access == ACCESS_RAM) return SLOW_CONTINUE;
  return access == ACCESS_CODE_CHANGED ? SLOW_LEAVE_BLOCK : SLOW_END_SLICE;
}

/**
 * Everything the inline path does not do, for the entry at `entry` (with `done`
 * instructions of the slice before it): system and illegal instructions, atomics, and
 * loads and stores that are not plain RAM.
 */
@inline(never) function executeSlow(vm: Vm, entry: usize, done: i32): u32 {
  const word = load<u32>(entry);
  const pc = load<u32>(entry, ENTRY_PC);
  const raw = load<u32>(entry, ENTRY_RAW);
  vm.pc = pc;
  vm.sliceExecuted = done;
  switch (word & 0xFF) {
    case Op.SYSTEM: executeSystem(vm, raw); break;
    case Op.C_EBREAK: raiseException(vm, CAUSE_BREAKPOINT, pc); break;
    case Op.ILLEGAL: illegalInstruction(vm, raw); break;
    default: return accessSlow(vm, word, load<i32>(entry, 4), pc, pc + instructionBytes(raw));
  }
  return SLOW_END_SLICE;
}

/**
 * The block at `pc`, decoded now if need be, and linked from `linkSlot` (a block's
 * successor slot) unless that is 0 or decoding flushed the cache. 0 if the fetch failed:
 * the trap is raised, or the VM waits for the page (post-copy).
 */
@inline(never) function enterBlock(vm: Vm, pc: u32, linkSlot: usize): usize {
  const offset = pc - RAM_BASE;
  let block: usize = offset < vm.ramBytes ? blockAt(vm.decode, offset) : 0;
  if (block == 0) {
    const generation = decodeGeneration(vm.decode);
    block = buildBlock(vm, pc);
    if (block == 0) {
      vm.pc = pc;
      if (vm.awaitingPage == 0) raiseException(vm, CAUSE_FETCH_ACCESS, fetchFaultAddress);
      return 0;
    }
    if (decodeGeneration(vm.decode) != generation) { // the cache grew or was flushed: links and watches are gone
      watchTohost(vm);
      return block;
    }
  }
  if (linkSlot != 0) store<u32>(linkSlot, <u32>block);
  return block;
}

/** The processor last ran this VM (its reservation survives only while no other VM runs). */
let lastVmRun: usize = 0;

/**
 * Executes up to `budget` instructions of `vm` and returns how many it executed. Stops
 * early after a trap, a system instruction, a device access, a halt, or (post-copy) an
 * access to a page that has not arrived yet.
 */
export function executeSlice(vm: Vm, budget: i32): i32 {
  // The running vCPU's registers live at a fixed address, so every register access in
  // the loop is a load or store with a constant offset.
  const ownRegs = vm.regs;
  memory.copy(RUNNING_REGS, ownRegs, REG_SLOTS << 2);
  vm.regs = RUNNING_REGS;
  if (lastVmRun != changetype<usize>(vm)) {
    vm.reservation = 0; // another VM ran since: a context switch breaks the reservation
    lastVmRun = changetype<usize>(vm);
  }
  watchTohost(vm);
  let executed = 1;
  if ((vm.pc & 1) != 0) raiseException(vm, CAUSE_MISALIGNED_FETCH, vm.pc); // only a restored pc can be odd
  else executed = runBlocks(vm, budget);
  vm.sliceExecuted = 0; // outside a slice, counters are exactly vm.executed and friends
  memory.copy(ownRegs, RUNNING_REGS, REG_SLOTS << 2);
  vm.regs = ownRegs;
  return executed;
}

/**
 * The budget patch of the block now running: the entry Op.STOP replaced, and what it
 * held; and the entry before it if that one starts a fused pair (it runs unfused, so
 * that it does not run the instruction the budget stops before).
 */
let stopEntry: usize = 0;
let stopSaved: u32 = 0;
let unfusedEntry: usize = 0;
let unfusedSaved: u32 = 0;

/** Ends the running block after `count` instructions: Op.STOP at entry `count`, and no pair across it. */
function patchStop(first: usize, count: i32): void {
  stopEntry = first + (<usize>count << 4);
  stopSaved = load<u32>(stopEntry);
  store<u32>(stopEntry, Op.STOP);
  const before = stopEntry - ENTRY_BYTES;
  const word = load<u32>(before);
  const op = <i32>(word & 0xFF);
  if (op < FUSED_FIRST || op > FUSED_LAST) return;
  unfusedEntry = before;
  unfusedSaved = word;
  store<u32>(before, (word & ~0xFF) | <u32>FUSED_PLAIN[op - FUSED_FIRST]);
}

/** Undoes patchStop once the block has run. */
function unpatchStop(): void {
  store<u32>(stopEntry, stopSaved);
  stopEntry = 0;
  if (unfusedEntry == 0) return;
  store<u32>(unfusedEntry, unfusedSaved);
  unfusedEntry = 0;
}

function runBlocks(vm: Vm, budget: i32): i32 {
  const ram = vm.ram;
  const dirty = vm.dirty;
  // Inline accesses must start below this to lie wholly in RAM (the last 3 bytes of RAM
  // take the slow path, whatever the size). A demand-paged VM (post-copy) has none: its
  // accesses all take the slow path, which waits for pages that have not arrived.
  const end: u32 = vm.absent == 0 ? vm.ramBytes - 3 : 0;
  let pc = vm.pc;
  let left = budget; // instructions the slice may still start, the running block's already taken off
  let bias: i32 = 0; // instructions of the slice before entry e: (e >> 4) - bias (entries are 16-byte aligned)
  let e: usize = 0; // the entry to run next; 0 at a block boundary
  let slot: usize = 0; // at a block boundary: the link to the next block, 0 if none
  let endSlice = false;
  while (true) {
    if (e == 0) {
      if (left <= 0) break;
      let block: usize = slot != 0 ? <usize>load<u32>(slot) : 0;
      if (block == 0) {
        block = enterBlock(vm, pc, slot);
        if (block == 0) { // the fetch trapped (it counts), or waits for its page (it does not)
          if (vm.awaitingPage == 0) left--;
          pc = vm.pc;
          break;
        }
      }
      let count = <i32>load<u32>(block, BLOCK_COUNT);
      if (count > left) {
        count = left;
        patchStop(block + BLOCK_HEADER_BYTES, count);
      }
      e = block + BLOCK_HEADER_BYTES;
      bias = <i32>(e >> 4) - (budget - left);
      left -= count;
    }
    // The block's instructions, and the blocks linked after it, with no call on the way:
    // everything stays in registers.
    while (true) {
      const decoded = load<u64>(e); // op word and imm in one load: one bounds check less in a wasm2c build
      const word = <u32>decoded;
      const imm = <i32>(decoded >> 32);
      switch (word & 0xFF) {
        case Op.LI: setRd(word, imm); e += ENTRY_BYTES; continue;
        case Op.ADDI: setRd(word, rs1(word) + imm); e += ENTRY_BYTES; continue;
        case Op.SLTI: setRd(word, rs1(word) < imm ? 1 : 0); e += ENTRY_BYTES; continue;
        case Op.SLTIU: setRd(word, <u32>rs1(word) < <u32>imm ? 1 : 0); e += ENTRY_BYTES; continue;
        case Op.XORI: setRd(word, rs1(word) ^ imm); e += ENTRY_BYTES; continue;
        case Op.ORI: setRd(word, rs1(word) | imm); e += ENTRY_BYTES; continue;
        case Op.ANDI: setRd(word, rs1(word) & imm); e += ENTRY_BYTES; continue;
        case Op.SLLI: setRd(word, rs1(word) << imm); e += ENTRY_BYTES; continue;
        case Op.SRLI: setRd(word, <i32>(<u32>rs1(word) >> imm)); e += ENTRY_BYTES; continue;
        case Op.SRAI: setRd(word, rs1(word) >> imm); e += ENTRY_BYTES; continue;
        case Op.ADD: setRd(word, rs1(word) + rs2(word)); e += ENTRY_BYTES; continue;
        case Op.SUB: setRd(word, rs1(word) - rs2(word)); e += ENTRY_BYTES; continue;
        case Op.SLL: setRd(word, rs1(word) << (rs2(word) & 31)); e += ENTRY_BYTES; continue;
        case Op.SLT: setRd(word, rs1(word) < rs2(word) ? 1 : 0); e += ENTRY_BYTES; continue;
        case Op.SLTU: setRd(word, <u32>rs1(word) < <u32>rs2(word) ? 1 : 0); e += ENTRY_BYTES; continue;
        case Op.XOR: setRd(word, rs1(word) ^ rs2(word)); e += ENTRY_BYTES; continue;
        case Op.SRL: setRd(word, <i32>(<u32>rs1(word) >> (rs2(word) & 31))); e += ENTRY_BYTES; continue;
        case Op.SRA: setRd(word, rs1(word) >> (rs2(word) & 31)); e += ENTRY_BYTES; continue;
        case Op.OR: setRd(word, rs1(word) | rs2(word)); e += ENTRY_BYTES; continue;
        case Op.AND: setRd(word, rs1(word) & rs2(word)); e += ENTRY_BYTES; continue;
        case Op.MUL: setRd(word, rs1(word) * rs2(word)); e += ENTRY_BYTES; continue;
        case Op.MULH: setRd(word, mulhSigned(rs1(word), rs2(word))); e += ENTRY_BYTES; continue;
        case Op.MULHSU: setRd(word, mulhSignedUnsigned(rs1(word), rs2(word))); e += ENTRY_BYTES; continue;
        case Op.MULHU: setRd(word, mulhUnsigned(rs1(word), rs2(word))); e += ENTRY_BYTES; continue;
        case Op.DIV: { const rd = rdOf(word); store<i32>(rd, divSigned(rs1(word), rs2(word)), RUNNING_REGS); e += ENTRY_BYTES; continue; }
        case Op.DIVU: { const rd = rdOf(word); store<i32>(rd, divUnsigned(rs1(word), rs2(word)), RUNNING_REGS); e += ENTRY_BYTES; continue; }
        case Op.REM: { const rd = rdOf(word); store<i32>(rd, remSigned(rs1(word), rs2(word)), RUNNING_REGS); e += ENTRY_BYTES; continue; }
        case Op.REMU: { const rd = rdOf(word); store<i32>(rd, remUnsigned(rs1(word), rs2(word)), RUNNING_REGS); e += ENTRY_BYTES; continue; }
        case Op.LB: if (loadInline<i8>(word, ram, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.LBU: if (loadInline<u8>(word, ram, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.LH: if (loadInline<i16>(word, ram, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.LHU: if (loadInline<u16>(word, ram, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.LW: if (loadInline<i32>(word, ram, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.SB: if (storeInline<u8>(rs2(word), vm, ram, dirty, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.SH: if (storeInline<u16>(rs2(word), vm, ram, dirty, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.SW: if (storeInline<i32>(rs2(word), vm, ram, dirty, <u32>(rs1(word) + imm) - RAM_BASE, end)) { e += ENTRY_BYTES; continue; } break;
        case Op.NOP: e += ENTRY_BYTES; continue;
        // Fused pairs: the second instruction's entry follows.
        case Op.ADDI_ADDI: {
          setRd(word, rs1(word) + imm);
          const second = load<u64>(e, ENTRY_BYTES);
          setRd(<u32>second, rs1(<u32>second) + <i32>(second >> 32));
          e += 2 * ENTRY_BYTES; continue;
        }
        case Op.ADD_ADD: {
          setRd(word, rs1(word) + rs2(word));
          const second = load<u32>(e, ENTRY_BYTES);
          setRd(second, rs1(second) + rs2(second));
          e += 2 * ENTRY_BYTES; continue;
        }
        case Op.SLLI_SRLI: {
          setRd(word, rs1(word) << imm);
          const second = load<u64>(e, ENTRY_BYTES);
          setRd(<u32>second, <i32>(<u32>rs1(<u32>second) >> <i32>(second >> 32)));
          e += 2 * ENTRY_BYTES; continue;
        }
        case Op.SLLI_SRAI: {
          setRd(word, rs1(word) << imm);
          const second = load<u64>(e, ENTRY_BYTES);
          setRd(<u32>second, rs1(<u32>second) >> <i32>(second >> 32));
          e += 2 * ENTRY_BYTES; continue;
        }
        case Op.LI_ADDI: setRd(word, imm + load<i32>(e, ENTRY_BYTES + 4)); e += 2 * ENTRY_BYTES; continue;
        // Block ends: where the block goes, and the slot that links to its successor.
        case Op.JAL: setRd(word, load<i32>(e, LAST_END_PC)); pc = imm; slot = e + LAST_LINK_TAKEN; e = 0; break;
        case Op.JALR: pc = <u32>(rs1(word) + imm) & ~1; setRd(word, load<i32>(e, LAST_END_PC)); slot = 0; e = 0; break;
        case Op.BEQ: if (rs1(word) == rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.BNE: if (rs1(word) != rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.BLT: if (rs1(word) < rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.BGE: if (rs1(word) >= rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.BLTU: if (<u32>rs1(word) < <u32>rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.BGEU: if (<u32>rs1(word) >= <u32>rs2(word)) { pc = imm; slot = e + LAST_LINK_TAKEN; } else { pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; } e = 0; break;
        case Op.NEXT: pc = load<u32>(e, LAST_END_PC); slot = e + LAST_LINK_NEXT; e = 0; break;
        case Op.STOP: pc = load<u32>(e, ENTRY_PC); slot = 0; e = 0; break;
        default: break; // SYSTEM, C_EBREAK, ILLEGAL, ATOMIC: the slow path
      }
      if (e != 0 || slot == 0) break; // the slow path, or a successor to look up
      // The block ended: go straight on into its linked successor if that fits the budget.
      const next = <usize>load<u32>(slot);
      if (next == 0) break;
      const count = <i32>load<u32>(next, BLOCK_COUNT);
      if (count > left) break;
      e = next + BLOCK_HEADER_BYTES;
      bias = <i32>(e >> 4) - (budget - left);
      left -= count;
    }
    if (e != 0) { // the inline path did not do the instruction at e (or cannot): the slow path does
      const done = <i32>(e >> 4) - bias;
      const how = executeSlow(vm, e, done);
      if (how == SLOW_CONTINUE) {
        e += ENTRY_BYTES;
        continue;
      }
      left = budget - (vm.awaitingPage != 0 ? done : done + 1);
      endSlice = how == SLOW_END_SLICE;
      pc = vm.pc;
      e = 0;
      slot = 0;
    }
    if (stopEntry != 0) unpatchStop();
    if (endSlice) break;
  }
  vm.pc = pc;
  return budget - left;
}
