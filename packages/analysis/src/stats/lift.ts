// Absolute and relative lift of a treatment over a control from two independent per-arm estimates.
import { normalCritical, studentTCritical } from './distributions.js';

/** An estimate from one arm with the variance of that estimate (its squared standard error). */
export interface ArmEstimate {
  readonly estimate: number;
  readonly variance: number;
}

/** A point estimate with its standard error and a two-sided confidence interval. */
export interface Interval {
  readonly estimate: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
}

export interface LiftOptions {
  /** Two-sided confidence level, default 0.95. */
  readonly confidence?: number;
  /** Degrees of freedom for a Student t critical value (Welch); omitted: standard normal. */
  readonly df?: number;
}

export const DEFAULT_CONFIDENCE = 0.95;

/**
 * Absolute lift Δ = t - c with SE sqrt(Var t + Var c) (independent arms) and the interval
 * Δ ± q·SE, q the normal or, given df, the Student t critical value.
 */
export function absoluteLift(control: ArmEstimate, treatment: ArmEstimate, options: LiftOptions = {}): Interval {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const estimate = treatment.estimate - control.estimate;
  const standardError = Math.sqrt(treatment.variance + control.variance);
  const q = options.df === undefined ? normalCritical(confidence) : studentTCritical(confidence, options.df);
  return { estimate, standardError, lower: estimate - q * standardError, upper: estimate + q * standardError, confidence };
}

/**
 * Relative lift r = t/c - 1 with the delta-method variance of the ratio of two independent
 * estimates, Var(t/c) ≈ Var t / c² + t² Var c / c⁴, and the normal interval r ± z·SE.
 * Null when the control estimate is 0 (the ratio is undefined).
 */
export function relativeLift(
  control: ArmEstimate,
  treatment: ArmEstimate,
  options: { readonly confidence?: number } = {},
): Interval | null {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const c = control.estimate;
  const t = treatment.estimate;
  if (c === 0 || !Number.isFinite(c)) return null;
  const estimate = t / c - 1;
  const variance = treatment.variance / (c * c) + (t * t * control.variance) / (c * c * c * c);
  const standardError = Math.sqrt(variance);
  const z = normalCritical(confidence);
  return { estimate, standardError, lower: estimate - z * standardError, upper: estimate + z * standardError, confidence };
}
