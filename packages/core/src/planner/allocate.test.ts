import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rangeListProblem, unionRanges, type SlotRange } from '../config/ranges.js';
import { reallocate, targetCounts, type Allocation } from './allocate.js';

const N = 10_000;
const NONE = -1;

/** slot → variant index (or NONE), built independently of allocate.ts; fails on a doubly held slot. */
function slotTable(variants: readonly string[], allocation: Allocation, slots = N): Int16Array {
  const table = new Int16Array(slots).fill(NONE);
  variants.forEach((v, i) => {
    for (const [from, to] of allocation[v] ?? []) {
      for (let s = from; s < to; s++) {
        if (table[s] !== NONE) throw new Error(`slot ${s} is held by ${variants[table[s]!]} and ${v}`);
        table[s] = i;
      }
    }
  });
  for (const key of Object.keys(allocation)) if (!variants.includes(key)) throw new Error(`unknown variant ${key}`);
  return table;
}

function blockedTable(unavailable: readonly SlotRange[], slots = N): Uint8Array {
  const table = new Uint8Array(slots);
  for (const [from, to] of unavailable) table.fill(1, from, to);
  return table;
}

function countsOf(table: Int16Array, variants: number): number[] {
  const counts = new Array<number>(variants).fill(0);
  for (const v of table) if (v !== NONE) counts[v]! += 1;
  return counts;
}

/** Slots whose variant changed, a variant → another variant or none. */
function changedSlots(before: Int16Array, after: Int16Array): number {
  let n = 0;
  for (let s = 0; s < before.length; s++) if (before[s] !== NONE && after[s] !== before[s]) n++;
  return n;
}

interface Step {
  readonly variants: readonly string[];
  readonly unavailable: readonly SlotRange[];
  readonly before: Allocation;
  readonly target: Readonly<Record<string, number>>;
}

/** Runs reallocate and checks every invariant of spec §8.2; returns the new allocation. */
function checkedStep({ variants, unavailable, before, target }: Step): Allocation {
  const result = reallocate({ slots: N, variants, current: before, target, unavailable });
  const blocked = blockedTable(unavailable);
  const oldTable = slotTable(variants, before);
  const newTable = slotTable(variants, result.allocation); // throws if a slot is held twice
  const oldCounts = countsOf(oldTable, variants.length);
  const newCounts = countsOf(newTable, variants.length);

  // Each variant holds exactly its target, in well-formed, merged ranges.
  variants.forEach((v, i) => {
    expect(newCounts[i], `slots of ${v}`).toBe(target[v] ?? 0);
    const ranges = result.allocation[v] ?? [];
    expect(rangeListProblem(ranges, N)).toBeNull();
    for (let k = 1; k < ranges.length; k++) expect(ranges[k]![0]).toBeGreaterThan(ranges[k - 1]![1]);
  });
  // One pass over the slots; assertions after it (an expect per slot would dominate the run time).
  let free = 0;
  let unavailableCount = 0;
  let unavailableUsed = 0;
  let changed = 0;
  let reusedReleased = false;
  let stillFree = false;
  const kept = new Array<number>(variants.length).fill(0);
  for (let s = 0; s < N; s++) {
    const o = oldTable[s]!;
    const n = newTable[s]!;
    if (blocked[s] === 1) {
      unavailableCount++;
      if (n !== NONE) unavailableUsed++;
    } else if (n === NONE) free++;
    if (o !== NONE && n !== o) changed++;
    if (o !== NONE && n === o) kept[o]! += 1;
    if (o !== NONE && n !== NONE && n !== o) reusedReleased = true;
    if (blocked[s] === 0 && o === NONE && n === NONE) stillFree = true;
  }
  // No unavailable slot is used; every slot is accounted for.
  expect(unavailableUsed).toBe(0);
  expect(newCounts.reduce((a, b) => a + b, 0) + free + unavailableCount).toBe(N);

  // The slots that change variant (to another variant or to none) are exactly the theoretical minimum.
  const minimum = variants.reduce((sum, _, i) => sum + Math.max(0, oldCounts[i]! - newCounts[i]!), 0);
  expect(changed).toBe(minimum);
  expect(result.moved).toBe(minimum);
  expect(result.entered).toBe(variants.reduce((sum, _, i) => sum + Math.max(0, newCounts[i]! - oldCounts[i]!), 0));

  // A variant that does not shrink keeps every slot; a shrinking one keeps all but its excess.
  variants.forEach((v, i) => expect(kept[i], `kept slots of ${v}`).toBe(Math.min(oldCounts[i]!, newCounts[i]!)));

  // Growing variants take never-allocated slots before released ones: if a released slot went to
  // another variant, no slot that was free before is still free.
  expect(reusedReleased && stillFree).toBe(false);
  return result.allocation;
}

type Op =
  | { readonly kind: 'ramp'; readonly coverage: number }
  | { readonly kind: 'weights'; readonly weights: readonly number[] }
  | { readonly kind: 'add'; readonly variant: number; readonly weight: number }
  | { readonly kind: 'zero'; readonly variant: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('ramp' as const), coverage: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('weights' as const), weights: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 5, maxLength: 5 }) }),
  fc.record({ kind: fc.constant('add' as const), variant: fc.nat(4), weight: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant('zero' as const), variant: fc.nat(4) }),
);

/** 0-3 ranges of other experiments and holdouts (possibly touching; merged before use). */
const unavailableArb: fc.Arbitrary<SlotRange[]> = fc
  .array(
    fc.tuple(fc.nat(N - 1), fc.integer({ min: 1, max: 2500 })).map(([from, len]): SlotRange => [from, Math.min(N, from + len)]),
    { maxLength: 3 },
  )
  .map((ranges) => unionRanges([ranges]));

const scenarioArb = fc.record({
  variantCount: fc.integer({ min: 2, max: 5 }),
  unavailable: unavailableArb,
  weights: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 5, maxLength: 5 }),
  coverage: fc.double({ min: 0, max: 1, noNaN: true }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 20 }),
});

function ensurePositive(weights: number[]): number[] {
  if (!weights.some((w) => w > 0)) weights[0] = 1;
  return weights;
}

describe('reallocate: properties over random sequences of ramps and weight edits', () => {
  it('keeps every invariant and moves exactly the theoretical minimum at each step', () => {
    fc.assert(
      fc.property(scenarioArb, ({ variantCount, unavailable, weights: initialWeights, coverage: initialCoverage, ops }) => {
        const variants = Array.from({ length: variantCount }, (_, i) => `v${i}`);
        const available = N - unavailable.reduce((sum, [from, to]) => sum + to - from, 0);
        let weights = ensurePositive(initialWeights.slice(0, variantCount));
        let coverage = Math.floor(initialCoverage * available);
        const targetOf = (): Record<string, number> => targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, weights[i]!])), coverage);
        let allocation = checkedStep({ variants, unavailable, before: {}, target: targetOf() });
        for (const op of ops) {
          switch (op.kind) {
            case 'ramp':
              coverage = Math.floor(op.coverage * available);
              break;
            case 'weights':
              weights = ensurePositive(op.weights.slice(0, variantCount));
              break;
            case 'add': {
              const i = op.variant % variantCount;
              if (weights[i] === 0) weights[i] = op.weight;
              break;
            }
            case 'zero': {
              const i = op.variant % variantCount;
              if (weights.some((w, j) => j !== i && w > 0)) weights[i] = 0;
              break;
            }
          }
          allocation = checkedStep({ variants, unavailable, before: allocation, target: targetOf() });
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('moves nothing when the targets are the current counts, whatever the variant order', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.infiniteStream(fc.nat()),
        ({ variantCount, unavailable, weights, coverage }, randomness) => {
          const variants = Array.from({ length: variantCount }, (_, i) => `v${i}`);
          const available = N - unavailable.reduce((sum, [from, to]) => sum + to - from, 0);
          const target = targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, ensurePositive(weights.slice(0, variantCount))[i]!])), Math.floor(coverage * available));
          const { allocation } = reallocate({ slots: N, variants, current: {}, target, unavailable });
          const shuffled = [...variants];
          const it = randomness[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (it.next().value as number) % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const again = reallocate({ slots: N, variants: shuffled, current: allocation, target, unavailable });
          expect(again.moved).toBe(0);
          expect(again.entered).toBe(0);
          for (const v of variants) expect(again.allocation[v] ?? []).toEqual(allocation[v] ?? []);
        },
      ),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe('targetCounts', () => {
  it('splits the coverage exactly, each variant within one slot of its exact quota', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }).filter((w) => w.some((x) => x > 0)),
        fc.integer({ min: 0, max: 100_000 }),
        (weights, coverage) => {
          const variants = weights.map((_, i) => `v${i}`);
          const counts = targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, weights[i]!])), coverage);
          const total = weights.reduce((a, b) => a + b, 0);
          expect(variants.reduce((sum, v) => sum + counts[v]!, 0)).toBe(coverage);
          variants.forEach((v, i) => {
            const exact = (weights[i]! * coverage) / total;
            expect(counts[v]).toBeGreaterThanOrEqual(Math.floor(exact));
            expect(counts[v]).toBeLessThanOrEqual(Math.ceil(exact));
            if (weights[i] === 0) expect(counts[v]).toBe(0);
          });
          // Scaling every weight does not change the counts.
          const scaled = targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, weights[i]! * 7])), coverage);
          expect(scaled).toEqual(counts);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('breaks ties by variant order', () => {
    expect(targetCounts(['a', 'b', 'c'], { a: 1, b: 1, c: 1 }, 10_000)).toEqual({ a: 3334, b: 3333, c: 3333 });
    expect(targetCounts(['c', 'b', 'a'], { a: 1, b: 1, c: 1 }, 10_000)).toEqual({ c: 3334, b: 3333, a: 3333 });
    expect(targetCounts(['a', 'b', 'c'], { a: 1, b: 1, c: 1 }, 2)).toEqual({ a: 1, b: 1, c: 0 });
  });

  it('is exact for decimal weights whose quotients are not representable', () => {
    // 0.1 + 0.2 !== 0.3 in binary floating point; the split must still be the exact one.
    expect(targetCounts(['a', 'b', 'c'], { a: 0.1, b: 0.2, c: 0.7 }, 10)).toEqual({ a: 1, b: 2, c: 7 });
    expect(targetCounts(['a', 'b'], { a: 0.4, b: 0.6 }, 10_000)).toEqual({ a: 4000, b: 6000 });
    expect(targetCounts(['a', 'b', 'c'], { a: 1 / 3, b: 1 / 3, c: 1 / 3 }, 100)).toEqual({ a: 34, b: 33, c: 33 });
    // Quotas 366.6 / 225.6 / 225.6 / 28.2: a three-way tie for 2 slots goes to a and b by order.
    // Floating-point division made c's remainder look larger than a's and gave 366/226/226/28.
    expect(targetCounts(['a', 'b', 'c', 'd'], { a: 1.3, b: 0.8, c: 0.8, d: 0.1 }, 846)).toEqual({ a: 367, b: 226, c: 225, d: 28 });
    expect(targetCounts(['a', 'b'], { a: 1e-7, b: 3e-7 }, 10)).toEqual({ a: 3, b: 7 });
  });

  it('gives decimal weights exactly the counts of the same weights scaled to integers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 6 }).filter((w) => w.some((x) => x > 0)),
        fc.integer({ min: 0, max: 100_000 }),
        (tenths, coverage) => {
          const variants = tenths.map((_, i) => `v${i}`);
          const decimals = targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, tenths[i]! / 10])), coverage);
          const integers = targetCounts(variants, Object.fromEntries(variants.map((v, i) => [v, tenths[i]!])), coverage);
          expect(decimals).toEqual(integers);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('rejects bad weights and coverage', () => {
    expect(() => targetCounts(['a'], { a: 0 }, 10)).toThrow(RangeError);
    expect(() => targetCounts(['a', 'b'], { a: 1, b: -1 }, 10)).toThrow(RangeError);
    expect(() => targetCounts(['a'], { a: Number.POSITIVE_INFINITY }, 10)).toThrow(RangeError);
    expect(() => targetCounts(['a'], { a: 1 }, 1.5)).toThrow(RangeError);
    expect(() => targetCounts(['a'], { a: 1 }, -1)).toThrow(RangeError);
  });
});

describe('reallocate: examples', () => {
  const two = ['control', 'treatment'];

  it('50/50 -> 40/60 at full coverage moves exactly 10% of the slots', () => {
    const start = reallocate({ slots: N, variants: two, current: {}, target: targetCounts(two, { control: 50, treatment: 50 }, N) });
    const next = reallocate({ slots: N, variants: two, current: start.allocation, target: targetCounts(two, { control: 40, treatment: 60 }, N) });
    expect(next.moved).toBe(N / 10);
    expect(changedSlots(slotTable(two, start.allocation), slotTable(two, next.allocation))).toBe(N / 10);
    expect(next.allocation).toEqual({ control: [[0, 4000]], treatment: [[4000, 10_000]] });
  });

  it('a ramp from 20% to 60% at 50/50 moves nobody', () => {
    const start = reallocate({ slots: N, variants: two, current: {}, target: targetCounts(two, { control: 1, treatment: 1 }, 2000) });
    const next = reallocate({ slots: N, variants: two, current: start.allocation, target: targetCounts(two, { control: 1, treatment: 1 }, 6000) });
    expect(next.moved).toBe(0);
    expect(next.entered).toBe(4000);
    expect(changedSlots(slotTable(two, start.allocation), slotTable(two, next.allocation))).toBe(0);
  });

  it('ramping down releases only the excess, highest slots first', () => {
    const start = reallocate({ slots: N, variants: two, current: {}, target: { control: 3000, treatment: 3000 } });
    const next = reallocate({ slots: N, variants: two, current: start.allocation, target: { control: 1000, treatment: 1000 } });
    expect(next.moved).toBe(4000);
    expect(next.allocation).toEqual({ control: [[0, 1000]], treatment: [[3000, 4000]] });
  });

  it('adding a third variant at equal weights at full coverage moves exactly N/3 (largest remainder)', () => {
    const three = [...two, 'third'];
    const start = reallocate({ slots: N, variants: three, current: {}, target: targetCounts(three, { control: 1, treatment: 1, third: 0 }, N) });
    const target = targetCounts(three, { control: 1, treatment: 1, third: 1 }, N);
    expect(target).toEqual({ control: 3334, treatment: 3333, third: 3333 });
    const next = reallocate({ slots: N, variants: three, current: start.allocation, target });
    expect(next.moved).toBe(3333);
    expect(changedSlots(slotTable(three, start.allocation), slotTable(three, next.allocation))).toBe(3333);
  });

  it('reordering the variants array with the same targets moves nothing', () => {
    const three = ['a', 'b', 'c'];
    const start = reallocate({ slots: N, variants: three, current: {}, target: { a: 2000, b: 3000, c: 1000 }, unavailable: [[4000, 5000]] });
    const next = reallocate({ slots: N, variants: ['c', 'a', 'b'], current: start.allocation, target: { a: 2000, b: 3000, c: 1000 }, unavailable: [[4000, 5000]] });
    expect(next.moved).toBe(0);
    expect(next.allocation).toEqual(start.allocation);
  });

  it('never uses unavailable slots and refuses a target that does not fit', () => {
    const unavailable: SlotRange[] = [[0, 5000], [9000, 10_000]];
    const r = reallocate({ slots: N, variants: two, current: {}, target: { control: 2000, treatment: 2000 }, unavailable });
    expect(r.allocation).toEqual({ control: [[5000, 7000]], treatment: [[7000, 9000]] });
    expect(() => reallocate({ slots: N, variants: two, current: {}, target: { control: 2000, treatment: 2001 }, unavailable })).toThrow(/needs 4001 more slots/);
  });

  it('rejects inconsistent input', () => {
    expect(() => reallocate({ slots: N, variants: two, current: { control: [[0, 10]], treatment: [[5, 20]] }, target: {} })).toThrow(/two variants/);
    expect(() => reallocate({ slots: N, variants: two, current: { control: [[0, 10]] }, target: {}, unavailable: [[5, 6]] })).toThrow(/unavailable/);
    expect(() => reallocate({ slots: N, variants: two, current: { other: [[0, 10]] }, target: {} })).toThrow(/unknown variant/);
    expect(() => reallocate({ slots: N, variants: two, current: { control: [[9990, 10_010]] }, target: {} })).toThrow(RangeError);
    expect(() => reallocate({ slots: N, variants: two, current: {}, target: { control: 1.5 } })).toThrow(RangeError);
    expect(() => reallocate({ slots: N, variants: ['a', 'a'], current: {}, target: {} })).toThrow(RangeError);
  });
});
