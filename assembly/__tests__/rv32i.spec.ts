// Decode + execute of every RV32I instruction (decode.ts, hart.ts): instructions are
// written into a machine VM's RAM, run through executeSlice, and their effect on
// registers, memory and the pc is checked. Traps go to M-mode (no delegation) with
// mtvec = M_HANDLER.
import { CAUSE_ILLEGAL_INSTRUCTION, CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_FETCH, CAUSE_STORE_ACCESS, EXIT_RUNNING, MODE_M, RAM_BASE } from "../config";
import { Vm } from "../vm";
import {
  add, addi, and, andi, auipc, beq, bge, bgeu, blt, bltu, bne, encodeI, encodeR, encodeS, encodeB, fence, fenceI,
  jal, jalr, lb, lbu, lh, lhu, lui, lw, or, ori, sb, sh, sll, slli, slt, slti, sltiu, sltu, sra, srai, srl, srli,
  sub, sw, xor, xori, mul,
} from "./helpers/encode";
import {
  CODE, DATA, M_HANDLER, RAM_BYTES, machineTrap, machineVm, peek, peekByte, poke, program, reg, setRegister, step, Trap,
} from "./helpers/vm";

const INT_MIN: u32 = 0x8000_0000;
const INT_MAX: u32 = 0x7FFF_FFFF;
const ALL_ONES: u32 = 0xFFFF_FFFF;

/** Runs the single instruction `inst` at `at` in a clean machine VM whose registers are set first. */
function runAt(at: u32, inst: u32, x1: u32 = 0, x2: u32 = 0): Vm {
  const vm = machineVm();
  poke(vm, at, [inst]);
  vm.pc = at;
  setRegister(vm, 1, x1);
  setRegister(vm, 2, x2);
  expect(step(vm, 1)).toBe(1);
  return vm;
}

/** Result in x3 of `inst` (x3 = op(x1, x2 or imm)) run with x1 and x2. */
function result(inst: u32, x1: u32, x2: u32 = 0): u32 {
  const vm = runAt(CODE, inst, x1, x2);
  expect(vm.pc).toBe(CODE + 4);
  return reg(vm, 3);
}

/** Checks that `inst` traps as an illegal instruction with mtval = its bits. */
function expectIllegal(inst: u32): void {
  const vm = machineVm();
  poke(vm, CODE + 8, [inst]);
  vm.pc = CODE + 8;
  for (let r: u32 = 1; r < 32; r++) setRegister(vm, r, 0x1000 + r);
  step(vm, 1);
  expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, CODE + 8, inst));
  expect(vm.pc).toBe(M_HANDLER);
  expect(vm.mode).toBe(MODE_M);
  for (let r: u32 = 1; r < 32; r++) expect(reg(vm, r)).toBe(0x1000 + r, "register changed by an illegal instruction");
  expect(vm.trapped).toBe(1);
}

describe("LUI and AUIPC", () => {
  it("lui loads the upper 20 bits and clears the low 12", () => {
    const vm = runAt(CODE, lui(5, 0xABCDE));
    expect(reg(vm, 5)).toBe(0xABCDE000);
    expect(vm.pc).toBe(CODE + 4);
    expect(reg(runAt(CODE, lui(5, 0xFFFFF), 0), 5)).toBe(0xFFFFF000);
    expect(reg(runAt(CODE, lui(5, 0)), 5)).toBe(0);
  });

  it("auipc adds the upper immediate to its own pc", () => {
    expect(reg(runAt(CODE + 0x100, auipc(6, 1)), 6)).toBe(CODE + 0x1100);
    expect(reg(runAt(CODE + 0x100, auipc(6, 0)), 6)).toBe(CODE + 0x100);
    expect(reg(runAt(CODE + 0x104, auipc(6, 0xFFFFF)), 6)).toBe(CODE + 0x104 - 0x1000);
    expect(reg(runAt(CODE + 0x200, auipc(6, 0x80000)), 6)).toBe(0x0000_0200);
  });

  it("gives each pc its own auipc result (decode resolves against the right pc)", () => {
    const vm = machineVm();
    program(vm, [auipc(5, 0), auipc(6, 0), auipc(7, 2)]);
    step(vm, 3);
    expect(reg(vm, 5)).toBe(CODE);
    expect(reg(vm, 6)).toBe(CODE + 4);
    expect(reg(vm, 7)).toBe(CODE + 8 + 0x2000);
  });
});

describe("JAL and JALR", () => {
  it("jal links pc + 4 and jumps forward and backward", () => {
    let vm = runAt(CODE, jal(1, 16));
    expect(reg(vm, 1)).toBe(CODE + 4);
    expect(vm.pc).toBe(CODE + 16);
    vm = runAt(CODE + 0x800, jal(1, -0x800));
    expect(reg(vm, 1)).toBe(CODE + 0x804);
    expect(vm.pc).toBe(CODE);
    vm = runAt(CODE + 0x100, jal(1, 0));
    expect(vm.pc).toBe(CODE + 0x100);
  });

  it("jal with rd = x0 jumps without linking", () => {
    const vm = runAt(CODE, jal(0, 8));
    expect(vm.pc).toBe(CODE + 8);
    expect(reg(vm, 0)).toBe(0);
  });

  it("jal to a target that is only 2-byte aligned jumps there (IALIGN = 16 with C)", () => {
    const vm = runAt(CODE + 0x10, jal(1, 6), 0x1111);
    expect(vm.pc).toBe(CODE + 0x16);
    expect(reg(vm, 1)).toBe(CODE + 0x14);
    expect(vm.mcause).toBe(0);
  });

  it("jalr jumps to rs1 + imm and links pc + 4", () => {
    const vm = runAt(CODE + 4, jalr(1, 2, -4), 0, CODE + 0x44);
    expect(vm.pc).toBe(CODE + 0x40);
    expect(reg(vm, 1)).toBe(CODE + 8);
  });

  it("jalr clears bit 0 of the target", () => {
    let vm = runAt(CODE, jalr(1, 2, 1), 0, CODE + 0x40);
    expect(vm.pc).toBe(CODE + 0x40);
    expect(vm.mcause).toBe(0);
    vm = runAt(CODE, jalr(1, 2, 0), 0, CODE + 0x41);
    expect(vm.pc).toBe(CODE + 0x40);
    expect(reg(vm, 1)).toBe(CODE + 4);
  });

  it("jalr with rd = rs1 uses the old value as the base", () => {
    const vm = runAt(CODE, jalr(2, 2, 0x10), 0, CODE + 0x20);
    expect(vm.pc).toBe(CODE + 0x30);
    expect(reg(vm, 2)).toBe(CODE + 4);
  });

  it("jalr to a target with bit 1 set jumps there (IALIGN = 16), bit 0 cleared", () => {
    const vm = runAt(CODE + 8, jalr(1, 2, 0), 0x2222, CODE + 0x42);
    expect(vm.pc).toBe(CODE + 0x42);
    expect(reg(vm, 1)).toBe(CODE + 12);
    const vm2 = runAt(CODE, jalr(1, 2, 1), 0, CODE + 0x42);
    expect(vm2.pc).toBe(CODE + 0x42);
    expect(vm2.mcause).toBe(0);
  });

  it("only a pc with bit 0 set (a restored one) traps as a misaligned fetch", () => {
    const vm = machineVm();
    vm.pc = CODE + 0x41;
    step(vm, 1);
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_MISALIGNED_FETCH, CODE + 0x41, CODE + 0x41));
    expect(vm.pc).toBe(M_HANDLER);
    expect(vm.trapped).toBe(1);
  });

  it("jal and jalr with rd = x0 keep x0 zero", () => {
    const vm = machineVm();
    program(vm, [jal(0, 8), 0, jalr(0, 2, 0)]);
    setRegister(vm, 2, CODE + 0x20);
    step(vm, 2);
    expect(vm.pc).toBe(CODE + 0x20);
    expect(reg(vm, 0)).toBe(0);
  });
});

/** Runs branch `make(1, 2, offset)` at CODE + 0x100 with x1 = a, x2 = b; checks taken or not. */
function branch(make: (rs1: u32, rs2: u32, offset: i32) => u32, a: u32, b: u32, taken: bool, name: string): void {
  const at = CODE + 0x100;
  const offsets: i32[] = [16, -0x100, 4092, -4096];
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i];
    const vm = runAt(at + 0x1000, make(1, 2, offset), a, b);
    const target = <u32>(<i32>(at + 0x1000) + offset);
    expect(vm.pc).toBe(taken ? target : at + 0x1004, name + " " + a.toString() + ", " + b.toString() + " offset " + offset.toString());
    expect(vm.mcause).toBe(0, name + " must not trap");
  }
}

describe("branches", () => {
  it("beq", () => {
    branch(beq, 5, 5, true, "beq");
    branch(beq, 5, 6, false, "beq");
    branch(beq, INT_MIN, INT_MIN, true, "beq");
    branch(beq, 0, INT_MIN, false, "beq");
  });

  it("bne", () => {
    branch(bne, 5, 6, true, "bne");
    branch(bne, 5, 5, false, "bne");
    branch(bne, ALL_ONES, INT_MAX, true, "bne");
  });

  it("blt compares signed", () => {
    branch(blt, ALL_ONES, 0, true, "blt");
    branch(blt, 0, ALL_ONES, false, "blt");
    branch(blt, INT_MIN, INT_MAX, true, "blt");
    branch(blt, INT_MAX, INT_MIN, false, "blt");
    branch(blt, 3, 3, false, "blt");
    branch(blt, INT_MIN, INT_MIN + 1, true, "blt");
  });

  it("bge compares signed", () => {
    branch(bge, 0, ALL_ONES, true, "bge");
    branch(bge, ALL_ONES, 0, false, "bge");
    branch(bge, 3, 3, true, "bge");
    branch(bge, INT_MAX, INT_MIN, true, "bge");
    branch(bge, INT_MIN, INT_MAX, false, "bge");
  });

  it("bltu compares unsigned", () => {
    branch(bltu, 0, ALL_ONES, true, "bltu");
    branch(bltu, ALL_ONES, 0, false, "bltu");
    branch(bltu, INT_MAX, INT_MIN, true, "bltu");
    branch(bltu, INT_MIN, INT_MAX, false, "bltu");
    branch(bltu, 3, 3, false, "bltu");
  });

  it("bgeu compares unsigned", () => {
    branch(bgeu, ALL_ONES, 0, true, "bgeu");
    branch(bgeu, 0, ALL_ONES, false, "bgeu");
    branch(bgeu, INT_MIN, INT_MAX, true, "bgeu");
    branch(bgeu, 3, 3, true, "bgeu");
    branch(bgeu, 0, 0, true, "bgeu");
  });

  it("a taken branch to a 2-byte aligned target goes there (IALIGN = 16), a not-taken one falls through", () => {
    let vm = runAt(CODE + 0x20, beq(1, 2, 6), 7, 7);
    expect(vm.pc).toBe(CODE + 0x26);
    expect(vm.mcause).toBe(0);
    vm = runAt(CODE + 0x20, beq(1, 2, 6), 7, 8);
    expect(vm.pc).toBe(CODE + 0x24);
    vm = runAt(CODE + 0x20, bltu(1, 2, -2), 1, 2);
    expect(vm.pc).toBe(CODE + 0x1E);
    vm = runAt(CODE + 0x20, bge(1, 2, 2), 1, 2);
    expect(vm.pc).toBe(CODE + 0x24);
  });

  it("runs a counted loop", () => {
    // x1 = 10; loop: x3 += x1; x1 -= 1; bne x1, x0, loop
    const vm = machineVm();
    program(vm, [addi(1, 0, 10), add(3, 3, 1), addi(1, 1, -1), bne(1, 0, -8), addi(4, 0, 1)]);
    step(vm, 1 + 3 * 10 + 1);
    expect(reg(vm, 3)).toBe(55);
    expect(reg(vm, 4)).toBe(1);
    expect(vm.pc).toBe(CODE + 20);
  });
});

/** DATA: 81 7F 34 F2 | 11 80 00 00 */
function loadVm(): Vm {
  const vm = machineVm();
  poke(vm, DATA, [0xF2347F81, 0x00008011]);
  return vm;
}

function loaded(inst: u32, base: u32): u32 {
  const vm = loadVm();
  poke(vm, CODE, [inst]);
  setRegister(vm, 1, base);
  setRegister(vm, 3, 0xCCCC_CCCC);
  expect(step(vm, 1)).toBe(1);
  expect(vm.pc).toBe(CODE + 4);
  expect(vm.mcause).toBe(0);
  return reg(vm, 3);
}

function faults(inst: u32, base: u32, cause: u32, address: u32): Vm {
  const vm = machineVm();
  poke(vm, CODE + 0x40, [inst]);
  vm.pc = CODE + 0x40;
  setRegister(vm, 1, base);
  setRegister(vm, 2, 0x5A5A5A5A);
  setRegister(vm, 3, 0x3333);
  expect(step(vm, 1)).toBe(1);
  expect(machineTrap(vm)).toStrictEqual(new Trap(cause, CODE + 0x40, address));
  expect(vm.pc).toBe(M_HANDLER);
  expect(reg(vm, 3)).toBe(0x3333, "destination written by a faulting load");
  expect(vm.exit).toBe(EXIT_RUNNING);
  return vm;
}

function stored(inst: u32, base: u32): Vm {
  const vm = machineVm();
  poke(vm, DATA, [0x11111111, 0x22222222, 0x33333333]);
  poke(vm, CODE, [inst]);
  setRegister(vm, 1, base);
  setRegister(vm, 2, 0xDEADBEEF);
  expect(step(vm, 1)).toBe(1);
  expect(vm.pc).toBe(CODE + 4);
  expect(vm.mcause).toBe(0);
  return vm;
}

describe("loads", () => {
  it("lb sign-extends", () => {
    expect(loaded(lb(3, 1, 0), DATA)).toBe(0xFFFFFF81);
    expect(loaded(lb(3, 1, 1), DATA)).toBe(0x7F);
    expect(loaded(lb(3, 1, -1), DATA + 4)).toBe(0xFFFFFFF2);
  });

  it("lbu zero-extends", () => {
    expect(loaded(lbu(3, 1, 0), DATA)).toBe(0x81);
    expect(loaded(lbu(3, 1, 3), DATA)).toBe(0xF2);
  });

  it("lh sign-extends", () => {
    expect(loaded(lh(3, 1, 0), DATA)).toBe(0x7F81);
    expect(loaded(lh(3, 1, 2), DATA)).toBe(0xFFFFF234);
    expect(loaded(lh(3, 1, -4), DATA + 8)).toBe(0xFFFF8011);
  });

  it("lhu zero-extends", () => {
    expect(loaded(lhu(3, 1, 2), DATA)).toBe(0xF234);
    expect(loaded(lhu(3, 1, 4), DATA)).toBe(0x8011);
  });

  it("lw loads a word, with negative and positive offsets", () => {
    expect(loaded(lw(3, 1, 0), DATA)).toBe(0xF2347F81);
    expect(loaded(lw(3, 1, -2044), DATA + 2048)).toBe(0x00008011);
    expect(loaded(lw(3, 1, 2047), DATA - 2047)).toBe(0xF2347F81);
  });

  it("misaligned loads inside RAM work", () => {
    expect(loaded(lw(3, 1, 1), DATA)).toBe(0x11F2347F);
    expect(loaded(lw(3, 1, 3), DATA)).toBe(0x008011F2);
    expect(loaded(lh(3, 1, 3), DATA)).toBe(0x11F2);
    expect(loaded(lh(3, 1, 1), DATA)).toBe(0x347F);
    expect(loaded(lhu(3, 1, 5), DATA)).toBe(0x0080);
    expect(loaded(lh(3, 1, 3), DATA + 2)).toBe(0x0080);
  });

  it("loads at the very end of RAM work", () => {
    const vm = machineVm();
    const last = RAM_BASE + RAM_BYTES - 4;
    poke(vm, last, [0x89ABCDEF]);
    program(vm, [lw(3, 1, 0), lbu(4, 1, 3), lhu(5, 1, 2)]);
    setRegister(vm, 1, last);
    step(vm, 3);
    expect(reg(vm, 3)).toBe(0x89ABCDEF);
    expect(reg(vm, 4)).toBe(0x89);
    expect(reg(vm, 5)).toBe(0x89AB);
    expect(vm.mcause).toBe(0);
  });

  it("a load into x0 leaves x0 zero", () => {
    const vm = loadVm();
    program(vm, [lw(0, 1, 0), add(3, 0, 0)]);
    setRegister(vm, 1, DATA);
    setRegister(vm, 3, 5);
    step(vm, 2);
    expect(reg(vm, 0)).toBe(0);
    expect(reg(vm, 3)).toBe(0);
  });
});

describe("load and store access faults", () => {
  it("loads outside RAM raise cause 5 with mtval = address", () => {
    faults(lw(3, 1, 0), 0, CAUSE_LOAD_ACCESS, 0);
    faults(lw(3, 1, -4), RAM_BASE, CAUSE_LOAD_ACCESS, RAM_BASE - 4);
    faults(lb(3, 1, 0), RAM_BASE + RAM_BYTES, CAUSE_LOAD_ACCESS, RAM_BASE + RAM_BYTES);
    faults(lbu(3, 1, 0), 0xFFFF_FFFF, CAUSE_LOAD_ACCESS, 0xFFFF_FFFF);
    faults(lh(3, 1, 16), 0x2000_0000, CAUSE_LOAD_ACCESS, 0x2000_0010);
    faults(lhu(3, 1, 0), 0x7FFF_FFFE, CAUSE_LOAD_ACCESS, 0x7FFF_FFFE);
  });

  it("a load straddling the end of RAM faults", () => {
    faults(lw(3, 1, 0), RAM_BASE + RAM_BYTES - 2, CAUSE_LOAD_ACCESS, RAM_BASE + RAM_BYTES - 2);
    faults(lh(3, 1, 0), RAM_BASE + RAM_BYTES - 1, CAUSE_LOAD_ACCESS, RAM_BASE + RAM_BYTES - 1);
  });

  it("stores outside RAM raise cause 7 with mtval = address", () => {
    faults(sw(2, 1, 0), 0, CAUSE_STORE_ACCESS, 0);
    faults(sh(2, 1, -2), RAM_BASE, CAUSE_STORE_ACCESS, RAM_BASE - 2);
    faults(sb(2, 1, 0), RAM_BASE + RAM_BYTES, CAUSE_STORE_ACCESS, RAM_BASE + RAM_BYTES);
    faults(sw(2, 1, 0), 0x4000_0000, CAUSE_STORE_ACCESS, 0x4000_0000);
  });

  it("a store straddling the end of RAM faults and writes nothing", () => {
    const end = RAM_BASE + RAM_BYTES;
    const vm = faults(sw(2, 1, 0), end - 2, CAUSE_STORE_ACCESS, end - 2);
    expect(peek(vm, end - 4)).toBe(0);
    const vm2 = faults(sh(2, 1, 0), end - 1, CAUSE_STORE_ACCESS, end - 1);
    expect(peekByte(vm2, end - 1)).toBe(0);
  });
});

describe("stores", () => {
  it("sb writes one byte", () => {
    const vm = stored(sb(2, 1, 5), DATA);
    expect(peek(vm, DATA)).toBe(0x11111111);
    expect(peek(vm, DATA + 4)).toBe(0x2222EF22);
    expect(peek(vm, DATA + 8)).toBe(0x33333333);
  });

  it("sh writes two bytes", () => {
    const vm = stored(sh(2, 1, -2), DATA + 8);
    expect(peek(vm, DATA + 4)).toBe(0xBEEF2222);
    expect(peek(vm, DATA + 8)).toBe(0x33333333);
  });

  it("sw writes four bytes", () => {
    const vm = stored(sw(2, 1, 4), DATA);
    expect(peek(vm, DATA)).toBe(0x11111111);
    expect(peek(vm, DATA + 4)).toBe(0xDEADBEEF);
    expect(peek(vm, DATA + 8)).toBe(0x33333333);
  });

  it("misaligned stores inside RAM work", () => {
    let vm = stored(sw(2, 1, 2), DATA + 4);
    expect(peek(vm, DATA + 4)).toBe(0xBEEF2222);
    expect(peek(vm, DATA + 8)).toBe(0x3333DEAD);
    vm = stored(sh(2, 1, 3), DATA);
    expect(peek(vm, DATA)).toBe(0xEF111111);
    expect(peek(vm, DATA + 4)).toBe(0x222222BE);
    vm = stored(sw(2, 1, 1), DATA);
    expect(peek(vm, DATA)).toBe(0xADBEEF11);
    expect(peek(vm, DATA + 4)).toBe(0x222222DE);
  });

  it("stores at the very end of RAM work", () => {
    const end = RAM_BASE + RAM_BYTES;
    let vm = stored(sw(2, 1, -4), end);
    expect(peek(vm, end - 4)).toBe(0xDEADBEEF);
    vm = stored(sb(2, 1, -1), end);
    expect(peekByte(vm, end - 1)).toBe(0xEF);
  });

  it("a stored word loads back", () => {
    const vm = machineVm();
    program(vm, [sw(2, 1, 0), lw(3, 1, 0), sb(0, 1, 1), lw(4, 1, 0)]);
    setRegister(vm, 1, DATA);
    setRegister(vm, 2, 0x12345678);
    step(vm, 4);
    expect(reg(vm, 3)).toBe(0x12345678);
    expect(reg(vm, 4)).toBe(0x12340078);
  });
});

describe("OP-IMM", () => {
  it("addi adds a sign-extended immediate and wraps", () => {
    expect(result(addi(3, 1, 1), INT_MAX)).toBe(INT_MIN);
    expect(result(addi(3, 1, -1), 0)).toBe(ALL_ONES);
    expect(result(addi(3, 1, -2048), 0)).toBe(0xFFFFF800);
    expect(result(addi(3, 1, 2047), 1)).toBe(2048);
    expect(result(addi(3, 1, 0), 0x1234)).toBe(0x1234);
  });

  it("slti compares signed", () => {
    expect(result(slti(3, 1, 0), ALL_ONES)).toBe(1);
    expect(result(slti(3, 1, -1), 0)).toBe(0);
    expect(result(slti(3, 1, 5), 5)).toBe(0);
    expect(result(slti(3, 1, -2048), INT_MIN)).toBe(1);
    expect(result(slti(3, 1, 2047), INT_MAX)).toBe(0);
  });

  it("sltiu compares unsigned against the sign-extended immediate", () => {
    expect(result(sltiu(3, 1, -1), 5)).toBe(1); // 5 < 0xFFFFFFFF
    expect(result(sltiu(3, 1, -1), ALL_ONES)).toBe(0);
    expect(result(sltiu(3, 1, 1), 0)).toBe(1); // seqz
    expect(result(sltiu(3, 1, 1), 7)).toBe(0);
    expect(result(sltiu(3, 1, 5), ALL_ONES)).toBe(0);
    expect(result(sltiu(3, 1, -2048), INT_MAX)).toBe(1); // 0x7FFFFFFF < 0xFFFFF800
  });

  it("xori, ori, andi use the sign-extended immediate", () => {
    expect(result(xori(3, 1, -1), 0x0F0F0F0F)).toBe(0xF0F0F0F0); // not
    expect(result(xori(3, 1, 0x555), 0xFFF)).toBe(0xAAA);
    expect(result(ori(3, 1, -2048), 0x12)).toBe(0xFFFFF812);
    expect(result(ori(3, 1, 0x0F0), 0x00F)).toBe(0x0FF);
    expect(result(andi(3, 1, -256), 0xFFFF00FF)).toBe(0xFFFF0000);
    expect(result(andi(3, 1, 0x7FF), ALL_ONES)).toBe(0x7FF);
  });

  it("slli shifts left by 0..31", () => {
    expect(result(slli(3, 1, 0), 0x12345678)).toBe(0x12345678);
    expect(result(slli(3, 1, 1), 0x80000001)).toBe(2);
    expect(result(slli(3, 1, 31), 3)).toBe(INT_MIN);
    expect(result(slli(3, 1, 4), 0x12345678)).toBe(0x23456780);
  });

  it("srli shifts in zeros, srai copies the sign bit", () => {
    expect(result(srli(3, 1, 0), INT_MIN)).toBe(INT_MIN);
    expect(result(srli(3, 1, 31), INT_MIN)).toBe(1);
    expect(result(srli(3, 1, 4), 0xF0000000)).toBe(0x0F000000);
    expect(result(srai(3, 1, 0), INT_MIN)).toBe(INT_MIN);
    expect(result(srai(3, 1, 31), INT_MIN)).toBe(ALL_ONES);
    expect(result(srai(3, 1, 4), 0xF0000000)).toBe(0xFF000000);
    expect(result(srai(3, 1, 31), INT_MAX)).toBe(0);
    expect(result(srai(3, 1, 4), 0x70000000)).toBe(0x07000000);
  });
});

describe("OP", () => {
  it("add and sub wrap around", () => {
    expect(result(add(3, 1, 2), INT_MAX, 1)).toBe(INT_MIN);
    expect(result(add(3, 1, 2), ALL_ONES, ALL_ONES)).toBe(0xFFFFFFFE);
    expect(result(sub(3, 1, 2), 0, 1)).toBe(ALL_ONES);
    expect(result(sub(3, 1, 2), INT_MIN, 1)).toBe(INT_MAX);
    expect(result(sub(3, 1, 2), 10, 3)).toBe(7);
  });

  it("sll, srl, sra use only the low 5 bits of rs2", () => {
    expect(result(sll(3, 1, 2), 1, 0)).toBe(1);
    expect(result(sll(3, 1, 2), 1, 31)).toBe(INT_MIN);
    expect(result(sll(3, 1, 2), 1, 32)).toBe(1);
    expect(result(sll(3, 1, 2), 1, 33)).toBe(2);
    expect(result(srl(3, 1, 2), INT_MIN, 0)).toBe(INT_MIN);
    expect(result(srl(3, 1, 2), INT_MIN, 31)).toBe(1);
    expect(result(srl(3, 1, 2), INT_MIN, 0xFFFFFFE1)).toBe(0x40000000); // shift 1
    expect(result(sra(3, 1, 2), INT_MIN, 0)).toBe(INT_MIN);
    expect(result(sra(3, 1, 2), INT_MIN, 31)).toBe(ALL_ONES);
    expect(result(sra(3, 1, 2), INT_MIN, 36)).toBe(0xF8000000); // shift 4
    expect(result(sra(3, 1, 2), INT_MAX, 31)).toBe(0);
  });

  it("slt and sltu at the edges", () => {
    expect(result(slt(3, 1, 2), ALL_ONES, 0)).toBe(1);
    expect(result(slt(3, 1, 2), 0, ALL_ONES)).toBe(0);
    expect(result(slt(3, 1, 2), INT_MIN, INT_MAX)).toBe(1);
    expect(result(slt(3, 1, 2), INT_MAX, INT_MIN)).toBe(0);
    expect(result(slt(3, 1, 2), 7, 7)).toBe(0);
    expect(result(sltu(3, 1, 2), 0, ALL_ONES)).toBe(1);
    expect(result(sltu(3, 1, 2), ALL_ONES, 0)).toBe(0);
    expect(result(sltu(3, 1, 2), INT_MAX, INT_MIN)).toBe(1);
    expect(result(sltu(3, 1, 2), 7, 7)).toBe(0);
    expect(result(sltu(3, 0, 2), 0, 5)).toBe(1); // snez
  });

  it("xor, or, and", () => {
    expect(result(xor(3, 1, 2), 0xFF00FF00, 0x0FF00FF0)).toBe(0xF0F0F0F0);
    expect(result(or(3, 1, 2), 0xFF00FF00, 0x0FF00FF0)).toBe(0xFFF0FFF0);
    expect(result(and(3, 1, 2), 0xFF00FF00, 0x0FF00FF0)).toBe(0x0F000F00);
  });

  it("rd may equal rs1 and rs2", () => {
    const vm = machineVm();
    program(vm, [add(5, 5, 5), sub(6, 6, 5)]);
    setRegister(vm, 5, 21);
    setRegister(vm, 6, 50);
    step(vm, 2);
    expect(reg(vm, 5)).toBe(42);
    expect(reg(vm, 6)).toBe(8);
  });
});

describe("x0", () => {
  it("stays zero whatever writes it", () => {
    const vm = machineVm();
    program(vm, [
      addi(0, 0, 5), lui(0, 0x12345), auipc(0, 1), add(0, 1, 1), mul(0, 1, 1), slli(0, 1, 3),
      jal(0, 4), addi(3, 0, 0), add(4, 0, 1),
    ]);
    setRegister(vm, 1, 7);
    setRegister(vm, 3, 99);
    step(vm, 9);
    expect(reg(vm, 0)).toBe(0);
    expect(reg(vm, 3)).toBe(0, "x0 read back non-zero");
    expect(reg(vm, 4)).toBe(7);
    expect(vm.pc).toBe(CODE + 36);
  });

  it("cannot be set from outside either (setReg ignores x0)", () => {
    const vm = machineVm();
    setRegister(vm, 0, 0x1234);
    expect(reg(vm, 0)).toBe(0);
  });
});

describe("FENCE", () => {
  it("fence and fence.i only advance the pc", () => {
    const vm = machineVm();
    program(vm, [fence(), fenceI(), addi(5, 0, 1)]);
    step(vm, 3);
    expect(vm.pc).toBe(CODE + 12);
    expect(reg(vm, 5)).toBe(1);
    expect(vm.mcause).toBe(0);
  });
});

describe("illegal encodings", () => {
  it("all zeros and all ones", () => {
    expectIllegal(0x0000_0000);
    expectIllegal(0xFFFF_FFFF);
  });

  it("OP with funct7 other than 0, 1 and 0x20 (or 0x20 with the wrong funct3)", () => {
    expectIllegal(encodeR(0x33, 3, 0, 1, 2, 0x40));
    expectIllegal(encodeR(0x33, 3, 5, 1, 2, 0x40));
    expectIllegal(encodeR(0x33, 3, 1, 1, 2, 0x20)); // no "sll" with funct7 0x20
    expectIllegal(encodeR(0x33, 3, 7, 1, 2, 0x20));
    expectIllegal(encodeR(0x33, 3, 0, 1, 2, 0x02));
  });

  it("shift immediates with bit 25 set (shamt[5] on RV32) or a bad funct7", () => {
    expectIllegal(slli(3, 1, 1) | (1 << 25));
    expectIllegal(srli(3, 1, 1) | (1 << 25));
    expectIllegal(srai(3, 1, 1) | (1 << 25));
    expectIllegal(encodeR(0x13, 3, 1, 1, 2, 0x20)); // slli with funct7 0x20
    expectIllegal(encodeR(0x13, 3, 5, 1, 2, 0x10));
  });

  it("loads with funct3 3, 6, 7 and stores with funct3 3..7", () => {
    expectIllegal(encodeI(0x03, 3, 3, 1, 0));
    expectIllegal(encodeI(0x03, 3, 6, 1, 0));
    expectIllegal(encodeI(0x03, 3, 7, 1, 0));
    expectIllegal(encodeS(0x23, 3, 1, 2, 0));
    expectIllegal(encodeS(0x23, 4, 1, 2, 0));
    expectIllegal(encodeS(0x23, 7, 1, 2, 0));
  });

  it("branches with funct3 2 and 3, jalr with funct3 != 0", () => {
    expectIllegal(encodeB(2, 1, 2, 8));
    expectIllegal(encodeB(3, 1, 2, 8));
    expectIllegal(encodeB(2, 1, 2, 6)); // with a 2-byte aligned target too
    expectIllegal(encodeI(0x67, 1, 1, 2, 0));
  });

  it("unknown opcodes (F, D, V, custom; A with a bad funct3 or funct5)", () => {
    expectIllegal(0x0005_2007); // flw f0, 0(a0) (no F extension)
    expectIllegal(0x0005_3007); // fld f0, 0(a0) (no D extension)
    expectIllegal(0x0005_0057); // OP-V
    expectIllegal(0x1005_352F); // lr.d (RV64)
    expectIllegal(0x2805_252F); // funct5 0x05: no such AMO
    expectIllegal(0x0000_000B); // custom-0
    expectIllegal(encodeI(0x0F, 0, 2, 0, 0)); // MISC-MEM funct3 2
  });
});
