// The pages a VM's first instruction can touch, wherever it resumes: post-copy's blackout
// carries them all, so the VM's first instruction on the destination never waits for a
// page and its downtime does not depend on the link after the commit (downtime.ts).
//
// The first instruction is the one at pc, or — if an interrupt is taken first, which the
// time spent stopped may well make pending — the one at a trap vector. For each candidate
// the pages are those of its fetch (a 32-bit instruction may straddle a page with
// compressed code) and of its data: a load's, store's or AMO's address range, a
// compressed load's or store's reach from its base register, and for a paravirtual
// guest's ecall the buffer of the hypercall (hypercall.ts hypercallBuffer). Trap entry
// changes no general register, so a vector's instruction is decoded with the VM's
// registers as they are.
import { KIND_PARAVIRTUAL, PAGE_SHIFT, RAM_BASE } from "./config";
import { hypercallBuffer } from "./hypercall";
import { getReg, Vm } from "./vm";

/** At most this many pages (candidates x (fetch 2 + data 2)). */
export const MAX_FIRST_PAGES: i32 = 32;

const pages = new StaticArray<u32>(MAX_FIRST_PAGES);
let pageCount: i32 = 0;

function addPage(vm: Vm, addr: u32): void {
  const offset = addr - RAM_BASE;
  if (offset >= vm.ramBytes) return; // not RAM: a fault, a device, nothing to send
  const page = offset >> PAGE_SHIFT;
  for (let i = 0; i < pageCount; i++) if (unchecked(pages[i]) == page) return;
  if (pageCount < MAX_FIRST_PAGES) { unchecked(pages[pageCount] = page); pageCount++; }
}

function addRange(vm: Vm, addr: u32, bytes: u32): void {
  if (bytes == 0) return;
  addPage(vm, addr);
  addPage(vm, addr + bytes - 1);
}

function signExtend(value: u32, bits: u32): u32 {
  return <u32>(<i32>(value << (32 - bits)) >> (32 - bits));
}

/** Data pages of the instruction at `pc` (fetch pages included). */
function addInstruction(vm: Vm, pc: u32): void {
  const offset = pc - RAM_BASE;
  if (offset >= vm.ramBytes || vm.ramBytes - offset < 2) return;
  addRange(vm, pc, 2);
  const low = <u32>load<u16>(vm.ram + offset);
  if ((low & 3) != 3) { addCompressed(vm, low); return; }
  if (vm.ramBytes - offset < 4) return;
  addRange(vm, pc, 4);
  const inst = low | (<u32>load<u16>(vm.ram + offset + 2) << 16);
  const opcode = inst & 0x7F;
  const rs1 = getReg(vm, (inst >> 15) & 0x1F);
  const size: u32 = 1 << ((inst >> 12) & 3);
  if (opcode == 0x03) addRange(vm, rs1 + signExtend(inst >> 20, 12), size); // load
  else if (opcode == 0x23) addRange(vm, rs1 + signExtend(((inst >> 25) << 5) | ((inst >> 7) & 0x1F), 12), size); // store
  else if (opcode == 0x2F) addRange(vm, rs1, 4); // AMO, LR, SC
  else if (inst == 0x73 && vm.kind == KIND_PARAVIRTUAL) { // ecall: the hypercall's buffer
    const buffer = hypercallBuffer(vm);
    addRange(vm, <u32>(buffer >> 32), <u32>buffer);
  }
}

/** A compressed load or store reaches at most 124 bytes past its base (c.lw/c.sw), 252 from sp (c.lwsp/c.swsp). */
function addCompressed(vm: Vm, inst: u32): void {
  const quadrant = inst & 3;
  const funct3 = inst >> 13;
  if (quadrant == 0 && (funct3 == 2 || funct3 == 6)) addRange(vm, getReg(vm, 8 + ((inst >> 7) & 7)), 128);
  else if (quadrant == 2 && (funct3 == 2 || funct3 == 6)) addRange(vm, getReg(vm, 2), 256);
}

/** Where a trap vector sends an interrupt `cause` (direct: the base; vectored: base + 4 cause). */
function vectorTarget(tvec: u32, cause: u32): u32 {
  return (tvec & 3) == 1 ? (tvec & ~3) + 4 * cause : tvec & ~3;
}

/** Collects the pages; returns how many (read them with firstPage). */
export function firstAccessPages(vm: Vm): i32 {
  pageCount = 0;
  addInstruction(vm, vm.pc);
  // Exceptions go to a vector's base (cause 0's target), interrupts to base + 4 cause when vectored.
  addInstruction(vm, vectorTarget(vm.stvec, 0));
  for (let cause: u32 = 1; cause <= 9; cause += 4) addInstruction(vm, vectorTarget(vm.stvec, cause));
  if (vm.kind != KIND_PARAVIRTUAL) {
    addInstruction(vm, vectorTarget(vm.mtvec, 0));
    for (let cause: u32 = 1; cause <= 11; cause += 2) addInstruction(vm, vectorTarget(vm.mtvec, cause));
  }
  return pageCount;
}

export function firstPage(i: i32): u32 {
  return unchecked(pages[i]);
}
