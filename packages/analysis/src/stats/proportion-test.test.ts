import { describe, expect, it } from 'vitest';
import { expectClose, expectIntervalClose, reference } from '../test-support/reference.js';
import { twoProportionZTest } from './proportion-test.js';
import { summarizeProportion } from './summary.js';

describe('twoProportionZTest against scipy', () => {
  for (const c of reference.proportions) {
    it(c.name, () => {
      const r = twoProportionZTest(c.input.control, c.input.treatment, { confidence: c.input.confidence });
      const e = c.expected;
      expectClose('summarizeProportion', `${c.name} control.proportion`, r.control.proportion, e.control.proportion);
      expectClose('summarizeProportion', `${c.name} control.standardError`, r.control.standardError, e.control.standardError);
      expectClose('summarizeProportion', `${c.name} treatment.proportion`, r.treatment.proportion, e.treatment.proportion);
      expectClose('summarizeProportion', `${c.name} treatment.standardError`, r.treatment.standardError, e.treatment.standardError);
      expectClose('twoProportionZTest', `${c.name} pooledStandardError`, r.pooledStandardError, e.pooledStandardError);
      expectClose('twoProportionZTest', `${c.name} z`, r.z, e.z);
      expectClose('twoProportionZTest', `${c.name} pValue`, r.pValue, e.pValue);
      expectClose('twoProportionZTest', `${c.name} pValue (chi2_contingency)`, r.pValue, e.pValueChi2Contingency);
      expectIntervalClose('absoluteLift', `${c.name} difference`, r.difference, e.difference);
      expectIntervalClose('relativeLift', `${c.name} relative`, r.relative, e.relative);
    });
  }
});

describe('twoProportionZTest edge cases', () => {
  it('returns NaN z and p when both arms are all zeros (no variance under the null)', () => {
    const r = twoProportionZTest({ n: 100, conversions: 0 }, { n: 120, conversions: 0 });
    expect(r.z).toBeNaN();
    expect(r.pValue).toBeNaN();
    expect(r.difference.estimate).toBe(0);
    expect(r.relative).toBeNull();
  });

  it('is antisymmetric in the arms', () => {
    const a = twoProportionZTest({ n: 1000, conversions: 100 }, { n: 900, conversions: 120 });
    const b = twoProportionZTest({ n: 900, conversions: 120 }, { n: 1000, conversions: 100 });
    expect(a.z).toBeCloseTo(-b.z, 12);
    expect(a.pValue).toBeCloseTo(b.pValue, 12);
  });

  it('rejects impossible counts', () => {
    expect(() => summarizeProportion({ n: 10, conversions: 11 })).toThrow(RangeError);
    expect(() => summarizeProportion({ n: 0, conversions: 0 })).toThrow(RangeError);
    expect(() => summarizeProportion({ n: 10, conversions: 2.5 })).toThrow(RangeError);
  });
});
