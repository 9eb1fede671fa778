// Ratio metrics (Σ numerator / Σ denominator over the units of an arm, e.g. revenue per session
// when units are users) with delta-method variances (Deng, Knoblich & Lu 2018, "Applying the delta
// method in metric analytics").
import { normalTwoSidedP } from './distributions.js';
import { absoluteLift, DEFAULT_CONFIDENCE, relativeLift, type Interval } from './lift.js';
import { assertCount, sampleCovariance, sampleVariance, type RatioStats } from './summary.js';

export interface RatioSummary {
  readonly n: number;
  /** R = Σ numerator / Σ denominator. */
  readonly ratio: number;
  /**
   * Delta-method variance of R: (s_N² - 2 R s_ND + R² s_D²) / (n · D̄²), with sample
   * (co)variances (n - 1 denominator) of the unit-level numerator N and denominator D.
   */
  readonly variance: number;
  readonly standardError: number;
}

export interface RatioTestResult {
  readonly control: RatioSummary;
  readonly treatment: RatioSummary;
  /** R_t - R_c with a normal interval. */
  readonly difference: Interval;
  /** R_t/R_c - 1 by the delta method; null when R_c = 0. */
  readonly relative: Interval | null;
  readonly z: number;
  /** Two-sided. */
  readonly pValue: number;
}

export function summarizeRatio(stats: RatioStats): RatioSummary {
  assertCount(stats.n, 'n');
  const { n } = stats;
  const ratio = stats.sumNumerator / stats.sumDenominator;
  const meanDenominator = stats.sumDenominator / n;
  const varN = sampleVariance(n, stats.sumNumerator, stats.sumNumeratorSquares);
  const varD = sampleVariance(n, stats.sumDenominator, stats.sumDenominatorSquares);
  const covND = sampleCovariance(n, stats.sumNumerator, stats.sumDenominator, stats.sumNumeratorDenominator);
  const variance = Math.max(0, (varN - 2 * ratio * covND + ratio * ratio * varD) / (n * meanDenominator * meanDenominator));
  return { n, ratio, variance, standardError: Math.sqrt(variance) };
}

/** z-test of the difference of two independent ratio metrics. */
export function ratioTest(
  control: RatioStats,
  treatment: RatioStats,
  options: { readonly confidence?: number } = {},
): RatioTestResult {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const c = summarizeRatio(control);
  const t = summarizeRatio(treatment);
  const controlEstimate = { estimate: c.ratio, variance: c.variance };
  const treatmentEstimate = { estimate: t.ratio, variance: t.variance };
  const difference = absoluteLift(controlEstimate, treatmentEstimate, { confidence });
  const z = difference.standardError > 0 ? difference.estimate / difference.standardError : Number.NaN;
  return {
    control: c,
    treatment: t,
    difference,
    relative: relativeLift(controlEstimate, treatmentEstimate, { confidence }),
    z,
    pValue: normalTwoSidedP(z),
  };
}
