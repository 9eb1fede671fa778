import { describe, expect, it } from 'vitest';
import { compareSemver, evaluateCondition, parseSemver } from './targeting.js';

describe('SemVer 2.0.0 precedence', () => {
  it('orders the example chain from semver.org §11', () => {
    const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '2.0.0', '2.1.0', '2.1.1', '10.0.0'];
    for (let i = 0; i + 1 < chain.length; i++) {
      expect(compareSemver(parseSemver(chain[i]!)!, parseSemver(chain[i + 1]!)!), `${chain[i]} < ${chain[i + 1]}`).toBeLessThan(0);
      expect(compareSemver(parseSemver(chain[i + 1]!)!, parseSemver(chain[i]!)!)).toBeGreaterThan(0);
    }
    expect(compareSemver(parseSemver('1.0.0+build.1')!, parseSemver('1.0.0+build.2')!)).toBe(0);
  });

  it('rejects what is not SemVer', () => {
    for (const bad of ['v1.0.0', '1.0', '01.0.0', '1.0.0-', '1.0.0-01', '', '1.0.0.0']) expect(parseSemver(bad), bad).toBeUndefined();
  });
});

describe('conditions', () => {
  it('never coerce types', () => {
    expect(evaluateCondition({ attr: 'n', op: 'eq', value: 1 }, { n: '1' })).toBe(false);
    expect(evaluateCondition({ attr: 'n', op: 'eq', value: 1 }, { n: true })).toBe(false);
    expect(evaluateCondition({ attr: 'n', op: 'gt', value: 1 }, { n: '2' })).toBe(false);
    expect(evaluateCondition({ attr: 'n', op: 'in', value: [1, 2] }, { n: '1' })).toBe(false);
    expect(evaluateCondition({ attr: 'n', op: 'in', value: [1, 2] }, { n: 2 })).toBe(true);
  });

  it('treat a missing attribute as false for comparisons and true for ne / nin', () => {
    expect(evaluateCondition({ attr: 'x', op: 'eq', value: 'a' }, {})).toBe(false);
    expect(evaluateCondition({ attr: 'x', op: 'ne', value: 'a' }, {})).toBe(true);
    expect(evaluateCondition({ attr: 'x', op: 'nin', value: ['a'] }, {})).toBe(true);
    expect(evaluateCondition({ attr: 'x', op: 'exists' }, { x: null })).toBe(false);
    expect(evaluateCondition({ attr: 'x', op: 'lt', value: 5 }, { x: Number.NaN })).toBe(false);
  });

  it('do not read inherited properties', () => {
    expect(evaluateCondition({ attr: 'toString', op: 'exists' }, {})).toBe(false);
  });

  it('compose with all / any / not', () => {
    const c = { all: [{ attr: 'a', op: 'eq' as const, value: 1 }, { any: [{ attr: 'b', op: 'eq' as const, value: 2 }, { not: { attr: 'c', op: 'exists' as const } }] }] };
    expect(evaluateCondition(c, { a: 1, b: 2, c: 0 })).toBe(true);
    expect(evaluateCondition(c, { a: 1, b: 3 })).toBe(true);
    expect(evaluateCondition(c, { a: 1, b: 3, c: 0 })).toBe(false);
    expect(evaluateCondition(c, { a: 2 })).toBe(false);
  });
});
