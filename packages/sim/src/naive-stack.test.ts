import { describe, expect, it } from 'vitest';
import { naiveBucket, runNaiveStack } from './naive-stack.js';
import { generateWorld } from './world.js';

describe('the naive stack', () => {
  const world = generateWorld({ users: 4000, days: 10, seed: 3 });
  const run = runNaiveStack(world, 0);

  it('buckets deterministically, uniformly over 0..99', () => {
    expect(naiveBucket('s', 'u1')).toBe(naiveBucket('s', 'u1'));
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) counts[naiveBucket('salt', `user-${i}`)]!++;
    // Chi-square with 99 degrees of freedom: the 0.999999 quantile is about 180.
    const chi = counts.reduce((a, c) => a + (c - 1000) ** 2 / 1000, 0);
    expect(chi).toBeLessThan(180);
  });

  it('serves 50% treatment before the change and 60% after, by flag version', () => {
    const share = [
      [0, 0],
      [0, 0],
    ];
    let wrongVersion = 0;
    for (let s = 0; s < world.sessions.count; s++) {
      const v = run.version[s]!;
      if (v !== (world.sessions.start[s]! >= world.calendar.change ? 1 : 0)) wrongVersion++;
      share[v]![0]!++;
      share[v]![1]! += run.treated[s]!;
    }
    expect(wrongVersion).toBe(0);
    // Per session the share is clustered by user, so allow a wide margin: 0.05 is many standard errors for ~2000 users per version.
    expect(Math.abs(share[0]![1]! / share[0]![0]! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(share[1]![1]! / share[1]![0]! - 0.6)).toBeLessThan(0.05);
  });

  it('keeps one flag value within a version, and the salt rotation re-buckets about half of the returning users', () => {
    const byVersion = [new Map<number, number>(), new Map<number, number>()];
    let changedWithinVersion = 0;
    for (let s = 0; s < world.sessions.count; s++) {
      const u = world.sessions.user[s]!;
      const seen = byVersion[run.version[s]!]!;
      const before = seen.get(u);
      if (before !== undefined && before !== run.treated[s]) changedWithinVersion++;
      seen.set(u, run.treated[s]!);
    }
    expect(changedWithinVersion).toBe(0);
    let both = 0;
    let flipped = 0;
    for (const [u, t] of byVersion[1]!) {
      const before = byVersion[0]!.get(u);
      if (before === undefined) continue;
      both++;
      if (before !== t) flipped++;
    }
    // Independent buckets under the two salts: P(flip) = 0.5 * 0.4 + 0.5 * 0.6 = 0.5.
    expect(both).toBeGreaterThan(1000);
    expect(Math.abs(flipped / both - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / both));
  });

  it('outcomes depend on the served variant only through the effect', () => {
    const treated = runNaiveStack(world, 0.2);
    let differ = 0;
    let controlDiffers = 0;
    for (let s = 0; s < world.sessions.count; s++) {
      if (treated.outcome[s] === run.outcome[s]) continue;
      if (run.treated[s] === 0) controlDiffers++;
      else differ++;
    }
    expect(controlDiffers).toBe(0);
    // A +0.2 effect turns about 20% of treated sessions' failures into successes.
    expect(differ).toBeGreaterThan(100);
  });
});
