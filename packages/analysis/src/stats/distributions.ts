// The only place special functions enter the package: thin wrappers around @stdlib, each computing
// the tail it is asked for directly (no 1 - cdf cancellation), so tiny p-values keep their
// relative precision.
import gammainc from '@stdlib/math-base-special-gammainc';
import gammaln from '@stdlib/math-base-special-gammaln';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Two-sided p-value of a standard normal statistic: 2 Φ(-|z|). NaN in, NaN out. */
export function normalTwoSidedP(z: number): number {
  return Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
}

/** The standard normal critical value of a two-sided interval: Φ⁻¹(1 - (1 - confidence)/2). */
export function normalCritical(confidence: number): number {
  assertConfidence(confidence);
  return normalQuantile(1 - (1 - confidence) / 2, 0, 1);
}

/** Two-sided p-value of a Student t statistic with df degrees of freedom (df may be fractional). */
export function studentTTwoSidedP(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

/** The Student t critical value of a two-sided interval with df degrees of freedom. */
export function studentTCritical(confidence: number, df: number): number {
  assertConfidence(confidence);
  return tQuantile(1 - (1 - confidence) / 2, df);
}

/**
 * Upper tail of the chi-square distribution, P(X > x) for X ~ χ²(df), as the regularised upper
 * incomplete gamma function Q(df/2, x/2) (scipy's chi2.sf).
 */
export function chiSquareSurvival(x: number, df: number): number {
  if (Number.isNaN(x) || !(df > 0)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return gammainc(x / 2, df / 2, true, true);
}

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  return gammaln(x);
}

function assertConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be strictly between 0 and 1, got ${confidence}`);
  }
}
