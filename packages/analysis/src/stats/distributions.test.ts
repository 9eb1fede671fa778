import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, normalCritical, normalTwoSidedP, studentTCritical, studentTTwoSidedP } from './distributions.js';

// Values from scipy 1.17.1: norm.ppf(0.975), t.ppf(0.975, 1), 2*norm.sf(6), 2*t.sf(3, 2.5), chi2.sf(300, 1).
describe('distribution wrappers', () => {
  it('match scipy at a few reference points', () => {
    expect(normalCritical(0.95)).toBeCloseTo(1.959963984540054, 12);
    expect(studentTCritical(0.95, 1)).toBeCloseTo(12.706204736174694, 9);
    expect(normalTwoSidedP(-6) / 1.973175290075389e-9).toBeCloseTo(1, 10);
    expect(studentTTwoSidedP(3, 2.5)).toBeCloseTo(0.07257609554903183, 9);
    expect(chiSquareSurvival(300, 1) / 3.2943623833139784e-67).toBeCloseTo(1, 9);
  });

  it('handle the edges', () => {
    expect(normalTwoSidedP(0)).toBe(1);
    expect(normalTwoSidedP(Number.NaN)).toBeNaN();
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(Number.POSITIVE_INFINITY, 3)).toBe(0);
    expect(chiSquareSurvival(1, 0)).toBeNaN();
    expect(() => normalCritical(1)).toThrow(RangeError);
    expect(() => studentTCritical(0, 4)).toThrow(RangeError);
  });
});
