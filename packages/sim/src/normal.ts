/**
 * The two-sided normal p-value and the Wilson interval. @sortition/analysis combines per-stratum
 * estimates with a normal test but does not export its normal CDF, so the replicate path (which
 * recomputes the engine's stratified estimate from sufficient statistics) needs its own: erfc by
 * its Maclaurin series below 2.5 and by its continued fraction (modified Lentz) above, which agree
 * with reference values to about 1e-13 relative (see normal.test.ts).
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** Complementary error function for x >= 0. */
function erfcPositive(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - TWO_OVER_SQRT_PI * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  return x >= 0 ? erfcPositive(x) : 2 - erfcPositive(-x);
}

/** P(|Z| >= |z|) for a standard normal Z. */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return erfcPositive(Math.abs(z) / Math.SQRT2);
}

/** The 0.975 quantile of the standard normal. */
export const Z_975 = 1.959963984540054;

export interface Proportion {
  readonly successes: number;
  readonly trials: number;
  readonly rate: number;
  /** Wilson score interval (95%). */
  readonly lower: number;
  readonly upper: number;
}

/** Wilson (1927) score interval for a binomial proportion. */
export function wilson(successes: number, trials: number, z = Z_975): Proportion {
  if (trials <= 0) return { successes, trials, rate: Number.NaN, lower: Number.NaN, upper: Number.NaN };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { successes, trials, rate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}
