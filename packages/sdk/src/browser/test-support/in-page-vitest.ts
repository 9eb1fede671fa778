/**
 * A minimal stand-in for the parts of vitest that shared suites (sticky-conformance.ts) use, so they
 * can run inside a browser page: describe, it (with it.runIf), beforeEach (tests and hooks may be
 * async) and expect with toBe, toEqual, toBeNull and .not. The browser bundle maps the import "vitest" to this module.
 */
type Body = () => void | Promise<void>;

interface Collected {
  readonly name: string;
  readonly body: Body;
  readonly hooks: readonly Body[];
}

export interface InPageResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
}

const collected: Collected[] = [];
const names: string[] = [];
const hooks: Body[][] = [[]];

export function describe(name: string, body: () => void): void {
  names.push(name);
  hooks.push([]);
  try {
    body();
  } finally {
    names.pop();
    hooks.pop();
  }
}

export function beforeEach(hook: Body): void {
  hooks[hooks.length - 1]!.push(hook);
}

function test(name: string, body: Body): void {
  collected.push({ name: [...names, name].join(' > '), body, hooks: hooks.flat() });
}

export const it = Object.assign(test, {
  runIf: (condition: boolean) => (condition ? test : (_name: string, _body: Body) => undefined),
});

/** vitest's toEqual: recursive, ignoring properties whose value is undefined. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && deepEqual(ra[k], rb[k]));
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeNull(): void;
}

function matchers(actual: unknown, negate: boolean, message: string | undefined): Matchers {
  const check = (pass: boolean, what: string): void => {
    if (pass === negate) throw new Error(`${message === undefined ? '' : `${message}: `}expected ${show(actual)} ${negate ? 'not ' : ''}${what}`);
  };
  return {
    toBe: (expected) => check(Object.is(actual, expected), `to be ${show(expected)}`),
    toEqual: (expected) => check(deepEqual(actual, expected), `to equal ${show(expected)}`),
    toBeNull: () => check(actual === null, 'to be null'),
  };
}

export function expect(actual: unknown, message?: string): Matchers & { readonly not: Matchers } {
  return { ...matchers(actual, false, message), not: matchers(actual, true, message) };
}

/** Runs every collected test once, in order, each after its beforeEach hooks (awaiting async ones). */
export async function runCollected(): Promise<InPageResult[]> {
  const results: InPageResult[] = [];
  for (const { name, body, hooks: before } of collected) {
    try {
      for (const hook of before) await hook();
      await body();
      results.push({ name, ok: true });
    } catch (error) {
      results.push({ name, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
