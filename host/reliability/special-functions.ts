/**
 * The few special functions the estimators need, written out so that no
 * numeric dependency is required: ln Γ, the regularized incomplete beta
 * function and its inverse, and the standard normal distribution and its
 * quantile. Accurate to ~1e-14 in the ranges the estimators use.
 */

/**
 * ln Γ(x), x > 0: Stirling's series with Bernoulli terms for x ≥ 12
 * (Abramowitz & Stegun 6.1.40), shifted up by Γ(x+1) = xΓ(x) below that.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, not ${x}`);
  let shift = 0;
  while (x < 12) {
    shift -= Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // B2/(1·2), B4/(3·4), B6/(5·6), ... : 1/12, −1/360, 1/1260, −1/1680, 1/1188.
  const series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 / 1188))));
  return shift + (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series;
}

/**
 * I_x(a, b), the regularized incomplete beta function, by its continued
 * fraction (DLMF 8.17.22) evaluated with the modified Lentz method; for
 * x > (a+1)/(a+b+2) through I_x(a,b) = 1 − I_{1−x}(b,a), where the fraction
 * converges quickly.
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a);
  const logFront = a * Math.log(x) + b * Math.log1p(-x) - Math.log(a) - logBeta(a, b);
  return Math.exp(logFront) * betaContinuedFraction(x, a, b);
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const TINY = 1e-300;

function betaContinuedFraction(x: number, a: number, b: number): number {
  // 1 / (1 + d1/(1 + d2/(1 + ...))) with d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),
  // d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 10_000; m++) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    [c, d] = lentzStep(c, d, even);
    f *= c * d;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    [c, d] = lentzStep(c, d, odd);
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) return f;
  }
  throw new Error(`incomplete beta did not converge (x = ${x}, a = ${a}, b = ${b})`);
}

function lentzStep(c: number, d: number, coefficient: number): [number, number] {
  let nextD = 1 + coefficient * d;
  if (Math.abs(nextD) < TINY) nextD = TINY;
  let nextC = 1 + coefficient / c;
  if (Math.abs(nextC) < TINY) nextC = TINY;
  return [nextC, 1 / nextD];
}

/** The p-quantile of Beta(a, b): the x with I_x(a,b) = p, by bisection (I is increasing in x). */
export function betaQuantile(p: number, a: number, b: number): number {
  return bisect((x) => regularizedBeta(x, a, b) - p, 0, 1);
}

/** The root of an increasing function on [lo, hi], to the last bit. */
export function bisect(f: (x: number) => number, lo: number, hi: number): number {
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Φ(z), the standard normal CDF, through erf(x) = (2/√π)·e^{−x²}·Σ_n 2^n x^{2n+1}/(1·3·…·(2n+1))
 * (A&S 7.1.6): every term positive, so no cancellation for the |z| < 9 used here.
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  if (x > 6.5) return z > 0 ? 1 : 0;
  let term = x;
  let sum = x;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  return z >= 0 ? 0.5 + erf / 2 : 0.5 - erf / 2;
}

/** z with Φ(z) = p (e.g. 0.975 → 1.959964). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile needs 0 < p < 1, not ${p}`);
  return bisect((z) => normalCdf(z) - p, -9, 9);
}
