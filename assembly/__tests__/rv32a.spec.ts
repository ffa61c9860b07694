// Decode + execute of every RV32A instruction (atomic.ts, hart.ts): lr.w / sc.w and the
// reservation rules (what succeeds, what breaks a reservation: sc.w, a trap return, an
// interrupt, another VM running, a write from outside the hart), every AMO with signed
// and unsigned edge values, the exceptions (misaligned: cause 4 for lr.w, 6 for the
// others; a device or no memory: cause 5 for lr.w, 7 for the others), and the bookkeeping
// an AMO does like a store (dirty page, overwritten code, tohost).
import {
  CAUSE_ECALL_M, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_LOAD_ACCESS, CAUSE_LOAD_MISALIGNED, CAUSE_STORE_ACCESS,
  CAUSE_STORE_MISALIGNED, EXIT_RUNNING, EXIT_TOHOST, IRQ_M_SOFT, KIND_MACHINE, PAGE_SHIFT, RAM_BASE,
} from "../config";
import { DIRTY_COLLECTOR } from "../dirty-tracking";
import { MSTATUS_MIE } from "../irq";
import { stagingBuffer, vmLoad } from "../index";
import { runProcessor } from "../processor";
import { Vm } from "../vm";
import {
  addi, amo, amoaddW, amoandW, amomaxuW, amomaxW, amominuW, amominW, amoorW, amoswapW, amoxorW, csrrs, csrrw, ecall,
  jal, lrW, mret, scW, spin, sw,
} from "./helpers/encode";
import {
  CODE, DATA, M_HANDLER, machineTrap, machineVm, newVm, peek, poke, program, reg, setRegister, step, Trap,
} from "./helpers/vm";

const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12, A3: u32 = 13, T0: u32 = 5;
const INT_MIN: u32 = 0x8000_0000;
const INT_MAX: u32 = 0x7FFF_FFFF;

/** Runs the one instruction `inst` on the word at DATA (in a0 = address, a1 = operand). */
function runOn(inst: u32, memory: u32, operand: u32): Vm {
  const vm = machineVm();
  poke(vm, DATA, [memory]);
  program(vm, [inst, spin()]);
  setRegister(vm, A0, DATA);
  setRegister(vm, A1, operand);
  expect(step(vm, 1)).toBe(1);
  return vm;
}

/** An AMO (rd = a2, rs1 = a0, rs2 = a1) on `memory` with `operand`: checks rd = old value and returns the new one. */
function amoResult(inst: u32, memory: u32, operand: u32): u32 {
  const vm = runOn(inst, memory, operand);
  expect(vm.mcause).toBe(0, "unexpected trap");
  expect(vm.pc).toBe(CODE + 4);
  expect(reg(vm, A2)).toBe(memory, "rd must get the old value");
  return peek(vm, DATA);
}

/** Runs `inst` with a0 = `addr` and expects exception `cause` with mtval = addr, nothing written. */
function expectFault(inst: u32, addr: u32, cause: u32): void {
  const vm = machineVm();
  poke(vm, DATA, [0x5555_5555]);
  program(vm, [inst, spin()]);
  setRegister(vm, A0, addr);
  setRegister(vm, A1, 0x1234);
  setRegister(vm, A2, 0x7777);
  step(vm, 1);
  expect(machineTrap(vm)).toStrictEqual(new Trap(cause, CODE, addr));
  expect(reg(vm, A2)).toBe(0x7777, "rd written by a faulting atomic");
  expect(peek(vm, DATA)).toBe(0x5555_5555);
  expect(peek(vm, DATA + 4)).toBe(0);
}

describe("lr.w and sc.w", () => {
  it("lr.w loads and reserves; sc.w on the reserved word stores and writes 0 to rd", () => {
    const vm = machineVm();
    poke(vm, DATA, [41]);
    program(vm, [lrW(A2, A0), addi(A2, A2, 1), scW(A3, A2, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A3, 0x99);
    step(vm, 3);
    expect(peek(vm, DATA)).toBe(42);
    expect(reg(vm, A3)).toBe(0, "sc.w succeeded");
    expect(vm.reservation).toBe(0, "sc.w clears the reservation");
  });

  it("a second sc.w fails: rd = 1 and memory unchanged", () => {
    const vm = machineVm();
    poke(vm, DATA, [5]);
    program(vm, [lrW(A2, A0), scW(A3, A1, A0), scW(A3, A2, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A1, 6);
    step(vm, 2);
    expect(reg(vm, A3)).toBe(0);
    step(vm, 1);
    expect(reg(vm, A3)).toBe(1);
    expect(peek(vm, DATA)).toBe(6);
  });

  it("sc.w without a reservation fails, and sc.w to another word fails and drops the reservation", () => {
    let vm = runOn(scW(A2, A1, A0), 7, 8);
    expect(reg(vm, A2)).toBe(1);
    expect(peek(vm, DATA)).toBe(7);
    vm = machineVm();
    poke(vm, DATA, [1, 2]);
    program(vm, [lrW(A2, A0), scW(A3, A1, T0), scW(A3, A1, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, T0, DATA + 4);
    setRegister(vm, A1, 9);
    step(vm, 2);
    expect(reg(vm, A3)).toBe(1);
    expect(peek(vm, DATA + 4)).toBe(2);
    step(vm, 1);
    expect(reg(vm, A3)).toBe(1, "the failed sc.w dropped the reservation");
    expect(peek(vm, DATA)).toBe(1);
  });

  it("aq and rl are accepted", () => {
    const vm = machineVm();
    poke(vm, DATA, [3]);
    program(vm, [amo(0x02, A2, A0, 0, 1, 1), amo(0x03, A3, A0, A1, 1, 1), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A1, 4);
    expect(step(vm, 2)).toBe(2);
    expect(reg(vm, A2)).toBe(3);
    expect(reg(vm, A3)).toBe(0);
    expect(peek(vm, DATA)).toBe(4);
  });

  it("sc.w fails after an intervening trap (the handler's mret clears the reservation)", () => {
    const vm = machineVm();
    // handler: mepc += 4; mret
    poke(vm, M_HANDLER, [csrrs(T0, 0x341, 0), addi(T0, T0, 4), csrrw(0, 0x341, T0), mret()]);
    poke(vm, DATA, [10]);
    program(vm, [lrW(A2, A0), ecall(), scW(A3, A1, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A1, 11);
    step(vm, 2);
    expect(vm.mcause).toBe(CAUSE_ECALL_M);
    step(vm, 5); // the handler, then sc.w
    expect(vm.pc).toBe(CODE + 12);
    expect(reg(vm, A3)).toBe(1);
    expect(peek(vm, DATA)).toBe(10);
  });

  it("sc.w fails after an interrupt taken between lr.w and sc.w", () => {
    const vm = machineVm();
    // handler: clear msip through the CLINT, mret
    poke(vm, M_HANDLER, [sw(0, T0, 0), mret()]);
    poke(vm, DATA, [10]);
    program(vm, [lrW(A2, A0), scW(A3, A1, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A1, 11);
    setRegister(vm, T0, 0x0200_0000);
    vm.mie = 1 << IRQ_M_SOFT;
    vm.mstatus = MSTATUS_MIE;
    step(vm, 1); // lr.w
    vm.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(4); // the interrupt, sw, mret, then sc.w
    expect(reg(vm, A3)).toBe(1);
    expect(peek(vm, DATA)).toBe(10);
  });

  it("a write from outside the hart to the reserved word breaks the reservation; elsewhere it does not", () => {
    const vm = machineVm();
    poke(vm, DATA, [1, 2]);
    program(vm, [lrW(A2, A0), spin()]);
    setRegister(vm, A0, DATA);
    step(vm, 1);
    expect(vm.reservation).toBe(DATA);
    store<u32>(stagingBuffer(), 0xAA);
    expect(vmLoad(vm.id, DATA + 4, stagingBuffer(), 4)).toBe(0);
    expect(vm.reservation).toBe(DATA);
    expect(vmLoad(vm.id, DATA + 2, stagingBuffer(), 4)).toBe(0);
    expect(vm.reservation).toBe(0);
  });

  it("another VM running on the processor in between breaks the reservation", () => {
    const vm = machineVm();
    const other = newVm(KIND_MACHINE, 64 * 1024); // parks vm: wake it again
    vm.exit = EXIT_RUNNING;
    program(other, [addi(A0, A0, 1), spin()]);
    poke(vm, DATA, [1]);
    program(vm, [lrW(A2, A0), scW(A3, A1, A0), spin()]);
    setRegister(vm, A0, DATA);
    setRegister(vm, A1, 2);
    step(vm, 1);
    expect(vm.reservation).toBe(DATA);
    step(other, 1);
    step(vm, 1);
    expect(reg(vm, A3)).toBe(1);
    expect(peek(vm, DATA)).toBe(1);
  });

  it("lr.w with rs2 != 0 and atomics with funct3 != 2 are illegal", () => {
    const bad: u32[] = [lrW(A2, A0) | (1 << 20), amoaddW(A2, A1, A0) & ~(7 << 12), amoaddW(A2, A1, A0) | (1 << 12)];
    for (let i = 0; i < bad.length; i++) {
      const vm = runOn(bad[i], 0, 0);
      expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, CODE, bad[i]));
    }
  });
});

describe("AMOs", () => {
  it("amoswap.w writes rs2 and returns the old word; rd = rs2 reads the operand first", () => {
    expect(amoResult(amoswapW(A2, A1, A0), 0x1111, 0x2222)).toBe(0x2222);
    const vm = runOn(amoswapW(A1, A1, A0), 0x1111, 0x2222);
    expect(reg(vm, A1)).toBe(0x1111);
    expect(peek(vm, DATA)).toBe(0x2222);
  });

  it("amoadd.w wraps; amoxor.w, amoand.w, amoor.w", () => {
    expect(amoResult(amoaddW(A2, A1, A0), 0xFFFF_FFFF, 2)).toBe(1);
    expect(amoResult(amoaddW(A2, A1, A0), INT_MAX, 1)).toBe(INT_MIN);
    expect(amoResult(amoxorW(A2, A1, A0), 0xFF00_FF00, 0x0FF0_0FF0)).toBe(0xF0F0_F0F0);
    expect(amoResult(amoandW(A2, A1, A0), 0xFF00_FF00, 0x0FF0_0FF0)).toBe(0x0F00_0F00);
    expect(amoResult(amoorW(A2, A1, A0), 0xFF00_FF00, 0x0FF0_0FF0)).toBe(0xFFF0_FFF0);
  });

  it("amomin.w and amomax.w compare signed, amominu.w and amomaxu.w unsigned", () => {
    expect(amoResult(amominW(A2, A1, A0), INT_MIN, INT_MAX)).toBe(INT_MIN);
    expect(amoResult(amominW(A2, A1, A0), 1, 0xFFFF_FFFF)).toBe(0xFFFF_FFFF);
    expect(amoResult(amomaxW(A2, A1, A0), INT_MIN, INT_MAX)).toBe(INT_MAX);
    expect(amoResult(amomaxW(A2, A1, A0), 0xFFFF_FFFF, 0)).toBe(0);
    expect(amoResult(amominuW(A2, A1, A0), INT_MIN, INT_MAX)).toBe(INT_MAX);
    expect(amoResult(amominuW(A2, A1, A0), 1, 0xFFFF_FFFF)).toBe(1);
    expect(amoResult(amomaxuW(A2, A1, A0), INT_MIN, INT_MAX)).toBe(INT_MIN);
    expect(amoResult(amomaxuW(A2, A1, A0), 0xFFFF_FFFF, 0)).toBe(0xFFFF_FFFF);
    expect(amoResult(amomaxuW(A2, A1, A0), 5, 5)).toBe(5);
  });

  it("an AMO with rd = x0 still writes memory, and x0 stays 0", () => {
    const vm = runOn(amoaddW(0, A1, A0), 5, 3);
    expect(peek(vm, DATA)).toBe(8);
    expect(reg(vm, 0)).toBe(0);
  });

  it("an AMO marks its page dirty like a store", () => {
    const vm = machineVm();
    poke(vm, DATA, [1]);
    program(vm, [amoaddW(A2, A1, A0), spin()]);
    setRegister(vm, A0, DATA);
    const page = (DATA - RAM_BASE) >> PAGE_SHIFT;
    store<u8>(vm.dirty + page, 0);
    step(vm, 1);
    expect(load<u8>(vm.dirty + page) & DIRTY_COLLECTOR).toBe(DIRTY_COLLECTOR);
  });

  it("an AMO over a decoded instruction makes the new one run", () => {
    const vm = machineVm();
    // 0: addi a3, a3, 1   4: amoswap.w x0, a1, (a0)   8: j 0
    program(vm, [addi(A3, A3, 1), amoswapW(0, A1, A0), jal(0, -8)]);
    setRegister(vm, A0, CODE);
    setRegister(vm, A1, addi(A3, A3, 0x10));
    step(vm, 3);
    expect(reg(vm, A3)).toBe(1);
    step(vm, 1);
    expect(reg(vm, A3)).toBe(0x11, "the stale decoded instruction ran");
  });

  it("an AMO to the tohost word ends the VM", () => {
    const vm = machineVm();
    vm.tohost = DATA + 8;
    program(vm, [amoorW(0, A1, A0), spin()]);
    setRegister(vm, A0, DATA + 8);
    setRegister(vm, A1, 1);
    step(vm, 5);
    expect(vm.exit).toBe(EXIT_TOHOST);
    expect(vm.exitCode).toBe(1);
  });
});

describe("atomic exceptions", () => {
  it("a misaligned address: lr.w raises load-misaligned (4), sc.w and AMOs store/AMO-misaligned (6)", () => {
    expectFault(lrW(A2, A0), DATA + 2, CAUSE_LOAD_MISALIGNED);
    expectFault(scW(A2, A1, A0), DATA + 1, CAUSE_STORE_MISALIGNED);
    expectFault(amoaddW(A2, A1, A0), DATA + 2, CAUSE_STORE_MISALIGNED);
    expectFault(amoswapW(A2, A1, A0), DATA + 3, CAUSE_STORE_MISALIGNED);
  });

  it("device memory refuses atomics: load access fault (5) for lr.w, store/AMO access fault (7) for the rest", () => {
    const UART: u32 = 0x1000_0000, CLINT_MTIMECMP: u32 = 0x0200_4000;
    expectFault(lrW(A2, A0), UART, CAUSE_LOAD_ACCESS);
    expectFault(scW(A2, A1, A0), UART, CAUSE_STORE_ACCESS);
    expectFault(amoswapW(A2, A1, A0), CLINT_MTIMECMP, CAUSE_STORE_ACCESS);
    expectFault(amoaddW(A2, A1, A0), 0x4000_0000, CAUSE_STORE_ACCESS); // nothing there
  });

  it("the word just past the end of RAM: an access fault", () => {
    const vm = machineVm();
    const last = RAM_BASE + vm.ramBytes - 4;
    expectFault(amoaddW(A2, A1, A0), last + 4, CAUSE_STORE_ACCESS);
    expectFault(lrW(A2, A0), last + 4, CAUSE_LOAD_ACCESS);
  });
});
