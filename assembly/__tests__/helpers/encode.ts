// A tiny RV32IM assembler for the tests: the six instruction formats, and one function
// per instruction built on them. Offsets of branches and jumps are relative to the
// instruction's own pc, as in assembly source. encode.spec.ts checks these against
// encodings produced by llvm-mc.

export function encodeR(opcode: u32, rd: u32, funct3: u32, rs1: u32, rs2: u32, funct7: u32): u32 {
  return (funct7 << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | ((funct3 & 7) << 12) | ((rd & 31) << 7) | (opcode & 0x7F);
}

export function encodeI(opcode: u32, rd: u32, funct3: u32, rs1: u32, imm: i32): u32 {
  return ((<u32>imm & 0xFFF) << 20) | ((rs1 & 31) << 15) | ((funct3 & 7) << 12) | ((rd & 31) << 7) | (opcode & 0x7F);
}

export function encodeS(opcode: u32, funct3: u32, rs1: u32, rs2: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (((u >> 5) & 0x7F) << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) | ((funct3 & 7) << 12) |
    ((u & 0x1F) << 7) | (opcode & 0x7F);
}

export function encodeB(funct3: u32, rs1: u32, rs2: u32, offset: i32): u32 {
  const u = <u32>offset;
  return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3F) << 25) | ((rs2 & 31) << 20) | ((rs1 & 31) << 15) |
    ((funct3 & 7) << 12) | (((u >> 1) & 0xF) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}

/** `upper` is the 20-bit immediate as written in assembly (lui x1, 0x12345). */
export function encodeU(opcode: u32, rd: u32, upper: u32): u32 {
  return ((upper & 0xFFFFF) << 12) | ((rd & 31) << 7) | (opcode & 0x7F);
}

export function encodeJ(rd: u32, offset: i32): u32 {
  const u = <u32>offset;
  return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3FF) << 21) | (((u >> 11) & 1) << 20) |
    (((u >> 12) & 0xFF) << 12) | ((rd & 31) << 7) | 0x6F;
}

// Register names used by the tests.
export const ZERO: u32 = 0, RA: u32 = 1, SP: u32 = 2, T0: u32 = 5, T1: u32 = 6, T2: u32 = 7;
export const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12, A3: u32 = 13, A4: u32 = 14, A5: u32 = 15, A6: u32 = 16, A7: u32 = 17;

// RV32I
export function lui(rd: u32, upper: u32): u32 { return encodeU(0x37, rd, upper); }
export function auipc(rd: u32, upper: u32): u32 { return encodeU(0x17, rd, upper); }
export function jal(rd: u32, offset: i32): u32 { return encodeJ(rd, offset); }
export function jalr(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x67, rd, 0, rs1, imm); }
export function beq(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(0, rs1, rs2, offset); }
export function bne(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(1, rs1, rs2, offset); }
export function blt(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(4, rs1, rs2, offset); }
export function bge(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(5, rs1, rs2, offset); }
export function bltu(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(6, rs1, rs2, offset); }
export function bgeu(rs1: u32, rs2: u32, offset: i32): u32 { return encodeB(7, rs1, rs2, offset); }
export function lb(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x03, rd, 0, rs1, imm); }
export function lh(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x03, rd, 1, rs1, imm); }
export function lw(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x03, rd, 2, rs1, imm); }
export function lbu(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x03, rd, 4, rs1, imm); }
export function lhu(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x03, rd, 5, rs1, imm); }
export function sb(rs2: u32, rs1: u32, imm: i32): u32 { return encodeS(0x23, 0, rs1, rs2, imm); }
export function sh(rs2: u32, rs1: u32, imm: i32): u32 { return encodeS(0x23, 1, rs1, rs2, imm); }
export function sw(rs2: u32, rs1: u32, imm: i32): u32 { return encodeS(0x23, 2, rs1, rs2, imm); }
export function addi(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 0, rs1, imm); }
export function slti(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 2, rs1, imm); }
export function sltiu(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 3, rs1, imm); }
export function xori(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 4, rs1, imm); }
export function ori(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 6, rs1, imm); }
export function andi(rd: u32, rs1: u32, imm: i32): u32 { return encodeI(0x13, rd, 7, rs1, imm); }
export function slli(rd: u32, rs1: u32, shamt: u32): u32 { return encodeR(0x13, rd, 1, rs1, shamt, 0); }
export function srli(rd: u32, rs1: u32, shamt: u32): u32 { return encodeR(0x13, rd, 5, rs1, shamt, 0); }
export function srai(rd: u32, rs1: u32, shamt: u32): u32 { return encodeR(0x13, rd, 5, rs1, shamt, 0x20); }
export function add(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 0, rs1, rs2, 0); }
export function sub(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 0, rs1, rs2, 0x20); }
export function sll(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 1, rs1, rs2, 0); }
export function slt(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 2, rs1, rs2, 0); }
export function sltu(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 3, rs1, rs2, 0); }
export function xor(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 4, rs1, rs2, 0); }
export function srl(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 5, rs1, rs2, 0); }
export function sra(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 5, rs1, rs2, 0x20); }
export function or(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 6, rs1, rs2, 0); }
export function and(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 7, rs1, rs2, 0); }
export function fence(): u32 { return 0x0FF0000F; }
export function fenceI(): u32 { return 0x0000100F; }

// RV32M
export function mul(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 0, rs1, rs2, 1); }
export function mulh(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 1, rs1, rs2, 1); }
export function mulhsu(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 2, rs1, rs2, 1); }
export function mulhu(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 3, rs1, rs2, 1); }
export function div(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 4, rs1, rs2, 1); }
export function divu(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 5, rs1, rs2, 1); }
export function rem(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 6, rs1, rs2, 1); }
export function remu(rd: u32, rs1: u32, rs2: u32): u32 { return encodeR(0x33, rd, 7, rs1, rs2, 1); }

// SYSTEM
export function ecall(): u32 { return 0x00000073; }
export function ebreak(): u32 { return 0x00100073; }
export function mret(): u32 { return 0x30200073; }
export function sret(): u32 { return 0x10200073; }
export function wfi(): u32 { return 0x10500073; }
export function sfenceVma(): u32 { return 0x12000073; }
export function csrrw(rd: u32, csr: u32, rs1: u32): u32 { return encodeI(0x73, rd, 1, rs1, <i32>csr); }
export function csrrs(rd: u32, csr: u32, rs1: u32): u32 { return encodeI(0x73, rd, 2, rs1, <i32>csr); }
export function csrrc(rd: u32, csr: u32, rs1: u32): u32 { return encodeI(0x73, rd, 3, rs1, <i32>csr); }
export function csrrwi(rd: u32, csr: u32, uimm: u32): u32 { return encodeI(0x73, rd, 5, uimm, <i32>csr); }
export function csrrsi(rd: u32, csr: u32, uimm: u32): u32 { return encodeI(0x73, rd, 6, uimm, <i32>csr); }
export function csrrci(rd: u32, csr: u32, uimm: u32): u32 { return encodeI(0x73, rd, 7, uimm, <i32>csr); }
/** `j .`: a one-instruction infinite loop, used as a landing pad. */
export function spin(): u32 { return jal(ZERO, 0); }

// RV32C: 16-bit encodings, one function per instruction. Registers are full register
// numbers; the 3-bit fields take x8..x15 (s0, s1, a0..a5). Offsets and immediates are
// byte values as written in assembly. encode.spec.ts checks these against llvm-mc.

/** The 3-bit field of x8..x15. */
function p3(r: u32): u32 { return (r - 8) & 7; }

function cBits(value: u32, from: u32, to: u32, count: u32 = 1): u32 {
  return ((value >> from) & ((1 << count) - 1)) << to;
}

export function cAddi4spn(rd: u32, uimm: u32): u32 {
  return cBits(uimm, 4, 11, 2) | cBits(uimm, 6, 7, 4) | cBits(uimm, 2, 6) | cBits(uimm, 3, 5) | (p3(rd) << 2);
}
function cLwSw(funct3: u32, r: u32, rs1: u32, uimm: u32): u32 {
  return (funct3 << 13) | cBits(uimm, 3, 10, 3) | (p3(rs1) << 7) | cBits(uimm, 2, 6) | cBits(uimm, 6, 5) | (p3(r) << 2);
}
export function cLw(rd: u32, rs1: u32, uimm: u32): u32 { return cLwSw(2, rd, rs1, uimm); }
export function cSw(rs2: u32, rs1: u32, uimm: u32): u32 { return cLwSw(6, rs2, rs1, uimm); }
/** CI format: funct3, imm[5] at 12, rd at 11:7, imm[4:0] at 6:2. */
function cI(funct3: u32, rd: u32, imm: i32, op: u32): u32 {
  const u = <u32>imm;
  return (funct3 << 13) | cBits(u, 5, 12) | ((rd & 31) << 7) | cBits(u, 0, 2, 5) | op;
}
export function cNop(): u32 { return 0x0001; }
export function cAddi(rd: u32, imm: i32): u32 { return cI(0, rd, imm, 1); }
export function cLi(rd: u32, imm: i32): u32 { return cI(2, rd, imm, 1); }
/** `upper` is the 6-bit signed value of bits 17:12, as in `c.lui rd, upper`. */
export function cLui(rd: u32, upper: i32): u32 { return cI(3, rd, upper, 1); }
export function cSlli(rd: u32, shamt: u32): u32 { return cI(0, rd, <i32>shamt, 2); }
function cJOffset(offset: i32): u32 {
  const u = <u32>offset;
  return cBits(u, 11, 12) | cBits(u, 4, 11) | cBits(u, 8, 9, 2) | cBits(u, 10, 8) | cBits(u, 6, 7) |
    cBits(u, 7, 6) | cBits(u, 1, 3, 3) | cBits(u, 5, 2);
}
export function cJal(offset: i32): u32 { return (1 << 13) | cJOffset(offset) | 1; }
export function cJ(offset: i32): u32 { return (5 << 13) | cJOffset(offset) | 1; }
export function cAddi16sp(imm: i32): u32 {
  const u = <u32>imm;
  return (3 << 13) | cBits(u, 9, 12) | (2 << 7) | cBits(u, 4, 6) | cBits(u, 6, 5) | cBits(u, 7, 3, 2) | cBits(u, 5, 2) | 1;
}
function cShiftAnd(kind: u32, rd: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (4 << 13) | cBits(u, 5, 12) | (kind << 10) | (p3(rd) << 7) | cBits(u, 0, 2, 5) | 1;
}
export function cSrli(rd: u32, shamt: u32): u32 { return cShiftAnd(0, rd, <i32>shamt); }
export function cSrai(rd: u32, shamt: u32): u32 { return cShiftAnd(1, rd, <i32>shamt); }
export function cAndi(rd: u32, imm: i32): u32 { return cShiftAnd(2, rd, imm); }
function cArith(kind: u32, rd: u32, rs2: u32): u32 {
  return (0x23 << 10) | (p3(rd) << 7) | (kind << 5) | (p3(rs2) << 2) | 1;
}
export function cSub(rd: u32, rs2: u32): u32 { return cArith(0, rd, rs2); }
export function cXor(rd: u32, rs2: u32): u32 { return cArith(1, rd, rs2); }
export function cOr(rd: u32, rs2: u32): u32 { return cArith(2, rd, rs2); }
export function cAnd(rd: u32, rs2: u32): u32 { return cArith(3, rd, rs2); }
function cBranch(funct3: u32, rs1: u32, offset: i32): u32 {
  const u = <u32>offset;
  return (funct3 << 13) | cBits(u, 8, 12) | cBits(u, 3, 10, 2) | (p3(rs1) << 7) | cBits(u, 6, 5, 2) |
    cBits(u, 1, 3, 2) | cBits(u, 5, 2) | 1;
}
export function cBeqz(rs1: u32, offset: i32): u32 { return cBranch(6, rs1, offset); }
export function cBnez(rs1: u32, offset: i32): u32 { return cBranch(7, rs1, offset); }
export function cLwsp(rd: u32, uimm: u32): u32 {
  return (2 << 13) | cBits(uimm, 5, 12) | ((rd & 31) << 7) | cBits(uimm, 2, 4, 3) | cBits(uimm, 6, 2, 2) | 2;
}
export function cSwsp(rs2: u32, uimm: u32): u32 {
  return (6 << 13) | cBits(uimm, 2, 9, 4) | cBits(uimm, 6, 7, 2) | ((rs2 & 31) << 2) | 2;
}
function cR(funct4: u32, rd: u32, rs2: u32): u32 { return (funct4 << 12) | ((rd & 31) << 7) | ((rs2 & 31) << 2) | 2; }
export function cJr(rs1: u32): u32 { return cR(8, rs1, 0); }
export function cMv(rd: u32, rs2: u32): u32 { return cR(8, rd, rs2); }
export function cEbreak(): u32 { return 0x9002; }
export function cJalr(rs1: u32): u32 { return cR(9, rs1, 0); }
export function cAdd(rd: u32, rs2: u32): u32 { return cR(9, rd, rs2); }

// RV32A
export function amo(funct5: u32, rd: u32, rs1: u32, rs2: u32, aq: u32 = 0, rl: u32 = 0): u32 {
  return (funct5 << 27) | (aq << 26) | (rl << 25) | encodeR(0x2F, rd, 2, rs1, rs2, 0);
}
export function lrW(rd: u32, rs1: u32): u32 { return amo(0x02, rd, rs1, 0); }
export function scW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x03, rd, rs1, rs2); }
export function amoswapW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x01, rd, rs1, rs2); }
export function amoaddW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x00, rd, rs1, rs2); }
export function amoxorW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x04, rd, rs1, rs2); }
export function amoandW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x0C, rd, rs1, rs2); }
export function amoorW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x08, rd, rs1, rs2); }
export function amominW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x10, rd, rs1, rs2); }
export function amomaxW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x14, rd, rs1, rs2); }
export function amominuW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x18, rd, rs1, rs2); }
export function amomaxuW(rd: u32, rs2: u32, rs1: u32): u32 { return amo(0x1C, rd, rs1, rs2); }
