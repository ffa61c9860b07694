// The tests' own assembler (helpers/encode.ts) against encodings from llvm-mc 14
// (llvm-mc -triple=riscv32 -mattr=+m -show-encoding), so that the instruction tests
// exercise the instructions they name.
import {
  add, addi, and, andi, auipc, beq, bge, bgeu, blt, bltu, bne, csrrc, csrrci, csrrs, csrrsi, csrrw, csrrwi,
  div, divu, ebreak, ecall, fence, fenceI, jal, jalr, lb, lbu, lh, lhu, lui, lw, mret, mul, mulh, mulhsu, mulhu,
  or, ori, rem, remu, sb, sfenceVma, sh, sll, slli, slt, slti, sltiu, sltu, sra, srai, sret, srl, srli, sub, sw,
  wfi, xor, xori,
  amoaddW, amoandW, amomaxuW, amomaxW, amominuW, amominW, amoorW, amoswapW, amoxorW, amo, lrW, scW,
  cAdd, cAddi, cAddi16sp, cAddi4spn, cAnd, cAndi, cBeqz, cBnez, cEbreak, cJ, cJal, cJalr, cJr, cLi, cLui, cLw, cLwsp,
  cMv, cNop, cOr, cSlli, cSrai, cSrli, cSub, cSw, cSwsp, cXor,
} from "./helpers/encode";

function check(actual: u32, expected: u32, text: string): void {
  expect(actual).toBe(expected, text);
}

describe("test assembler", () => {
  it("encodes U and J formats like llvm-mc", () => {
    check(lui(5, 0xABCDE), 0xABCDE2B7, "lui t0, 0xabcde");
    check(auipc(6, 0xFFFFF), 0xFFFFF317, "auipc t1, 0xfffff");
    check(jal(1, 2048), 0x001000EF, "jal ra, 2048");
    check(jal(0, -4), 0xFFDFF06F, "j -4");
    check(jalr(1, 5, -1), 0xFFF280E7, "jalr ra, -1(t0)");
  });

  it("encodes B format like llvm-mc", () => {
    check(beq(1, 2, -4096), 0x80208063, "beq ra, sp, -4096");
    check(bne(3, 4, 4094), 0x7E419FE3, "bne gp, tp, 4094");
    check(blt(5, 6, 16), 0x0062C863, "blt t0, t1, 16");
    check(bge(7, 8, -2), 0xFE83DFE3, "bge t2, s0, -2");
    check(bltu(9, 10, 2), 0x00A4E163, "bltu s1, a0, 2");
    check(bgeu(11, 12, 1234), 0x4CC5F963, "bgeu a1, a2, 1234");
  });

  it("encodes loads and stores like llvm-mc", () => {
    check(lb(1, 2, -2048), 0x80010083, "lb");
    check(lh(3, 4, 2047), 0x7FF21183, "lh");
    check(lw(5, 6, -1), 0xFFF32283, "lw");
    check(lbu(7, 8, 1), 0x00144383, "lbu");
    check(lhu(9, 10, 0), 0x00055483, "lhu");
    check(sb(1, 2, -2048), 0x80110023, "sb");
    check(sh(3, 4, 2047), 0x7E321FA3, "sh");
    check(sw(5, 6, -1), 0xFE532FA3, "sw");
  });

  it("encodes OP-IMM like llvm-mc", () => {
    check(addi(1, 2, -1), 0xFFF10093, "addi");
    check(slti(3, 4, 5), 0x00522193, "slti");
    check(sltiu(5, 6, -5), 0xFFB33293, "sltiu");
    check(xori(7, 8, 0x7FF), 0x7FF44393, "xori");
    check(ori(9, 10, -2048), 0x80056493, "ori");
    check(andi(11, 12, 0x55), 0x05567593, "andi");
    check(slli(13, 14, 31), 0x01F71693, "slli");
    check(srli(15, 16, 1), 0x00185793, "srli");
    check(srai(17, 18, 31), 0x41F95893, "srai");
  });

  it("encodes OP and M like llvm-mc", () => {
    check(add(1, 2, 3), 0x003100B3, "add");
    check(sub(4, 5, 6), 0x40628233, "sub");
    check(sll(7, 8, 9), 0x009413B3, "sll");
    check(slt(10, 11, 12), 0x00C5A533, "slt");
    check(sltu(13, 14, 15), 0x00F736B3, "sltu");
    check(xor(16, 17, 18), 0x0128C833, "xor");
    check(srl(19, 20, 21), 0x015A59B3, "srl");
    check(sra(22, 23, 24), 0x418BDB33, "sra");
    check(or(25, 26, 27), 0x01BD6CB3, "or");
    check(and(28, 29, 30), 0x01EEFE33, "and");
    check(mul(1, 2, 3), 0x023100B3, "mul");
    check(mulh(4, 5, 6), 0x02629233, "mulh");
    check(mulhsu(7, 8, 9), 0x029423B3, "mulhsu");
    check(mulhu(10, 11, 12), 0x02C5B533, "mulhu");
    check(div(13, 14, 15), 0x02F746B3, "div");
    check(divu(16, 17, 18), 0x0328D833, "divu");
    check(rem(19, 20, 21), 0x035A69B3, "rem");
    check(remu(22, 23, 31), 0x03FBFB33, "remu");
  });

  it("encodes SYSTEM and FENCE like llvm-mc", () => {
    check(fence(), 0x0FF0000F, "fence");
    check(fenceI(), 0x0000100F, "fence.i");
    check(ecall(), 0x00000073, "ecall");
    check(ebreak(), 0x00100073, "ebreak");
    check(mret(), 0x30200073, "mret");
    check(sret(), 0x10200073, "sret");
    check(wfi(), 0x10500073, "wfi");
    check(sfenceVma(), 0x12000073, "sfence.vma");
    check(csrrw(1, 0x340, 2), 0x340110F3, "csrrw ra, mscratch, sp");
    check(csrrs(3, 0x300, 4), 0x300221F3, "csrrs gp, mstatus, tp");
    check(csrrc(5, 0x304, 6), 0x304332F3, "csrrc t0, mie, t1");
    check(csrrwi(7, 0x305, 31), 0x305FD3F3, "csrrwi t2, mtvec, 31");
    check(csrrsi(8, 0xC00, 1), 0xC000E473, "csrrsi s0, cycle, 1");
    check(csrrci(9, 0x100, 2), 0x100174F3, "csrrci s1, sstatus, 2");
  });

  it("encodes every RV32C instruction like llvm-mc (-mattr=+c)", () => {
    check(cAddi4spn(8, 1020), 0x1FE0, "c.addi4spn s0, sp, 1020");
    check(cAddi4spn(15, 4), 0x005C, "c.addi4spn a5, sp, 4");
    check(cLw(10, 9, 124), 0x5CE8, "c.lw a0, 124(s1)");
    check(cSw(15, 14, 64), 0xC33C, "c.sw a5, 64(a4)");
    check(cNop(), 0x0001, "c.nop");
    check(cAddi(10, -32), 0x1501, "c.addi a0, -32");
    check(cAddi(5, 31), 0x02FD, "c.addi t0, 31");
    check(cJal(2046), 0x2FFD, "c.jal 2046");
    check(cJal(-2048), 0x3001, "c.jal -2048");
    check(cLi(11, -1), 0x55FD, "c.li a1, -1");
    check(cAddi16sp(-512), 0x7101, "c.addi16sp sp, -512");
    check(cAddi16sp(496), 0x617D, "c.addi16sp sp, 496");
    check(cLui(6, -31), 0x7305, "c.lui t1, 0xfffe1");
    check(cLui(10, 31), 0x657D, "c.lui a0, 31");
    check(cSrli(10, 31), 0x817D, "c.srli a0, 31");
    check(cSrai(9, 1), 0x8485, "c.srai s1, 1");
    check(cAndi(12, -3), 0x9A75, "c.andi a2, -3");
    check(cSub(8, 9), 0x8C05, "c.sub s0, s1");
    check(cXor(10, 15), 0x8D3D, "c.xor a0, a5");
    check(cOr(13, 14), 0x8ED9, "c.or a3, a4");
    check(cAnd(11, 12), 0x8DF1, "c.and a1, a2");
    check(cJ(-2), 0xBFFD, "c.j -2");
    check(cBeqz(10, -256), 0xD101, "c.beqz a0, -256");
    check(cBnez(9, 254), 0xECFD, "c.bnez s1, 254");
    check(cSlli(7, 31), 0x03FE, "c.slli t2, 31");
    check(cLwsp(1, 252), 0x50FE, "c.lwsp ra, 252(sp)");
    check(cJr(1), 0x8082, "c.jr ra");
    check(cMv(10, 31), 0x857E, "c.mv a0, t6");
    check(cEbreak(), 0x9002, "c.ebreak");
    check(cJalr(5), 0x9282, "c.jalr t0");
    check(cAdd(18, 19), 0x994E, "c.add s2, s3");
    check(cSwsp(8, 252), 0xDFA2, "c.swsp s0, 252(sp)");
  });

  it("encodes every RV32A instruction like llvm-mc (-mattr=+a)", () => {
    check(lrW(10, 11), 0x1005A52F, "lr.w a0, (a1)");
    check(amo(0x02, 5, 6, 0, 1, 1), 0x160322AF, "lr.w.aqrl t0, (t1)");
    check(scW(12, 13, 14), 0x18D7262F, "sc.w a2, a3, (a4)");
    check(amo(0x03, 0, 2, 5, 0, 1), 0x1A51202F, "sc.w.rl zero, t0, (sp)");
    check(amoswapW(10, 11, 12), 0x08B6252F, "amoswap.w");
    check(amo(0x00, 10, 12, 11, 1, 0), 0x04B6252F, "amoadd.w.aq");
    check(amoaddW(10, 11, 12), 0x00B6252F, "amoadd.w");
    check(amoxorW(10, 11, 12), 0x20B6252F, "amoxor.w");
    check(amoandW(10, 11, 12), 0x60B6252F, "amoand.w");
    check(amoorW(10, 11, 12), 0x40B6252F, "amoor.w");
    check(amominW(10, 11, 12), 0x80B6252F, "amomin.w");
    check(amomaxW(10, 11, 12), 0xA0B6252F, "amomax.w");
    check(amominuW(10, 11, 12), 0xC0B6252F, "amominu.w");
    check(amo(0x1C, 10, 12, 11, 1, 1), 0xE6B6252F, "amomaxu.w.aqrl");
    check(amomaxuW(10, 11, 12), 0xE0B6252F, "amomaxu.w");
  });
});
