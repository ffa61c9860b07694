/**
 * A small seeded pseudo-random generator for fault injection: the same seed
 * gives the same stream on every machine and every run (no Math.random, no
 * wall time). xoshiro128** by Blackman and Vigna, seeded through splitmix32.
 */

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any unsigned 32-bit integer; `stream` picks an independent sequence for the same seed. */
  constructor(seed: number, stream = 0) {
    let state = (seed ^ Math.imul(stream + 1, 0x9e37_79b9)) >>> 0;
    const next = (): number => {
      state = (state + 0x9e37_79b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next unsigned 32-bit value. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** Uniform integer in [0, bound), bound ≥ 1 (tiny modulo bias: fine for fault injection). */
  nextBelow(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
