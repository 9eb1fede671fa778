// CUPED (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity of online controlled
// experiments by utilizing pre-experiment data"): regress the metric on a pre-exposure covariate
// with one θ for both arms and compare the adjusted means with Welch's test.
import { DEFAULT_CONFIDENCE } from './lift.js';
import { assertCount, sampleCovariance, sampleVariance, summarizeMean, type CovariateStats } from './summary.js';
import { welchTTestFromSummaries, type WelchArm, type WelchTestResult } from './welch.js';

export interface CupedArm extends WelchArm {
  /** ȳ - θ (x̄ - x̄_pooled): the arm's mean adjusted to the pooled covariate mean. */
  readonly mean: number;
  /** Sample variance of y - θ x within the arm: s_y² - 2θ s_xy + θ² s_x². */
  readonly variance: number;
  readonly unadjustedMean: number;
  readonly unadjustedVariance: number;
  readonly covariateMean: number;
}

export interface CupedResult extends WelchTestResult<CupedArm> {
  /** θ = pooled cov(y, x) / pooled var(x) over the units of both arms; 0 after a fallback. */
  readonly theta: number;
  /** True when the covariate has no variance (or too few units) and θ was set to 0. */
  readonly fellBack: boolean;
  readonly fallbackReason: 'covariate has no variance' | 'fewer than 3 units' | null;
  /** 1 - Var(adjusted difference) / Var(unadjusted difference). */
  readonly varianceReduction: number;
  /** The same test without the covariate. */
  readonly unadjusted: WelchTestResult;
}

/**
 * Relative threshold below which the pooled covariate variance counts as zero: computed from sums,
 * a constant covariate c leaves a residual variance of order c² · 2⁻⁵², not exactly 0.
 */
const ZERO_VARIANCE_RELATIVE = 1e-12;

export function cupedTest(
  control: CovariateStats,
  treatment: CovariateStats,
  options: { readonly confidence?: number } = {},
): CupedResult {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  assertCount(control.n, 'control.n');
  assertCount(treatment.n, 'treatment.n');
  const n = control.n + treatment.n;
  const sumX = control.sumCovariate + treatment.sumCovariate;
  const sumXX = control.sumCovariateSquares + treatment.sumCovariateSquares;
  const sumY = control.sum + treatment.sum;
  const sumXY = control.sumProducts + treatment.sumProducts;
  const pooledVarX = sampleVariance(n, sumX, sumXX);
  const pooledCovXY = sampleCovariance(n, sumX, sumY, sumXY);

  let fallbackReason: CupedResult['fallbackReason'] = null;
  if (n < 3) fallbackReason = 'fewer than 3 units';
  else if (!(pooledVarX > ZERO_VARIANCE_RELATIVE * (sumXX / n))) fallbackReason = 'covariate has no variance';
  const theta = fallbackReason === null ? pooledCovXY / pooledVarX : 0;
  const pooledMeanX = sumX / n;

  const adjust = (arm: CovariateStats): CupedArm => {
    const y = summarizeMean(arm);
    const varX = sampleVariance(arm.n, arm.sumCovariate, arm.sumCovariateSquares);
    const covXY = sampleCovariance(arm.n, arm.sumCovariate, arm.sum, arm.sumProducts);
    const covariateMean = arm.sumCovariate / arm.n;
    const variance = theta === 0 ? y.variance : Math.max(0, y.variance - 2 * theta * covXY + theta * theta * varX);
    return {
      n: arm.n,
      mean: y.mean - theta * (covariateMean - pooledMeanX),
      variance,
      unadjustedMean: y.mean,
      unadjustedVariance: y.variance,
      covariateMean,
    };
  };

  const c = adjust(control);
  const t = adjust(treatment);
  const adjusted = welchTTestFromSummaries(c, t, { confidence });
  const unadjusted = welchTTestFromSummaries(summarizeMean(control), summarizeMean(treatment), { confidence });
  return {
    ...adjusted,
    theta,
    fellBack: fallbackReason !== null,
    fallbackReason,
    varianceReduction: 1 - adjusted.difference.standardError ** 2 / unadjusted.difference.standardError ** 2,
    unadjusted,
  };
}
