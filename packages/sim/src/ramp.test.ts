import { countSlots, plan, reallocate, targetCounts, type SlotRange } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { EMPTY_CONFIG, mergeConfig } from './backend.js';
import { exposureAwareRamp } from './ramp.js';
import { Rng } from './rng.js';
import { launchPart, phaseAllocation, SLOTS, withAllocation, withPhase } from './sortition-config.js';

const VARIANTS = ['control', 'treatment'];

function ownerOf(allocation: Readonly<Record<string, readonly SlotRange[]>>, slots: number): string[] {
  const owner = new Array<string>(slots).fill('');
  for (const [v, ranges] of Object.entries(allocation)) for (const [a, b] of ranges) for (let s = a; s < b; s++) owner[s] = v;
  return owner;
}

/** Exposed counts: `n` units on uniform random slots. */
function exposedCounts(n: number, seed: number): Uint32Array {
  const r = Rng.stream(seed, 'exposed');
  const counts = new Uint32Array(SLOTS);
  for (let i = 0; i < n; i++) counts[r.int(SLOTS)]!++;
  return counts;
}

describe('exposureAwareRamp', () => {
  const current = { control: [[0, 50_000]] as SlotRange[], treatment: [[50_000, 100_000]] as SlotRange[] };

  it('reaches 40/60 and gives treatment only control slots that hold no exposed unit', () => {
    const exposed = exposedCounts(30_000, 1);
    const r = exposureAwareRamp({ slots: SLOTS, variants: VARIANTS, current, weights: { control: 40, treatment: 60 }, exposed });
    expect(countSlots(r.allocation['control']!)).toBe(40_000);
    expect(countSlots(r.allocation['treatment']!)).toBe(60_000);
    expect(r.movedSlots).toBe(10_000);
    const before = ownerOf(current, SLOTS);
    const after = ownerOf(r.allocation, SLOTS);
    const moves = new Map<string, number>();
    let movedExposed = 0;
    for (let s = 0; s < SLOTS; s++) {
      if (before[s] === after[s]) continue;
      const key = `${before[s]}->${after[s]}`;
      moves.set(key, (moves.get(key) ?? 0) + 1);
      if (exposed[s]! > 0) movedExposed++;
    }
    expect(Object.fromEntries(moves)).toEqual({ 'control->treatment': 10_000 });
    expect(movedExposed).toBe(0);
  });

  it('moves only what is empty when too few control slots are', () => {
    const exposed = exposedCounts(400_000, 2); // e^-4 of the slots stay empty: about 1.8% of control's 50 000
    const r = exposureAwareRamp({ slots: SLOTS, variants: VARIANTS, current, weights: { control: 40, treatment: 60 }, exposed });
    let empty = 0;
    for (let s = 0; s < 50_000; s++) if (exposed[s] === 0) empty++;
    expect(r.emptyAvailable).toBe(empty);
    expect(r.movedSlots).toBe(empty);
    expect(r.shares['treatment']).toBeCloseTo(0.5 + empty / SLOTS, 12);
  });

  it('the planner finds it safe, and refuses the textbook reallocation', () => {
    const now = Date.parse('2026-03-15T23:00:00Z');
    let part = launchPart(1, Date.parse('2026-03-11T00:00:00Z'));
    part = withPhase(part, { id: 'ramp', startsAt: '2026-03-15T23:00:00Z', reason: 'r', allocation: phaseAllocation(part, 'launch') });
    const running = mergeConfig(EMPTY_CONFIG, part, 1);
    const exposed = exposedCounts(30_000, 3);
    const options = { now, exposed: new Map([['sat_model', { slotCounts: exposed }]]) };
    const ramp = exposureAwareRamp({ slots: SLOTS, variants: VARIANTS, current: phaseAllocation(part, 'launch'), weights: { control: 40, treatment: 60 }, exposed });
    const safe = plan(running, mergeConfig(EMPTY_CONFIG, withAllocation(part, 'ramp', ramp.allocation), 2), options);
    expect(safe.verdict).toBe('safe');
    expect(safe.experiments[0]!.transitions[0]!.exposedMoving).toBe(0);
    const textbook = reallocate({ slots: SLOTS, variants: VARIANTS, current: phaseAllocation(part, 'launch'), target: targetCounts(VARIANTS, { control: 40, treatment: 60 }, SLOTS) });
    const refused = plan(running, mergeConfig(EMPTY_CONFIG, withAllocation(part, 'ramp', textbook.allocation), 2), options);
    expect(refused.verdict).toBe('refused');
  });
});
