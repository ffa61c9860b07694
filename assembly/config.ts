// Fixed facts of the platform Ferry emulates for its guests, and (numbers.ts, generated
// from wit/numbers.json) every number the core shares with the host.
export * from "./numbers";

/** Guest-physical address of every VM's RAM (as on QEMU virt and most RISC-V boards). */
export const RAM_BASE: u32 = 0x8000_0000;
/** Page size for dirty tracking, checkpoints and migration. */
export const PAGE_SHIFT: u32 = 12;
export const PAGE_BYTES: u32 = 1 << PAGE_SHIFT;
/** The timer (time CSR, CLINT mtime, SBI set_timer) ticks at 10 MHz of virtual time, as on QEMU virt. */
export const TIMEBASE_HZ: u64 = 10_000_000;
/** Bytes a VM may buffer on its console before the core hands them to the board. */
export const CONSOLE_BUFFER_BYTES: u32 = 256;

// Privilege modes.
export const MODE_U: u32 = 0;
export const MODE_S: u32 = 1;
export const MODE_M: u32 = 3;

// Exception causes.
export const CAUSE_MISALIGNED_FETCH: u32 = 0;
export const CAUSE_FETCH_ACCESS: u32 = 1;
export const CAUSE_ILLEGAL_INSTRUCTION: u32 = 2;
export const CAUSE_BREAKPOINT: u32 = 3;
export const CAUSE_LOAD_MISALIGNED: u32 = 4;
export const CAUSE_LOAD_ACCESS: u32 = 5;
export const CAUSE_STORE_MISALIGNED: u32 = 6;
export const CAUSE_STORE_ACCESS: u32 = 7;
export const CAUSE_ECALL_U: u32 = 8;
export const CAUSE_ECALL_S: u32 = 9;
export const CAUSE_ECALL_M: u32 = 11;
export const CAUSE_INTERRUPT: u32 = 0x8000_0000;

// Interrupt numbers (bits of mip / mie).
export const IRQ_S_SOFT: u32 = 1;
export const IRQ_M_SOFT: u32 = 3;
export const IRQ_S_TIMER: u32 = 5;
export const IRQ_M_TIMER: u32 = 7;
export const IRQ_S_EXT: u32 = 9;
export const IRQ_M_EXT: u32 = 11;
