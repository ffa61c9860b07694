/**
 * Just enough of an RV32I assembler to write tiny test guests inline:
 * each function returns one or two instruction words.
 */
export const reg = { zero: 0, ra: 1, sp: 2, t0: 5, t1: 6, a0: 10, a1: 11, a6: 16, a7: 17 } as const;

const iType = (imm: number, rs1: number, funct3: number, rd: number, opcode: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode) >>> 0;

export const addi = (rd: number, rs1: number, imm: number): number[] => [iType(imm, rs1, 0, rd, 0x13)];
export const lui = (rd: number, imm20: number): number[] => [(((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0];
export const ecall = (): number[] => [0x0000_0073];
/** jal zero, 0: spin forever. */
export const spin = (): number[] => [0x0000_006f];

export function sw(rs2: number, rs1: number, imm: number): number[] {
  const lo = imm & 0x1f;
  const hi = (imm >> 5) & 0x7f;
  return [((hi << 25) | (rs2 << 20) | (rs1 << 15) | (2 << 12) | (lo << 7) | 0x23) >>> 0];
}

/** Loads any 32-bit constant (lui + addi, with addi's sign extension compensated). */
export function li(rd: number, value: number): number[] {
  const lo = ((value & 0xfff) << 20) >> 20;
  const hi = ((value - lo) >>> 12) & 0xfffff;
  return [...lui(rd, hi), ...addi(rd, rd, lo)];
}

/** Instruction words as little-endian bytes. */
export function assemble(...instructions: number[][]): Uint8Array {
  const words = instructions.flat();
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(i * 4, word, true));
  return bytes;
}
