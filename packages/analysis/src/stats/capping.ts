// Outlier capping (winsorising) of unit-level values before their sums are taken. Capping has to
// happen per unit, so the engine applies it in SQL as LEAST(GREATEST(y, lower), upper) with the
// thresholds from percentile_cont, which is the same quantile definition as quantile() below;
// these functions define the semantics and serve in-memory data.

/**
 * The q-quantile by linear interpolation between order statistics (Hyndman & Fan type 7: numpy's
 * default, R's default, PostgreSQL's percentile_cont): with x sorted ascending and h = (n - 1) q,
 * x[⌊h⌋] + (h - ⌊h⌋)(x[⌊h⌋ + 1] - x[⌊h⌋]).
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (values.length === 0) throw new RangeError('quantile of no values');
  const sorted = Float64Array.from(values).sort();
  if (Number.isNaN(sorted[sorted.length - 1])) throw new RangeError('quantile of values containing NaN');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo] as number;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return below + (h - lo) * (above - below);
}

export interface CapBounds {
  /** Values below become this; omitted: no lower cap. */
  readonly lower?: number;
  /** Values above become this; omitted: no upper cap. */
  readonly upper?: number;
}

export interface CappedValues {
  readonly values: number[];
  readonly lower: number | null;
  readonly upper: number | null;
  /** Units raised to the lower cap. */
  readonly cappedBelow: number;
  /** Units lowered to the upper cap. */
  readonly cappedAbove: number;
}

/** Caps values at fixed thresholds: min(max(y, lower), upper). */
export function capValues(values: readonly number[], bounds: CapBounds): CappedValues {
  const lower = bounds.lower ?? null;
  const upper = bounds.upper ?? null;
  if (lower !== null && upper !== null && lower > upper) {
    throw new RangeError(`lower cap ${lower} is above upper cap ${upper}`);
  }
  let cappedBelow = 0;
  let cappedAbove = 0;
  const capped = values.map((y) => {
    if (lower !== null && y < lower) {
      cappedBelow++;
      return lower;
    }
    if (upper !== null && y > upper) {
      cappedAbove++;
      return upper;
    }
    return y;
  });
  return { values: capped, lower, upper, cappedBelow, cappedAbove };
}

/**
 * Caps values at their own quantiles (typically the control and treatment pooled, so both arms
 * share thresholds): upperQuantile 0.99 caps everything above the 99th percentile.
 */
export function winsorize(
  values: readonly number[],
  quantiles: { readonly lowerQuantile?: number; readonly upperQuantile?: number },
): CappedValues {
  const bounds: { lower?: number; upper?: number } = {};
  if (quantiles.lowerQuantile !== undefined) bounds.lower = quantile(values, quantiles.lowerQuantile);
  if (quantiles.upperQuantile !== undefined) bounds.upper = quantile(values, quantiles.upperQuantile);
  return capValues(values, bounds);
}
