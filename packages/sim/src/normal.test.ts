import { describe, expect, it } from 'vitest';
import { erfc, normalTwoSidedP, wilson, Z_975 } from './normal.js';

// Reference values from scipy 1.x (scipy.special.erfc, scipy.stats.norm.sf).
const ERFC: readonly [number, number][] = [
  [0, 1],
  [0.1, 0.8875370839817152],
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028516],
  [2, 0.004677734981047266],
  [2.5, 0.00040695201744495886],
  [3, 2.2090496998585445e-5],
  [4, 1.541725790028002e-8],
  [5, 1.5374597944280347e-12],
  [-1, 1.8427007929497148],
];

describe('normal distribution helpers', () => {
  it.each(ERFC)('erfc(%s) matches scipy to 1e-12 relative', (x, expected) => {
    expect(Math.abs(erfc(x) - expected)).toBeLessThanOrEqual(1e-12 * expected);
  });

  it('two-sided p-values match scipy (2 * norm.sf)', () => {
    expect(normalTwoSidedP(Z_975)).toBeCloseTo(0.05, 14);
    expect(normalTwoSidedP(-Z_975)).toBeCloseTo(0.05, 14);
    expect(Math.abs(normalTwoSidedP(3.7) - 0.00021559946695477646)).toBeLessThan(1e-12 * 0.00021559946695477646);
    expect(normalTwoSidedP(0)).toBe(1);
    expect(normalTwoSidedP(Number.NaN)).toBeNaN();
  });

  it('wilson() gives the score interval (statsmodels proportion_confint(method="wilson") values)', () => {
    const a = wilson(5, 100);
    expect(a.rate).toBe(0.05);
    expect(a.lower).toBeCloseTo(0.02154367915436796, 12);
    expect(a.upper).toBeCloseTo(0.11175046923191913, 12);
    const b = wilson(0, 20);
    expect(b.lower).toBe(0);
    expect(b.upper).toBeCloseTo(0.16112515805281938, 12);
    expect(wilson(0, 0).rate).toBeNaN();
  });
});
