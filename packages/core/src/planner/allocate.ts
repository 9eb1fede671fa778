/**
 * Minimal-move reallocation (spec/ALGORITHM.md §8.2). Given an experiment's current ranges and the
 * slot count each variant should hold, produce new ranges that:
 *  - keep every slot a variant still needs (a growing or unchanged variant loses nothing);
 *  - take slots from a shrinking variant only as many as it shrinks (|delta|, nothing more);
 *  - give growing variants never-allocated slots first, and released slots only when none are left.
 * So the slots that change variant number exactly the sum of the shrinking variants' deltas, which
 * is the theoretical minimum.
 */
import { rangesOf, type SlotRange } from '../config/ranges.js';

export type Allocation = Readonly<Record<string, readonly SlotRange[]>>;

export interface ReallocateInput {
  readonly slots: number;
  /** Variant keys in order; the order only breaks ties, it never decides who moves. */
  readonly variants: readonly string[];
  readonly current: Allocation;
  /** Slots each variant should hold afterwards. */
  readonly target: Readonly<Record<string, number>>;
  /** Slots the experiment may not take (other experiments, holdouts, excluded phases). */
  readonly unavailable?: readonly SlotRange[];
}

export interface ReallocateResult {
  readonly allocation: Record<string, SlotRange[]>;
  /** Slots that left a variant (to another variant or to none): the sum of shrinking deltas. */
  readonly moved: number;
  /** Slots that joined a variant. */
  readonly entered: number;
}

const FREE = -1;
const BLOCKED = -2;
const RELEASED = -3;

/** Integer slot counts for `weights` (any non-negative numbers) over `coverage` slots, by largest remainder. */
export function targetCounts(variants: readonly string[], weights: Readonly<Record<string, number>>, coverage: number): Record<string, number> {
  if (!Number.isSafeInteger(coverage) || coverage < 0) throw new RangeError(`coverage must be a non-negative integer slot count, got ${coverage}`);
  const total = variants.reduce((sum, v) => sum + (weights[v] ?? 0), 0);
  if (!(total > 0)) throw new RangeError('weights must be non-negative and not all zero');
  const exact = variants.map((v) => {
    const w = weights[v] ?? 0;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight of ${v} must be a finite non-negative number`);
    return (w / total) * coverage;
  });
  const counts = exact.map(Math.floor);
  let remaining = coverage - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (remaining <= 0) break;
    counts[i]! += 1;
    remaining--;
  }
  return Object.fromEntries(variants.map((v, i) => [v, counts[i]!]));
}

export function reallocate(input: ReallocateInput): ReallocateResult {
  const { slots, variants } = input;
  const table = new Int16Array(slots).fill(FREE);
  for (const [from, to] of input.unavailable ?? []) table.fill(BLOCKED, from, to);
  const have = variants.map(() => 0);
  variants.forEach((v, i) => {
    for (const [from, to] of input.current[v] ?? []) {
      for (let s = from; s < to; s++) {
        if (table[s] === BLOCKED) throw new RangeError(`slot ${s} of variant ${v} is marked unavailable`);
        if (table[s]! >= 0) throw new RangeError(`slot ${s} is held by two variants`);
        table[s] = i;
      }
      have[i]! += to - from;
    }
  });
  for (const key of Object.keys(input.current)) {
    if (!variants.includes(key)) throw new RangeError(`current allocation names unknown variant ${key}`);
  }
  const want = variants.map((v) => {
    const n = input.target[v] ?? 0;
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`target for ${v} must be a non-negative integer, got ${n}`);
    return n;
  });
  let free = 0;
  for (let s = 0; s < slots; s++) if (table[s] === FREE) free++;
  const released = want.reduce((sum, w, i) => sum + Math.max(0, have[i]! - w), 0);
  const needed = want.reduce((sum, w, i) => sum + Math.max(0, w - have[i]!), 0);
  if (needed > free + released) {
    throw new RangeError(`the target needs ${needed} more slots but only ${free + released} are available to this experiment`);
  }
  // Shrink: release the highest slots of each shrinking variant.
  variants.forEach((_, i) => {
    let excess = have[i]! - want[i]!;
    for (let s = slots - 1; s >= 0 && excess > 0; s--) {
      if (table[s] === i) {
        table[s] = RELEASED;
        excess--;
      }
    }
  });
  // Grow: never-allocated slots first, scanning upward from the variant's last slot (to keep ranges
  // contiguous), then released slots the same way.
  variants.forEach((_, i) => {
    let deficit = want[i]! - have[i]!;
    if (deficit <= 0) return;
    let start = 0;
    for (let s = slots - 1; s >= 0; s--) {
      if (table[s] === i) {
        start = s + 1;
        break;
      }
    }
    for (const pool of [FREE, RELEASED]) {
      for (let k = 0; k < slots && deficit > 0; k++) {
        const s = (start + k) % slots;
        if (table[s] === pool) {
          table[s] = i;
          deficit--;
        }
      }
    }
  });
  const allocation: Record<string, SlotRange[]> = {};
  variants.forEach((v, i) => {
    const ranges = rangesOf(table, i);
    if (ranges.length > 0 || want[i]! > 0) allocation[v] = ranges;
  });
  return { allocation, moved: released, entered: needed };
}
