/**
 * Ramping a running experiment's split (treatment 50% -> 60% of new units) without moving anyone.
 *
 * The planner refuses a change that gives any slot holding an exposed unit another variant. When
 * every slot is allocated, the textbook reallocation (reallocate() from the current allocation:
 * control releases its highest slots) moves exposed units and is refused. Growing into unallocated
 * slots instead would be safe for the planner but wrong for the analysis: units in those slots who
 * visited earlier (unexposed) would enter the later phase's stratum as treatment only.
 *
 * What is both safe and sound: give treatment only control slots that hold no exposed unit yet
 * (with 100 000 slots most are still empty halfway). Units that arrive later land in those slots
 * independently of who they are, so the later phase's fresh split is exactly the target and
 * everyone exposed keeps their variant. The slots are taken in the longest empty runs first (fewer
 * ranges), and reallocate() turns the choice into ranges; plan() then checks it.
 */
import { countSlots, reallocate, targetCounts, type SlotRange } from '@sortition/core';

export type Allocation = Readonly<Record<string, readonly SlotRange[]>>;

export interface RampInput {
  readonly slots: number;
  readonly variants: readonly string[];
  readonly current: Allocation;
  /** Desired split of the allocated slots, e.g. { control: 40, treatment: 60 }. */
  readonly weights: Readonly<Record<string, number>>;
  /** Exposed units per slot (the sticky store's knowledge at the time of the ramp). */
  readonly exposed: ArrayLike<number>;
}

export interface RampResult {
  readonly allocation: Record<string, SlotRange[]>;
  /** Slots that changed variant (all of them held no exposed unit). */
  readonly movedSlots: number;
  /** Slots each variant wanted to release, and how many empty ones it had. */
  readonly wanted: number;
  readonly emptyAvailable: number;
  /** The split reached, as shares of the allocated slots. */
  readonly shares: Record<string, number>;
}

/** Ascending ranges of the slots for which `keep(slot)` holds, within `ranges`. */
function filterRanges(ranges: readonly SlotRange[], keep: (slot: number) => boolean): SlotRange[] {
  const out: SlotRange[] = [];
  for (const [from, to] of ranges) {
    let runStart = -1;
    for (let s = from; s < to; s++) {
      if (keep(s)) {
        if (runStart < 0) runStart = s;
      } else if (runStart >= 0) {
        out.push([runStart, s]);
        runStart = -1;
      }
    }
    if (runStart >= 0) out.push([runStart, to]);
  }
  return out;
}

export function exposureAwareRamp(input: RampInput): RampResult {
  const { slots, variants, current, exposed } = input;
  if (exposed.length !== slots) throw new RangeError(`exposed counts have ${exposed.length} entries for ${slots} slots`);
  const have = Object.fromEntries(variants.map((v) => [v, countSlots(current[v] ?? [])]));
  const coverage = variants.reduce((a, v) => a + have[v]!, 0);
  const want = targetCounts(variants, input.weights, coverage);
  const released = new Uint8Array(slots);
  let wanted = 0;
  let emptyAvailable = 0;
  let movedSlots = 0;
  for (const v of variants) {
    const excess = have[v]! - want[v]!;
    if (excess <= 0) continue;
    wanted += excess;
    const runs = filterRanges(current[v] ?? [], (s) => (exposed[s] ?? 0) === 0);
    emptyAvailable += countSlots(runs);
    // Longest empty runs first (fewer ranges); ties by position.
    runs.sort((a, b) => b[1] - b[0] - (a[1] - a[0]) || a[0] - b[0]);
    let left = excess;
    for (const [from, to] of runs) {
      if (left === 0) break;
      const take = Math.min(left, to - from);
      released.fill(1, from, from + take);
      left -= take;
    }
    const taken = excess - left;
    movedSlots += taken;
    want[v] = have[v]! - taken;
  }
  // Growing variants share what was released, in proportion to what they asked for.
  const growing = variants.filter((v) => want[v]! > have[v]!);
  const asked = growing.reduce((a, v) => a + want[v]! - have[v]!, 0);
  if (asked > 0) {
    const split = targetCounts(growing, Object.fromEntries(growing.map((v) => [v, want[v]! - have[v]!])), movedSlots);
    for (const v of growing) want[v] = have[v]! + split[v]!;
  }
  const kept = Object.fromEntries(variants.map((v) => [v, filterRanges(current[v] ?? [], (s) => released[s] === 0)]));
  // Every slot outside `kept` is free, so the growing variants receive exactly the released slots.
  const occupied = [...variants.flatMap((v) => current[v] ?? [])].sort((a, b) => a[0] - b[0]);
  const outside = complement(occupied, slots);
  const result = reallocate({ slots, variants, current: kept, target: want, unavailable: outside });
  const shares = Object.fromEntries(variants.map((v) => [v, countSlots(result.allocation[v] ?? []) / coverage]));
  return { allocation: result.allocation, movedSlots, wanted, emptyAvailable, shares };
}

/** The slots of [0, slots) not covered by `ranges` (ascending, non-overlapping). */
function complement(ranges: readonly SlotRange[], slots: number): SlotRange[] {
  const out: SlotRange[] = [];
  let at = 0;
  for (const [from, to] of ranges) {
    if (from > at) out.push([at, from]);
    at = Math.max(at, to);
  }
  if (at < slots) out.push([at, slots]);
  return out;
}
