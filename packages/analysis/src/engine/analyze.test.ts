// The engine against answers computed independently in the test from the raw rows (plain loops,
// no SQL), and the two scenarios the engine exists for: crossovers after a salt rotation, and a ramp.
import { describe, expect, it } from 'vitest';
import { capValues, winsorize } from '../stats/capping.js';
import { msprt } from '../stats/msprt.js';
import { benjaminiHochberg, holm } from '../stats/multiple-testing.js';
import { sequentialSrm } from '../stats/sequential-srm.js';
import { analyze, type AnalysisResult } from './analyze.js';
import { MONDAY, normal, prng, rampScenario, saltRotationScenario, type EventRow, type ExposureRow } from './test-support/synthetic.js';

interface UnitTruth {
  arm: string;
  stratum: string;
  firstTs: number;
  crossover: boolean;
  y: number;
  x: number;
}

/** First exposure by (timestamp, variant, phase), y = Σ events at or after it, x = Σ before it. */
function truth(exposures: readonly ExposureRow[], events: readonly EventRow[]): Map<string, UnitTruth> {
  const units = new Map<string, UnitTruth>();
  const key = (e: ExposureRow): [number, string, string] => [Date.parse(e.timestamp), e.variant, e.phase ?? '(none)'];
  const less = (a: [number, string, string], b: [number, string, string]): boolean => a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
  const firsts = new Map<string, ExposureRow>();
  const variants = new Map<string, Set<string>>();
  for (const e of exposures) {
    const f = firsts.get(e.unit_id);
    if (f === undefined || less(key(e), key(f))) firsts.set(e.unit_id, e);
    variants.set(e.unit_id, (variants.get(e.unit_id) ?? new Set()).add(e.variant));
  }
  for (const [unit, f] of firsts) {
    units.set(unit, { arm: f.variant, stratum: f.phase ?? '(none)', firstTs: Date.parse(f.timestamp), crossover: (variants.get(unit)?.size ?? 0) > 1, y: 0, x: 0 });
  }
  for (const ev of events) {
    const u = units.get(ev.unit_id);
    if (u === undefined) continue;
    if (Date.parse(ev.timestamp) >= u.firstTs) u.y += ev.value;
    else u.x += ev.value;
  }
  return units;
}

function meanVar(values: readonly number[]): { n: number; mean: number; variance: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

/** Stratified difference computed by hand: Σ w_s (ȳ_t − ȳ_c), Var = Σ w_s² (s_t²/n_t + s_c²/n_c). */
function stratifiedByHand(units: Iterable<UnitTruth>, include: (u: UnitTruth) => boolean): { estimate: number; standardError: number } {
  const groups = new Map<string, { control: number[]; treatment: number[] }>();
  for (const u of units) {
    if (!include(u)) continue;
    const g = groups.get(u.stratum) ?? { control: [], treatment: [] };
    (u.arm === 'control' ? g.control : g.treatment).push(u.y);
    groups.set(u.stratum, g);
  }
  const total = [...groups.values()].reduce((a, g) => a + g.control.length + g.treatment.length, 0);
  let estimate = 0;
  let variance = 0;
  for (const g of groups.values()) {
    const c = meanVar(g.control);
    const t = meanVar(g.treatment);
    const w = (c.n + t.n) / total;
    estimate += w * (t.mean - c.mean);
    variance += w * w * (t.variance / t.n + c.variance / c.n);
  }
  return { estimate, standardError: Math.sqrt(variance) };
}

/** Naive view by hand: each event to the variant of the latest exposure at or before it. */
function naiveByHand(exposures: readonly ExposureRow[], events: readonly EventRow[]): { control: number[]; treatment: number[] } {
  const byUnit = new Map<string, ExposureRow[]>();
  for (const e of exposures) byUnit.set(e.unit_id, [...(byUnit.get(e.unit_id) ?? []), e]);
  const pairs = new Map<string, number>();
  for (const [unit, list] of byUnit) for (const e of list) pairs.set(`${unit}\u0000${e.variant}`, 0);
  for (const ev of events) {
    const t = Date.parse(ev.timestamp);
    let best: ExposureRow | undefined;
    for (const e of byUnit.get(ev.unit_id) ?? []) {
      const et = Date.parse(e.timestamp);
      if (et > t) continue;
      if (best === undefined || et > Date.parse(best.timestamp) || (et === Date.parse(best.timestamp) && e.variant < best.variant)) best = e;
    }
    if (best !== undefined) {
      const k = `${ev.unit_id}\u0000${best.variant}`;
      pairs.set(k, (pairs.get(k) ?? 0) + ev.value);
    }
  }
  const out = { control: [] as number[], treatment: [] as number[] };
  for (const [k, y] of pairs) (k.endsWith('\u0000control') ? out.control : out.treatment).push(y);
  return out;
}

function smallDataSet(): { exposures: ExposureRow[]; events: EventRow[] } {
  const rng = prng(7);
  const exposures: ExposureRow[] = [];
  const events: EventRow[] = [];
  const iso = (ms: number): string => new Date(ms).toISOString();
  for (let i = 0; i < 80; i++) {
    const unit = `unit-${i}`;
    const phase = i < 30 ? 'canary' : 'full';
    const variant = rng() < 0.5 ? 'control' : 'treatment';
    const t0 = MONDAY + (phase === 'canary' ? 0 : 3) * 86_400_000 + Math.floor(rng() * 86_400_000);
    exposures.push({ unit_id: unit, experiment: 'exp', variant, timestamp: iso(t0), phase, config_version: 1 });
    if (i % 9 === 0) exposures.push({ unit_id: unit, experiment: 'exp', variant: variant === 'control' ? 'treatment' : 'control', timestamp: iso(t0 + 3_600_000), phase, config_version: 2 });
    // a tie: same instant in both variants; the smaller name (control) wins
    if (i % 13 === 5) exposures.push({ unit_id: unit, experiment: 'exp', variant: 'control', timestamp: iso(t0), phase, config_version: 1 });
    exposures.push({ unit_id: unit, experiment: 'other', variant: 'x', timestamp: iso(t0 - 5), phase });
    const k = Math.floor(rng() * 4);
    for (let j = 0; j < k; j++) events.push({ unit_id: unit, timestamp: iso(t0 + Math.floor((rng() - 0.3) * 7_200_000)), metric: 'revenue', value: Math.round(100 * (5 + 3 * normal(rng) + (variant === 'treatment' ? 1 : 0))) / 100 });
    if (i % 4 === 0) events.push({ unit_id: unit, timestamp: iso(t0), metric: 'revenue', value: 2.5 }); // exactly at first exposure: counts as after
  }
  events.push({ unit_id: 'never-exposed', timestamp: iso(MONDAY), metric: 'revenue', value: 1000 });
  return { exposures, events };
}

describe('analyze: known answers from the raw rows', () => {
  const data = smallDataSet();
  const expected = truth(data.exposures.filter((e) => e.experiment === 'exp'), data.events);
  let result: AnalysisResult;

  it('runs', async () => {
    result = await analyze({ exposures: { rows: data.exposures }, events: { rows: data.events }, experiment: 'exp', config: { split: { control: 1, treatment: 1 } } });
    expect(result.control).toBe('control');
    expect(result.strata).toEqual(['canary', 'full']);
    expect(result.units.total).toBe(80);
    expect(JSON.parse(JSON.stringify(result))).toBeTruthy();
  });

  it('per-stratum, per-arm sufficient statistics match sums over the raw rows', () => {
    const stats = result.metrics[0]?.statistics ?? [];
    for (const stratum of ['canary', 'full']) {
      for (const arm of ['control', 'treatment']) {
        const us = [...expected.values()].filter((u) => u.stratum === stratum && u.arm === arm);
        const s = stats.find((x) => x.stratum === stratum && x.arm === arm);
        expect(s?.n).toBe(us.length);
        expect(s?.sum).toBeCloseTo(us.reduce((a, u) => a + u.y, 0), 9);
        expect(s?.sumSquares).toBeCloseTo(us.reduce((a, u) => a + u.y * u.y, 0), 7);
        expect(s?.sumCovariate).toBeCloseTo(us.reduce((a, u) => a + u.x, 0), 9);
        expect(s?.sumProducts).toBeCloseTo(us.reduce((a, u) => a + u.x * u.y, 0), 7);
      }
    }
  });

  it('the primary estimate is the stratified combination; crossovers-excluded and pooled views too', () => {
    const c = result.metrics[0]?.comparisons[0];
    const primary = stratifiedByHand(expected.values(), () => true);
    expect(c?.primary?.difference.estimate).toBeCloseTo(primary.estimate, 10);
    expect(c?.primary?.difference.standardError).toBeCloseTo(primary.standardError, 10);
    const excluded = stratifiedByHand(expected.values(), (u) => !u.crossover);
    expect(c?.crossoversExcluded?.difference.estimate).toBeCloseTo(excluded.estimate, 10);
    expect(c?.crossoversExcluded?.difference.standardError).toBeCloseTo(excluded.standardError, 10);
    const pooled = stratifiedByHand([...expected.values()].map((u) => ({ ...u, stratum: 'all' })), () => true);
    expect(c?.pooled?.difference.estimate).toBeCloseTo(pooled.estimate, 10);
    expect(c?.pooled?.headline).toBe(false);
    expect(c?.pooled?.biasedIfStrataDiffer).toBe(true);
    expect(result.warnings.map((w) => w.code)).toContain('POOLED_NOT_HEADLINE');
  });

  it('the naive event-time view matches a by-hand latest-exposure attribution', () => {
    const naive = naiveByHand(data.exposures.filter((e) => e.experiment === 'exp'), data.events);
    const c = meanVar(naive.control);
    const t = meanVar(naive.treatment);
    const n = result.metrics[0]?.comparisons[0]?.naiveEventTime;
    expect(n?.control.n).toBe(c.n);
    expect(n?.treatment.n).toBe(t.n);
    expect(n?.difference.estimate).toBeCloseTo(t.mean - c.mean, 10);
    expect(n?.difference.standardError).toBeCloseTo(Math.sqrt(t.variance / t.n + c.variance / c.n), 10);
  });

  it('drift: crossover counts, flip matrix and config versions from the raw rows', () => {
    const crossovers = [...expected.values()].filter((u) => u.crossover);
    expect(result.drift.crossoverUnits).toBe(crossovers.length);
    const cToT = crossovers.filter((u) => u.arm === 'control').length;
    expect(result.drift.flipMatrix).toEqual([
      { from: 'control', to: 'treatment', units: cToT },
      { from: 'treatment', to: 'control', units: crossovers.length - cToT },
    ]);
    expect(result.drift.warning).toBe(true);
    expect(result.drift.days.reduce((a, d) => a + d.newUnits, 0)).toBe(80);
    expect(result.drift.days.reduce((a, d) => a + d.newCrossovers, 0)).toBe(crossovers.length);
    // the config version of each crossover unit's first exposure outside its arm, by hand
    const byVersion = new Map<number | undefined, number>();
    for (const [unit, u] of expected) {
      if (!u.crossover) continue;
      const flips = data.exposures.filter((e) => e.experiment === 'exp' && e.unit_id === unit && e.variant !== u.arm).sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      const v = flips[0]?.config_version;
      byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
    }
    expect(result.drift.flipConfigVersions).toEqual([...byVersion].sort(([a], [b]) => (a ?? 0) - (b ?? 0)).map(([configVersion, units]) => ({ configVersion, units })));
    expect(byVersion.get(1)).toBeGreaterThan(0); // a same-instant tie resolved to control, then treatment at that instant
  });

  it('SRM per phase against the split passed, and "expected-split-unknown" without one', async () => {
    for (const s of result.srm) {
      const us = [...expected.values()].filter((u) => u.stratum === s.phase);
      expect(s.observed).toEqual([us.filter((u) => u.arm === 'control').length, us.filter((u) => u.arm === 'treatment').length]);
      expect(s.expectedShares).toEqual([0.5, 0.5]);
    }
    const none = await analyze({ exposures: { rows: data.exposures }, events: { rows: data.events }, experiment: 'exp', naiveView: false });
    expect(none.srm.map((s) => s.status)).toEqual(['expected-split-unknown', 'expected-split-unknown']);
    expect(none.warnings.map((w) => w.code)).toContain('SRM_SPLIT_UNKNOWN');
  });
});

describe('analyze: a salt rotation flips 30% of units before the weekend (true effect 0)', () => {
  it('the naive event-time view shows a significant lift, the primary view does not, and the warning fires', async () => {
    const data = saltRotationScenario(2, 3000);
    const r = await analyze({ exposures: { rows: data.exposures }, events: { rows: data.events }, experiment: 'checkout', config: { split: { control: 50, treatment: 50 } } });
    const c = r.metrics[0]?.comparisons[0];
    expect(c?.primary?.pValue).toBeGreaterThan(0.05);
    expect(c?.primary?.difference.lower).toBeLessThan(0);
    expect(c?.primary?.difference.upper).toBeGreaterThan(0);
    expect(c?.naiveEventTime?.pValue).toBeLessThan(0.01);
    expect(c?.naiveEventTime?.difference.estimate).toBeGreaterThan(0.2);
    expect(c?.naiveEventTime?.disagreesWithPrimary).toBe(true);
    expect(r.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['NAIVE_DISAGREES', 'CROSSOVER']));
    expect(r.drift.crossoverUnits).toBe(data.flipped);
    expect(r.drift.crossoverShare).toBeGreaterThan(0.25);
    expect(r.drift.firstFlipDay).toBe('2024-01-06');
    expect(r.drift.flipConfigVersions).toEqual([{ configVersion: 2, units: data.flipped }]);
    expect(r.drift.days.slice(0, 5).every((d) => d.share === 0)).toBe(true);
    expect(r.drift.days[5]?.share).toBeCloseTo(data.flipped / 3000, 10);
    expect(r.srm[0]?.status).toBe('ok');
    // crossovers excluded: still no effect
    expect(c?.crossoversExcluded?.pValue).toBeGreaterThan(0.01);
  });
});

describe('analyze: a two-phase ramp with different splits and baselines', () => {
  it('the pooled estimate is biased, the phase-stratified estimate recovers the true effect', async () => {
    const effect = 0.2;
    const data = rampScenario(99, 4000, effect);
    const r = await analyze({
      exposures: { rows: data.exposures },
      events: { rows: data.events },
      experiment: 'ramp',
      config: { phases: { p1: { control: 80, treatment: 20 }, p2: { control: 50, treatment: 50 } } },
    });
    const c = r.metrics[0]?.comparisons[0];
    const primary = c?.primary?.difference;
    expect(primary?.lower).toBeLessThan(effect);
    expect(primary?.upper).toBeGreaterThan(effect);
    const pooled = c?.pooled?.difference;
    expect(pooled?.lower).toBeGreaterThan(effect + 0.3); // biased by the phase-2 baseline
    expect(c?.pooled?.headline).toBe(false);
    expect(r.srm.map((s) => s.status)).toEqual(['ok', 'ok']);
    expect(c?.primary?.strata.map((s) => s.stratum)).toEqual(['p1', 'p2']);
    expect(c?.primary?.strata[0]?.weight).toBeCloseTo(0.5, 10);
    // CUPED on the pre-period event narrows the interval and still covers the truth
    expect(c?.cuped?.difference.standardError).toBeLessThan(primary?.standardError ?? 0);
    expect(c?.cuped?.difference.lower).toBeLessThan(effect);
    expect(c?.cuped?.difference.upper).toBeGreaterThan(effect);

    // The nominal 50/50 split is the wrong expectation for p1: SRM alerts there.
    const nominal = await analyze({ exposures: { rows: data.exposures }, events: { rows: data.events }, experiment: 'ramp', config: { split: { control: 1, treatment: 1 } }, naiveView: false });
    expect(nominal.srm.map((s) => s.status)).toEqual(['alert', 'ok']);
    expect(nominal.warnings.map((w) => w.code)).toContain('SRM_ALERT');
  });
});

describe('analyze: always-valid p-values, adjusted p-values, capping and sequential SRM', () => {
  const data = smallDataSet();
  const exposures = data.exposures;
  // a second metric (a conversion) so the multiple-testing family has two members
  const events: EventRow[] = [...data.events, ...data.events.filter((_, i) => i % 3 === 0).map((e) => ({ ...e, metric: 'purchase', value: 1 }))];
  const metrics = [{ name: 'revenue', kind: 'sum' as const }, { name: 'purchase', kind: 'conversion' as const }];
  let result: AnalysisResult;

  it('runs with a cap and a split', async () => {
    result = await analyze({ exposures: { rows: exposures }, events: { rows: events }, experiment: 'exp', metrics, config: { split: { control: 1, treatment: 1 } }, cap: { metric: 'revenue', quantile: 0.9, lowerQuantile: 0.05 } });
    expect(result.metrics.map((m) => m.metric)).toEqual(['revenue', 'purchase']);
  });

  it('each primary estimate carries the mSPRT p-value of its own difference and variance (default mixing variance)', () => {
    for (const m of result.metrics) {
      const p = m.comparisons[0]?.primary;
      expect(p?.alwaysValid).not.toBeNull();
      const direct = msprt({ estimate: p?.difference.estimate ?? Number.NaN, variance: (p?.difference.standardError ?? Number.NaN) ** 2, sampleSize: (p?.control.n ?? 0) + (p?.treatment.n ?? 0) });
      expect(p?.alwaysValid?.pValue).toBe(direct.pValue);
      expect(p?.alwaysValid?.tau2).toBe(direct.tau2);
      expect(p?.alwaysValid?.lower).toBe(direct.lower);
      expect(p?.alwaysValid?.upper).toBe(direct.upper);
      expect(p?.alwaysValid?.sampleSize).toBe(80);
      // always valid costs power: never below the fixed-horizon p here
      expect(p?.alwaysValid?.pValue).toBeGreaterThanOrEqual(p?.pValue ?? 1);
    }
  });

  it('Holm and Benjamini–Hochberg across the metrics match the library on the primary p-values', () => {
    const ps = result.metrics.map((m) => m.comparisons[0]?.primary?.pValue ?? Number.NaN);
    const h = holm(ps);
    const bh = benjaminiHochberg(ps);
    result.metrics.forEach((m, i) => {
      expect(m.comparisons[0]?.primary?.holmPValue).toBe(h[i]);
      expect(m.comparisons[0]?.primary?.benjaminiHochbergPValue).toBe(bh[i]);
    });
  });

  it('capping: thresholds are the quantiles of y over all units; the sums are over the capped values', () => {
    const expected = truth(exposures.filter((e) => e.experiment === 'exp'), events.filter((e) => e.metric === 'revenue'));
    const units = [...expected.values()];
    const w = winsorize(units.map((u) => u.y), { lowerQuantile: 0.05, upperQuantile: 0.9 });
    const cap = result.metrics[0]?.cap;
    expect(cap?.upper).toBeCloseTo(w.upper ?? Number.NaN, 10);
    expect(cap?.lower).toBeCloseTo(w.lower ?? Number.NaN, 10);
    expect(cap?.cappedAbove).toBe(w.cappedAbove);
    expect(cap?.cappedBelow).toBe(w.cappedBelow);
    expect(w.cappedAbove).toBeGreaterThan(0);
    expect(result.metrics[1]?.cap).toBeNull();
    const stats = result.metrics[0]?.statistics ?? [];
    for (const stratum of ['canary', 'full']) {
      for (const arm of ['control', 'treatment']) {
        const ys = units.flatMap((u, i) => (u.stratum === stratum && u.arm === arm ? [w.values[i] as number] : []));
        const s = stats.find((x) => x.stratum === stratum && x.arm === arm);
        expect(s?.n).toBe(ys.length);
        expect(s?.sum).toBeCloseTo(ys.reduce((a, y) => a + y, 0), 9);
        expect(s?.sumSquares).toBeCloseTo(ys.reduce((a, y) => a + y * y, 0), 7);
        const xs = units.flatMap((u) => (u.stratum === stratum && u.arm === arm ? [u] : []));
        expect(s?.sumCovariate).toBeCloseTo(xs.reduce((a, u) => a + u.x, 0), 9);
      }
    }
    // the naive view caps each (unit, variant) observation at the same thresholds
    const naive = naiveByHand(exposures.filter((e) => e.experiment === 'exp'), events.filter((e) => e.metric === 'revenue'));
    const capped = (ys: number[]): number[] => capValues(ys, { lower: w.lower ?? Number.NaN, upper: w.upper ?? Number.NaN }).values;
    const c = meanVar(capped(naive.control));
    const t = meanVar(capped(naive.treatment));
    expect(result.metrics[0]?.comparisons[0]?.naiveEventTime?.difference.estimate).toBeCloseTo(t.mean - c.mean, 10);
  });

  it('sequential SRM per phase matches sequentialSrm on the same counts and split', () => {
    for (const s of result.srm) {
      const direct = sequentialSrm(s.observed, [1, 1]);
      expect(s.sequential?.pValue).toBe(direct.pValue);
      expect(s.sequential?.logBayesFactor).toBe(direct.logBayesFactor);
      expect(s.sequential?.status).toBe(direct.status);
    }
  });

  it('rejects a cap on an unknown or conversion metric, or an out-of-range quantile', async () => {
    const base = { exposures: { rows: exposures }, events: { rows: events }, experiment: 'exp', metrics };
    await expect(analyze({ ...base, cap: { metric: 'nope', quantile: 0.9 } })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(analyze({ ...base, cap: { metric: 'purchase', quantile: 0.9 } })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(analyze({ ...base, cap: [{ metric: 'revenue', quantile: 1.5 }] })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('without a split there is no sequential SRM', async () => {
    const r = await analyze({ exposures: { rows: exposures }, events: { rows: events }, experiment: 'exp', metrics, naiveView: false });
    expect(r.srm.every((s) => s.sequential === null)).toBe(true);
    expect(r.metrics[0]?.comparisons[0]?.naiveEventTime).toBeNull();
  });
});
