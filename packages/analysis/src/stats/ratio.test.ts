import { describe, expect, it } from 'vitest';
import { expectClose, expectIntervalClose, reference } from '../test-support/reference.js';
import { ratioTest, summarizeRatio } from './ratio.js';

describe('ratioTest against the delta method computed with numpy', () => {
  for (const c of reference.ratios) {
    it(c.name, () => {
      const r = ratioTest(c.input.control, c.input.treatment, { confidence: c.input.confidence });
      const e = c.expected;
      for (const arm of ['control', 'treatment'] as const) {
        expectClose('summarizeRatio', `${c.name} ${arm}.ratio`, r[arm].ratio, e[arm].ratio);
        expectClose('summarizeRatio', `${c.name} ${arm}.variance`, r[arm].variance, e[arm].variance);
      }
      expectClose('ratioTest', `${c.name} z`, r.z, e.z);
      expectClose('ratioTest', `${c.name} pValue`, r.pValue, e.pValue);
      expectIntervalClose('ratioTest', `${c.name} difference`, r.difference, e.difference);
      expectIntervalClose('relativeLift', `${c.name} relative`, r.relative, e.relative);
    });
  }
});

describe('summarizeRatio', () => {
  it('reduces to the variance of the mean when every denominator is 1', () => {
    const ys = [3, 5, 2, 8, 1];
    const stats = {
      n: 5,
      sumNumerator: 19,
      sumDenominator: 5,
      sumNumeratorSquares: ys.reduce((a, y) => a + y * y, 0),
      sumDenominatorSquares: 5,
      sumNumeratorDenominator: 19,
    };
    const variance = (ys.reduce((a, y) => a + (y - 3.8) ** 2, 0) / 4) / 5;
    const r = summarizeRatio(stats);
    expect(r.ratio).toBeCloseTo(3.8, 14);
    expect(r.variance).toBeCloseTo(variance, 14);
  });
});
