// Pre-decoding. Code runs from basic blocks in the decode cache (decode-cache.ts): a block
// is the run of instructions from one entry pc up to and including the first that can
// change the pc (a jump, a branch, a system or illegal instruction), cut at 64
// instructions or at the end of a page (a 32-bit instruction may straddle into the next
// page; it is the block's last). Mixed 16- and 32-bit code (RV32C) decodes into the same
// entries: a compressed instruction becomes the operation it expands to.
//
// Block layout: a 16-byte header, one 16-byte entry per instruction, a 16-byte trailer:
//   header +0 start pc, +4 instruction count
//   entry  +0 op | rd << 8 | rs1 << 16 | rs2 << 24, registers as byte offsets into the
//          register file; writes to x0 go to the sink slot so execution never tests rd == 0
//          +4 imm, with pc-relative values resolved (AUIPC becomes LI, branch and JAL
//          immediates hold the absolute target)
//          +8 the instruction's pc
//          +12 its raw bits (16 of them for a compressed one: mtval of an illegal
//          instruction, the system slow path, and its length)
//   trailer (right after the last entry, so the last instruction finds it at +16)
//          +0 end pc (the pc after the last instruction), +4 / +8 the block that follows
//          when the block falls through / when its branch or jump is taken (hart.ts links
//          them on first use; 0 = not yet)
// A block that ends without a jump (page end, 64 instructions, unreadable memory next)
// ends with one more entry, Op.NEXT, that is no instruction: it falls through. Common
// neighbouring pairs (fusedOp) run in one dispatch: the first entry carries the fused op,
// the second keeps its own entry, so entry i is still instruction i of the block.
import { PAGE_BYTES, PAGE_SHIFT, RAM_BASE } from "./config";
import {
  arenaHasRoom, arenaTake, CODE_MAP_BYTES, ensureCodeMap, growDecodeCache, markDecoded, setBlockAt,
} from "./decode-cache";
import { REG_SINK_OFFSET, Vm } from "./vm";

export enum Op {
  ILLEGAL = 0,
  /** rd = imm: lui, auipc (its pc added at decode), c.li, c.lui. */
  LI,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU,
  LB, LH, LW, LBU, LHU,
  SB, SH, SW,
  /** fence and fence.i: one hart, and stores already dropped the code they overwrote. */
  NOP,
  /** lr.w, sc.w and the AMOs (atomic.ts); imm = funct5. */
  ATOMIC,
  // Two instructions in one dispatch (macro-op fusion): the entry of the first carries the
  // fused op, the second keeps its own entry (FUSED_PLAIN gives the first one's op back).
  /** addi; addi (pointer and counter steps, stack adjustments). */
  ADDI_ADDI,
  /** add; add (c.mv/c.add pairs of compressed code). */
  ADD_ADD,
  /** slli; srli (zero-extension, bit-field extraction). */
  SLLI_SRLI,
  /** slli; srai (sign-extension). */
  SLLI_SRAI,
  /** lui/auipc rd; addi rd, rd, lo (a 32-bit constant or address). */
  LI_ADDI,
  // Everything from here on ends a block.
  JAL, JALR, BEQ, BNE, BLT, BGE, BLTU, BGEU,
  /** ecall, ebreak, mret, sret, wfi, sfence.vma and the six CSR instructions: system.ts. */
  SYSTEM,
  /** c.ebreak (the 32-bit ebreak is a SYSTEM instruction). */
  C_EBREAK,
  /** No instruction: the block ends here and continues at its end pc. */
  NEXT,
  /** No instruction: the slice's budget ends here (the hart patches it in over an entry). */
  STOP,
}

export const BLOCK_HEADER_BYTES: u32 = 16;
export const BLOCK_COUNT: u32 = 4;
export const ENTRY_BYTES: u32 = 16;
/** Offsets from the last entry (the trailer follows it): end pc, the two successor links. */
export const LAST_END_PC: u32 = ENTRY_BYTES;
export const LAST_LINK_NEXT: u32 = ENTRY_BYTES + 4;
export const LAST_LINK_TAKEN: u32 = ENTRY_BYTES + 8;
export const ENTRY_PC: u32 = 8;
export const ENTRY_RAW: u32 = 12;
const MAX_BLOCK_INSTRUCTIONS: u32 = 64;
/** The most one block can take from the arena: header, entries, NEXT, trailer, two code maps. */
const BLOCK_MAX_BYTES: u32 = BLOCK_HEADER_BYTES + (MAX_BLOCK_INSTRUCTIONS + 2) * ENTRY_BYTES + 2 * CODE_MAP_BYTES;

export const FUSED_FIRST: i32 = Op.ADDI_ADDI;
export const FUSED_LAST: i32 = Op.LI_ADDI;
/** The first instruction's own op, for each fused op from FUSED_FIRST. */
export const FUSED_PLAIN: StaticArray<i32> = [Op.ADDI, Op.ADD, Op.SLLI, Op.SLLI, Op.LI];

/** The fused op for the pair of entries `first`, `second`, or ILLEGAL if they do not fuse. */
function fusedOp(first: u32, second: u32): i32 {
  const a = first & 0xFF, b = second & 0xFF;
  if (a == Op.ADDI && b == Op.ADDI) return Op.ADDI_ADDI;
  if (a == Op.ADD && b == Op.ADD) return Op.ADD_ADD;
  if (a == Op.SLLI && b == Op.SRLI) return Op.SLLI_SRLI;
  if (a == Op.SLLI && b == Op.SRAI) return Op.SLLI_SRAI;
  // lui rd, hi; addi rd, rd, lo: the addi reads and writes the register the lui wrote
  const rd = (first >> 8) & 0xFF;
  if (a == Op.LI && b == Op.ADDI && rd == ((second >> 8) & 0xFF) && rd == ((second >> 16) & 0xFF)) return Op.LI_ADDI;
  return Op.ILLEGAL;
}

/** Fuses neighbouring pairs of the `count` entries from `first`, each entry in one pair at most. */
function fuseBlock(first: usize, count: u32): void {
  for (let i: u32 = 0; i + 1 < count; i++) {
    const at = first + (<usize>i << 4);
    const word = load<u32>(at);
    const fused = fusedOp(word, load<u32>(at, ENTRY_BYTES));
    if (fused == Op.ILLEGAL) continue;
    store<u32>(at, (word & ~0xFF) | <u32>fused);
    i++;
  }
}

/** Does `op` end a block? */
export function endsBlock(op: i32): bool {
  return op >= Op.JAL || op == Op.ILLEGAL;
}

/** Length in bytes of the instruction whose first (lowest) halfword is `low`. */
@inline export function instructionBytes(low: u32): u32 {
  return (low & 3) == 3 ? 4 : 2;
}

@inline function regOffset(r: u32): u32 {
  return r << 2;
}

@inline function destOffset(r: u32): u32 {
  return r == 0 ? REG_SINK_OFFSET : r << 2;
}

function put(entry: usize, op: i32, rd: u32, rs1: u32, rs2: u32, imm: i32): void {
  store<u32>(entry, <u32>op | (destOffset(rd) << 8) | (regOffset(rs1) << 16) | (regOffset(rs2) << 24));
  store<i32>(entry, imm, 4);
}

// ---- 32-bit instructions ----

function immI(inst: u32): i32 {
  return <i32>inst >> 20;
}

function immS(inst: u32): i32 {
  return ((<i32>inst >> 25) << 5) | <i32>((inst >> 7) & 0x1F);
}

function immB(inst: u32): i32 {
  return ((<i32>inst >> 31) << 12) | <i32>(((inst >> 7) & 1) << 11) |
    <i32>(((inst >> 25) & 0x3F) << 5) | <i32>(((inst >> 8) & 0xF) << 1);
}

function immJ(inst: u32): i32 {
  return ((<i32>inst >> 31) << 20) | <i32>(inst & 0xFF000) |
    <i32>(((inst >> 20) & 1) << 11) | <i32>(((inst >> 21) & 0x3FF) << 1);
}

const LOAD_OPS: StaticArray<i32> = [Op.LB, Op.LH, Op.LW, Op.ILLEGAL, Op.LBU, Op.LHU, Op.ILLEGAL, Op.ILLEGAL];
const STORE_OPS: StaticArray<i32> = [Op.SB, Op.SH, Op.SW, Op.ILLEGAL, Op.ILLEGAL, Op.ILLEGAL, Op.ILLEGAL, Op.ILLEGAL];
const BRANCH_OPS: StaticArray<i32> = [Op.BEQ, Op.BNE, Op.ILLEGAL, Op.ILLEGAL, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU];
const OP_IMM_OPS: StaticArray<i32> = [Op.ADDI, Op.SLLI, Op.SLTI, Op.SLTIU, Op.XORI, Op.SRLI, Op.ORI, Op.ANDI];
const OP_OPS: StaticArray<i32> = [Op.ADD, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.OR, Op.AND];
const MULDIV_OPS: StaticArray<i32> = [Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM, Op.REMU];

/** funct5 values of RV32A (inst[31:27]): lr.w 2, sc.w 3, the AMOs. */
const AMO_FUNCTIONS: u32 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 8) | (1 << 12) |
  (1 << 16) | (1 << 20) | (1 << 24) | (1 << 28);
export const AMO_LR: u32 = 2;
export const AMO_SC: u32 = 3;

/** Op of a shift-immediate: shamt[5] (inst bit 25) must be 0 on RV32. */
function shiftImmOp(funct3: u32, funct7: u32): i32 {
  if (funct3 == 1) return funct7 == 0 ? Op.SLLI : Op.ILLEGAL;
  if (funct7 == 0x20) return Op.SRAI;
  return funct7 == 0 ? Op.SRLI : Op.ILLEGAL;
}

function registerOp(funct3: u32, funct7: u32): i32 {
  if (funct7 == 0) return OP_OPS[funct3];
  if (funct7 == 1) return MULDIV_OPS[funct3];
  if (funct7 == 0x20 && funct3 == 0) return Op.SUB;
  if (funct7 == 0x20 && funct3 == 5) return Op.SRA;
  return Op.ILLEGAL;
}

function atomicOp(inst: u32, funct3: u32, rs2: u32): i32 {
  const funct5 = inst >> 27;
  if (funct3 != 2 || ((AMO_FUNCTIONS >> funct5) & 1) == 0) return Op.ILLEGAL;
  return funct5 == AMO_LR && rs2 != 0 ? Op.ILLEGAL : Op.ATOMIC;
}

/** Decodes the 32-bit `inst` at guest address `pc` into `entry`; returns its op. */
function decode32(entry: usize, inst: u32, pc: u32): i32 {
  const rd = (inst >> 7) & 0x1F;
  const rs1 = (inst >> 15) & 0x1F;
  const rs2 = (inst >> 20) & 0x1F;
  const funct3 = (inst >> 12) & 7;
  const funct7 = inst >> 25;
  let op: i32 = Op.ILLEGAL;
  let imm: i32 = 0;
  let src1 = rs1;
  let src2: u32 = 0;
  switch (inst & 0x7F) {
    case 0x37: op = Op.LI; imm = <i32>(inst & 0xFFFFF000); src1 = 0; break;
    case 0x17: op = Op.LI; imm = <i32>(pc + (inst & 0xFFFFF000)); src1 = 0; break;
    case 0x6F: op = Op.JAL; imm = <i32>pc + immJ(inst); src1 = 0; break;
    case 0x67: if (funct3 == 0) { op = Op.JALR; imm = immI(inst); } break;
    case 0x63: op = BRANCH_OPS[funct3]; imm = <i32>pc + immB(inst); src2 = rs2; break;
    case 0x03: op = LOAD_OPS[funct3]; imm = immI(inst); break;
    case 0x23: op = STORE_OPS[funct3]; imm = immS(inst); src2 = rs2; break;
    case 0x13: {
      op = OP_IMM_OPS[funct3];
      imm = immI(inst);
      if (funct3 == 1 || funct3 == 5) { op = shiftImmOp(funct3, funct7); imm = <i32>rs2; }
      break;
    }
    case 0x33: op = registerOp(funct3, funct7); src2 = rs2; break;
    case 0x2F: op = atomicOp(inst, funct3, rs2); imm = <i32>(inst >> 27); src2 = rs2; break;
    case 0x0F: if (funct3 == 0 || funct3 == 1) op = Op.NOP; break;
    case 0x73: op = Op.SYSTEM; break;
  }
  put(entry, op, rd, src1, src2, imm);
  return op;
}

// ---- 16-bit instructions (RV32C) ----

/** Sign-extends the low `bits` bits of `value`. */
@inline function signed(value: u32, bits: i32): i32 {
  return <i32>(value << (32 - bits)) >> (32 - bits);
}

/** x8..x15, the registers of the 3-bit fields. */
@inline function prime(field: u32): u32 {
  return 8 + (field & 7);
}

/** The 6-bit immediate of c.addi, c.li, c.andi, c.lui: bit 12, bits 6:2. */
function imm6(h: u32): i32 {
  return signed(((h >> 7) & 0x20) | ((h >> 2) & 0x1F), 6);
}

/** The shift amount of c.slli, c.srli, c.srai: bit 12 (must be 0 on RV32), bits 6:2. */
function shamt6(h: u32): u32 {
  return ((h >> 7) & 0x20) | ((h >> 2) & 0x1F);
}

/** The offset of c.lw and c.sw: uimm[5:3] = bits 12:10, [2] = bit 6, [6] = bit 5. */
function offsetLw(h: u32): i32 {
  return <i32>(((h >> 7) & 0x38) | ((h >> 4) & 4) | ((h << 1) & 0x40));
}

/** The offset of c.j and c.jal: imm[11|4|9:8|10|6|7|3:1|5] = bits 12:2. */
function offsetJ(h: u32): i32 {
  return signed(((h >> 1) & 0x800) | ((h >> 7) & 0x10) | ((h >> 1) & 0x300) | ((h << 2) & 0x400) |
    ((h >> 1) & 0x40) | ((h << 1) & 0x80) | ((h >> 2) & 0xE) | ((h << 3) & 0x20), 12);
}

/** The offset of c.beqz and c.bnez: imm[8|4:3] = bits 12:10, imm[7:6|2:1|5] = bits 6:2. */
function offsetB(h: u32): i32 {
  return signed(((h >> 4) & 0x100) | ((h >> 7) & 0x18) | ((h << 1) & 0xC0) | ((h >> 2) & 6) | ((h << 3) & 0x20), 9);
}

/** c.addi4spn: nzuimm[5:4|9:6|2|3] = bits 12:5. */
function immAddi4spn(h: u32): i32 {
  return <i32>(((h >> 7) & 0x30) | ((h >> 1) & 0x3C0) | ((h >> 4) & 4) | ((h >> 2) & 8));
}

/** c.addi16sp: nzimm[9|4|6|8:7|5] = bits 12, 6:2. */
function immAddi16sp(h: u32): i32 {
  return signed(((h >> 3) & 0x200) | ((h >> 2) & 0x10) | ((h << 1) & 0x40) | ((h << 4) & 0x180) | ((h << 3) & 0x20), 10);
}

const CA_OPS: StaticArray<i32> = [Op.SUB, Op.XOR, Op.OR, Op.AND];
const SP: u32 = 2;
const RA: u32 = 1;

/** Quadrant 0: c.addi4spn, c.lw, c.sw (the rest is F/D or reserved: illegal). */
function decodeC0(entry: usize, h: u32): i32 {
  const funct3 = h >> 13;
  const low = prime(h >> 2), high = prime(h >> 7);
  if (funct3 == 0) {
    const imm = immAddi4spn(h);
    if (imm == 0) return Op.ILLEGAL; // includes the all-zero halfword
    put(entry, Op.ADDI, low, SP, 0, imm);
    return Op.ADDI;
  }
  if (funct3 == 2) { put(entry, Op.LW, low, high, 0, offsetLw(h)); return Op.LW; }
  if (funct3 == 6) { put(entry, Op.SW, 0, high, low, offsetLw(h)); return Op.SW; }
  return Op.ILLEGAL;
}

/** Quadrant 1: c.nop/c.addi, c.jal, c.li, c.addi16sp/c.lui, the c.srli..c.and group, c.j, c.beqz, c.bnez. */
function decodeC1(entry: usize, h: u32, pc: u32): i32 {
  const funct3 = h >> 13;
  const rd = (h >> 7) & 0x1F;
  switch (funct3) {
    case 0: put(entry, Op.ADDI, rd, rd, 0, imm6(h)); return Op.ADDI;
    case 1: put(entry, Op.JAL, RA, 0, 0, <i32>pc + offsetJ(h)); return Op.JAL;
    case 2: put(entry, Op.LI, rd, 0, 0, imm6(h)); return Op.LI;
    case 3: {
      if (rd == SP) {
        const imm = immAddi16sp(h);
        if (imm == 0) return Op.ILLEGAL; // reserved
        put(entry, Op.ADDI, SP, SP, 0, imm);
        return Op.ADDI;
      }
      const imm = imm6(h);
      if (imm == 0) return Op.ILLEGAL; // reserved
      put(entry, Op.LI, rd, 0, 0, imm << 12);
      return Op.LI;
    }
    case 4: return decodeC1Arithmetic(entry, h);
    case 5: put(entry, Op.JAL, 0, 0, 0, <i32>pc + offsetJ(h)); return Op.JAL;
    case 6: put(entry, Op.BEQ, 0, prime(h >> 7), 0, <i32>pc + offsetB(h)); return Op.BEQ;
    default: put(entry, Op.BNE, 0, prime(h >> 7), 0, <i32>pc + offsetB(h)); return Op.BNE;
  }
}

/** c.srli, c.srai, c.andi, c.sub, c.xor, c.or, c.and (on x8..x15). */
function decodeC1Arithmetic(entry: usize, h: u32): i32 {
  const rd = prime(h >> 7);
  const kind = (h >> 10) & 3;
  if (kind == 2) { put(entry, Op.ANDI, rd, rd, 0, imm6(h)); return Op.ANDI; }
  if (kind < 2) {
    const shamt = shamt6(h);
    if (shamt >= 32) return Op.ILLEGAL; // shamt[5] = 1: reserved on RV32
    const op = kind == 0 ? Op.SRLI : Op.SRAI;
    put(entry, op, rd, rd, 0, <i32>shamt);
    return op;
  }
  if ((h & 0x1000) != 0) return Op.ILLEGAL; // c.subw, c.addw: RV64
  const op: i32 = CA_OPS[(h >> 5) & 3];
  put(entry, op, rd, rd, prime(h >> 2), 0);
  return op;
}

/** Quadrant 2: c.slli, c.lwsp, c.jr/c.mv/c.ebreak/c.jalr/c.add, c.swsp (the rest is F/D: illegal). */
function decodeC2(entry: usize, h: u32): i32 {
  const funct3 = h >> 13;
  const rd = (h >> 7) & 0x1F;
  const rs2 = (h >> 2) & 0x1F;
  if (funct3 == 0) {
    const shamt = shamt6(h);
    if (shamt >= 32) return Op.ILLEGAL;
    put(entry, Op.SLLI, rd, rd, 0, <i32>shamt);
    return Op.SLLI;
  }
  if (funct3 == 2) {
    if (rd == 0) return Op.ILLEGAL; // c.lwsp with rd = x0 is reserved
    put(entry, Op.LW, rd, SP, 0, <i32>(((h >> 7) & 0x20) | ((h >> 2) & 0x1C) | ((h << 4) & 0xC0)));
    return Op.LW;
  }
  if (funct3 == 6) {
    put(entry, Op.SW, 0, SP, rs2, <i32>(((h >> 7) & 0x3C) | ((h >> 1) & 0xC0)));
    return Op.SW;
  }
  if (funct3 != 4) return Op.ILLEGAL;
  const link = (h & 0x1000) != 0;
  if (rs2 != 0) { // c.mv rd = rs2, c.add rd += rs2
    put(entry, Op.ADD, rd, link ? rd : 0, rs2, 0);
    return Op.ADD;
  }
  if (rd == 0) return link ? Op.C_EBREAK : Op.ILLEGAL; // c.jr with rs1 = x0 is reserved
  put(entry, Op.JALR, link ? RA : 0, rd, 0, 0);
  return Op.JALR;
}

/** Decodes the 16-bit `h` at guest address `pc` into `entry`; returns its op. */
function decode16(entry: usize, h: u32, pc: u32): i32 {
  let op: i32;
  const quadrant = h & 3;
  if (quadrant == 0) op = decodeC0(entry, h);
  else if (quadrant == 1) op = decodeC1(entry, h, pc);
  else op = decodeC2(entry, h);
  if (op == Op.ILLEGAL || op == Op.C_EBREAK) put(entry, op, 0, 0, 0, 0);
  return op;
}

/** Decodes the instruction `inst` (16 or 32 bits, as its low bits say) at `pc` into `entry`. */
export function decodeInto(entry: usize, inst: u32, pc: u32): i32 {
  const compressed = instructionBytes(inst) == 2;
  const raw = compressed ? inst & 0xFFFF : inst;
  const op = compressed ? decode16(entry, raw, pc) : decode32(entry, raw, pc);
  store<u32>(entry, pc, ENTRY_PC);
  store<u32>(entry, raw, ENTRY_RAW);
  return op;
}

// ---- Blocks ----

/** Guest address of the halfword a failed fetch could not read (mtval of the fetch fault). */
export let fetchFaultAddress: u32 = 0;

/** Is the page of RAM offset `offset` still to arrive (post-copy)? */
@inline function pageAbsent(vm: Vm, offset: u32): bool {
  return vm.absent != 0 && load<u8>(vm.absent + (offset >> PAGE_SHIFT)) != 0;
}

/** Can the halfword at RAM offset `offset` be fetched? Else records where the fetch failed. */
function halfwordFetchable(vm: Vm, offset: u32): bool {
  if (offset < vm.ramBytes - 1 && !pageAbsent(vm, offset)) return true;
  fetchFaultAddress = RAM_BASE + offset;
  return false;
}

/** Bytes of the instruction at RAM offset `offset` (even), or 0 if it cannot be fetched. */
function fetchableBytes(vm: Vm, offset: u32): u32 {
  if (!halfwordFetchable(vm, offset)) return 0;
  const bytes = instructionBytes(load<u16>(vm.ram + offset));
  if (bytes == 4 && !halfwordFetchable(vm, offset + 2)) return 0;
  return bytes;
}

/**
 * Decodes the block that starts at `pc` (even) and returns it, or 0 if its first
 * instruction cannot be fetched: outside RAM (fetchFaultAddress says where), or on a page
 * that has not arrived (vm.awaitingPage is then set). May grow or flush the cache
 * (vm.decode changes, every other block is gone).
 */
export function buildBlock(vm: Vm, pc: u32): usize {
  const start = pc - RAM_BASE;
  if (start >= vm.ramBytes) {
    fetchFaultAddress = pc;
    return 0;
  }
  if (fetchableBytes(vm, start) == 0) {
    const missing = fetchFaultAddress - RAM_BASE;
    if (missing < vm.ramBytes && pageAbsent(vm, missing)) vm.awaitingPage = (missing >> PAGE_SHIFT) + 1;
    return 0;
  }
  if (!arenaHasRoom(vm.decode, BLOCK_MAX_BYTES)) vm.decode = growDecodeCache(vm.decode);
  const cache = vm.decode;
  ensureCodeMap(cache, vm.dirty, start >> PAGE_SHIFT);
  const block = arenaTake(cache, BLOCK_HEADER_BYTES);
  let offset = start;
  let count: u32 = 0;
  let ended = false;
  while (count < MAX_BLOCK_INSTRUCTIONS) {
    const bytes = fetchableBytes(vm, offset);
    if (bytes == 0) break;
    if (((offset + bytes - 1) >> PAGE_SHIFT) != (offset >> PAGE_SHIFT)) ensureCodeMap(cache, vm.dirty, (offset >> PAGE_SHIFT) + 1);
    const entry = arenaTake(cache, ENTRY_BYTES);
    const inst = bytes == 2 ? <u32>load<u16>(vm.ram + offset) : load<u32>(vm.ram + offset);
    const op = decodeInto(entry, inst, RAM_BASE + offset);
    markDecoded(cache, offset, bytes);
    count++;
    offset += bytes;
    if (endsBlock(op)) { ended = true; break; }
    if ((offset & (PAGE_BYTES - 1)) < bytes) break; // crossed into the next page
  }
  fuseBlock(block + BLOCK_HEADER_BYTES, count);
  if (!ended) {
    const next = arenaTake(cache, ENTRY_BYTES);
    put(next, Op.NEXT, 0, 0, 0, 0);
    store<u32>(next, RAM_BASE + offset, ENTRY_PC);
    store<u32>(next, 0, ENTRY_RAW);
  }
  store<u32>(block, pc);
  store<u32>(block, count, BLOCK_COUNT);
  store<u64>(block, 0, 8);
  const trailer = arenaTake(cache, ENTRY_BYTES);
  store<u32>(trailer, RAM_BASE + offset);
  store<u32>(trailer, 0, 4);
  store<u64>(trailer, 0, 8);
  setBlockAt(cache, start, block);
  return block;
}
