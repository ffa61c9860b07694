// Decode + execute of the M extension (decode.ts, hart.ts): products computed with
// 64-bit arithmetic outside the emulator, and the division edge cases the ISA defines
// (no trap on divide by zero or on overflow).
import { div, divu, mul, mulh, mulhsu, mulhu, rem, remu } from "./helpers/encode";
import { CODE, machineVm, program, reg, setRegister, step } from "./helpers/vm";

const INT_MIN: u32 = 0x8000_0000;
const ALL_ONES: u32 = 0xFFFF_FFFF;

/** x3 = op(x1, x2), checked to retire normally. */
function run(make: (rd: u32, rs1: u32, rs2: u32) => u32, a: u32, b: u32): u32 {
  const vm = machineVm();
  program(vm, [make(3, 1, 2)]);
  setRegister(vm, 1, a);
  setRegister(vm, 2, b);
  setRegister(vm, 3, 0xCCCC_CCCC);
  expect(step(vm, 1)).toBe(1);
  expect(vm.pc).toBe(CODE + 4);
  expect(vm.mcause).toBe(0, "M instructions never trap");
  expect(reg(vm, 1)).toBe(a);
  expect(reg(vm, 2)).toBe(b);
  return reg(vm, 3);
}

describe("multiplication", () => {
  it("mul gives the low 32 bits", () => {
    expect(run(mul, 7, 0xFFFFFFFD)).toBe(0xFFFFFFEB); // 7 * -3 = -21
    expect(run(mul, INT_MIN, ALL_ONES)).toBe(INT_MIN);
    expect(run(mul, 0x12345678, 0x9ABCDEF0)).toBe(0x242D2080);
    expect(run(mul, ALL_ONES, ALL_ONES)).toBe(1);
    expect(run(mul, 0x7FFFFFFF, 0x7FFFFFFF)).toBe(1);
    expect(run(mul, 0, 0x12345678)).toBe(0);
  });

  it("mulh: signed x signed, high word", () => {
    expect(run(mulh, 7, 0xFFFFFFFD)).toBe(ALL_ONES);
    expect(run(mulh, INT_MIN, ALL_ONES)).toBe(0);
    expect(run(mulh, 0x12345678, 0x9ABCDEF0)).toBe(0xF8CC93D6);
    expect(run(mulh, ALL_ONES, ALL_ONES)).toBe(0);
    expect(run(mulh, INT_MIN, INT_MIN)).toBe(0x40000000);
    expect(run(mulh, 2, INT_MIN)).toBe(ALL_ONES);
    expect(run(mulh, 0x7FFFFFFF, 0x7FFFFFFF)).toBe(0x3FFFFFFF);
  });

  it("mulhsu: signed rs1 x unsigned rs2, high word", () => {
    expect(run(mulhsu, 7, 0xFFFFFFFD)).toBe(6);
    expect(run(mulhsu, INT_MIN, ALL_ONES)).toBe(INT_MIN);
    expect(run(mulhsu, 0x12345678, 0x9ABCDEF0)).toBe(0x0B00EA4E);
    expect(run(mulhsu, ALL_ONES, ALL_ONES)).toBe(ALL_ONES);
    expect(run(mulhsu, INT_MIN, INT_MIN)).toBe(0xC0000000);
    expect(run(mulhsu, 2, INT_MIN)).toBe(1);
    expect(run(mulhsu, ALL_ONES, 2)).toBe(ALL_ONES);
  });

  it("mulhu: unsigned x unsigned, high word", () => {
    expect(run(mulhu, 7, 0xFFFFFFFD)).toBe(6);
    expect(run(mulhu, INT_MIN, ALL_ONES)).toBe(0x7FFFFFFF);
    expect(run(mulhu, 0x12345678, 0x9ABCDEF0)).toBe(0x0B00EA4E);
    expect(run(mulhu, ALL_ONES, ALL_ONES)).toBe(0xFFFFFFFE);
    expect(run(mulhu, INT_MIN, INT_MIN)).toBe(0x40000000);
    expect(run(mulhu, ALL_ONES, 2)).toBe(1);
  });

  it("rd = rs1 = rs2", () => {
    const vm = machineVm();
    program(vm, [mul(5, 5, 5), mulhu(6, 6, 6)]);
    setRegister(vm, 5, 12);
    setRegister(vm, 6, 0x10000);
    step(vm, 2);
    expect(reg(vm, 5)).toBe(144);
    expect(reg(vm, 6)).toBe(1);
  });
});

describe("division", () => {
  it("div truncates toward zero", () => {
    expect(run(div, <u32>-7, 2)).toBe(<u32>-3);
    expect(run(div, 7, <u32>-2)).toBe(<u32>-3);
    expect(run(div, <u32>-7, <u32>-2)).toBe(3);
    expect(run(div, 100, 7)).toBe(14);
    expect(run(div, INT_MIN, 2)).toBe(0xC0000000);
  });

  it("divu is unsigned", () => {
    expect(run(divu, ALL_ONES, 2)).toBe(0x7FFFFFFF);
    expect(run(divu, <u32>-7, 2)).toBe(0x7FFFFFFC);
    expect(run(divu, 100, 7)).toBe(14);
    expect(run(divu, 5, ALL_ONES)).toBe(0);
  });

  it("rem takes the sign of the dividend", () => {
    expect(run(rem, <u32>-7, 2)).toBe(ALL_ONES);
    expect(run(rem, 7, <u32>-2)).toBe(1);
    expect(run(rem, <u32>-7, <u32>-2)).toBe(ALL_ONES);
    expect(run(rem, 100, 7)).toBe(2);
  });

  it("remu is unsigned", () => {
    expect(run(remu, ALL_ONES, 10)).toBe(5);
    expect(run(remu, <u32>-7, 2)).toBe(1);
    expect(run(remu, 5, ALL_ONES)).toBe(5);
  });

  it("divide by zero: quotient all ones, remainder = dividend", () => {
    expect(run(div, 42, 0)).toBe(ALL_ONES);
    expect(run(div, <u32>-42, 0)).toBe(ALL_ONES);
    expect(run(div, 0, 0)).toBe(ALL_ONES);
    expect(run(divu, 42, 0)).toBe(ALL_ONES);
    expect(run(divu, 0, 0)).toBe(ALL_ONES);
    expect(run(rem, 42, 0)).toBe(42);
    expect(run(rem, <u32>-42, 0)).toBe(<u32>-42);
    expect(run(rem, INT_MIN, 0)).toBe(INT_MIN);
    expect(run(remu, 42, 0)).toBe(42);
    expect(run(remu, ALL_ONES, 0)).toBe(ALL_ONES);
  });

  it("INT_MIN / -1 overflows to INT_MIN with remainder 0", () => {
    expect(run(div, INT_MIN, ALL_ONES)).toBe(INT_MIN);
    expect(run(rem, INT_MIN, ALL_ONES)).toBe(0);
    // unsigned: no overflow case, ordinary results
    expect(run(divu, INT_MIN, ALL_ONES)).toBe(0);
    expect(run(remu, INT_MIN, ALL_ONES)).toBe(INT_MIN);
  });
});
