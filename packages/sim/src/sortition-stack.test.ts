import { describe, expect, it } from 'vitest';
import { LibraryBackend } from './backend.js';
import { runSortitionStack } from './sortition-stack.js';
import { generateWorld } from './world.js';

describe('the Sortition stack on the library', async () => {
  const world = generateWorld({ users: 3000, days: 10, seed: 21 });
  const run = await runSortitionStack({ world, effect: 0, backend: new LibraryBackend() });

  it('publishes launch, the ramp phase and the ramp allocation, each safe, and moves no exposed user', () => {
    expect(run.configLog.map((c) => [c.version, c.verdict])).toEqual([
      [1, 'safe'],
      [2, 'safe'],
      [3, 'safe'],
    ]);
    expect(run.configLog[2]!.movedSlots).toBe(10_000);
    expect(run.configLog[2]!.exposedMoving).toBe(0);
    expect(run.ramp.shares['treatment']).toBeCloseTo(0.6, 12);
  });

  it('the planner refuses what the naive stack did: the textbook reallocation and the key rotation', () => {
    expect(run.dryRuns.map((d) => [d.verdict, d.allowed])).toEqual([
      ['refused', false],
      ['refused', false],
    ]);
    expect(run.dryRuns[0]!.reasons.join(' ')).toMatch(/exposed units would change variant/);
    expect(run.dryRuns[1]!.reasons.join(' ')).toMatch(/reshuffle/);
  });

  it('is sticky: every user keeps its first variant in every session, and the first phase seen is its stratum', () => {
    const first = new Map<number, number>();
    let changed = 0;
    for (let s = 0; s < world.sessions.count; s++) {
      const u = world.sessions.user[s]!;
      const before = first.get(u);
      if (before === undefined) first.set(u, run.treated[s]!);
      else if (before !== run.treated[s]) changed++;
    }
    expect(changed).toBe(0);
    expect(run.evaluations['ASSIGNED']).toBe(first.size);
    expect(run.evaluations['STICKY']).toBeGreaterThan(0);
    // Exposures: the first per user and phase; each user's launch or ramp row carries its variant.
    const users = new Set(run.exposures.map((e) => e.unit));
    expect(users.size).toBe(first.size);
  });

  it('splits new users 50/50 before the change and 60/40 after', () => {
    const counts = [
      [0, 0],
      [0, 0],
    ];
    const seen = new Set<number>();
    for (let s = 0; s < world.sessions.count; s++) {
      const u = world.sessions.user[s]!;
      if (seen.has(u)) continue;
      seen.add(u);
      counts[run.phase[s]!]![run.treated[s]!]!++;
    }
    const [launch, ramp] = counts as [number[], number[]];
    const share = (c: number[]): number => c[1]! / (c[0]! + c[1]!);
    // Binomial standard errors: about 0.01 for ~2300 launch users and 0.02 for ~600 ramp users; 5 of them each.
    expect(Math.abs(share(launch) - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / (launch[0]! + launch[1]!)));
    expect(Math.abs(share(ramp) - 0.6)).toBeLessThan(5 * Math.sqrt(0.24 / (ramp[0]! + ramp[1]!)));
  });

  it('is deterministic for a seed', async () => {
    const again = await runSortitionStack({ world, effect: 0, backend: new LibraryBackend(), dryRuns: false });
    expect(again.treated).toEqual(run.treated);
    expect(again.slot).toEqual(run.slot);
  });
});
