import { describe, expect, it } from 'vitest';
import { expectClose, expectIntervalClose, reference } from '../test-support/reference.js';
import { summarizeMean } from './summary.js';
import { welchTTest, welchTTestFromSummaries } from './welch.js';

function statsOf(values: readonly number[]) {
  return { n: values.length, sum: values.reduce((a, b) => a + b, 0), sumSquares: values.reduce((a, b) => a + b * b, 0) };
}

describe('welchTTest against scipy.stats.ttest_ind(equal_var=False)', () => {
  for (const c of reference.welch) {
    it(c.name, () => {
      const r = welchTTest(c.input.control, c.input.treatment, { confidence: c.input.confidence });
      const e = c.expected;
      for (const arm of ['control', 'treatment'] as const) {
        expectClose('summarizeMean', `${c.name} ${arm}.mean`, r[arm].mean, e[arm].mean);
        expectClose('summarizeMean', `${c.name} ${arm}.variance`, r[arm].variance, e[arm].variance);
        expectClose('summarizeMean', `${c.name} ${arm}.standardError`, r[arm].standardError, e[arm].standardError);
      }
      expectClose('welchTTest', `${c.name} t`, r.t, e.t);
      expectClose('welchTTest', `${c.name} df`, r.df, e.df);
      expectClose('welchTTest', `${c.name} pValue`, r.pValue, e.pValue);
      expectClose('welchTTest', `${c.name} t (ttest_ind_from_stats)`, r.t, e.fromStats.t);
      expectClose('welchTTest', `${c.name} pValue (ttest_ind_from_stats)`, r.pValue, e.fromStats.pValue);
      expectIntervalClose('welchTTest', `${c.name} difference`, r.difference, e.difference);
      expectIntervalClose('relativeLift', `${c.name} relative`, r.relative, e.relative);
    });
  }

  it('gives the same answer from sums taken in TypeScript over the raw samples', () => {
    const withRaw = reference.welch.filter((c) => c.raw !== undefined);
    expect(withRaw.length).toBeGreaterThan(2);
    for (const c of withRaw) {
      const raw = c.raw as { control: number[]; treatment: number[] };
      const r = welchTTest(statsOf(raw.control), statsOf(raw.treatment), { confidence: c.input.confidence });
      expectClose('welchTTest', `${c.name} t (TS sums)`, r.t, c.expected.t);
      expectClose('welchTTest', `${c.name} pValue (TS sums)`, r.pValue, c.expected.pValue);
    }
  });
});

describe('welchTTest edge cases', () => {
  it('has df between min(n)-1 and n_c + n_t - 2', () => {
    const r = welchTTest(statsOf([1, 2, 3, 4]), statsOf([2, 4, 6, 8, 10, 12]));
    expect(r.df).toBeGreaterThanOrEqual(3);
    expect(r.df).toBeLessThanOrEqual(8);
  });

  it('returns NaN t and p when neither arm varies', () => {
    const r = welchTTest(statsOf([1, 1, 1]), statsOf([1, 1, 1]));
    expect(r.t).toBeNaN();
    expect(r.pValue).toBeNaN();
  });

  it('has a NaN variance for a single unit', () => {
    expect(summarizeMean({ n: 1, sum: 3, sumSquares: 9 }).variance).toBeNaN();
  });

  it('accepts summaries directly', () => {
    const c = summarizeMean(statsOf([1, 2, 3, 4, 5]));
    const t = summarizeMean(statsOf([2, 3, 4, 5, 9]));
    expect(welchTTestFromSummaries(c, t).pValue).toBe(welchTTest(statsOf([1, 2, 3, 4, 5]), statsOf([2, 3, 4, 5, 9])).pValue);
  });
});
