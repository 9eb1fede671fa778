// Two-proportion z-test: pooled standard error for the test (the null says both arms share one
// rate), unpooled standard errors for the interval around the difference.
import { normalTwoSidedP } from './distributions.js';
import { absoluteLift, DEFAULT_CONFIDENCE, relativeLift, type Interval } from './lift.js';
import { summarizeProportion, type ProportionStats, type ProportionSummary } from './summary.js';

export interface ProportionTestResult {
  readonly control: ProportionSummary;
  readonly treatment: ProportionSummary;
  /** p_t - p_c with the unpooled SE sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c) and normal interval. */
  readonly difference: Interval;
  /** p_t/p_c - 1 by the delta method; null when the control converted nobody. */
  readonly relative: Interval | null;
  /** sqrt(p̂(1-p̂)(1/n_t + 1/n_c)) with p̂ = (x_t + x_c)/(n_t + n_c). */
  readonly pooledStandardError: number;
  /** (p_t - p_c) / pooledStandardError; NaN when both arms are all 0 or all 1. */
  readonly z: number;
  /** Two-sided, 2 Φ(-|z|). */
  readonly pValue: number;
}

export function twoProportionZTest(
  control: ProportionStats,
  treatment: ProportionStats,
  options: { readonly confidence?: number } = {},
): ProportionTestResult {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const c = summarizeProportion(control);
  const t = summarizeProportion(treatment);
  const pooled = (c.conversions + t.conversions) / (c.n + t.n);
  const pooledStandardError = Math.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n));
  const controlEstimate = { estimate: c.proportion, variance: c.standardError ** 2 };
  const treatmentEstimate = { estimate: t.proportion, variance: t.standardError ** 2 };
  const difference = absoluteLift(controlEstimate, treatmentEstimate, { confidence });
  const z = pooledStandardError > 0 ? difference.estimate / pooledStandardError : Number.NaN;
  return {
    control: c,
    treatment: t,
    difference,
    relative: relativeLift(controlEstimate, treatmentEstimate, { confidence }),
    pooledStandardError,
    z,
    pValue: normalTwoSidedP(z),
  };
}
