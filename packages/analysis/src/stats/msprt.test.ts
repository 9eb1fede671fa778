import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { msprt, msprtDefaultTau2 } from './msprt.js';
import { welchTTest } from './welch.js';

describe('msprt against the mixture likelihood ratio computed with scipy', () => {
  for (const c of reference.msprt) {
    it(c.name, () => {
      const { options } = c.input;
      const r = msprt(
        { estimate: c.input.estimate, variance: c.input.variance, sampleSize: c.input.sampleSize },
        {
          plannedSampleSize: options.plannedSampleSize,
          alpha: options.alpha,
          nullValue: options.nullValue,
          ...(options.tau2 === undefined ? {} : { tau2: options.tau2 }),
          ...(options.previousPValue === undefined ? {} : { previousPValue: options.previousPValue }),
        },
      );
      const e = c.expected;
      expectClose('msprt', `${c.name} tau2`, r.tau2, e.tau2);
      expectClose('msprt', `${c.name} logLikelihoodRatio`, r.logLikelihoodRatio, e.logLikelihoodRatio);
      expectClose('msprt', `${c.name} pValue`, r.pValue, e.pValue);
      expectClose('msprt', `${c.name} lower`, r.lower, e.lower);
      expectClose('msprt', `${c.name} upper`, r.upper, e.upper);
    });
  }
});

describe('msprt behaviour', () => {
  it('is never below the fixed-horizon p-value and falls as evidence accumulates', () => {
    const look = (n: number) => {
      const w = welchTTest({ n, sum: 10.2 * n, sumSquares: n * (10.2 ** 2 + 4) }, { n, sum: 10.4 * n, sumSquares: n * (10.4 ** 2 + 4) });
      const m = msprt({ estimate: w.difference.estimate, variance: w.difference.standardError ** 2, sampleSize: 2 * n }, { tau2: 0.04 });
      return { fixed: w.pValue, always: m.pValue };
    };
    let previous = 1;
    for (const n of [100, 400, 1600, 6400]) {
      const { fixed, always } = look(n);
      expect(always).toBeGreaterThanOrEqual(fixed);
      expect(always).toBeLessThanOrEqual(previous);
      previous = always;
    }
    expect(previous).toBeLessThan(0.001);
  });

  it('keeps the running minimum across looks', () => {
    const r = msprt({ estimate: 0, variance: 1e-4, sampleSize: 1000 }, { previousPValue: 0.03 });
    expect(r.pValue).toBe(0.03);
  });

  it('derives the default tau2 from the per-unit variance and the planned sample size', () => {
    const input = { estimate: 0.1, variance: 0.002, sampleSize: 1000 };
    const l = -2 * Math.log(0.05);
    expect(msprtDefaultTau2(input)).toBeCloseTo(((l + Math.log(1 + l)) / 10_000) * 1000 * 0.002, 15);
    expect(msprt(input).tau2).toBe(msprtDefaultTau2(input));
    expect(() => msprt(input, { tau2: 0 })).toThrow(RangeError);
  });
});
