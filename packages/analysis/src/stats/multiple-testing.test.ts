import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { benjaminiHochberg, holm } from './multiple-testing.js';

describe('Holm and Benjamini-Hochberg against numpy and scipy.stats.false_discovery_control', () => {
  for (const c of reference.multipleTesting) {
    it(c.name, () => {
      const h = holm(c.pValues);
      const bh = benjaminiHochberg(c.pValues);
      expect(h).toHaveLength(c.pValues.length);
      c.holm.forEach((e, i) => expectClose('holm', `${c.name}[${i}]`, h[i] as number, e));
      c.benjaminiHochberg.forEach((e, i) => expectClose('benjaminiHochberg', `${c.name}[${i}]`, bh[i] as number, e));
    });
  }
});

describe('adjustments', () => {
  it('never lower a p-value, and Holm is never below Benjamini-Hochberg', () => {
    const p = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0004];
    const h = holm(p);
    const bh = benjaminiHochberg(p);
    p.forEach((v, i) => {
      expect(h[i]).toBeGreaterThanOrEqual(v);
      expect(bh[i]).toBeGreaterThanOrEqual(v);
      expect(h[i]).toBeGreaterThanOrEqual(bh[i] as number);
    });
  });

  it('handle no p-values and reject values outside [0, 1]', () => {
    expect(holm([])).toEqual([]);
    expect(benjaminiHochberg([])).toEqual([]);
    expect(() => holm([0.1, Number.NaN])).toThrow(RangeError);
    expect(() => benjaminiHochberg([1.2])).toThrow(RangeError);
  });
});
