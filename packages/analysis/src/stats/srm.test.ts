import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { srmChiSquare, srmStatus } from './srm.js';

describe('srmChiSquare against scipy.stats.chisquare', () => {
  for (const c of reference.srm) {
    it(c.name, () => {
      const r = srmChiSquare(c.observed, c.weights);
      c.expected.expected.forEach((e, i) => expectClose('srmChiSquare', `${c.name} expected[${i}]`, r.expected[i] as number, e));
      expectClose('srmChiSquare', `${c.name} chiSquare`, r.chiSquare, c.expected.chiSquare);
      expectClose('srmChiSquare', `${c.name} pValue`, r.pValue, c.expected.pValue);
      expect(r.df).toBe(c.expected.df);
      expect(r.status).toBe(c.expected.status);
    });
  }
});

describe('srmChiSquare rules', () => {
  it('alerts on an arm in force that receives nobody, however small the other arm', () => {
    expect(srmChiSquare([40, 0], [1, 1]).status).toBe('alert');
  });

  it('waits for 8 expected units per arm', () => {
    expect(srmChiSquare([7, 0], [1, 1]).status).toBe('insufficient-data');
    expect(srmChiSquare([0, 0], [1, 1])).toMatchObject({ chiSquare: 0, pValue: 1, status: 'insufficient-data' });
    expect(srmChiSquare([10, 10], [1, 9]).status).toBe('insufficient-data');
    expect(srmChiSquare([80, 80], [1, 9], { minimumExpectedPerArm: 5 }).status).toBe('alert');
  });

  it('leaves out arms not in force, and alerts when one of them has units', () => {
    const r = srmChiSquare([500, 0, 510], [1, 0, 1]);
    expect(r.df).toBe(1);
    expect(r.status).toBe('ok');
    const leaked = srmChiSquare([500, 3, 510], [1, 0, 1]);
    expect(leaked.chiSquare).toBe(Number.POSITIVE_INFINITY);
    expect(leaked.pValue).toBe(0);
    expect(leaked.status).toBe('alert');
  });

  it('classifies p-values at 0.001 and 0.01', () => {
    expect(srmStatus(0.0009)).toBe('alert');
    expect(srmStatus(0.001)).toBe('warn');
    expect(srmStatus(0.0099)).toBe('warn');
    expect(srmStatus(0.01)).toBe('ok');
    expect(srmStatus(0.02, { warnBelow: 0.05 })).toBe('warn');
  });

  it('rejects malformed input', () => {
    expect(() => srmChiSquare([1, 2], [1])).toThrow(RangeError);
    expect(() => srmChiSquare([1], [1])).toThrow(RangeError);
    expect(() => srmChiSquare([1.5, 2], [1, 1])).toThrow(RangeError);
    expect(() => srmChiSquare([1, 2], [0, 0])).toThrow(RangeError);
    expect(() => srmChiSquare([1, 2], [-1, 2])).toThrow(RangeError);
  });
});
