// The decode cache (decode.ts, decode-cache.ts, hart.ts, guestmem.ts): instructions run
// from pre-decoded blocks, so every write into RAM over decoded code must drop it.
// Self-modifying code must run its new instructions, with or without fence.i.
import { EXIT_TOHOST, KIND_MACHINE, PAGE_BYTES, PAGE_SHIFT, RAM_BASE } from "../config";
import { executeSlice } from "../hart";
import { decodeGeneration } from "../decode-cache";
import { DIRTY_ALL, DIRTY_WATCHED } from "../dirty-tracking";
import { stagingBuffer, vmLoad } from "../index";
import { addi, add, fenceI, jal, lui, sb, sh, slli, srai, srli, sw } from "./helpers/encode";
import { CODE, DATA, machineVm, newVm, poke, program, reg, setRegister, step } from "./helpers/vm";

const T0: u32 = 5, T1: u32 = 6, T2: u32 = 7;

describe("self-modifying code", () => {
  it("a guest sw over an instruction that already ran makes the new one run", () => {
    // 0: addi t0, t0, 1    <- overwritten with addi t0, t0, 100
    // 4: sw t1, 0(t2)
    // 8: j 0
    const vm = machineVm();
    program(vm, [addi(T0, T0, 1), sw(T1, T2, 0), jal(0, -8)]);
    setRegister(vm, T1, addi(T0, T0, 100));
    setRegister(vm, T2, CODE);
    step(vm, 3);
    expect(reg(vm, T0)).toBe(1);
    expect(vm.pc).toBe(CODE);
    step(vm, 1);
    expect(reg(vm, T0)).toBe(101, "the stale decoded instruction ran");
  });

  it("works the same with fence.i after the store", () => {
    const vm = machineVm();
    program(vm, [addi(T0, T0, 1), sw(T1, T2, 0), fenceI(), jal(0, -12)]);
    setRegister(vm, T1, addi(T0, T0, 100));
    setRegister(vm, T2, CODE);
    step(vm, 5);
    expect(reg(vm, T0)).toBe(101);
  });

  it("a store to the instruction right after the store runs the new instruction", () => {
    const vm = machineVm();
    // 0: sw t1, 4(t2)   4: addi t0, t0, imm   8: j 0
    program(vm, [sw(T1, T2, 4), addi(T0, T0, 1), jal(0, -8)]);
    setRegister(vm, T2, CODE);
    setRegister(vm, T1, addi(T0, T0, 1)); // first pass stores the same word: all three get decoded
    step(vm, 3);
    expect(reg(vm, T0)).toBe(1);
    setRegister(vm, T1, addi(T0, T0, 7));
    step(vm, 2); // sw replaces the decoded addi just before it runs
    expect(reg(vm, T0)).toBe(8, "the stale decoded instruction ran");
  });

  it("sh and sb over part of a decoded instruction invalidate it", () => {
    const vm = machineVm();
    // The immediate of addi lives in the upper halfword: replace it with sh, then sb.
    const old = addi(T0, T0, 1);
    const viaSh = addi(T0, T0, 0x10);
    const viaSb = addi(T0, T0, 0x400);
    expect(old & 0xFFFF).toBe(viaSh & 0xFFFF);
    expect(viaSh & 0x00FF_FFFF).toBe(viaSb & 0x00FF_FFFF);
    // 0: addi t0,t0,imm   4: sh t1, 2(t2)   8: j 0  | 12: sb a0, 3(t2)  16: j -16
    program(vm, [old, sh(T1, T2, 2), jal(0, -8), sb(10, T2, 3), jal(0, -16)]);
    setRegister(vm, T1, viaSh >> 16);
    setRegister(vm, 10, viaSb >> 24);
    setRegister(vm, T2, CODE);
    step(vm, 4); // addi(1), sh, j, addi(0x10)
    expect(reg(vm, T0)).toBe(0x11);
    vm.pc = CODE + 12;
    step(vm, 3); // sb, j 0, addi(0x400)
    expect(reg(vm, T0)).toBe(0x411);
  });

  it("a misaligned sw across two decoded instructions invalidates both", () => {
    const vm = machineVm();
    const a0 = addi(T0, T0, 1), a1 = addi(T0, T0, 0x20); // same low halfword
    const b0 = addi(T1, T1, 5), b1 = addi(T2, T1, 5);    // same high halfword
    expect(a0 & 0xFFFF).toBe(a1 & 0xFFFF);
    expect(b0 & 0xFFFF_0000).toBe(b1 & 0xFFFF_0000);
    // 0x10: a   0x14: b   0x18: j back to 0x10 ; 0: sw across 0x12..0x15, j 0x10
    poke(vm, CODE + 0x10, [a0, b0, jal(0, -8)]);
    poke(vm, CODE, [sw(10, T2, 0x12), jal(0, 0xC)]);
    setRegister(vm, 10, (a1 >> 16) | (b1 << 16));
    setRegister(vm, T2, CODE);
    vm.pc = CODE + 0x10;
    step(vm, 2);
    expect(reg(vm, T0)).toBe(1);
    expect(reg(vm, T1)).toBe(5);
    vm.pc = CODE;
    step(vm, 4); // sw, j 0x10, a1, b1
    expect(reg(vm, T0)).toBe(0x21);
    expect(reg(vm, T2)).toBe(10, "second word stale");
  });

  it("code written by the host (vmLoad) replaces decoded instructions", () => {
    const vm = machineVm();
    program(vm, [addi(T0, T0, 1), jal(0, -4)]);
    step(vm, 3);
    expect(reg(vm, T0)).toBe(2);
    store<u32>(stagingBuffer(), addi(T0, T0, 0x40));
    expect(vmLoad(vm.id, CODE, stagingBuffer(), 4)).toBe(0);
    vm.pc = CODE;
    step(vm, 1);
    expect(reg(vm, T0)).toBe(0x42);
  });

  it("stores to data do not disturb decoded code", () => {
    const vm = machineVm();
    program(vm, [sw(T1, T2, 0), addi(T0, T0, 1), jal(0, -8)]);
    setRegister(vm, T1, 0xFFFF_FFFF);
    setRegister(vm, T2, DATA);
    step(vm, 30);
    expect(reg(vm, T0)).toBe(10);
    expect(load<u32>(vm.ram + (DATA - RAM_BASE))).toBe(0xFFFF_FFFF);
  });
});

describe("decode cache", () => {
  it("code far apart in RAM runs side by side (the cache maps every page, nothing aliases)", () => {
    const vm = newVm(KIND_MACHINE, 256 * 1024);
    const far = CODE + 0x2_0000;
    poke(vm, CODE, [addi(T0, T0, 1), jal(0, 0x2_0000)]);
    poke(vm, far + 4, [add(T1, T0, T0), jal(0, <i32>(CODE - far) - 8)]);
    poke(vm, far, [addi(T0, T0, 0x100)]);
    vm.pc = CODE;
    step(vm, 4); // addi, j far+4, add, j CODE
    expect(reg(vm, T1)).toBe(2);
    step(vm, 2);
    expect(reg(vm, T0)).toBe(2);
    vm.pc = far;
    step(vm, 1);
    expect(reg(vm, T0)).toBe(0x102);
  });

  it("grows with the code the VM runs: code on 40 pages, more than its first arena maps", () => {
    const pages: u32 = 40;
    const vm = newVm(KIND_MACHINE, (pages + 8) << PAGE_SHIFT);
    // Page i: addi t0, t0, 1; j to page i + 1 (the last one spins).
    for (let i: u32 = 0; i < pages; i++) {
      const at = CODE + (i << PAGE_SHIFT);
      poke(vm, at, [addi(T0, T0, 1), i + 1 < pages ? jal(0, <i32>PAGE_BYTES - 4) : jal(0, 0)]);
    }
    vm.pc = CODE;
    const before = decodeGeneration(vm.decode);
    for (let round = 0; round < 3; round++) {
      vm.pc = CODE;
      setRegister(vm, T0, 0);
      step(vm, <i32>pages * 2);
      expect(reg(vm, T0)).toBe(pages);
    }
    expect(decodeGeneration(vm.decode)).toBeGreaterThan(before, "the cache grew (a flush)");
    const grown = decodeGeneration(vm.decode);
    vm.pc = CODE;
    step(vm, <i32>pages * 2);
    expect(decodeGeneration(vm.decode)).toBe(grown, "once grown, the code stays decoded");
  });

  it("a store to tohost ends the VM even right after the cache grew in the same slice", () => {
    const pages: u32 = 40;
    const vm = newVm(KIND_MACHINE, (pages + 8) << PAGE_SHIFT);
    vm.tohost = CODE + ((pages + 2) << PAGE_SHIFT);
    setRegister(vm, T1, 1);
    setRegister(vm, T2, vm.tohost);
    for (let i: u32 = 0; i < pages; i++) {
      const at = CODE + (i << PAGE_SHIFT);
      poke(vm, at, [addi(T0, T0, 1), i + 1 < pages ? jal(0, <i32>PAGE_BYTES - 4) : sw(T1, T2, 0), jal(0, 0)]);
    }
    vm.pc = CODE;
    const before = decodeGeneration(vm.decode);
    expect(executeSlice(vm, 1000)).toBe(<i32>pages * 2);
    expect(decodeGeneration(vm.decode)).toBeGreaterThan(before, "the cache grew within the slice");
    expect(vm.exit).toBe(EXIT_TOHOST);
  });

  it("a store next to decoded code in the same page keeps the code; one over it drops it", () => {
    const vm = machineVm();
    // 0: sw t1, 0(t2)   4: addi t0, t0, 1   8: j 0   ... 0x100: data in the code's page
    program(vm, [sw(T1, T2, 0), addi(T0, T0, 1), jal(0, -8)]);
    setRegister(vm, T2, CODE + 0x100);
    step(vm, 3);
    const generation = decodeGeneration(vm.decode);
    step(vm, 30);
    expect(decodeGeneration(vm.decode)).toBe(generation, "a data store flushed decoded code");
    expect(reg(vm, T0)).toBe(11);
    setRegister(vm, T2, CODE + 4);
    setRegister(vm, T1, addi(T0, T0, 2));
    step(vm, 3);
    expect(decodeGeneration(vm.decode)).toBeGreaterThan(generation);
    expect(reg(vm, T0)).toBe(13);
    step(vm, 2); // the same store again drops the code again
    expect(reg(vm, T0)).toBe(15);
  });

  it("the page of decoded code is watched (dirty byte bit 7) and stays dirty-tracked", () => {
    const vm = machineVm();
    program(vm, [sw(T1, T2, 0x100), jal(0, -4)]);
    setRegister(vm, T2, CODE);
    const page = (CODE - RAM_BASE) >> PAGE_SHIFT;
    step(vm, 1);
    expect(load<u8>(vm.dirty + page) & DIRTY_WATCHED).toBe(DIRTY_WATCHED);
    expect(load<u8>(vm.dirty + page) & DIRTY_ALL).toBe(DIRTY_ALL);
    store<u8>(vm.dirty + page, DIRTY_WATCHED); // a consumer took its bits
    step(vm, 2);
    expect(load<u8>(vm.dirty + page)).toBe(DIRTY_WATCHED | DIRTY_ALL);
  });

  it("a store to a watched page goes inline when its 64-byte line holds no code (dirty marked, watch kept)", () => {
    const vm = machineVm();
    program(vm, [sw(T1, T2, 0), jal(0, -4)]);
    setRegister(vm, T1, 0x1234_5678);
    setRegister(vm, T2, DATA);
    const page = (DATA - RAM_BASE) >> PAGE_SHIFT;
    store<u8>(vm.dirty + page, 0xFD); // watched, as a restore leaves a page; no code there
    step(vm, 1);
    expect(load<u32>(vm.ram + (DATA - RAM_BASE))).toBe(0x1234_5678);
    expect(load<u8>(vm.dirty + page)).toBe(DIRTY_WATCHED | DIRTY_ALL);
  });
});

describe("fused pairs (two instructions in one dispatch)", () => {
  it("addi;addi, add;add, slli;srli, slli;srai and lui;addi give what the two instructions give, dependent or not", () => {
    const vm = machineVm();
    program(vm, [
      addi(T0, 0, 5), addi(T1, T0, 7), // dependent addi pair
      add(T2, T0, T1), add(T2, T2, T2), // dependent add pair
      slli(10, T2, 20), srli(10, 10, 24), // zero-extended bit field
      slli(11, T2, 26), srai(11, 11, 28), // sign-extended bit field
      lui(12, 0x12345), addi(12, 12, -1), // a constant
      lui(13, 0x1), addi(14, 13, 1), // lui; addi into another register: not fused, still right
      jal(0, 0),
    ]);
    step(vm, 12);
    expect(reg(vm, T0)).toBe(5);
    expect(reg(vm, T1)).toBe(12);
    expect(reg(vm, T2)).toBe(34);
    expect(reg(vm, 10)).toBe((34 << 20) >>> 24);
    expect(reg(vm, 11)).toBe(<u32>((<i32>(34 << 26)) >> 28));
    expect(reg(vm, 12)).toBe(0x1234_4FFF);
    expect(reg(vm, 13)).toBe(0x1000);
    expect(reg(vm, 14)).toBe(0x1001);
  });

  it("a budget that ends between the two instructions of a pair runs exactly the first", () => {
    const vm = machineVm();
    program(vm, [addi(T0, T0, 1), addi(T1, T1, 1), addi(T0, T0, 1), addi(T1, T1, 1), addi(T0, T0, 1), jal(0, -20)]);
    for (let i: u32 = 1; i <= 18; i++) {
      expect(step(vm, 1)).toBe(1);
      const done = i % 6; // instructions of the current pass
      const passes = i / 6;
      expect(reg(vm, T0)).toBe(passes * 3 + (done >= 5 ? 3 : done >= 3 ? 2 : done >= 1 ? 1 : 0), "after " + i.toString());
      expect(reg(vm, T1)).toBe(passes * 2 + (done >= 4 ? 2 : done >= 2 ? 1 : 0), "after " + i.toString());
    }
    expect(vm.executed).toBe(18);
    // and after stepping one at a time, the pairs run whole again
    step(vm, 6);
    expect(reg(vm, T0)).toBe(12);
    expect(reg(vm, T1)).toBe(8);
  });
});
