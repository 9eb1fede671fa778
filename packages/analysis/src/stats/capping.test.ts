import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { capValues, quantile, winsorize } from './capping.js';

describe('winsorize and quantile against numpy.quantile and numpy.clip', () => {
  for (const c of reference.capping) {
    it(c.name, () => {
      for (const [q, e] of Object.entries(c.expected.quantiles)) {
        expectClose('quantile', `${c.name} q=${q}`, quantile(c.values, Number(q)), e);
      }
      const r = winsorize(c.values, {
        ...(c.lowerQuantile === null ? {} : { lowerQuantile: c.lowerQuantile }),
        ...(c.upperQuantile === null ? {} : { upperQuantile: c.upperQuantile }),
      });
      if (c.expected.lower === null) expect(r.lower).toBeNull();
      else expectClose('winsorize', `${c.name} lower`, r.lower as number, c.expected.lower);
      if (c.expected.upper === null) expect(r.upper).toBeNull();
      else expectClose('winsorize', `${c.name} upper`, r.upper as number, c.expected.upper);
      expect(r.cappedBelow).toBe(c.expected.cappedBelow);
      expect(r.cappedAbove).toBe(c.expected.cappedAbove);
      expectClose('winsorize', `${c.name} capped sum`, r.values.reduce((a, b) => a + b, 0), c.expected.cappedSum);
    });
  }
});

describe('capValues', () => {
  it('caps at fixed values and counts what it changed', () => {
    expect(capValues([-5, 0, 3, 10, 100], { lower: 0, upper: 10 })).toEqual({
      values: [0, 0, 3, 10, 10],
      lower: 0,
      upper: 10,
      cappedBelow: 1,
      cappedAbove: 1,
    });
    expect(capValues([1, 2], {}).values).toEqual([1, 2]);
    expect(() => capValues([1], { lower: 2, upper: 1 })).toThrow(RangeError);
  });

  it('interpolates quantiles like percentile_cont', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([7], 0.99)).toBe(7);
    expect(() => quantile([], 0.5)).toThrow(RangeError);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(RangeError);
  });
});
