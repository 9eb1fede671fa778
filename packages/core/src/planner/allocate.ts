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

/**
 * A finite non-negative number as an exact decimal fraction `units / 10^scale`, read from its
 * shortest round-trip representation (String(0.1) === "0.1"), i.e. the number the user wrote.
 */
function decimal(value: number): { units: bigint; scale: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (m === null) throw new RangeError(`weight ${value} is not a finite non-negative number`);
  const fraction = m[2] ?? '';
  const exponent = Number(m[3] ?? '0');
  const digits = BigInt(`${m[1]!}${fraction}`);
  const scale = fraction.length - exponent;
  return scale >= 0 ? { units: digits, scale } : { units: digits * 10n ** BigInt(-scale), scale: 0 };
}

/**
 * Integer slot counts for `weights` (any non-negative numbers) over `coverage` slots, by the
 * largest-remainder method with ties broken by variant order (spec §8.2). The arithmetic is exact on
 * the weights as written in decimal, so 0.1/0.2/0.7 splits exactly like 1/2/7 and two
 * implementations can never disagree on a tie because of floating-point rounding.
 */
export function targetCounts(variants: readonly string[], weights: Readonly<Record<string, number>>, coverage: number): Record<string, number> {
  if (!Number.isSafeInteger(coverage) || coverage < 0) throw new RangeError(`coverage must be a non-negative integer slot count, got ${coverage}`);
  const parsed = variants.map((v) => {
    const w = weights[v] ?? 0;
    if (typeof w !== 'number' || !Number.isFinite(w) || !(w >= 0)) throw new RangeError(`weight of ${v} must be a finite non-negative number, got ${String(w)}`);
    return decimal(w);
  });
  const scale = parsed.reduce((max, d) => Math.max(max, d.scale), 0);
  const units = parsed.map((d) => d.units * 10n ** BigInt(scale - d.scale));
  const total = units.reduce((a, b) => a + b, 0n);
  if (total === 0n) throw new RangeError('weights must be non-negative and not all zero');
  const cover = BigInt(coverage);
  const counts = units.map((u) => Number((u * cover) / total));
  const remainders = units.map((u) => (u * cover) % total);
  let remaining = coverage - counts.reduce((a, b) => a + b, 0);
  const order = variants.map((_, i) => i).sort((a, b) => {
    const ra = remainders[a]!;
    const rb = remainders[b]!;
    return ra > rb ? -1 : ra < rb ? 1 : a - b;
  });
  for (const i of order) {
    if (remaining <= 0) break;
    counts[i]! += 1;
    remaining--;
  }
  return Object.fromEntries(variants.map((v, i) => [v, counts[i]!]));
}

function checkRange(range: SlotRange, slots: number, what: string): void {
  const [from, to] = range;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from >= to || to > slots) {
    throw new RangeError(`${what}: range [${from}, ${to}] is not a non-empty integer range within [0, ${slots}]`);
  }
}

export function reallocate(input: ReallocateInput): ReallocateResult {
  const { slots, variants } = input;
  if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`slot count must be a positive integer, got ${slots}`);
  if (new Set(variants).size !== variants.length) throw new RangeError(`variant keys must be unique: ${variants.join(', ')}`);
  if (variants.length > 0x7fff) throw new RangeError('too many variants');
  for (const key of Object.keys(input.current)) {
    if (!variants.includes(key)) throw new RangeError(`current allocation names unknown variant ${key}`);
  }
  const table = new Int16Array(slots).fill(FREE);
  for (const range of input.unavailable ?? []) {
    checkRange(range, slots, 'unavailable');
    table.fill(BLOCKED, range[0], range[1]);
  }
  const have = variants.map(() => 0);
  variants.forEach((v, i) => {
    for (const range of input.current[v] ?? []) {
      checkRange(range, slots, `variant ${v}`);
      for (let s = range[0]; s < range[1]; s++) {
        const owner = table[s]!;
        if (owner === BLOCKED) throw new RangeError(`slot ${s} of variant ${v} is marked unavailable`);
        if (owner === i) throw new RangeError(`slot ${s} is listed twice for variant ${v}`);
        if (owner >= 0) throw new RangeError(`slot ${s} is held by two variants (${variants[owner]!} and ${v})`);
        table[s] = i;
      }
      have[i]! += range[1] - range[0];
    }
  });
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
