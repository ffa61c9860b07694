// Paravirtual VMs (KIND_PARAVIRTUAL): they start in S-mode, their exceptions are
// delegated to their own S-mode handler, and ecall from S is a hypercall in the SBI
// convention (dispatcher.ts, hypercall.ts, docs/hypercalls.md). The timer tests run the
// processor loop (processor.ts) to check virtual time and wfi.
import { cyclesToTicks, getClockHz, now, setClockHz, ticksToCycles } from "../clock";
import {
  CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_INTERRUPT, EXIT_FAILURE, EXIT_REBOOT,
  EXIT_RUNNING, EXIT_SHUTDOWN, IRQ_S_TIMER, MODE_S, MODE_U, RAM_BASE,
} from "../config";
import { flushConsole } from "../console";
import { MSTATUS_SPIE, MSTATUS_SPP } from "../csr";
import { MSTATUS_SIE } from "../irq";
import { runProcessor } from "../processor";
import { Vm } from "../vm";
import { addi, csrrs, csrrsi, ebreak, ecall, jal, spin, wfi } from "./helpers/encode";
import { consoleText } from "./helpers/console";
import {
  CODE, DATA, RAM_BYTES, S_HANDLER, fillRegisters, paravirtualVm, peek, poke, program, reg, setRegister, step,
  supervisorTrap, Trap,
} from "./helpers/vm";

const A0: u32 = 10, A1: u32 = 11, A2: u32 = 12, A6: u32 = 16, A7: u32 = 17;
const EXT_BASE: u32 = 0x10, EXT_TIME: u32 = 0x5449_4D45, EXT_SRST: u32 = 0x5352_5354, EXT_DBCN: u32 = 0x4442_434E;
const EXT_LEGACY_PUTCHAR: u32 = 0x01;
const EXT_HSM: u32 = 0x0048_534D; // not implemented by Ferry
const SBI_ERR_NOT_SUPPORTED: u32 = <u32>-2;
const SBI_ERR_INVALID_PARAM: u32 = <u32>-3;
const SIE_CSR: u32 = 0x104, SSTATUS: u32 = 0x100, SIP: u32 = 0x144, TIME: u32 = 0xC01, CYCLE: u32 = 0xC00;

/** A paravirtual VM about to execute `ecall` at CODE with the given call registers. */
function hypercallVm(eid: u32, fid: u32, a0: u32 = 0, a1: u32 = 0, a2: u32 = 0): Vm {
  const vm = paravirtualVm();
  program(vm, [ecall(), spin()]);
  fillRegisters(vm);
  setRegister(vm, A7, eid);
  setRegister(vm, A6, fid);
  setRegister(vm, A0, a0);
  setRegister(vm, A1, a1);
  setRegister(vm, A2, a2);
  return vm;
}

/** Runs the ecall; checks that it returned to the next instruction in S-mode, not a trap. */
function call(vm: Vm): void {
  expect(step(vm, 1)).toBe(1);
  expect(vm.pc).toBe(CODE + 4, "a hypercall returns to the next instruction");
  expect(vm.mode).toBe(MODE_S);
  expect(vm.scause).toBe(0, "a hypercall is not a guest trap");
  expect(vm.trapped).toBe(0, "a hypercall retires");
}

function text(vm: Vm, at: u32, s: string): void {
  for (let i = 0; i < s.length; i++) store<u8>(vm.ram + (at - RAM_BASE) + i, <u8>s.charCodeAt(i));
}

describe("a paravirtual VM", () => {
  it("starts in S-mode with exceptions but ecall from S delegated", () => {
    const vm = paravirtualVm();
    expect(vm.mode).toBe(MODE_S);
    expect(vm.medeleg & (1 << 9)).toBe(0);
    expect(vm.medeleg & (1 << CAUSE_ILLEGAL_INSTRUCTION)).not.toBe(0);
    expect(vm.mideleg).toBe(0x222);
  });

  it("takes its own exceptions in S-mode at stvec", () => {
    const vm = paravirtualVm();
    program(vm, [csrrs(5, 0x300, 0)]); // mstatus: an M CSR
    step(vm, 1);
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, CODE, csrrs(5, 0x300, 0)));
    expect(vm.pc).toBe(S_HANDLER);
    expect(vm.exit).toBe(EXIT_RUNNING);
    const vm2 = paravirtualVm();
    program(vm2, [ebreak()]);
    step(vm2, 1);
    expect(vm2.scause).toBe(CAUSE_BREAKPOINT);
    expect(vm2.mode).toBe(MODE_S);
  });

  it("ecall from U goes to the guest's S-mode handler, not to the hypervisor", () => {
    const vm = paravirtualVm();
    program(vm, [ecall()]);
    vm.mode = MODE_U;
    setRegister(vm, A7, EXT_BASE);
    setRegister(vm, A0, 0x1234);
    step(vm, 1);
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_U, CODE, 0));
    expect(vm.mode).toBe(MODE_S);
    expect(reg(vm, A0)).toBe(0x1234);
  });

  it("may read the counters in S-mode", () => {
    const vm = paravirtualVm();
    program(vm, [csrrs(5, CYCLE, 0), csrrs(6, TIME, 0)]);
    step(vm, 2);
    expect(vm.scause).toBe(0);
    expect(vm.pc).toBe(CODE + 8);
  });
});

describe("Base extension", () => {
  it("get_spec_version: SBI 2.0", () => {
    const vm = hypercallVm(EXT_BASE, 0);
    call(vm);
    expect(reg(vm, A0)).toBe(0);
    expect(reg(vm, A1)).toBe(0x0200_0000);
  });

  it("get_impl_id, get_impl_version, machine ids", () => {
    let vm = hypercallVm(EXT_BASE, 1);
    call(vm);
    expect(reg(vm, A1)).toBe(0x4652_5259);
    vm = hypercallVm(EXT_BASE, 2);
    call(vm);
    expect(reg(vm, A1)).toBe(0x100);
    for (let fid: u32 = 4; fid <= 6; fid++) {
      vm = hypercallVm(EXT_BASE, fid);
      call(vm);
      expect(reg(vm, A0)).toBe(0);
      expect(reg(vm, A1)).toBe(0);
    }
  });

  it("probe_extension: 1 for implemented extensions, 0 otherwise", () => {
    const implemented: u32[] = [EXT_BASE, EXT_TIME, EXT_SRST, EXT_DBCN, EXT_LEGACY_PUTCHAR];
    for (let i = 0; i < implemented.length; i++) {
      const vm = hypercallVm(EXT_BASE, 3, implemented[i]);
      call(vm);
      expect(reg(vm, A0)).toBe(0);
      expect(reg(vm, A1)).toBe(1, "probe of " + implemented[i].toString(16));
    }
    const missing: u32[] = [EXT_HSM, 0x1234_5678, 0x0735_0049, 0];
    for (let i = 0; i < missing.length; i++) {
      const vm = hypercallVm(EXT_BASE, 3, missing[i]);
      call(vm);
      expect(reg(vm, A0)).toBe(0);
      expect(reg(vm, A1)).toBe(0, "probe of " + missing[i].toString(16));
    }
  });

  it("an unknown function is not supported", () => {
    const vm = hypercallVm(EXT_BASE, 7);
    call(vm);
    expect(reg(vm, A0)).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});

describe("unknown extensions and functions", () => {
  it("an unknown EID returns -2 and preserves every register but a0 and a1", () => {
    const eids: u32[] = [EXT_HSM, 0x1234_5678, 0xFFFF_FFFF, 0x0B00_0000];
    for (let i = 0; i < eids.length; i++) {
      const vm = hypercallVm(eids[i], 0);
      call(vm);
      expect(reg(vm, A0)).toBe(SBI_ERR_NOT_SUPPORTED);
      for (let r: u32 = 1; r < 32; r++) {
        if (r == A0 || r == A1) continue;
        const expected = r == A7 ? eids[i] : r == A6 ? 0 : r == A2 ? 0 : 0xA500_0000 | r;
        expect(reg(vm, r)).toBe(expected, "x" + r.toString() + " changed by a hypercall");
      }
      expect(vm.exit).toBe(EXIT_RUNNING);
    }
  });

  it("unknown functions of TIME, DBCN and SRST are not supported", () => {
    const calls: u32[] = [EXT_TIME, 1, EXT_DBCN, 3, EXT_SRST, 1];
    for (let i = 0; i < calls.length; i += 2) {
      const vm = hypercallVm(calls[i], calls[i + 1]);
      call(vm);
      expect(reg(vm, A0)).toBe(SBI_ERR_NOT_SUPPORTED);
      expect(vm.exit).toBe(EXIT_RUNNING);
    }
  });

  it("a successful call preserves the other registers too", () => {
    const vm = hypercallVm(EXT_BASE, 0);
    call(vm);
    for (let r: u32 = 1; r < 32; r++) {
      if (r == A0 || r == A1 || r == A2 || r == A6 || r == A7) continue;
      expect(reg(vm, r)).toBe(0xA500_0000 | r);
    }
    expect(reg(vm, A7)).toBe(EXT_BASE);
  });
});

describe("debug console (DBCN)", () => {
  it("write with a buffer inside RAM sends the bytes and returns the length", () => {
    const vm = hypercallVm(EXT_DBCN, 0, 5, DATA, 0);
    text(vm, DATA, "Hello, world");
    call(vm);
    expect(reg(vm, A0)).toBe(0);
    expect(reg(vm, A1)).toBe(5);
    expect(consoleText(vm.id)).toBe("Hello");
  });

  it("write with a buffer outside RAM returns -3 and writes nothing", () => {
    const cases: u32[] = [
      5, 0x1000, 0, // below RAM
      5, RAM_BASE + RAM_BYTES - 2, 0, // straddles the end of RAM
      5, DATA, 1, // base_addr_hi != 0
      0x2_0000, DATA, 0, // longer than RAM
    ];
    for (let i = 0; i < cases.length; i += 3) {
      const vm = hypercallVm(EXT_DBCN, 0, cases[i], cases[i + 1], cases[i + 2]);
      text(vm, DATA, "secret");
      call(vm);
      expect(reg(vm, A0)).toBe(SBI_ERR_INVALID_PARAM);
      flushConsole(vm);
      expect(consoleText(vm.id)).toBe("");
    }
  });

  it("write_byte is buffered until a newline", () => {
    const vm = hypercallVm(EXT_DBCN, 2, 0x5A);
    program(vm, [ecall(), addi(A0, 0, 0x0A), ecall(), spin()]);
    call(vm);
    expect(reg(vm, A0)).toBe(0);
    expect(consoleText(vm.id)).toBe("");
    step(vm, 2);
    expect(consoleText(vm.id)).toBe("Z\n");
  });

  it("write keeps its bytes in order after buffered write_byte bytes", () => {
    const vm = hypercallVm(EXT_DBCN, 2, 0x41);
    text(vm, DATA, "BC");
    // ecall (write_byte 'A'); a6 = 0; a0 = 2; a1 = DATA (preset in s0); ecall (write)
    program(vm, [ecall(), addi(A6, 0, 0), addi(A0, 0, 2), addi(A1, 8, 0), ecall(), spin()]);
    setRegister(vm, 8, DATA);
    step(vm, 5);
    expect(reg(vm, A0)).toBe(0);
    expect(consoleText(vm.id)).toBe("ABC");
  });

  it("read returns 0 bytes and leaves the buffer alone", () => {
    const vm = hypercallVm(EXT_DBCN, 1, 4, DATA, 0);
    poke(vm, DATA, [0x1234_5678]);
    call(vm);
    expect(reg(vm, A0)).toBe(0);
    expect(reg(vm, A1)).toBe(0);
    expect(peek(vm, DATA)).toBe(0x1234_5678);
  });

  it("legacy console_putchar returns 0 in a0 and keeps a1", () => {
    const vm = hypercallVm(EXT_LEGACY_PUTCHAR, 0, 0x78, 0x5555);
    call(vm);
    expect(reg(vm, A0)).toBe(0);
    expect(reg(vm, A1)).toBe(0x5555);
    flushConsole(vm);
    expect(consoleText(vm.id)).toBe("x");
  });
});

describe("system reset (SRST)", () => {
  it("shutdown with no reason stops the VM: exit shutdown, code 0", () => {
    const vm = hypercallVm(EXT_SRST, 0, 0, 0);
    program(vm, [ecall(), addi(5, 0, 1), spin()]);
    setRegister(vm, 5, 0);
    runProcessor(100);
    expect(vm.executed).toBe(1, "instructions executed before the VM stopped");
    expect(vm.exit).toBe(EXIT_SHUTDOWN);
    expect(vm.exitCode).toBe(0);
    expect(reg(vm, 5)).toBe(0, "ran on after shutdown");
  });

  it("shutdown with reason system failure: exit failure, code 1", () => {
    const vm = hypercallVm(EXT_SRST, 0, 0, 1);
    call(vm);
    expect(vm.exit).toBe(EXIT_FAILURE);
    expect(vm.exitCode).toBe(1);
  });

  it("a vendor-specific reason counts as a failure", () => {
    const vm = hypercallVm(EXT_SRST, 0, 0, 0xE000_0001);
    call(vm);
    expect(vm.exit).toBe(EXIT_FAILURE);
    expect(vm.exitCode).toBe(0xE000_0001);
  });

  it("cold and warm reboot: exit reboot with the type", () => {
    let vm = hypercallVm(EXT_SRST, 0, 1, 0);
    call(vm);
    expect(vm.exit).toBe(EXIT_REBOOT);
    expect(vm.exitCode).toBe(1);
    vm = hypercallVm(EXT_SRST, 0, 2, 0);
    call(vm);
    expect(vm.exit).toBe(EXIT_REBOOT);
    expect(vm.exitCode).toBe(2);
  });

  it("reserved types and reasons return -3 and the VM runs on", () => {
    let vm = hypercallVm(EXT_SRST, 0, 3, 0);
    call(vm);
    expect(reg(vm, A0)).toBe(SBI_ERR_INVALID_PARAM);
    expect(vm.exit).toBe(EXIT_RUNNING);
    vm = hypercallVm(EXT_SRST, 0, 0, 2);
    call(vm);
    expect(reg(vm, A0)).toBe(SBI_ERR_INVALID_PARAM);
    expect(vm.exit).toBe(EXIT_RUNNING);
  });
});

/**
 * A guest that enables sie.STIE (and sstatus.SIE if `globalEnable`), arms the timer with
 * set_timer(deadline) and then runs `tail` from CODE + 12.
 */
function timerGuest(deadline: u64, globalEnable: bool, tail: u32[]): Vm {
  const vm = paravirtualVm();
  const words: u32[] = [csrrs(0, SIE_CSR, 6), globalEnable ? csrrsi(0, SSTATUS, 2) : addi(0, 0, 0), ecall()];
  for (let i = 0; i < tail.length; i++) words.push(tail[i]);
  program(vm, words);
  setRegister(vm, 6, 1 << IRQ_S_TIMER);
  setRegister(vm, A7, EXT_TIME);
  setRegister(vm, A6, 0);
  setRegister(vm, A0, <u32>deadline);
  setRegister(vm, A1, <u32>(deadline >> 32));
  return vm;
}

/** set_timer at clock `hz`, then a busy loop: the interrupt must come exactly at the deadline. */
function timerInterruptAtTheRightCycle(hz: u64): void {
  setClockHz(hz);
  const start = now();
  const deadline = cyclesToTicks(start) + 100;
  const due = ticksToCycles(deadline);
  // CODE + 12: addi t0, t0, 1; j -4
  const vm = timerGuest(deadline, true, [addi(5, 5, 1), jal(0, -4)]);
  runProcessor(due - start + 5);
  expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_INTERRUPT | IRQ_S_TIMER, CODE + 12 + <u32>(((due - start - 3) & 1) << 2), 0));
  expect(reg(vm, 5)).toBe(<u32>((due - start - 3 + 1) / 2), "instructions run before the interrupt");
  expect(vm.pc).toBe(S_HANDLER);
  expect(vm.mode).toBe(MODE_S);
  expect(vm.mstatus & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)).toBe(MSTATUS_SPIE | MSTATUS_SPP);
}

describe("timer (TIME set_timer) and wfi", () => {
  afterEach(() => {
    setClockHz(100_000_000);
  });

  it("set_timer then time passing raises the supervisor timer interrupt at the deadline (100 MHz)", () => {
    timerInterruptAtTheRightCycle(100_000_000);
  });

  it("... and at a clock that is not a multiple of the timebase (33 MHz)", () => {
    timerInterruptAtTheRightCycle(33_000_000);
  });

  it("without sstatus.SIE the interrupt stays pending in sip and is not taken", () => {
    const start = now();
    const deadline = cyclesToTicks(start) + 10;
    const vm = timerGuest(deadline, false, [addi(5, 5, 1), jal(0, -4)]);
    runProcessor(ticksToCycles(deadline) - start + 50);
    expect(vm.scause).toBe(0);
    poke(vm, CODE + 0x100, [csrrs(8, SIP, 0)]);
    vm.pc = CODE + 0x100;
    step(vm, 1);
    expect(reg(vm, 8)).toBe(1 << IRQ_S_TIMER);
  });

  it("sip.STIP is clear before the deadline", () => {
    const start = now();
    const deadline = cyclesToTicks(start) + 1000;
    const vm = timerGuest(deadline, false, [csrrs(8, SIP, 0), spin()]);
    runProcessor(10);
    expect(reg(vm, 8)).toBe(0);
  });

  it("a deadline in the past interrupts right after set_timer; all ones disarms", () => {
    const vm = timerGuest(0, true, [addi(5, 5, 1), jal(0, -4)]);
    runProcessor(10);
    expect(vm.scause).toBe(CAUSE_INTERRUPT | IRQ_S_TIMER);
    expect(vm.sepc).toBe(CODE + 12);
    const vm2 = timerGuest(0xFFFF_FFFF_FFFF_FFFF, true, [addi(5, 5, 1), jal(0, -4)]);
    runProcessor(1000);
    expect(vm2.scause).toBe(0);
    expect(vm2.stimecmp).toBe(u64.MAX_VALUE);
  });

  it("wfi sleeps until the deadline: virtual time jumps, no instructions run", () => {
    const start = now();
    const deadline = cyclesToTicks(start) + 1000; // ~10000 cycles at 100 MHz
    const due = ticksToCycles(deadline);
    const vm = timerGuest(deadline, true, [wfi(), addi(5, 5, 1), spin()]);
    expect(runProcessor(due - start)).toBe(due - start);
    expect(now()).toBe(due);
    expect(vm.waiting).toBe(true);
    expect(vm.executed - vm.trapped).toBe(4, "instructions retired while asleep");
    expect(vm.cycles).toBe(due - start);
    expect(vm.pc).toBe(CODE + 16);
    expect(vm.scause).toBe(0);
    runProcessor(1);
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_INTERRUPT | IRQ_S_TIMER, CODE + 16, 0));
    expect(vm.waiting).toBe(false);
    expect(reg(vm, 5)).toBe(0);
    expect(vm.pc).toBe(S_HANDLER);
  });

  it("wfi with sstatus.SIE clear wakes at the deadline and goes on without a trap", () => {
    const start = now();
    const deadline = cyclesToTicks(start) + 500;
    const due = ticksToCycles(deadline);
    const vm = timerGuest(deadline, false, [wfi(), addi(5, 5, 1), spin()]);
    runProcessor(due - start + 1);
    expect(vm.scause).toBe(0);
    expect(vm.waiting).toBe(false);
    expect(reg(vm, 5)).toBe(1);
    expect(vm.executed).toBe(5);
  });

  it("the clock is restored between tests", () => {
    expect(getClockHz()).toBe(100_000_000);
  });
});
