/** Targeting conditions (spec §6) in words: `country in DE, FR and appVersion ≥ 4.2.0 (SemVer)`. */
import type { ConditionDocument } from '@sortition/core';

const OPS: Readonly<Record<string, string>> = {
  eq: '=',
  ne: '≠',
  in: 'in',
  nin: 'not in',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  semver_eq: '= (SemVer)',
  semver_gt: '> (SemVer)',
  semver_gte: '≥ (SemVer)',
  semver_lt: '< (SemVer)',
  semver_lte: '≤ (SemVer)',
};

const value = (v: unknown): string => (Array.isArray(v) ? v.map((x) => JSON.stringify(x)).join(', ') : JSON.stringify(v));

export function describeCondition(c: ConditionDocument, nested = false): string {
  const wrap = (text: string): string => (nested ? `(${text})` : text);
  if ('all' in c) return wrap(c.all.map((x) => describeCondition(x, true)).join(' and '));
  if ('any' in c) return wrap(c.any.map((x) => describeCondition(x, true)).join(' or '));
  if ('not' in c) return `not ${describeCondition(c.not, true)}`;
  if (c.op === 'exists') return `${c.attr} is set`;
  return `${c.attr} ${OPS[c.op] ?? c.op} ${value((c as { value?: unknown }).value)}`;
}
