/**
 * Exponential lifetimes: a unit with a constant failure rate λ survives to t
 * with R(t) = e^{−λt} and has MTTF = 1/λ (Trivedi §3.4). Rates per second,
 * times in seconds (units.ts converts).
 */

export function exponentialReliability(ratePerS: number, tS: number): number {
  return Math.exp(-ratePerS * tS);
}

export function exponentialMttfS(ratePerS: number): number {
  return 1 / ratePerS;
}

/** A repairable unit alone (rates λ, μ): steady-state availability μ/(λ+μ) (Trivedi §8.2). */
export function repairableAvailability(failureRatePerS: number, repairRatePerS: number): number {
  return repairRatePerS / (failureRatePerS + repairRatePerS);
}

/** Its instantaneous availability, up at 0: A(t) = μ/(λ+μ) + λ/(λ+μ)·e^{−(λ+μ)t} (Trivedi §8.2). */
export function repairableAvailabilityAt(failureRatePerS: number, repairRatePerS: number, tS: number): number {
  const sum = failureRatePerS + repairRatePerS;
  return repairRatePerS / sum + (failureRatePerS / sum) * Math.exp(-sum * tS);
}
