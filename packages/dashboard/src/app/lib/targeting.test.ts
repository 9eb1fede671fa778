import type { ConditionDocument } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { describeCondition } from './targeting.js';

describe('describeCondition', () => {
  it('reads a condition tree as words', () => {
    const c = {
      all: [
        { attr: 'country', op: 'in', value: ['DE', 'FR'] },
        { any: [{ attr: 'appVersion', op: 'semver_gte', value: '4.2.0' }, { not: { attr: 'beta', op: 'exists' } }] },
      ],
    } as ConditionDocument;
    expect(describeCondition(c)).toBe('country in "DE", "FR" and (appVersion ≥ (SemVer) "4.2.0" or not beta is set)');
  });
});
