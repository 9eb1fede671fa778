import { describe, expect, it } from 'vitest';
import { expectClose, expectIntervalClose, reference } from '../test-support/reference.js';
import { cupedTest } from './cuped.js';
import { welchTTest } from './welch.js';

describe('cupedTest against scipy.stats.ttest_ind on the adjusted values', () => {
  for (const c of reference.cuped) {
    it(c.name, () => {
      const r = cupedTest(c.input.control, c.input.treatment, { confidence: c.input.confidence });
      const e = c.expected;
      expect(r.fellBack).toBe(e.fellBack);
      expectClose('cupedTest', `${c.name} theta`, r.theta, e.theta);
      for (const arm of ['control', 'treatment'] as const) {
        expectClose('cupedTest', `${c.name} ${arm}.mean`, r[arm].mean, e[arm].mean);
        expectClose('cupedTest', `${c.name} ${arm}.variance`, r[arm].variance, e[arm].variance);
        expectClose('cupedTest', `${c.name} ${arm}.unadjustedMean`, r[arm].unadjustedMean, e[arm].unadjustedMean);
      }
      expectClose('cupedTest', `${c.name} t`, r.t, e.t);
      expectClose('cupedTest', `${c.name} df`, r.df, e.df);
      expectClose('cupedTest', `${c.name} pValue`, r.pValue, e.pValue);
      expectIntervalClose('cupedTest', `${c.name} difference`, r.difference, e.difference);
      expectIntervalClose('relativeLift', `${c.name} relative`, r.relative, e.relative);
      expectClose('cupedTest', `${c.name} varianceReduction`, r.varianceReduction, e.varianceReduction);
      expectClose('cupedTest', `${c.name} unadjusted.t`, r.unadjusted.t, e.unadjusted.t);
      expectClose('cupedTest', `${c.name} unadjusted.pValue`, r.unadjusted.pValue, e.unadjusted.pValue);
    });
  }
});

describe('cupedTest fallback', () => {
  it('reports why it fell back and reproduces the plain Welch test', () => {
    const arm = (ys: number[]) => ({
      n: ys.length,
      sum: ys.reduce((a, b) => a + b, 0),
      sumSquares: ys.reduce((a, b) => a + b * b, 0),
      sumCovariate: 0.7 * ys.length,
      sumCovariateSquares: 0.49 * ys.length,
      sumProducts: 0.7 * ys.reduce((a, b) => a + b, 0),
    });
    const c = arm([1, 2, 3, 4, 6]);
    const t = arm([2, 3, 5, 6, 9, 4]);
    const r = cupedTest(c, t);
    expect(r.fellBack).toBe(true);
    expect(r.fallbackReason).toBe('covariate has no variance');
    expect(r.theta).toBe(0);
    expect(r.pValue).toBe(welchTTest(c, t).pValue);
    expect(r.varianceReduction).toBe(0);
  });

  it('uses the covariate when it varies only between arms', () => {
    const r = cupedTest(
      { n: 3, sum: 6, sumSquares: 14, sumCovariate: 0, sumCovariateSquares: 0, sumProducts: 0 },
      { n: 3, sum: 9, sumSquares: 29, sumCovariate: 3, sumCovariateSquares: 3, sumProducts: 9 },
    );
    expect(r.fellBack).toBe(false);
    expect(r.fallbackReason).toBeNull();
  });
});
