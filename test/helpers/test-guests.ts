/**
 * Tiny guests assembled inline, so the host can be tested end to end without
 * the C guests in guests/build.
 */
import { RAM_BASE, buildElf } from './elf-builder.js';
import { addi, assemble, ecall, li, reg, spin, sw } from './rv32.js';

const SBI_LEGACY_PUTCHAR = 0x01;
const SBI_SRST = 0x5352_5354;

function putchars(text: string): number[][] {
  return [...text].flatMap((char) => [li(reg.a7, SBI_LEGACY_PUTCHAR), addi(reg.a0, reg.zero, char.charCodeAt(0)), ecall()]);
}

function srst(reason: number): number[][] {
  return [li(reg.a7, SBI_SRST), li(reg.a6, 0), li(reg.a0, 0), li(reg.a1, reason), ecall(), spin()];
}

/** Paravirtual: prints `text` with the legacy putchar call, then SRST shutdown with `reason`. */
export function printAndShutdownGuest(text: string, reason = 0): Uint8Array {
  return buildElf({ segments: [{ paddr: RAM_BASE, data: assemble(...putchars(text), ...srst(reason)), flags: 5 }] });
}

/** Spins forever: only a cycle limit stops it. */
export function spinningGuest(): Uint8Array {
  return buildElf({ segments: [{ paddr: RAM_BASE, data: assemble(spin()), flags: 5 }] });
}

/** Machine guest with a tohost symbol: writes `value` to tohost. */
export function tohostGuest(value: number): Uint8Array {
  const tohost = RAM_BASE + 0x100;
  const code = assemble(li(reg.t0, tohost), li(reg.t1, value), sw(reg.t1, reg.t0, 0), spin());
  return buildElf({
    segments: [{ paddr: RAM_BASE, data: code, memBytes: 0x200, flags: 7 }],
    symbols: [{ name: 'tohost', value: tohost }],
  });
}
