/**
 * Targeting conditions (spec/ALGORITHM.md §6). Evaluation is total: a condition on a missing or
 * mistyped attribute is simply false (never an error, never a coercion: "1" does not equal 1).
 */
import type { ConditionDocument } from './config/schema.js';

export type AttributeValue = string | number | boolean | null;
export type Attributes = Readonly<Record<string, AttributeValue | undefined>>;

type Scalar = string | number | boolean;

interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: readonly (string | number)[];
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Parses a SemVer 2.0.0 version (no leading "v"); undefined if it is not one. */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) return undefined;
  const pre = m[4] === undefined ? [] : m[4].split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  return { major, minor, patch, pre };
}

/** SemVer 2.0.0 precedence: negative, zero or positive. Build metadata is ignored. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const x = a.pre[i]!;
    const y = b.pre[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length - b.pre.length;
}

function semverTest(op: string, actual: AttributeValue | undefined, expected: unknown): boolean {
  if (typeof actual !== 'string' || typeof expected !== 'string') return false;
  const a = parseSemver(actual);
  const b = parseSemver(expected);
  if (a === undefined || b === undefined) return false;
  const c = compareSemver(a, b);
  switch (op) {
    case 'semver_eq':
      return c === 0;
    case 'semver_gt':
      return c > 0;
    case 'semver_gte':
      return c >= 0;
    case 'semver_lt':
      return c < 0;
    default:
      return c <= 0;
  }
}

function numberTest(op: string, actual: AttributeValue | undefined, expected: unknown): boolean {
  if (typeof actual !== 'number' || typeof expected !== 'number' || Number.isNaN(actual)) return false;
  switch (op) {
    case 'gt':
      return actual > expected;
    case 'gte':
      return actual >= expected;
    case 'lt':
      return actual < expected;
    default:
      return actual <= expected;
  }
}

function inList(actual: AttributeValue | undefined, list: unknown): boolean {
  if (actual === undefined || actual === null || !Array.isArray(list)) return false;
  return (list as readonly Scalar[]).includes(actual);
}

/** Whether `attributes` satisfy `condition`. */
export function evaluateCondition(condition: ConditionDocument, attributes: Attributes): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluateCondition(c, attributes));
  if ('any' in condition) return condition.any.some((c) => evaluateCondition(c, attributes));
  if ('not' in condition) return !evaluateCondition(condition.not, attributes);
  const actual = Object.hasOwn(attributes, condition.attr) ? attributes[condition.attr] : undefined;
  switch (condition.op) {
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'eq':
      return actual !== undefined && actual === condition.value;
    case 'ne':
      return actual === undefined || actual !== condition.value;
    case 'in':
      return inList(actual, condition.value);
    case 'nin':
      return !inList(actual, condition.value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return numberTest(condition.op, actual, condition.value);
    default:
      return semverTest(condition.op, actual, condition.value);
  }
}

/** Why a condition's value does not fit its operator, or null. Used by config validation. */
export function conditionValueProblem(op: string, value: unknown): { message: string; fix: string } | null {
  const isScalar = (v: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof v);
  switch (op) {
    case 'exists':
      return value === undefined ? null : { message: 'exists takes no value', fix: 'remove "value"' };
    case 'eq':
    case 'ne':
      return isScalar(value) ? null : { message: `${op} needs a string, number or boolean value`, fix: 'set "value" to a scalar' };
    case 'in':
    case 'nin':
      return Array.isArray(value) && value.every(isScalar)
        ? null
        : { message: `${op} needs a list of scalars`, fix: 'set "value" to a list such as ["DE", "FR"]' };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return typeof value === 'number' && Number.isFinite(value)
        ? null
        : { message: `${op} needs a finite number`, fix: 'set "value" to a number (no quotes)' };
    default:
      return typeof value === 'string' && parseSemver(value) !== undefined
        ? null
        : { message: `${op} needs a SemVer 2.0.0 version string`, fix: 'set "value" to a version such as "2.4.0"' };
  }
}
