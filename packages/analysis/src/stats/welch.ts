// Welch's unequal-variances t-test with Welch–Satterthwaite degrees of freedom.
import { studentTTwoSidedP } from './distributions.js';
import { absoluteLift, DEFAULT_CONFIDENCE, relativeLift, type Interval } from './lift.js';
import { summarizeMean, type MeanStats, type MeanSummary } from './summary.js';

/** What Welch's test needs from each arm: n, mean and the sample variance (n - 1 denominator). */
export type WelchArm = Pick<MeanSummary, 'n' | 'mean' | 'variance'>;

export interface WelchTestResult<Arm extends WelchArm = MeanSummary> {
  readonly control: Arm;
  readonly treatment: Arm;
  /** ȳ_t - ȳ_c with SE sqrt(s_t²/n_t + s_c²/n_c) and a Student t interval on `df`. */
  readonly difference: Interval;
  /** ȳ_t/ȳ_c - 1 by the delta method with a normal interval; null when ȳ_c = 0. */
  readonly relative: Interval | null;
  readonly t: number;
  /** (s_t²/n_t + s_c²/n_c)² / ((s_t²/n_t)²/(n_t-1) + (s_c²/n_c)²/(n_c-1)). */
  readonly df: number;
  /** Two-sided. */
  readonly pValue: number;
}

/** Welch's t-test from per-arm sufficient statistics (scipy.stats.ttest_ind(equal_var=False)). */
export function welchTTest(
  control: MeanStats,
  treatment: MeanStats,
  options: { readonly confidence?: number } = {},
): WelchTestResult {
  return welchTTestFromSummaries(summarizeMean(control), summarizeMean(treatment), options);
}

/** Welch's t-test from n, mean and sample variance per arm (scipy.stats.ttest_ind_from_stats). */
export function welchTTestFromSummaries<Arm extends WelchArm>(
  control: Arm,
  treatment: Arm,
  options: { readonly confidence?: number } = {},
): WelchTestResult<Arm> {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const vc = control.variance / control.n;
  const vt = treatment.variance / treatment.n;
  const df = (vc + vt) ** 2 / (vc ** 2 / (control.n - 1) + vt ** 2 / (treatment.n - 1));
  const controlEstimate = { estimate: control.mean, variance: vc };
  const treatmentEstimate = { estimate: treatment.mean, variance: vt };
  const difference = absoluteLift(controlEstimate, treatmentEstimate, { confidence, df });
  const t = difference.standardError > 0 ? difference.estimate / difference.standardError : Number.NaN;
  return {
    control,
    treatment,
    difference,
    relative: relativeLift(controlEstimate, treatmentEstimate, { confidence }),
    t,
    df,
    pValue: studentTTwoSidedP(t, df),
  };
}
