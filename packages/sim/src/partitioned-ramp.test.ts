import { describe, expect, it } from 'vitest';
import { PARTITIONED_DEFAULTS, runPartitionedRamp, type RampWay, type WaySummary } from './partitioned-ramp.js';

describe('partitioned ramp: a 10% canary, then the full ramp three ways', async () => {
  const r = await runPartitionedRamp({ ...PARTITIONED_DEFAULTS, users: 6000, seed: 4, replicates: 2 });
  const way = (w: RampWay): WaySummary => r.ways.find((x) => x.way === w)!;

  it('plans each way: extending is safe, re-keying and excluding are declared', () => {
    expect(r.ways.map((w) => [w.way, w.verdict])).toEqual([
      ['straight', 'safe'],
      ['restart', 'declared'],
      ['partitioned', 'declared'],
    ]);
  });

  it('the partitioned ramp has no canary user in the full ramp; the others carry most of them', () => {
    expect(way('partitioned').spillover).toBe(0);
    expect(way('partitioned').canaryShareOfFull).toBe(0);
    for (const w of ['straight', 'restart'] as const) {
      // Canary users who come back during the full ramp: most of them (the canary's users are the frequent ones).
      expect(way(w).spillover).toBeGreaterThan(0.5);
      expect(way(w).canaryShareOfFull).toBeGreaterThan(0.03);
      expect(way(w).canaryShareOfFull).toBeLessThan(0.1);
    }
    // Straight keeps every canary user in its arm: none moves from treatment to control. Restart re-draws them.
    expect(way('straight').treatedToControl).toBe(0);
    expect(way('restart').treatedToControl).toBeGreaterThan(0);
    // The same canary users return under every way (same world, same sessions).
    expect(way('restart').spillover).toBe(way('straight').spillover);
  });

  it('the spillover bias is exactly 0 when partitioned, negative when canary users who are past their novelty spill into treatment', () => {
    expect(way('partitioned').spilloverBias).toBe(0);
    expect(way('straight').spilloverRelativeBias).toBeLessThan(-0.01);
    expect(way('restart').spilloverRelativeBias).toBeLessThan(0);
    // Restart sends about half of the canary's treated users back to treatment: about half the straight ramp's bias.
    expect(way('restart').spilloverRelativeBias).toBeGreaterThan(way('straight').spilloverRelativeBias);
    expect(r.estimand).toBeGreaterThan(0);
  });

  it('costs the partitioned ramp the canary\'s slots', () => {
    // 10% of the slots; the units in them are a random 10% of users (binomial sd ~0.4 points at ~5,000 users).
    expect(1 - way('partitioned').fullUnits / way('straight').fullUnits).toBeGreaterThan(0.07);
    expect(1 - way('partitioned').fullUnits / way('straight').fullUnits).toBeLessThan(0.13);
  });
});
