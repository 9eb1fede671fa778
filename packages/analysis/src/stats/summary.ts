// Per-arm summaries from sufficient statistics. The analysis engine computes these sums per arm in
// SQL (COUNT, SUM(y), SUM(y*y), ...) and hands them over; nothing here needs unit-level rows.
//
// Variances come from sums of squares as (Σy² - (Σy)²/n) / (n - 1). That subtraction loses
// log10(mean²/variance) digits, so an engine summing a metric whose mean dwarfs its spread (a
// timestamp, say) should sum it after subtracting a constant; differences are unaffected.

/** Sufficient statistics of a unit-level metric y in one arm. */
export interface MeanStats {
  /** Units in the arm. */
  readonly n: number;
  /** Σ y over units. */
  readonly sum: number;
  /** Σ y² over units. */
  readonly sumSquares: number;
}

/** Sufficient statistics of a binary metric (each unit converts or not) in one arm. */
export interface ProportionStats {
  /** Units in the arm. */
  readonly n: number;
  /** Units with y = 1. */
  readonly conversions: number;
}

/** Sufficient statistics of a ratio metric Σ numerator / Σ denominator (unit-level pairs). */
export interface RatioStats {
  readonly n: number;
  readonly sumNumerator: number;
  readonly sumDenominator: number;
  readonly sumNumeratorSquares: number;
  readonly sumDenominatorSquares: number;
  /** Σ numerator·denominator over units. */
  readonly sumNumeratorDenominator: number;
}

/** Sufficient statistics of a metric y and a pre-exposure covariate x (for CUPED). */
export interface CovariateStats extends MeanStats {
  /** Σ x over units. */
  readonly sumCovariate: number;
  /** Σ x² over units. */
  readonly sumCovariateSquares: number;
  /** Σ x·y over units. */
  readonly sumProducts: number;
}

/** Mean, sample variance (n - 1 denominator) and standard error of the mean of one arm. */
export interface MeanSummary {
  readonly n: number;
  readonly mean: number;
  /** Sample variance of the unit-level metric, (Σy² - n ȳ²)/(n - 1); NaN when n < 2. */
  readonly variance: number;
  readonly standardDeviation: number;
  /** sqrt(variance / n). */
  readonly standardError: number;
}

/** Conversion rate of one arm with its unpooled (binomial) standard error. */
export interface ProportionSummary {
  readonly n: number;
  readonly conversions: number;
  readonly proportion: number;
  /** sqrt(p (1 - p) / n). */
  readonly standardError: number;
}

export function summarizeMean(stats: MeanStats): MeanSummary {
  assertCount(stats.n, 'n');
  const mean = stats.sum / stats.n;
  const variance = sampleVariance(stats.n, stats.sum, stats.sumSquares);
  return {
    n: stats.n,
    mean,
    variance,
    standardDeviation: Math.sqrt(variance),
    standardError: Math.sqrt(variance / stats.n),
  };
}

export function summarizeProportion(stats: ProportionStats): ProportionSummary {
  assertCount(stats.n, 'n');
  if (!Number.isInteger(stats.conversions) || stats.conversions < 0 || stats.conversions > stats.n) {
    throw new RangeError(`conversions must be an integer between 0 and n (${stats.n}), got ${stats.conversions}`);
  }
  const proportion = stats.conversions / stats.n;
  return {
    n: stats.n,
    conversions: stats.conversions,
    proportion,
    standardError: Math.sqrt((proportion * (1 - proportion)) / stats.n),
  };
}

/**
 * Sample variance (n - 1 denominator) from n, Σy and Σy²; NaN when n < 2. Clamped at 0 where
 * rounding takes a constant metric's Σy² - (Σy)²/n slightly below zero.
 */
export function sampleVariance(n: number, sum: number, sumSquares: number): number {
  if (n < 2) return Number.NaN;
  return Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
}

/** Sample covariance (n - 1 denominator) of two unit-level metrics from n, Σa, Σb and Σab. */
export function sampleCovariance(n: number, sumA: number, sumB: number, sumProducts: number): number {
  if (n < 2) return Number.NaN;
  return (sumProducts - (sumA * sumB) / n) / (n - 1);
}

export function assertCount(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${n}`);
  }
}
