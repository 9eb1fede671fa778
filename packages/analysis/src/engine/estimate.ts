// Estimation from the per-cell sums, in JavaScript through the stats library: the per-phase tests
// combined by stratum size, the naive view's test, SRM per phase, the mSPRT and the adjustments
// across metrics. No SQL here.
import { cupedTest } from '../stats/cuped.js';
import { normalCritical, normalTwoSidedP } from '../stats/distributions.js';
import { relativeLift, type Interval } from '../stats/lift.js';
import { msprt } from '../stats/msprt.js';
import { benjaminiHochberg, holm } from '../stats/multiple-testing.js';
import { twoProportionZTest } from '../stats/proportion-test.js';
import { sequentialSrm } from '../stats/sequential-srm.js';
import { srmChiSquare } from '../stats/srm.js';
import { welchTTest } from '../stats/welch.js';
import { AnalysisError } from './errors.js';
import { type CellStats } from './pipeline.js';
import {
  type AlwaysValid,
  type AnalysisOptions,
  type ArmSummary,
  type CapSpec,
  type Comparison,
  type Estimate,
  type ExpectedSplit,
  type MetricKind,
  type MetricResult,
  type MetricSpec,
  type NaiveEstimate,
  type PrimaryEstimate,
  type SrmPhase,
  type UnitCount,
} from './types.js';

export interface Arm {
  n: number;
  sum: number;
  sumSquares: number;
  sumCovariate: number;
  sumCovariateSquares: number;
  sumProducts: number;
  conversions: number;
  preConversions: number;
  bothConversions: number;
}

export const emptyArm = (): Arm => ({ n: 0, sum: 0, sumSquares: 0, sumCovariate: 0, sumCovariateSquares: 0, sumProducts: 0, conversions: 0, preConversions: 0, bothConversions: 0 });

/** stratum -> arm -> summed cells, over the crossover flags `include` accepts; `pool` merges all strata into "(pooled)". */
export function armTable(counts: readonly UnitCount[], cells: readonly CellStats[], include: (c: { crossover: boolean }) => boolean, pool: boolean): Map<string, Map<string, Arm>> {
  const table = new Map<string, Map<string, Arm>>();
  const get = (stratum: string, arm: string): Arm => {
    const key = pool ? '(pooled)' : stratum;
    let arms = table.get(key);
    if (arms === undefined) table.set(key, (arms = new Map()));
    let a = arms.get(arm);
    if (a === undefined) arms.set(arm, (a = emptyArm()));
    return a;
  };
  for (const c of counts) if (include(c)) get(c.stratum, c.arm).n += c.n;
  for (const c of cells) {
    if (!include(c)) continue;
    const a = get(c.stratum, c.arm);
    a.sum += c.sum;
    a.sumSquares += c.sumSquares;
    a.sumCovariate += c.sumCovariate;
    a.sumCovariateSquares += c.sumCovariateSquares;
    a.sumProducts += c.sumProducts;
    a.conversions += c.conversions;
    a.preConversions += c.preConversions;
    a.bothConversions += c.bothConversions;
  }
  return table;
}

/** Per-stratum test by the stats library; differences combined with w_s = n_s / Σ n, Var = Σ w_s² Var_s. */
export function stratified(table: Map<string, Map<string, Arm>>, control: string, treatment: string, kind: MetricKind, confidence: number, cuped: boolean): Estimate | null {
  const per: { stratum: string; size: number; c: ArmSummary; t: ArmSummary; difference: Interval; relative: Interval | null; pValue: number }[] = [];
  const excludedStrata: { stratum: string; reason: string }[] = [];
  for (const [stratum, arms] of [...table].sort(([a], [b]) => compareBytes(a, b))) {
    const c = arms.get(control) ?? emptyArm();
    const t = arms.get(treatment) ?? emptyArm();
    if (c.n < 2 || t.n < 2) {
      if (c.n + t.n > 0) excludedStrata.push({ stratum, reason: `needs at least 2 units per arm (control ${c.n}, treatment ${t.n})` });
      continue;
    }
    if (kind === 'conversion') {
      const r = twoProportionZTest({ n: c.n, conversions: c.conversions }, { n: t.n, conversions: t.conversions }, { confidence });
      per.push({ stratum, size: c.n + t.n, c: { n: c.n, estimate: r.control.proportion, standardError: r.control.standardError }, t: { n: t.n, estimate: r.treatment.proportion, standardError: r.treatment.standardError }, difference: r.difference, relative: r.relative, pValue: r.pValue });
    } else if (cuped) {
      const r = cupedTest(c, t, { confidence });
      const se = (a: { variance: number; n: number }): number => Math.sqrt(a.variance / a.n);
      per.push({ stratum, size: c.n + t.n, c: { n: c.n, estimate: r.control.mean, standardError: se(r.control) }, t: { n: t.n, estimate: r.treatment.mean, standardError: se(r.treatment) }, difference: r.difference, relative: r.relative, pValue: r.pValue });
    } else {
      const r = welchTTest(c, t, { confidence });
      per.push({ stratum, size: c.n + t.n, c: { n: c.n, estimate: r.control.mean, standardError: r.control.standardError }, t: { n: t.n, estimate: r.treatment.mean, standardError: r.treatment.standardError }, difference: r.difference, relative: r.relative, pValue: r.pValue });
    }
  }
  if (per.length === 0) return null;
  const total = per.reduce((a, s) => a + s.size, 0);
  const combine = (pick: (s: (typeof per)[number]) => { estimate: number; standardError: number }): { estimate: number; variance: number } => {
    let estimate = 0;
    let variance = 0;
    for (const s of per) {
      const w = s.size / total;
      const v = pick(s);
      estimate += w * v.estimate;
      variance += w * w * v.standardError ** 2;
    }
    return { estimate, variance };
  };
  const d = combine((s) => s.difference);
  const ce = combine((s) => s.c);
  const te = combine((s) => s.t);
  const q = normalCritical(confidence);
  const se = Math.sqrt(d.variance);
  const n = (pick: (s: (typeof per)[number]) => ArmSummary): number => per.reduce((a, s) => a + pick(s).n, 0);
  return {
    control: { n: n((s) => s.c), estimate: ce.estimate, standardError: Math.sqrt(ce.variance) },
    treatment: { n: n((s) => s.t), estimate: te.estimate, standardError: Math.sqrt(te.variance) },
    difference: { estimate: d.estimate, standardError: se, lower: d.estimate - q * se, upper: d.estimate + q * se, confidence },
    relative: relativeLift(ce, te, { confidence }),
    pValue: se > 0 ? normalTwoSidedP(d.estimate / se) : Number.NaN,
    strata: per.map((s) => ({ stratum: s.stratum, weight: s.size / total, control: s.c, treatment: s.t, difference: s.difference, relative: s.relative, pValue: s.pValue })),
    excludedStrata,
  };
}

export function naiveComparison(
  naive: { pairs: Map<string, number>; cells: readonly { metric: string; variant: string; sum: number; sumSquares: number; conversions: number }[] },
  spec: MetricSpec,
  control: string,
  treatment: string,
  confidence: number,
  primary: Estimate | null,
): NaiveEstimate | null {
  const arm = (variant: string): { n: number; sum: number; sumSquares: number; conversions: number } => {
    const cell = naive.cells.find((c) => c.metric === spec.name && c.variant === variant);
    return { n: naive.pairs.get(variant) ?? 0, sum: cell?.sum ?? 0, sumSquares: cell?.sumSquares ?? 0, conversions: cell?.conversions ?? 0 };
  };
  const c = arm(control);
  const t = arm(treatment);
  if (c.n < 2 || t.n < 2) return null;
  let out: Omit<NaiveEstimate, 'disagreesWithPrimary'>;
  if (spec.kind === 'conversion') {
    const r = twoProportionZTest(c, t, { confidence });
    out = { control: { n: c.n, estimate: r.control.proportion, standardError: r.control.standardError }, treatment: { n: t.n, estimate: r.treatment.proportion, standardError: r.treatment.standardError }, difference: r.difference, relative: r.relative, pValue: r.pValue };
  } else {
    const r = welchTTest(c, t, { confidence });
    out = { control: { n: c.n, estimate: r.control.mean, standardError: r.control.standardError }, treatment: { n: t.n, estimate: r.treatment.mean, standardError: r.treatment.standardError }, difference: r.difference, relative: r.relative, pValue: r.pValue };
  }
  const p = primary?.difference;
  const inside = (x: number, i: Interval): boolean => x >= i.lower && x <= i.upper;
  const disagreesWithPrimary = p !== undefined && (!inside(out.difference.estimate, p) || !inside(p.estimate, out.difference));
  return { ...out, disagreesWithPrimary };
}

export function srmForPhase(phase: string, counts: readonly UnitCount[], variants: readonly string[], config: ExpectedSplit | undefined): SrmPhase {
  const split = config?.phases?.[phase] ?? config?.split;
  const names = [...new Set([...variants, ...Object.keys(split ?? {})])].sort(compareBytes);
  const observed = names.map((v) => counts.filter((c) => c.stratum === phase && c.arm === v).reduce((a, c) => a + c.n, 0));
  if (split === undefined) return { phase, variants: names, observed, expectedShares: null, chiSquare: null, pValue: null, status: 'expected-split-unknown', sequential: null };
  const weights = names.map((v) => split[v] ?? 0);
  const r = srmChiSquare(observed, weights);
  const q = sequentialSrm(observed, weights);
  const sum = weights.reduce((a, b) => a + b, 0);
  return {
    phase,
    variants: names,
    observed,
    expectedShares: weights.map((w) => w / sum),
    chiSquare: r.chiSquare,
    pValue: r.pValue,
    status: r.status,
    sequential: { logBayesFactor: q.logBayesFactor, pValue: q.pValue, status: q.status },
  };
}

export function withAlwaysValid(estimate: Estimate | null, plannedSampleSize: number | undefined): PrimaryEstimate | null {
  if (estimate === null) return null;
  const se = estimate.difference.standardError;
  const sampleSize = estimate.control.n + estimate.treatment.n;
  let alwaysValid: AlwaysValid | null = null;
  if (se > 0 && Number.isFinite(se) && Number.isFinite(estimate.difference.estimate)) {
    const r = msprt({ estimate: estimate.difference.estimate, variance: se * se, sampleSize }, plannedSampleSize === undefined ? {} : { plannedSampleSize });
    alwaysValid = { pValue: r.pValue, tau2: r.tau2, logLikelihoodRatio: r.logLikelihoodRatio, lower: r.lower, upper: r.upper, alpha: r.alpha, sampleSize };
  }
  return { ...estimate, alwaysValid, holmPValue: Number.NaN, benjaminiHochbergPValue: Number.NaN };
}

/** Holm and Benjamini–Hochberg over the finite primary p-values of every metric × treatment. */
export function adjustAcrossMetrics(metrics: MetricResult[]): void {
  const slots: { m: number; c: number; p: number }[] = [];
  metrics.forEach((metric, m) =>
    metric.comparisons.forEach((comparison, c) => {
      const p = comparison.primary?.pValue;
      if (p !== undefined && p >= 0 && p <= 1) slots.push({ m, c, p });
    }),
  );
  const ps = slots.map((s) => s.p);
  const h = holm(ps);
  const bh = benjaminiHochberg(ps);
  slots.forEach((s, i) => {
    const metric = metrics[s.m] as MetricResult;
    const comparisons = [...metric.comparisons];
    const comparison = comparisons[s.c] as Comparison;
    if (comparison.primary === null) return;
    comparisons[s.c] = { ...comparison, primary: { ...comparison.primary, holmPValue: h[i] as number, benjaminiHochbergPValue: bh[i] as number } };
    metrics[s.m] = { ...metric, comparisons };
  });
}

/**
 * The caps as a list, checked against the metrics analysed; `specs` null while the metrics are not
 * known yet (discovered from the events): then only the quantiles are checked, and the caller
 * checks again once they are.
 */
export function validateCaps(cap: AnalysisOptions['cap'], specs: readonly MetricSpec[] | null): CapSpec[] {
  if (cap === undefined) return [];
  const list: readonly CapSpec[] = Array.isArray(cap) ? (cap as readonly CapSpec[]) : [cap as CapSpec];
  const seen = new Set<string>();
  for (const c of list) {
    if (typeof c.metric !== 'string' || c.metric === '') throw new AnalysisError('INVALID_OPTION', 'cap: metric must be a non-empty string');
    const spec = specs?.find((s) => s.name === c.metric);
    if (specs !== null && spec === undefined) throw new AnalysisError('INVALID_OPTION', `cap names metric "${c.metric}", which is not analysed (metrics: ${specs.map((s) => s.name).join(', ') || 'none'})`);
    if (spec !== undefined && spec.kind !== 'sum') throw new AnalysisError('INVALID_OPTION', `cap on "${c.metric}": only sum metrics can be capped (a conversion is already 0 or 1)`);
    if (seen.has(c.metric)) throw new AnalysisError('INVALID_OPTION', `cap on "${c.metric}" given twice`);
    seen.add(c.metric);
    const inUnit = (q: unknown): boolean => typeof q === 'number' && q >= 0 && q <= 1;
    if (!inUnit(c.quantile)) throw new AnalysisError('INVALID_OPTION', `cap on "${c.metric}": quantile must be a number in [0, 1], got ${String(c.quantile)}`);
    if (c.lowerQuantile !== undefined && (!inUnit(c.lowerQuantile) || c.lowerQuantile > c.quantile)) {
      throw new AnalysisError('INVALID_OPTION', `cap on "${c.metric}": lowerQuantile must be a number in [0, quantile], got ${String(c.lowerQuantile)}`);
    }
  }
  return [...list];
}

export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}
