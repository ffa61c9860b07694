// Traps (dispatcher.ts, trap.ts, system.ts, irq.ts): exception entry into M and S,
// delegation, mret / sret, trap vectors (direct and vectored), interrupt enables and
// priorities, and a trap to a vector outside RAM stopping the VM.
import {
  CAUSE_BREAKPOINT, CAUSE_ECALL_M, CAUSE_ECALL_S, CAUSE_ECALL_U, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION,
  CAUSE_INTERRUPT, CAUSE_LOAD_ACCESS, EXIT_FAULT, EXIT_RUNNING, IRQ_M_EXT, IRQ_M_SOFT, IRQ_S_SOFT, MODE_M, MODE_S,
  MODE_U, RAM_BASE,
} from "../config";
import { MSTATUS_MPIE, MSTATUS_MPP, MSTATUS_MPRV, MSTATUS_SPIE, MSTATUS_SPP, MSTATUS_TSR, MSTATUS_TW } from "../csr";
import { MSTATUS_MIE, MSTATUS_SIE } from "../irq";
import { runProcessor } from "../processor";
import { Vm } from "../vm";
import { addi, csrrc, csrrs, csrrw, ebreak, ecall, jalr, lw, mret, sfenceVma, spin, sret, wfi } from "./helpers/encode";
import {
  CODE, M_HANDLER, RAM_BYTES, S_HANDLER, machineTrap, machineVm, paravirtualVm, poke, program, reg, setRegister, step,
  supervisorTrap, Trap,
} from "./helpers/vm";

const MSTATUS: u32 = 0x300, MEPC: u32 = 0x341;
const AT: u32 = CODE + 0x20;

function mpp(vm: Vm): u32 {
  return (vm.mstatus & MSTATUS_MPP) >> 11;
}

/** Runs `inst` at AT in a machine VM already set up by the caller. */
function execAt(vm: Vm, inst: u32): void {
  poke(vm, AT, [inst]);
  vm.pc = AT;
  expect(step(vm, 1)).toBe(1);
}

describe("exceptions into M-mode", () => {
  it("ecall from M: cause 11, mepc = the ecall, pc = mtvec", () => {
    const vm = machineVm();
    execAt(vm, ecall());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_M, AT, 0));
    expect(vm.pc).toBe(M_HANDLER);
    expect(vm.mode).toBe(MODE_M);
    expect(mpp(vm)).toBe(MODE_M);
    expect(vm.trapped).toBe(1);
  });

  it("ecall from S: cause 9; from U: cause 8 (MPP records the mode)", () => {
    let vm = machineVm();
    vm.mode = MODE_S;
    execAt(vm, ecall());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_S, AT, 0));
    expect(mpp(vm)).toBe(MODE_S);
    expect(vm.mode).toBe(MODE_M);
    vm = machineVm();
    vm.mode = MODE_U;
    execAt(vm, ecall());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_U, AT, 0));
    expect(mpp(vm)).toBe(MODE_U);
    expect(vm.pc).toBe(M_HANDLER);
  });

  it("ebreak: cause 3 at the ebreak", () => {
    const vm = machineVm();
    execAt(vm, ebreak());
    expect(vm.mcause).toBe(CAUSE_BREAKPOINT);
    expect(vm.mepc).toBe(AT);
    expect(vm.pc).toBe(M_HANDLER);
  });

  it("trap entry moves MIE to MPIE and clears MIE", () => {
    const vm = machineVm();
    vm.mstatus = MSTATUS_MIE;
    execAt(vm, ecall());
    expect(vm.mstatus & (MSTATUS_MIE | MSTATUS_MPIE)).toBe(MSTATUS_MPIE);
    const vm2 = machineVm();
    vm2.mstatus = MSTATUS_MPIE;
    execAt(vm2, ecall());
    expect(vm2.mstatus & (MSTATUS_MIE | MSTATUS_MPIE)).toBe(0);
  });

  it("a fetch outside RAM: instruction access fault (cause 1) at the target", () => {
    const vm = machineVm();
    setRegister(vm, 1, 0x1000);
    execAt(vm, jalr(0, 1, 0));
    expect(vm.pc).toBe(0x1000);
    step(vm, 1);
    expect(vm.pc).toBe(M_HANDLER);
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_FETCH_ACCESS, 0x1000, 0x1000));
    // running off the end of RAM
    const vm2 = machineVm();
    const last = RAM_BASE + RAM_BYTES - 4;
    poke(vm2, last, [addi(5, 5, 1)]);
    vm2.pc = last;
    step(vm2, 2);
    expect(reg(vm2, 5)).toBe(1);
    expect(machineTrap(vm2)).toStrictEqual(new Trap(CAUSE_FETCH_ACCESS, RAM_BASE + RAM_BYTES, RAM_BASE + RAM_BYTES));
  });

  it("trap vector in direct mode ignores the cause", () => {
    const vm = machineVm();
    vm.mtvec = CODE + 0x400;
    execAt(vm, 0);
    expect(vm.pc).toBe(CODE + 0x400);
  });
});

describe("mret", () => {
  it("returns to MPP with MIE = MPIE, then MPIE = 1 and MPP = U", () => {
    const vm = machineVm();
    vm.mstatus = MSTATUS_MPIE | (MODE_U << 11);
    vm.mepc = CODE + 0x100;
    execAt(vm, mret());
    expect(vm.pc).toBe(CODE + 0x100);
    expect(vm.mode).toBe(MODE_U);
    expect(vm.mstatus & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP)).toBe(MSTATUS_MIE | MSTATUS_MPIE);
  });

  it("to S with MPIE = 0 leaves MIE clear", () => {
    const vm = machineVm();
    vm.mstatus = MSTATUS_MIE | (MODE_S << 11);
    vm.mepc = CODE + 0x100;
    execAt(vm, mret());
    expect(vm.mode).toBe(MODE_S);
    expect(vm.mstatus & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP)).toBe(MSTATUS_MPIE);
  });

  it("to M keeps MPRV; to a lower mode clears it", () => {
    let vm = machineVm();
    vm.mstatus = MSTATUS_MPRV | (MODE_M << 11);
    vm.mepc = CODE + 0x100;
    execAt(vm, mret());
    expect(vm.mode).toBe(MODE_M);
    expect(vm.mstatus & MSTATUS_MPRV).toBe(MSTATUS_MPRV);
    vm = machineVm();
    vm.mstatus = MSTATUS_MPRV | (MODE_S << 11);
    vm.mepc = CODE + 0x100;
    execAt(vm, mret());
    expect(vm.mstatus & MSTATUS_MPRV).toBe(0);
  });

  it("is illegal below M", () => {
    const vm = machineVm();
    vm.mode = MODE_S;
    vm.mepc = CODE + 0x100;
    execAt(vm, mret());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, AT, mret()));
    expect(mpp(vm)).toBe(MODE_S);
    const vm2 = machineVm();
    vm2.mode = MODE_U;
    execAt(vm2, mret());
    expect(vm2.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });

  it("M code drops to U with mret; U's ecall comes back to M", () => {
    const vm = machineVm();
    const user = CODE + 0x100;
    // la t0, user (t0 preset); csrw mepc, t0; li t1, MPP; csrc mstatus, t1; mret
    program(vm, [csrrw(0, MEPC, 5), csrrc(0, MSTATUS, 6), mret()]);
    poke(vm, user, [addi(7, 0, 42), ecall()]);
    setRegister(vm, 5, user);
    setRegister(vm, 6, MSTATUS_MPP);
    vm.mstatus = MODE_M << 11;
    step(vm, 5);
    expect(reg(vm, 7)).toBe(42);
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_U, user + 4, 0));
    expect(vm.mode).toBe(MODE_M);
    expect(mpp(vm)).toBe(MODE_U);
    expect(vm.pc).toBe(M_HANDLER);
  });
});

describe("delegation to S-mode (medeleg)", () => {
  it("an exception in S delegated by medeleg goes to stvec with scause, sepc, stval, SPP = S", () => {
    const vm = machineVm();
    vm.medeleg = 1 << CAUSE_ILLEGAL_INSTRUCTION;
    vm.stvec = S_HANDLER;
    vm.mode = MODE_S;
    vm.mstatus = MSTATUS_SIE;
    execAt(vm, 0xFFFF_FFFF);
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, AT, 0xFFFF_FFFF));
    expect(vm.pc).toBe(S_HANDLER);
    expect(vm.mode).toBe(MODE_S);
    expect(vm.mstatus & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)).toBe(MSTATUS_SPP | MSTATUS_SPIE);
    expect(machineTrap(vm)).toStrictEqual(new Trap(0, 0, 0));
  });

  it("an exception in U delegated by medeleg: SPP = U", () => {
    const vm = machineVm();
    vm.medeleg = (1 << CAUSE_ECALL_U) | (1 << CAUSE_LOAD_ACCESS);
    vm.stvec = S_HANDLER;
    vm.mode = MODE_U;
    execAt(vm, ecall());
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_U, AT, 0));
    expect(vm.mode).toBe(MODE_S);
    expect(vm.mstatus & MSTATUS_SPP).toBe(0);
    vm.mode = MODE_U;
    setRegister(vm, 1, 0x10);
    execAt(vm, lw(2, 1, 0));
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_LOAD_ACCESS, AT, 0x10));
    expect(vm.mcause).toBe(0);
  });

  it("exceptions not delegated still go to M", () => {
    const vm = machineVm();
    vm.medeleg = 1 << CAUSE_ECALL_U;
    vm.stvec = S_HANDLER;
    vm.mode = MODE_S;
    execAt(vm, ecall());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ECALL_S, AT, 0));
    expect(vm.scause).toBe(0);
    expect(vm.pc).toBe(M_HANDLER);
  });

  it("medeleg does not apply to traps taken in M", () => {
    const vm = machineVm();
    vm.medeleg = 1 << CAUSE_ILLEGAL_INSTRUCTION;
    vm.stvec = S_HANDLER;
    execAt(vm, 0);
    expect(vm.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
    expect(vm.scause).toBe(0);
    expect(vm.mode).toBe(MODE_M);
  });
});

describe("sret and other privileged instructions", () => {
  it("sret returns to SPP with SIE = SPIE, then SPIE = 1, SPP = U", () => {
    const vm = machineVm();
    vm.mode = MODE_S;
    vm.mstatus = MSTATUS_SPIE;
    vm.sepc = CODE + 0x100;
    execAt(vm, sret());
    expect(vm.pc).toBe(CODE + 0x100);
    expect(vm.mode).toBe(MODE_U);
    expect(vm.mstatus & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)).toBe(MSTATUS_SIE | MSTATUS_SPIE);
    const vm2 = machineVm();
    vm2.mode = MODE_S;
    vm2.mstatus = MSTATUS_SPP | MSTATUS_SIE;
    vm2.sepc = CODE + 0x200;
    execAt(vm2, sret());
    expect(vm2.mode).toBe(MODE_S);
    expect(vm2.pc).toBe(CODE + 0x200);
    expect(vm2.mstatus & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)).toBe(MSTATUS_SPIE);
  });

  it("sret from M is allowed", () => {
    const vm = machineVm();
    vm.mstatus = MSTATUS_SPP;
    vm.sepc = CODE + 0x100;
    execAt(vm, sret());
    expect(vm.mode).toBe(MODE_S);
    expect(vm.pc).toBe(CODE + 0x100);
  });

  it("sret is illegal in U, and in S when mstatus.TSR is set", () => {
    const vm = machineVm();
    vm.mode = MODE_U;
    execAt(vm, sret());
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, AT, sret()));
    const vm2 = machineVm();
    vm2.mode = MODE_S;
    vm2.mstatus = MSTATUS_TSR;
    execAt(vm2, sret());
    expect(vm2.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });

  it("wfi waits in M and S, is illegal in U and in S when mstatus.TW is set", () => {
    let vm = machineVm();
    execAt(vm, wfi());
    expect(vm.waiting).toBe(true);
    expect(vm.pc).toBe(AT + 4);
    vm = machineVm();
    vm.mode = MODE_S;
    execAt(vm, wfi());
    expect(vm.waiting).toBe(true);
    vm = machineVm();
    vm.mode = MODE_U;
    execAt(vm, wfi());
    expect(vm.waiting).toBe(false);
    expect(vm.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
    vm = machineVm();
    vm.mode = MODE_S;
    vm.mstatus = MSTATUS_TW;
    execAt(vm, wfi());
    expect(vm.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });

  it("sfence.vma is a no-op in S and illegal in U", () => {
    let vm = machineVm();
    vm.mode = MODE_S;
    execAt(vm, sfenceVma());
    expect(vm.pc).toBe(AT + 4);
    expect(vm.mcause).toBe(0);
    vm = machineVm();
    vm.mode = MODE_U;
    execAt(vm, sfenceVma());
    expect(vm.mcause).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });

  it("SYSTEM encodings that are not instructions are illegal", () => {
    const vm = machineVm();
    const bad: u32[] = [0x0000_4073, 0x0010_0073 | (1 << 7), 0x3020_0073 | (1 << 15), 0x0020_0073];
    for (let i = 0; i < bad.length; i++) {
      vm.mcause = 0;
      vm.mode = MODE_M;
      execAt(vm, bad[i]);
      expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_ILLEGAL_INSTRUCTION, AT, bad[i]));
    }
  });
});

describe("interrupts", () => {
  it("mtvec vectored mode: interrupts go to base + 4 * cause, exceptions to base", () => {
    const vm = machineVm();
    const base = CODE + 0x200;
    vm.mtvec = base | 1;
    poke(vm, base, [spin()]);
    poke(vm, base + 4 * IRQ_M_SOFT, [spin()]);
    program(vm, [spin()]);
    vm.mie = 1 << IRQ_M_SOFT;
    vm.mstatus = MSTATUS_MIE;
    vm.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(1);
    expect(machineTrap(vm)).toStrictEqual(new Trap(CAUSE_INTERRUPT | IRQ_M_SOFT, CODE, 0));
    expect(vm.pc).toBe(base + 4 * IRQ_M_SOFT);
    expect(vm.mstatus & (MSTATUS_MIE | MSTATUS_MPIE)).toBe(MSTATUS_MPIE);
    // an exception through the same mtvec goes to the base
    vm.mipSoft = 0;
    execAt(vm, ecall());
    expect(vm.pc).toBe(base);
  });

  it("stvec vectored mode for a delegated interrupt", () => {
    const vm = machineVm();
    const base = CODE + 0x300;
    vm.stvec = base | 1;
    poke(vm, base + 4 * IRQ_S_SOFT, [spin()]);
    program(vm, [spin()]);
    vm.mideleg = 1 << IRQ_S_SOFT;
    vm.mie = 1 << IRQ_S_SOFT;
    vm.mode = MODE_S;
    vm.mstatus = MSTATUS_SIE;
    vm.mipSoft = 1 << IRQ_S_SOFT;
    runProcessor(1);
    expect(supervisorTrap(vm)).toStrictEqual(new Trap(CAUSE_INTERRUPT | IRQ_S_SOFT, CODE, 0));
    expect(vm.pc).toBe(base + 4 * IRQ_S_SOFT);
    expect(vm.mode).toBe(MODE_S);
    expect(vm.mcause).toBe(0);
  });

  it("M interrupts wait for mstatus.MIE in M but are always on below M", () => {
    const vm = machineVm();
    program(vm, [addi(5, 5, 1), csrrs(0, MSTATUS, 6), addi(5, 5, 1), spin()]);
    setRegister(vm, 6, MSTATUS_MIE);
    vm.mie = 1 << IRQ_M_SOFT;
    vm.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(2); // addi; csrs mstatus.MIE: the interrupt comes before the second addi
    runProcessor(1);
    expect(vm.mcause).toBe(CAUSE_INTERRUPT | IRQ_M_SOFT);
    expect(vm.mepc).toBe(CODE + 8);
    expect(reg(vm, 5)).toBe(1);
    const vm2 = machineVm();
    program(vm2, [spin()]);
    vm2.mode = MODE_U;
    vm2.mie = 1 << IRQ_M_SOFT;
    vm2.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(1);
    expect(vm2.mcause).toBe(CAUSE_INTERRUPT | IRQ_M_SOFT);
    expect(vm2.mode).toBe(MODE_M);
    expect(mpp(vm2)).toBe(MODE_U);
  });

  it("a delegated interrupt is never taken in M", () => {
    const vm = machineVm();
    program(vm, [spin()]);
    vm.mideleg = 1 << IRQ_S_SOFT;
    vm.mie = 1 << IRQ_S_SOFT;
    vm.mstatus = MSTATUS_SIE | MSTATUS_MIE;
    vm.mipSoft = 1 << IRQ_S_SOFT;
    vm.stvec = S_HANDLER;
    runProcessor(10);
    expect(vm.scause).toBe(0);
    expect(vm.pc).toBe(CODE);
  });

  it("an interrupt masked in mie is not taken", () => {
    const vm = machineVm();
    program(vm, [spin()]);
    vm.mstatus = MSTATUS_MIE;
    vm.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(10);
    expect(vm.mcause).toBe(0);
  });

  it("priority: external before software before timer", () => {
    const vm = machineVm();
    program(vm, [spin()]);
    vm.mie = (1 << IRQ_M_SOFT) | (1 << IRQ_M_EXT) | (1 << IRQ_S_SOFT);
    vm.mstatus = MSTATUS_MIE;
    vm.mipSoft = (1 << IRQ_M_SOFT) | (1 << IRQ_S_SOFT);
    vm.externalLevel = 1;
    runProcessor(1);
    expect(vm.mcause).toBe(CAUSE_INTERRUPT | IRQ_M_EXT);
    const vm2 = machineVm();
    program(vm2, [spin()]);
    vm2.mie = (1 << IRQ_M_SOFT) | (1 << IRQ_S_SOFT);
    vm2.mstatus = MSTATUS_MIE;
    vm2.mipSoft = (1 << IRQ_M_SOFT) | (1 << IRQ_S_SOFT);
    runProcessor(1);
    expect(vm2.mcause).toBe(CAUSE_INTERRUPT | IRQ_M_SOFT);
  });
});

describe("trap vector outside RAM", () => {
  it("stops a machine VM with exit reason fault and the cause", () => {
    const vm = machineVm();
    vm.mtvec = 0;
    program(vm, [addi(5, 5, 1), ecall(), addi(5, 5, 1)]);
    runProcessor(100);
    expect(vm.executed).toBe(2, "instructions executed before the VM stopped");
    expect(vm.exit).toBe(EXIT_FAULT);
    expect(vm.exitCode).toBe(CAUSE_ECALL_M);
    expect(reg(vm, 5)).toBe(1);
  });

  it("a vector just past the end of RAM also stops it", () => {
    const vm = machineVm();
    vm.mtvec = RAM_BASE + RAM_BYTES;
    program(vm, [0]);
    step(vm, 1);
    expect(vm.exit).toBe(EXIT_FAULT);
    expect(vm.exitCode).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });

  it("a vectored interrupt entry outside RAM stops it with the interrupt cause", () => {
    const vm = machineVm();
    vm.mtvec = (RAM_BASE + RAM_BYTES - 8) | 1;
    program(vm, [spin()]);
    vm.mie = 1 << IRQ_M_SOFT;
    vm.mstatus = MSTATUS_MIE;
    vm.mipSoft = 1 << IRQ_M_SOFT;
    runProcessor(10);
    expect(vm.executed).toBe(0, "instructions executed before the VM stopped");
    expect(vm.exit).toBe(EXIT_FAULT);
    expect(vm.exitCode).toBe(CAUSE_INTERRUPT | IRQ_M_SOFT);
  });

  it("a vector inside RAM keeps the VM running", () => {
    const vm = machineVm();
    program(vm, [ecall()]);
    runProcessor(10);
    expect(vm.exit).toBe(EXIT_RUNNING);
    expect(vm.pc).toBe(M_HANDLER);
  });

  it("stops a paravirtual VM whose stvec is outside RAM", () => {
    const vm = paravirtualVm();
    vm.stvec = 0;
    program(vm, [0]);
    step(vm, 1);
    expect(vm.exit).toBe(EXIT_FAULT);
    expect(vm.exitCode).toBe(CAUSE_ILLEGAL_INSTRUCTION);
  });
});
