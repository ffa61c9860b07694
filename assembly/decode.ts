// Pre-decoding. An instruction is decoded once into a 16-byte decode cache entry and run
// from there until its memory is written again:
//   +0 tag: the pc the entry holds (1 = empty)
//   +4 op | rd << 8 | rs1 << 16 | rs2 << 24, registers as byte offsets into the register
//      file; writes to x0 go to the sink slot so execution never tests rd == 0
//   +8 imm, with pc-relative targets already resolved (AUIPC becomes LUI, branch and JAL
//      immediates hold the absolute target)
//   +12 the raw instruction (for mtval on illegal instructions and the system slow path)
// Every store into guest RAM clears the entry of the word it wrote (guestmem.ts), so
// self-modifying code runs its new instructions with or without fence.i.
import { REG_SINK_OFFSET } from "./vm";

export enum Op {
  ILLEGAL = 0,
  LUI, JAL, JALR,
  BEQ, BNE, BLT, BGE, BLTU, BGEU,
  /** A branch or JAL whose target is not 4-byte aligned: traps when taken. */
  BRANCH_MISALIGNED,
  LB, LH, LW, LBU, LHU,
  SB, SH, SW,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU,
  FENCE,
  /** ecall, ebreak, mret, sret, wfi, sfence.vma and the six CSR instructions: system.ts. */
  SYSTEM,
}

@inline function regOffset(r: u32): u32 {
  return r << 2;
}

@inline function destOffset(r: u32): u32 {
  return r == 0 ? REG_SINK_OFFSET : r << 2;
}

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

/** Decodes `inst`, found at guest address `pc`, into the entry at `entry`. */
export function decodeInto(entry: usize, inst: u32, pc: u32): void {
  const rd = (inst >> 7) & 0x1F;
  const rs1 = (inst >> 15) & 0x1F;
  const rs2 = (inst >> 20) & 0x1F;
  const funct3 = (inst >> 12) & 7;
  const funct7 = inst >> 25;
  let op: i32 = Op.ILLEGAL;
  let imm: i32 = 0;
  let src1 = regOffset(rs1);
  let src2: u32 = 0;
  switch (inst & 0x7F) {
    case 0x37: op = Op.LUI; imm = <i32>(inst & 0xFFFFF000); src1 = 0; break;
    case 0x17: op = Op.LUI; imm = <i32>(pc + (inst & 0xFFFFF000)); src1 = 0; break;
    case 0x6F: {
      imm = <i32>pc + immJ(inst);
      op = (imm & 3) != 0 ? Op.BRANCH_MISALIGNED : Op.JAL;
      src1 = 0;
      break;
    }
    case 0x67: if (funct3 == 0) { op = Op.JALR; imm = immI(inst); } break;
    case 0x63: {
      op = BRANCH_OPS[funct3];
      imm = <i32>pc + immB(inst);
      src2 = regOffset(rs2);
      if (op != Op.ILLEGAL && (imm & 3) != 0) op = Op.BRANCH_MISALIGNED;
      break;
    }
    case 0x03: op = LOAD_OPS[funct3]; imm = immI(inst); break;
    case 0x23: op = STORE_OPS[funct3]; imm = immS(inst); src2 = regOffset(rs2); break;
    case 0x13: {
      op = OP_IMM_OPS[funct3];
      imm = immI(inst);
      if (funct3 == 1) { // slli: shamt[5] must be 0 on RV32
        if (funct7 != 0) op = Op.ILLEGAL;
        imm = <i32>rs2;
      } else if (funct3 == 5) {
        if (funct7 == 0x20) op = Op.SRAI;
        else if (funct7 != 0) op = Op.ILLEGAL;
        imm = <i32>rs2;
      }
      break;
    }
    case 0x33: {
      src2 = regOffset(rs2);
      if (funct7 == 0) op = OP_OPS[funct3];
      else if (funct7 == 1) op = MULDIV_OPS[funct3];
      else if (funct7 == 0x20 && funct3 == 0) op = Op.SUB;
      else if (funct7 == 0x20 && funct3 == 5) op = Op.SRA;
      break;
    }
    case 0x0F: if (funct3 == 0 || funct3 == 1) op = Op.FENCE; break;
    case 0x73: op = Op.SYSTEM; break;
  }
  store<u32>(entry, pc);
  store<u32>(entry, <u32>op | (destOffset(rd) << 8) | (src1 << 16) | (src2 << 24), 4);
  store<i32>(entry, imm, 8);
  store<u32>(entry, inst, 12);
}
