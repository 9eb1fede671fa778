/**
 * The two estimates the simulator compares, recomputed from a stack's traffic with the analysis
 * package's statistics functions on sufficient statistics (no files, no DuckDB), for replicates.
 * They follow the engine's definitions (packages/analysis/README.md, "The analysis engine") for
 * traffic in which every session is one exposure followed by one event:
 *
 *  - primary: each user in the arm and stratum (phase) of its first exposure, y = the sum of its
 *    events' values; Welch per stratum, combined with weights n_s / n and a normal test;
 *  - naive event-time view: each event in the variant the session was served; the observation is
 *    the (user, variant) pair, so a user who saw both variants counts once in each; Welch.
 *
 * fast-analysis.test.ts checks both against the engine on the same traffic.
 */
import { welchTTest, type MeanStats } from '@sortition/analysis';
import type { StackTraffic } from './naive-stack.js';
import { normalTwoSidedP, Z_975 } from './normal.js';
import type { World } from './world.js';

export interface QuickEstimate {
  readonly control: { readonly n: number; readonly mean: number };
  readonly treatment: { readonly n: number; readonly mean: number };
  readonly difference: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
  readonly pValue: number;
}

interface Acc {
  n: number;
  sum: number;
  sumSquares: number;
}

const acc = (): Acc => ({ n: 0, sum: 0, sumSquares: 0 });
const add = (a: Acc, y: number): void => {
  a.n++;
  a.sum += y;
  a.sumSquares += y * y;
};

function fromWelch(c: MeanStats, t: MeanStats): QuickEstimate {
  const r = welchTTest(c, t);
  return {
    control: { n: c.n, mean: r.control.mean },
    treatment: { n: t.n, mean: r.treatment.mean },
    difference: r.difference.estimate,
    standardError: r.difference.standardError,
    lower: r.difference.lower,
    upper: r.difference.upper,
    pValue: r.pValue,
  };
}

/** First-exposure, phase-stratified estimate (the engine's primary), for a sum metric of the session outcomes. */
export function quickPrimary(world: World, traffic: StackTraffic): QuickEstimate | null {
  const users = world.ids.length;
  const arm = new Int8Array(users).fill(-1);
  const stratum = new Int16Array(users);
  const y = new Float64Array(users);
  const { sessions } = world;
  for (let s = 0; s < sessions.count; s++) {
    const u = sessions.user[s]!;
    if (arm[u] === -1) {
      arm[u] = traffic.treated[s]!;
      stratum[u] = traffic.phase[s]!;
    }
    y[u]! += traffic.outcome[s]!;
  }
  const cells = traffic.phases.map(() => [acc(), acc()] as const);
  for (let u = 0; u < users; u++) {
    const a = arm[u]!;
    if (a === -1) continue;
    add(cells[stratum[u]!]![a]!, y[u]!);
  }
  const strata = cells.filter(([c, t]) => c.n >= 2 && t.n >= 2).map(([c, t]) => ({ size: c.n + t.n, r: welchTTest(c, t), c, t }));
  if (strata.length === 0) return null;
  const total = strata.reduce((a, s) => a + s.size, 0);
  let d = 0;
  let v = 0;
  let cm = 0;
  let tm = 0;
  let cn = 0;
  let tn = 0;
  for (const s of strata) {
    const w = s.size / total;
    d += w * s.r.difference.estimate;
    v += w * w * s.r.difference.standardError ** 2;
    cm += w * s.r.control.mean;
    tm += w * s.r.treatment.mean;
    cn += s.c.n;
    tn += s.t.n;
  }
  const se = Math.sqrt(v);
  return { control: { n: cn, mean: cm }, treatment: { n: tn, mean: tm }, difference: d, standardError: se, lower: d - Z_975 * se, upper: d + Z_975 * se, pValue: se > 0 ? normalTwoSidedP(d / se) : Number.NaN };
}

/** The naive event-time view: (user, variant) pairs, Welch. */
export function quickNaive(world: World, traffic: StackTraffic): QuickEstimate | null {
  const users = world.ids.length;
  // Per user and variant: the sum of outcomes, and whether the pair exists.
  const y = [new Float64Array(users), new Float64Array(users)] as const;
  const seen = [new Uint8Array(users), new Uint8Array(users)] as const;
  const { sessions } = world;
  for (let s = 0; s < sessions.count; s++) {
    const u = sessions.user[s]!;
    const v = traffic.treated[s]!;
    seen[v]![u] = 1;
    y[v]![u]! += traffic.outcome[s]!;
  }
  const cells = [acc(), acc()] as const;
  for (const v of [0, 1] as const) {
    for (let u = 0; u < users; u++) if (seen[v][u] === 1) add(cells[v], y[v][u]!);
  }
  if (cells[0].n < 2 || cells[1].n < 2) return null;
  return fromWelch(cells[0], cells[1]);
}
