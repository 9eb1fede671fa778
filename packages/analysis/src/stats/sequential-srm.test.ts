import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { sequentialSrm } from './sequential-srm.js';

describe('sequentialSrm against scipy.stats.dirichlet_multinomial / multinomial', () => {
  for (const c of reference.sequentialSrm) {
    it(c.name, () => {
      const r = sequentialSrm(c.observed, c.weights, { concentration: c.concentration });
      expectClose('sequentialSrm', `${c.name} logBayesFactor`, r.logBayesFactor, c.expected.logBayesFactor);
      expectClose('sequentialSrm', `${c.name} pValue`, r.pValue, c.expected.pValue);
      expect(r.status).toBe(c.expected.status);
    });
  }
});

describe('sequentialSrm behaviour', () => {
  it('starts at p = 1 with no units and keeps the running minimum', () => {
    expect(sequentialSrm([0, 0], [1, 1]).pValue).toBe(1);
    const early = sequentialSrm([700, 500], [1, 1]);
    expect(early.pValue).toBeLessThan(0.001);
    expect(sequentialSrm([5_000, 5_010], [1, 1], { previousPValue: early.pValue }).pValue).toBe(early.pValue);
  });

  it('alerts when an arm not in force gets units', () => {
    const r = sequentialSrm([10, 1, 10], [1, 0, 1]);
    expect(r.logBayesFactor).toBe(Number.POSITIVE_INFINITY);
    expect(r.pValue).toBe(0);
    expect(r.status).toBe('alert');
  });

  it('holds its level under the null when checked after every unit', () => {
    // Deterministic low-discrepancy stream at the null split: a fair sequence never alerts.
    let control = 0;
    let treatment = 0;
    let minP = 1;
    for (let i = 0; i < 5_000; i++) {
      if ((i * 0.6180339887498949) % 1 < 0.5) control++;
      else treatment++;
      minP = Math.min(minP, sequentialSrm([control, treatment], [1, 1]).pValue);
    }
    expect(minP).toBeGreaterThan(0.05);
  });
});
