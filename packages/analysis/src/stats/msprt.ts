// Always-valid p-values for peeking: the mixture sequential probability ratio test (mSPRT) with a
// normal mixing distribution (Robbins 1970; Johari, Koomen, Pekelis & Walsh, "Always valid
// inference: continuous monitoring of A/B tests", Operations Research 70(3), 2022; first as
// "Peeking at A/B tests", KDD 2017).
//
// For an estimate θ̂ (a difference of means, proportions, ratio metrics or CUPED-adjusted means)
// that is approximately N(θ, V), with the mixture θ ~ N(θ₀, τ²) over the alternative, the
// likelihood ratio against H₀: θ = θ₀ is
//
//   Λ = ∫ φ(θ̂; θ, V) φ(θ; θ₀, τ²) dθ / φ(θ̂; θ₀, V)
//     = sqrt(V / (V + τ²)) · exp( τ² (θ̂ - θ₀)² / (2 V (V + τ²)) ).
//
// With n units per arm and per-unit variances σ², V = 2σ²/n and this is Johari et al.'s
// two-sample statistic sqrt(2σ²/(2σ² + nτ²)) exp(n²τ²(Ȳ - X̄ - θ₀)² / (4σ²(2σ² + nτ²))).
// Λ is a martingale under H₀, so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α and
// p_n = min(p_{n-1}, 1/Λ_n) is valid however often it is looked at. Inverting the test gives the
// confidence sequence θ̂ ± sqrt( V (V + τ²)/τ² · (2 ln(1/α) + ln((V + τ²)/V)) ).
// With V estimated from the data (plug-in variances), validity is asymptotic, as in Johari et al.

export interface MsprtInput {
  /** θ̂, e.g. treatment mean minus control mean. */
  readonly estimate: number;
  /** V, the variance of θ̂ (its squared standard error). */
  readonly variance: number;
  /** Units in both arms together; used only to derive the default τ². */
  readonly sampleSize: number;
}

export interface MsprtOptions {
  /**
   * Mixing variance τ² in squared units of the estimate. Default: ρ² · s², where s² = N·V is the
   * per-unit variance of the estimate and ρ² = (-2 ln α + ln(1 - 2 ln α)) / N*, the ρ that
   * (approximately) makes the confidence sequence narrowest at N* = plannedSampleSize units
   * (Howard, Ramdas, McAuliffe & Sekhon 2021, Annals of Statistics 49(2)). Pass a fixed τ² (for
   * example from a pre-period variance) to keep the mixture the same at every look.
   */
  readonly tau2?: number;
  /** N* for the default τ²: total units at which the test is tuned; default 10,000. */
  readonly plannedSampleSize?: number;
  /** Level of the confidence sequence and of the default τ²; default 0.05. */
  readonly alpha?: number;
  /** θ₀; default 0. */
  readonly nullValue?: number;
  /** The always-valid p-value at the previous look; the new one never exceeds it. */
  readonly previousPValue?: number;
}

export interface MsprtResult {
  readonly tau2: number;
  /** ln Λ. */
  readonly logLikelihoodRatio: number;
  /** min(previousPValue, 1, 1/Λ). */
  readonly pValue: number;
  /** The (1 - α) confidence sequence for θ at this look. */
  readonly lower: number;
  readonly upper: number;
  readonly alpha: number;
}

export const DEFAULT_MSPRT_PLANNED_SAMPLE_SIZE = 10_000;
export const DEFAULT_MSPRT_ALPHA = 0.05;

/** τ² that makes the normal-mixture confidence sequence (nearly) narrowest at plannedSampleSize. */
export function msprtDefaultTau2(input: MsprtInput, plannedSampleSize = DEFAULT_MSPRT_PLANNED_SAMPLE_SIZE, alpha = DEFAULT_MSPRT_ALPHA): number {
  if (!(plannedSampleSize > 0)) throw new RangeError(`plannedSampleSize must be positive, got ${plannedSampleSize}`);
  const l = -2 * Math.log(alpha);
  const rho2 = (l + Math.log(1 + l)) / plannedSampleSize;
  return rho2 * input.sampleSize * input.variance;
}

export function msprt(input: MsprtInput, options: MsprtOptions = {}): MsprtResult {
  const alpha = options.alpha ?? DEFAULT_MSPRT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be strictly between 0 and 1, got ${alpha}`);
  const tau2 = options.tau2 ?? msprtDefaultTau2(input, options.plannedSampleSize, alpha);
  if (!(tau2 > 0)) throw new RangeError(`tau2 must be positive, got ${tau2}`);
  const v = input.variance;
  const delta = input.estimate - (options.nullValue ?? 0);
  const logLikelihoodRatio = 0.5 * Math.log(v / (v + tau2)) + (tau2 * delta * delta) / (2 * v * (v + tau2));
  const pValue = Math.min(options.previousPValue ?? 1, 1, Math.exp(-logLikelihoodRatio));
  const halfWidth = Math.sqrt(((v * (v + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log((v + tau2) / v)));
  return {
    tau2,
    logLikelihoodRatio,
    pValue,
    lower: input.estimate - halfWidth,
    upper: input.estimate + halfWidth,
    alpha,
  };
}
