// Decode + execute of every RV32C instruction (decode.ts, hart.ts): each compressed
// instruction must do exactly what its 32-bit expansion does, advance the pc by 2, count
// as one instruction, and the reserved encodings must raise an illegal-instruction
// exception with mtval = the 16 instruction bits. Then mixed 16/32-bit code: 32-bit
// instructions at 2-byte aligned pcs, straddling a page and the end of RAM, and
// self-modifying compressed code.
import { CAUSE_BREAKPOINT, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION, KIND_MACHINE, MODE_M, PAGE_BYTES, RAM_BASE } from "../config";
import { Vm } from "../vm";
import {
  addi, cAdd, cAddi, cAddi16sp, cAddi4spn, cAnd, cAndi, cBeqz, cBnez, cEbreak, cJ, cJal, cJalr, cJr, cLi, cLui, cLw,
  cLwsp, cMv, cNop, cOr, cSlli, cSrai, cSrli, cSub, cSw, cSwsp, cXor, jal, lui, sh, sw,
} from "./helpers/encode";
import {
  CODE, DATA, halvesOf, M_HANDLER, machineTrap, machineVm, newVm, peek, poke, pokeHalves, reg, setRegister, step, Trap,
} from "./helpers/vm";

const SP: u32 = 2, RA: u32 = 1, S0: u32 = 8, S1: u32 = 9, A0: u32 = 10, A1: u32 = 11, A5: u32 = 15, T0: u32 = 5;

/** Runs the compressed instruction `h` at CODE + 2 (a pc that is not 4-byte aligned), registers set from `regs` (pairs r, value). */
function runC(h: u32, regs: u32[] = []): Vm {
  const vm = machineVm();
  pokeHalves(vm, CODE, [cNop(), h, cNop()]);
  for (let i = 0; i + 1 < regs.length; i += 2) setRegister(vm, regs[i], regs[i + 1]);
  vm.pc = CODE + 2;
  expect(step(vm, 1)).toBe(1);
  return vm;
}

/** Result in `rd` of compressed `h` run with `regs`; the pc must have moved on by 2. */
function cResult(h: u32, rd: u32, regs: u32[] = []): u32 {
  const vm = runC(h, regs);
  expect(vm.pc).toBe(CODE + 4, "pc + 2");
  expect(vm.mcause).toBe(0, "unexpected trap");
  return reg(vm, rd);
}

/** `h` must trap as an illegal instruction, mtval = its 16 bits, registers untouched. */
function expectIllegalC(h: u32): void {
  const vm = machineVm();
  pokeHalves(vm, CODE, [cNop(), h, cNop()]);
  for (let r: u32 = 1; r < 32; r++) setRegister(vm, r, 0x1000 + r);
  vm.pc = CODE + 2;
  step(vm, 1);
  expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, CODE + 2, h));
  expect(vm.pc).toBe(M_HANDLER);
  for (let r: u32 = 1; r < 32; r++) expect(reg(vm, r)).toBe(0x1000 + r, "register changed by an illegal instruction");
  expect(vm.trapped).toBe(1);
}

describe("RV32C quadrant 0", () => {
  it("c.addi4spn adds a scaled unsigned immediate to sp", () => {
    expect(cResult(cAddi4spn(S0, 1020), S0, [SP, 0x8000_1000])).toBe(0x8000_13FC);
    expect(cResult(cAddi4spn(A5, 4), A5, [SP, 0xFFFF_FFFE])).toBe(2);
  });

  it("c.addi4spn with a zero immediate is reserved, and so is the all-zero halfword", () => {
    expectIllegalC(0x0000);
    expectIllegalC(0x0008); // nzuimm = 0, rd' = s1
  });

  it("c.lw and c.sw use x8..x15 and a zero-extended word offset", () => {
    const vm = machineVm();
    poke(vm, DATA + 124, [0xDEAD_BEEF]);
    pokeHalves(vm, CODE, [cLw(A0, S1, 124), cSw(A0, 14, 64), cNop()]);
    setRegister(vm, S1, DATA);
    setRegister(vm, 14, DATA + 0x100);
    vm.pc = CODE;
    expect(step(vm, 2)).toBe(2);
    expect(reg(vm, A0)).toBe(0xDEAD_BEEF);
    expect(peek(vm, DATA + 0x140)).toBe(0xDEAD_BEEF);
    expect(vm.pc).toBe(CODE + 4);
  });

  it("the F/D loads and stores of quadrant 0 (c.fld, c.flw, c.fsd, c.fsw) and funct3 4 are illegal", () => {
    expectIllegalC(0x2000 | 0x0100); // c.fld
    expectIllegalC(0x6000 | 0x0100); // c.flw
    expectIllegalC(0xA000 | 0x0100); // c.fsd
    expectIllegalC(0xE000 | 0x0100); // c.fsw
    expectIllegalC(0x8000 | 0x0100); // reserved
  });
});

describe("RV32C quadrant 1", () => {
  it("c.nop changes nothing but the pc, and counts as one instruction", () => {
    const vm = runC(cNop(), [A0, 5]);
    expect(vm.pc).toBe(CODE + 4);
    expect(reg(vm, A0)).toBe(5);
    expect(vm.executed).toBe(1);
  });

  it("c.addi adds a sign-extended 6-bit immediate; zero immediate and rd = x0 are hints", () => {
    expect(cResult(cAddi(A0, -32), A0, [A0, 100])).toBe(68);
    expect(cResult(cAddi(T0, 31), T0, [T0, 0xFFFF_FFFF])).toBe(30);
    expect(cResult(cAddi(A0, 0), A0, [A0, 7])).toBe(7);
    expect(cResult(cAddi(0, 5), 0)).toBe(0);
  });

  it("c.jal links pc + 2 in ra and jumps both ways", () => {
    let vm = runC(cJal(0x40), [RA, 0]);
    expect(vm.pc).toBe(CODE + 0x42);
    expect(reg(vm, RA)).toBe(CODE + 4);
    vm = runC(cJal(-2));
    expect(vm.pc).toBe(CODE);
    expect(reg(vm, RA)).toBe(CODE + 4);
  });

  it("c.li loads a sign-extended 6-bit immediate; rd = x0 is a hint", () => {
    expect(cResult(cLi(A1, -1), A1)).toBe(0xFFFF_FFFF);
    expect(cResult(cLi(A1, 31), A1)).toBe(31);
    expect(cResult(cLi(0, 3), 0)).toBe(0);
  });

  it("c.addi16sp adds a multiple of 16 to sp; a zero immediate is reserved", () => {
    expect(cResult(cAddi16sp(-512), SP, [SP, 0x8000_4000])).toBe(0x8000_3E00);
    expect(cResult(cAddi16sp(496), SP, [SP, 0x8000_4000])).toBe(0x8000_41F0);
    expect(cResult(cAddi16sp(16), SP, [SP, 0])).toBe(16);
    expectIllegalC(cAddi16sp(0));
  });

  it("c.lui loads a sign-extended upper immediate; a zero immediate is reserved, rd = x0 a hint", () => {
    expect(cResult(cLui(6, -31), 6)).toBe(0xFFFE_1000);
    expect(cResult(cLui(A0, 31), A0)).toBe(0x0001_F000);
    expect(cResult(cLui(A0, 1), A0)).toBe(0x1000);
    expectIllegalC(cLui(A0, 0));
    expect(cResult(cLui(0, 1), 0)).toBe(0);
  });

  it("c.srli, c.srai shift x8..x15; shamt[5] = 1 is reserved on RV32", () => {
    expect(cResult(cSrli(A0, 31), A0, [A0, 0x8000_0000])).toBe(1);
    expect(cResult(cSrai(S1, 1), S1, [S1, 0x8000_0000])).toBe(0xC000_0000);
    expect(cResult(cSrli(A0, 4), A0, [A0, 0xF000_0000])).toBe(0x0F00_0000);
    expect(cResult(cSrai(A0, 4), A0, [A0, 0xF000_0000])).toBe(0xFF00_0000);
    expectIllegalC(cSrli(A0, 32));
    expectIllegalC(cSrai(A0, 33));
  });

  it("c.andi ands a sign-extended immediate", () => {
    expect(cResult(cAndi(12, -3), 12, [12, 0xFFFF_FFFF])).toBe(0xFFFF_FFFD);
    expect(cResult(cAndi(12, 15), 12, [12, 0x1234_5678])).toBe(8);
  });

  it("c.sub, c.xor, c.or, c.and; c.subw and c.addw (RV64) are illegal", () => {
    expect(cResult(cSub(S0, S1), S0, [S0, 5, S1, 7])).toBe(0xFFFF_FFFE);
    expect(cResult(cXor(A0, A5), A0, [A0, 0xFF00, A5, 0x0FF0])).toBe(0xF0F0);
    expect(cResult(cOr(13, 14), 13, [13, 0xF000, 14, 0x000F])).toBe(0xF00F);
    expect(cResult(cAnd(A1, 12), A1, [A1, 0xFF, 12, 0x3C])).toBe(0x3C);
    expectIllegalC(cSub(S0, S1) | 0x1000);
    expectIllegalC(cAnd(S0, S1) | 0x1000);
  });

  it("c.j jumps both ways without linking", () => {
    let vm = runC(cJ(-2), [RA, 9]);
    expect(vm.pc).toBe(CODE);
    expect(reg(vm, RA)).toBe(9);
    vm = runC(cJ(2046));
    expect(vm.pc).toBe(CODE + 2 + 2046);
  });

  it("c.beqz and c.bnez compare x8..x15 with zero, both ways", () => {
    expect(runC(cBeqz(A0, -2), [A0, 0]).pc).toBe(CODE);
    expect(runC(cBeqz(A0, -2), [A0, 1]).pc).toBe(CODE + 4);
    expect(runC(cBnez(S1, 254), [S1, 1]).pc).toBe(CODE + 2 + 254);
    expect(runC(cBnez(S1, 254), [S1, 0]).pc).toBe(CODE + 4);
    expect(runC(cBeqz(A0, -256), [A0, 0]).pc).toBe(CODE + 2 - 256);
  });
});

describe("RV32C quadrant 2", () => {
  it("c.slli shifts any register; shamt[5] = 1 is reserved; rd = x0 is a hint", () => {
    expect(cResult(cSlli(7, 31), 7, [7, 3])).toBe(0x8000_0000);
    expect(cResult(cSlli(A0, 0), A0, [A0, 3])).toBe(3);
    expect(cResult(cSlli(0, 3), 0)).toBe(0);
    expectIllegalC(cSlli(A0, 32));
  });

  it("c.lwsp and c.swsp address from sp with a zero-extended offset; c.lwsp into x0 is reserved", () => {
    const vm = machineVm();
    pokeHalves(vm, CODE, [cSwsp(S0, 252), cLwsp(RA, 252), cNop()]);
    setRegister(vm, SP, DATA);
    setRegister(vm, S0, 0x1234_5678);
    vm.pc = CODE;
    expect(step(vm, 2)).toBe(2);
    expect(peek(vm, DATA + 252)).toBe(0x1234_5678);
    expect(reg(vm, RA)).toBe(0x1234_5678);
    expectIllegalC(cLwsp(0, 4));
  });

  it("c.jr jumps to rs1; c.jr x0 is reserved", () => {
    const vm = runC(cJr(RA), [RA, CODE + 0x41]);
    expect(vm.pc).toBe(CODE + 0x40); // bit 0 cleared as by jalr
    expectIllegalC(cJr(0));
  });

  it("c.jalr links pc + 2 in ra, reading rs1 before the link (also when rs1 = ra)", () => {
    let vm = runC(cJalr(T0), [T0, CODE + 0x80]);
    expect(vm.pc).toBe(CODE + 0x80);
    expect(reg(vm, RA)).toBe(CODE + 4);
    vm = runC(cJalr(RA), [RA, CODE + 0x100]);
    expect(vm.pc).toBe(CODE + 0x100);
    expect(reg(vm, RA)).toBe(CODE + 4);
  });

  it("c.mv copies and c.add adds; rd = x0 is a hint", () => {
    expect(cResult(cMv(A0, 31), A0, [31, 0xABCD])).toBe(0xABCD);
    expect(cResult(cAdd(18, 19), 18, [18, 0xFFFF_FFFF, 19, 2])).toBe(1);
    expect(cResult(cMv(0, 5), 0, [5, 1])).toBe(0);
    expect(cResult(cAdd(0, 5), 0, [5, 1])).toBe(0);
  });

  it("c.ebreak raises a breakpoint with mepc = mtval = its pc", () => {
    const vm = runC(cEbreak());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_BREAKPOINT, CODE + 2, CODE + 2));
    expect(vm.pc).toBe(M_HANDLER);
    expect(vm.mode).toBe(MODE_M);
  });

  it("the F/D stack loads and stores (c.fldsp, c.flwsp, c.fsdsp, c.fswsp) are illegal", () => {
    expectIllegalC(0x2002 | 0x0080);
    expectIllegalC(0x6002 | 0x0080);
    expectIllegalC(0xA002 | 0x0080);
    expectIllegalC(0xE002 | 0x0080);
  });
});

describe("mixed 16- and 32-bit code", () => {
  it("a 32-bit instruction at a pc with bit 1 set runs, and links pc + 4", () => {
    const vm = machineVm();
    pokeHalves(vm, CODE, [cLi(A0, 1)].concat(halvesOf(addi(A0, A0, 0x100))).concat([cAddi(A0, 2)]).concat(halvesOf(jal(RA, 8))));
    vm.pc = CODE;
    expect(step(vm, 4)).toBe(4);
    expect(reg(vm, A0)).toBe(0x103);
    expect(reg(vm, RA)).toBe(CODE + 12);
    expect(vm.pc).toBe(CODE + 8 + 8);
  });

  it("a 32-bit instruction straddling a page boundary runs (and a block may end with it)", () => {
    const vm = machineVm();
    const at = CODE + PAGE_BYTES - 2;
    pokeHalves(vm, at - 2, [cLi(A0, 3)].concat(halvesOf(addi(A0, A0, 0x40))).concat([cAddi(A0, 1)]));
    vm.pc = at - 2;
    expect(step(vm, 3)).toBe(3);
    expect(reg(vm, A0)).toBe(0x44);
    expect(vm.pc).toBe(at + 6);
  });

  it("a 32-bit instruction whose second half is past the end of RAM faults with mtval = that half", () => {
    const vm = machineVm();
    const last = RAM_BASE + vm.ramBytes - 2;
    pokeHalves(vm, last, [0x0013]); // the low half of a 32-bit addi
    vm.pc = last;
    step(vm, 1);
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_FETCH_ACCESS, last, last + 2));
    // A compressed instruction in the last halfword of RAM runs.
    pokeHalves(vm, last, [cLi(A0, 9)]);
    vm.pc = last;
    vm.mcause = 0;
    expect(step(vm, 2)).toBe(2);
    expect(reg(vm, A0)).toBe(9);
    expect(machineTrap(vm).cause).toBe(CAUSE_FETCH_ACCESS); // and then the fetch at RAM's end faults
    expect(vm.mtval).toBe(last + 2);
  });

  it("long straight-line compressed code runs across block and page ends, counting every instruction", () => {
    const vm = newVm(KIND_MACHINE, 64 * 1024);
    const count = 3000; // more than a page of 2-byte instructions
    const code: u32[] = [];
    for (let i = 0; i < count; i++) code.push(cAddi(A0, 1));
    code.push(cJ(0));
    pokeHalves(vm, CODE, code);
    vm.pc = CODE;
    expect(step(vm, count)).toBe(count);
    expect(reg(vm, A0)).toBe(<u32>count);
    expect(vm.pc).toBe(CODE + <u32>count * 2);
  });

  it("a slice ends after exactly its budget, in the middle of a block", () => {
    const vm = machineVm();
    pokeHalves(vm, CODE, [cAddi(A0, 1), cAddi(A0, 1), cAddi(A0, 1), cAddi(A0, 1), cAddi(A0, 1), cJ(-10)]);
    vm.pc = CODE;
    for (let i: u32 = 1; i <= 12; i++) {
      expect(step(vm, 1)).toBe(1);
      expect(<u32>vm.executed).toBe(i);
    }
    expect(reg(vm, A0)).toBe(10); // 5 + jump + 5, then the jump again
    expect(vm.pc).toBe(CODE);
  });
});

describe("self-modifying compressed code", () => {
  it("sh over a decoded compressed instruction runs the new one", () => {
    const vm = machineVm();
    // 0: c.addi a0, 1   2: c.nop   4: sh t1, 0(t2)   8: c.j 0
    pokeHalves(vm, CODE, [cAddi(A0, 1), cNop()].concat(halvesOf(sh(6, 7, 0))).concat([cJ(-8)]));
    setRegister(vm, 6, cAddi(A0, 16));
    setRegister(vm, 7, CODE);
    vm.pc = CODE;
    step(vm, 4);
    expect(reg(vm, A0)).toBe(1);
    step(vm, 1);
    expect(reg(vm, A0)).toBe(17, "the stale decoded instruction ran");
  });

  it("a store to the upper half of a decoded 32-bit instruction at a 2-byte aligned pc invalidates it", () => {
    const vm = machineVm();
    // 0: c.nop   2: lui a0, 0x10001 (32 bits)   6: c.j -6 ; at DATA: sh over the lui's upper half, j CODE
    expect(lui(A0, 0x10001) & 0xFFFF).toBe(lui(A0, 0x20001) & 0xFFFF);
    poke(vm, DATA, [sh(6, 7, 0), jal(0, <i32>(CODE - DATA) - 4)]);
    pokeHalves(vm, CODE, [cNop()].concat(halvesOf(lui(A0, 0x10001))).concat([cJ(-6)]));
    vm.pc = CODE;
    step(vm, 3);
    expect(reg(vm, A0)).toBe(0x1000_1000);
    setRegister(vm, 6, lui(A0, 0x20001) >> 16);
    setRegister(vm, 7, CODE + 4);
    vm.pc = DATA;
    step(vm, 4); // sh, j CODE, c.nop, lui
    expect(reg(vm, A0)).toBe(0x2000_1000, "the stale decoded instruction ran");
  });

  it("a store can turn a compressed instruction into the first half of a 32-bit one", () => {
    const vm = machineVm();
    // 0: c.li a0, 1   2: c.li a1, 2   4: sw t1, 0(t2) ... loops back to 0
    pokeHalves(vm, CODE, [cLi(A0, 1), cLi(A1, 2)].concat(halvesOf(sw(6, 7, 0))).concat([cJ(-8)]));
    const wide = addi(A0, 0, 0x123); // replaces both compressed instructions
    setRegister(vm, 6, wide);
    setRegister(vm, 7, CODE);
    vm.pc = CODE;
    step(vm, 4);
    expect(reg(vm, A0)).toBe(1);
    setRegister(vm, A1, 0);
    step(vm, 1);
    expect(reg(vm, A0)).toBe(0x123);
    expect(reg(vm, A1)).toBe(0, "the second, overwritten compressed instruction ran");
    expect(vm.pc).toBe(CODE + 4);
  });
});
