// analyze(): load, validate, attribute and estimate, all heavy lifting in DuckDB; the per-arm sums
// go through the stats library. See README.md ("The analysis engine") for every definition.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { cupedTest } from '../stats/cuped.js';
import { normalCritical, normalTwoSidedP } from '../stats/distributions.js';
import { DEFAULT_CONFIDENCE, relativeLift, type Interval } from '../stats/lift.js';
import { msprt } from '../stats/msprt.js';
import { benjaminiHochberg, holm } from '../stats/multiple-testing.js';
import { twoProportionZTest } from '../stats/proportion-test.js';
import { sequentialSrm } from '../stats/sequential-srm.js';
import { srmChiSquare, type SrmStatus } from '../stats/srm.js';
import { type CovariateStats } from '../stats/summary.js';
import { welchTTest } from '../stats/welch.js';
import { attributeUnits, cellStatistics, discoverMetrics, driftRows, naiveCells, type CapApplied, type CapSpec, type CellStats, type UnitCount } from './attribution.js';

export type { CapApplied, CapSpec } from './attribution.js';
import { AnalysisError } from './errors.js';
import { loadInput, type InputSource, type LoadReport } from './load.js';
import { execute } from './sql.js';

export type MetricKind = 'sum' | 'conversion';

export interface MetricSpec {
  readonly name: string;
  /** 'sum': y = Σ values after first exposure (0 without events); 'conversion': y = 1 if any such value > 0. */
  readonly kind: MetricKind;
}

/** The split in force (shares, any positive scale) per phase; `split` applies to phases not listed. */
export interface ExpectedSplit {
  readonly split?: Readonly<Record<string, number>>;
  readonly phases?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface AnalyzeOptions {
  readonly exposures: InputSource;
  readonly events: InputSource;
  readonly experiment: string;
  /** Default: the variant named "control" if any, else the first variant in byte order. */
  readonly controlVariant?: string;
  /** Exclude invalid rows (reported with counts) instead of refusing to analyse. */
  readonly allowBadRows?: boolean;
  /** Default: every metric found in the events of the experiment's units, as 'sum'. */
  readonly metrics?: readonly MetricSpec[];
  /** Expected split in force per phase, for SRM. Without it SRM reports "expected-split-unknown". */
  readonly config?: ExpectedSplit;
  readonly confidence?: number;
  /** Compute the naive event-time view (in the same pass over the events as the primary sums); default true. */
  readonly naiveView?: boolean;
  readonly duckdb?: { readonly threads?: number; readonly memoryLimit?: string };
  /** Crossover share at or above which drift warns; default 0.01. */
  readonly crossoverWarnAt?: number;
  /**
   * Outlier capping of sum metrics: per unit, y is capped at the `quantile` (and, when given,
   * raised to the `lowerQuantile`) of y over all units of the experiment, both arms together
   * (percentile_cont, in SQL), before any sum is taken. One entry per metric.
   */
  readonly cap?: CapSpec | readonly CapSpec[];
  /** N* for the mSPRT's default mixing variance (total units the test is tuned for); default 10,000. */
  readonly plannedSampleSize?: number;
}

/** The always-valid (mSPRT) view of the primary estimate; see stats/msprt.ts. */
export interface AlwaysValid {
  readonly pValue: number;
  readonly tau2: number;
  readonly logLikelihoodRatio: number;
  /** (1 − alpha) confidence sequence for the difference. */
  readonly lower: number;
  readonly upper: number;
  readonly alpha: number;
  /** Units in both arms (the mSPRT's sampleSize). */
  readonly sampleSize: number;
}

/** The primary estimate with its always-valid p-value and p-values adjusted across the analysis's primary estimates. */
export interface PrimaryEstimate extends Estimate {
  /** mSPRT on (difference, standardError²); null when the standard error is not positive. */
  readonly alwaysValid: AlwaysValid | null;
  /** Holm-adjusted pValue over every primary estimate of the analysis (each metric × treatment); NaN when pValue is. */
  readonly holmPValue: number;
  /** Benjamini–Hochberg-adjusted pValue over the same family. */
  readonly benjaminiHochbergPValue: number;
}

export interface ArmSummary {
  readonly n: number;
  /** Mean (or conversion rate) of the arm; for a stratified estimate Σ w_s · mean_s. */
  readonly estimate: number;
  readonly standardError: number;
}

export interface StratumResult {
  readonly stratum: string;
  readonly weight: number;
  readonly control: ArmSummary;
  readonly treatment: ArmSummary;
  readonly difference: Interval;
  readonly relative: Interval | null;
  readonly pValue: number;
}

export interface Estimate {
  readonly control: ArmSummary;
  readonly treatment: ArmSummary;
  /** Treatment − control; CI by the normal quantile on sqrt(Σ w_s² Var_s). */
  readonly difference: Interval;
  readonly relative: Interval | null;
  readonly pValue: number;
  readonly strata: readonly StratumResult[];
  readonly excludedStrata: readonly { readonly stratum: string; readonly reason: string }[];
}

export interface NaiveEstimate {
  readonly control: ArmSummary;
  readonly treatment: ArmSummary;
  readonly difference: Interval;
  readonly relative: Interval | null;
  readonly pValue: number;
  /** Naive estimate outside the primary CI, or primary estimate outside the naive CI. */
  readonly disagreesWithPrimary: boolean;
}

export interface Comparison {
  readonly control: string;
  readonly treatment: string;
  /** The headline: per-phase-of-first-exposure estimates combined with weights ∝ stratum size. */
  readonly primary: PrimaryEstimate | null;
  /** All units in one stratum; biased when the split or baseline changed between phases. */
  readonly pooled: (Estimate & { readonly headline: false; readonly biasedIfStrataDiffer: boolean }) | null;
  readonly crossoversExcluded: Estimate | null;
  /** CUPED on pre-period sums, stratified like the primary (sum metrics only). */
  readonly cuped: Estimate | null;
  readonly naiveEventTime: NaiveEstimate | null;
}

export interface MetricResult {
  readonly metric: string;
  readonly kind: MetricKind;
  readonly comparisons: readonly Comparison[];
  /** Per stratum and arm, the sufficient statistics (all units, crossovers included). */
  readonly statistics: readonly (CovariateStats & { readonly stratum: string; readonly arm: string; readonly conversions: number; readonly preConversions: number })[];
  /** The outlier cap applied to y (thresholds and units moved), or null. */
  readonly cap: CapApplied | null;
}

export interface SrmPhase {
  readonly phase: string;
  readonly variants: readonly string[];
  readonly observed: readonly number[];
  readonly expectedShares: readonly number[] | null;
  readonly chiSquare: number | null;
  readonly pValue: number | null;
  readonly status: SrmStatus | 'expected-split-unknown';
  /** Sequential (anytime-valid) SRM of the same counts and split (Lindon & Malek); null without a split. */
  readonly sequential: { readonly logBayesFactor: number; readonly pValue: number; readonly status: Exclude<SrmStatus, 'insufficient-data'> } | null;
}

export interface Drift {
  readonly units: number;
  readonly crossoverUnits: number;
  readonly crossoverShare: number;
  readonly warning: boolean;
  readonly flipMatrix: readonly { readonly from: string; readonly to: string; readonly units: number }[];
  readonly firstFlipDay: string | null;
  readonly flipConfigVersions: readonly { readonly configVersion: number | null; readonly units: number }[];
  readonly days: readonly {
    readonly day: string;
    readonly exposedUnits: number;
    readonly exposedInOtherArm: number;
    /** exposedInOtherArm / exposedUnits. */
    readonly share: number;
    readonly newUnits: number;
    readonly newCrossovers: number;
    /** Crossover units so far / units so far. */
    readonly cumulativeShare: number;
  }[];
}

export interface AnalysisWarning {
  readonly code: 'BAD_ROWS_EXCLUDED' | 'CROSSOVER' | 'NAIVE_DISAGREES' | 'POOLED_NOT_HEADLINE' | 'SRM_ALERT' | 'SRM_WARN' | 'SRM_SPLIT_UNKNOWN' | 'STRATUM_EXCLUDED';
  readonly message: string;
}

export interface AnalysisResult {
  readonly experiment: string;
  readonly control: string;
  readonly variants: readonly string[];
  readonly strata: readonly string[];
  readonly confidence: number;
  readonly inputs: { readonly exposures: LoadReport; readonly events: LoadReport; readonly excludedBadRows: { readonly exposures: number; readonly events: number } };
  readonly units: { readonly total: number; readonly perStratum: readonly UnitCount[] };
  readonly metrics: readonly MetricResult[];
  readonly srm: readonly SrmPhase[];
  readonly drift: Drift;
  readonly warnings: readonly AnalysisWarning[];
}

/** Opens an in-memory DuckDB, runs the analysis, and closes everything (also on error). */
export async function analyze(options: AnalyzeOptions): Promise<AnalysisResult> {
  if (typeof options.experiment !== 'string' || options.experiment === '') {
    throw new AnalysisError('INVALID_OPTION', 'experiment must be a non-empty string: pass the experiment key to analyse');
  }
  const config: Record<string, string> = { threads: String(options.duckdb?.threads ?? 2) };
  if (options.duckdb?.memoryLimit !== undefined) config['memory_limit'] = options.duckdb.memoryLimit;
  const scratch = await mkdtemp(join(tmpdir(), 'sortition-analysis-'));
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  try {
    config['temp_directory'] = join(scratch, 'spill');
    instance = await DuckDBInstance.create(':memory:', config);
    connection = await instance.connect();
    return await analyzeOn(connection, scratch, options);
  } finally {
    connection?.closeSync();
    instance?.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function analyzeOn(connection: DuckDBConnection, scratch: string, options: AnalyzeOptions): Promise<AnalysisResult> {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const warnings: AnalysisWarning[] = [];
  await execute(connection, "SET TimeZone = 'UTC'");
  const exposures = await loadInput(connection, 'exposures', options.exposures, scratch);
  const events = await loadInput(connection, 'events', options.events, scratch);
  const bad = [exposures, events].filter((r) => r.badRows > 0);
  if (bad.length > 0) {
    const detail = bad
      .map((r) => `${r.kind} ${r.source}: ${r.badRows} of ${r.rows} rows (${r.violations.map((v) => `${v.rule}: ${v.count}, e.g. row ${v.examples.map((e) => e.row).join(', ')}`).join('; ')})`)
      .join('; ');
    if (options.allowBadRows !== true) {
      const error = new AnalysisError('BAD_ROWS', `invalid input rows: ${detail}. Fix the rows, or pass allowBadRows: true to exclude them (the report counts them).`);
      Object.assign(error, { reports: { exposures, events } });
      throw error;
    }
    warnings.push({ code: 'BAD_ROWS_EXCLUDED', message: `excluded invalid rows: ${detail}` });
  }

  const unitCounts = await attributeUnits(connection, options.experiment);
  const totalUnits = unitCounts.reduce((a, c) => a + c.n, 0);
  if (totalUnits === 0) {
    throw new AnalysisError('NO_UNITS', `no valid exposures for experiment "${options.experiment}": check the experiment key and the exposures input`);
  }
  const variants = [...new Set(unitCounts.map((c) => c.arm))].sort(compareBytes);
  const strata = [...new Set(unitCounts.map((c) => c.stratum))].sort(compareBytes);
  const control = options.controlVariant ?? (variants.includes('control') ? 'control' : (variants[0] as string));
  if (!variants.includes(control)) {
    throw new AnalysisError('INVALID_OPTION', `control variant "${control}" has no units; variants with units: ${variants.join(', ')}`);
  }
  const treatments = variants.filter((v) => v !== control);

  const metricSpecs: readonly MetricSpec[] = options.metrics ?? (await discoverMetrics(connection)).map((name) => ({ name, kind: 'sum' as const }));
  const capSpecs = validateCaps(options.cap, metricSpecs);
  const wantNaive = options.naiveView !== false;
  const { cells, naiveCrossoverCells, caps } = await cellStatistics(connection, metricSpecs.map((m) => m.name), wantNaive ? variants : null, capSpecs);
  const naive = naiveCrossoverCells === null ? null : await naiveCells(connection, cells, naiveCrossoverCells);

  const metrics: MetricResult[] = metricSpecs.map((spec) => {
    const mine = cells.filter((c) => c.metric === spec.name);
    const comparisons = treatments.map((treatment): Comparison => {
      const table = (include: (c: { crossover: boolean }) => boolean, pool: boolean): Map<string, Map<string, Arm>> => armTable(unitCounts, mine, include, pool);
      const primary = withAlwaysValid(stratified(table(() => true, false), control, treatment, spec.kind, confidence, false), options.plannedSampleSize);
      const pooledEstimate = stratified(table(() => true, true), control, treatment, spec.kind, confidence, false);
      const naiveEstimate = naive === null ? null : naiveComparison(naive, spec, control, treatment, confidence, primary);
      if (naiveEstimate?.disagreesWithPrimary === true) {
        warnings.push({
          code: 'NAIVE_DISAGREES',
          message: `${spec.name}, ${treatment} vs ${control}: the naive event-time estimate ${fmt(naiveEstimate.difference.estimate)} [${fmt(naiveEstimate.difference.lower)}, ${fmt(naiveEstimate.difference.upper)}] disagrees with the primary first-exposure estimate ${fmt(primary?.difference.estimate ?? Number.NaN)} [${fmt(primary?.difference.lower ?? Number.NaN)}, ${fmt(primary?.difference.upper ?? Number.NaN)}]; crossovers make event-time attribution unreliable`,
        });
      }
      return {
        control,
        treatment,
        primary,
        pooled: pooledEstimate === null ? null : { ...pooledEstimate, headline: false, biasedIfStrataDiffer: strata.length > 1 },
        crossoversExcluded: stratified(table((c) => !c.crossover, false), control, treatment, spec.kind, confidence, false),
        cuped: spec.kind === 'sum' ? stratified(table(() => true, false), control, treatment, spec.kind, confidence, true) : null,
        naiveEventTime: naiveEstimate,
      };
    });
    const statsTable = armTable(unitCounts, mine, () => true, false);
    const statistics = [...statsTable].flatMap(([stratum, arms]) =>
      [...arms].map(([arm, a]) => ({ stratum, arm, n: a.n, sum: a.sum, sumSquares: a.sumSquares, sumCovariate: a.sumCovariate, sumCovariateSquares: a.sumCovariateSquares, sumProducts: a.sumProducts, conversions: a.conversions, preConversions: a.preConversions })),
    );
    return { metric: spec.name, kind: spec.kind, comparisons, statistics, cap: caps.find((c) => c.metric === spec.name) ?? null };
  });
  adjustAcrossMetrics(metrics);

  if (strata.length > 1) {
    warnings.push({ code: 'POOLED_NOT_HEADLINE', message: `${strata.length} phases of first exposure (${strata.join(', ')}): the primary estimate is stratified by phase; the pooled estimate is shown for reference only and is biased when the split or the baseline changed between phases` });
  }
  for (const m of metrics) {
    for (const c of m.comparisons) {
      for (const s of c.primary?.excludedStrata ?? []) {
        warnings.push({ code: 'STRATUM_EXCLUDED', message: `${m.metric}, ${c.treatment} vs ${c.control}: stratum ${s.stratum} left out of the primary estimate: ${s.reason}` });
      }
    }
  }

  const srm = strata.map((phase) => srmForPhase(phase, unitCounts, variants, options.config));
  for (const s of srm) {
    if (s.status === 'alert' || s.status === 'warn') {
      warnings.push({ code: s.status === 'alert' ? 'SRM_ALERT' : 'SRM_WARN', message: `sample ratio mismatch in phase ${s.phase}: observed ${s.observed.join('/')} against shares ${(s.expectedShares ?? []).map((x) => fmt(x)).join('/')}, p = ${s.pValue}` });
    } else if (s.status === 'expected-split-unknown') {
      warnings.push({ code: 'SRM_SPLIT_UNKNOWN', message: `no expected split for phase ${s.phase}: pass config.phases["${s.phase}"] (or config.split) with the split in force to check sample ratio mismatch` });
    }
  }

  const drift = await driftSection(connection, unitCounts, options.crossoverWarnAt ?? 0.01);
  if (drift.warning) {
    warnings.push({ code: 'CROSSOVER', message: `${drift.crossoverUnits} of ${drift.units} units (${(drift.crossoverShare * 100).toFixed(2)}%) were exposed to more than one variant (first flips on ${drift.firstFlipDay ?? '?'}); they stay in the arm of their first exposure` });
  }

  return {
    experiment: options.experiment,
    control,
    variants,
    strata,
    confidence,
    inputs: { exposures, events, excludedBadRows: { exposures: exposures.badRows, events: events.badRows } },
    units: { total: totalUnits, perStratum: unitCounts },
    metrics,
    srm,
    drift,
    warnings,
  };
}

interface Arm {
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

const emptyArm = (): Arm => ({ n: 0, sum: 0, sumSquares: 0, sumCovariate: 0, sumCovariateSquares: 0, sumProducts: 0, conversions: 0, preConversions: 0, bothConversions: 0 });

/** stratum -> arm -> summed cells, over the crossover flags `include` accepts; `pool` merges all strata into "(pooled)". */
function armTable(counts: readonly UnitCount[], cells: readonly CellStats[], include: (c: { crossover: boolean }) => boolean, pool: boolean): Map<string, Map<string, Arm>> {
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
function stratified(table: Map<string, Map<string, Arm>>, control: string, treatment: string, kind: MetricKind, confidence: number, cuped: boolean): Estimate | null {
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

function naiveComparison(
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

function srmForPhase(phase: string, counts: readonly UnitCount[], variants: readonly string[], config: ExpectedSplit | undefined): SrmPhase {
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

async function driftSection(connection: DuckDBConnection, counts: readonly UnitCount[], warnAt: number): Promise<Drift> {
  const rows = await driftRows(connection);
  const units = counts.reduce((a, c) => a + c.n, 0);
  const crossoverUnits = counts.filter((c) => c.crossover).reduce((a, c) => a + c.n, 0);
  let seen = 0;
  let crossed = 0;
  const days = rows.days.map((d) => {
    seen += d.newUnits;
    crossed += d.newCrossovers;
    return { ...d, share: d.exposedUnits > 0 ? d.exposedInOtherArm / d.exposedUnits : 0, cumulativeShare: seen > 0 ? crossed / seen : 0 };
  });
  const crossoverShare = units > 0 ? crossoverUnits / units : 0;
  return {
    units,
    crossoverUnits,
    crossoverShare,
    warning: crossoverShare >= warnAt,
    flipMatrix: rows.flips,
    firstFlipDay: days.find((d) => d.newCrossovers > 0)?.day ?? null,
    flipConfigVersions: rows.flipConfigVersions,
    days,
  };
}

/** Adds the mSPRT always-valid p-value (default mixing variance) to a primary estimate; adjusted p-values are filled in later. */
function withAlwaysValid(estimate: Estimate | null, plannedSampleSize: number | undefined): PrimaryEstimate | null {
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
function adjustAcrossMetrics(metrics: MetricResult[]): void {
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

function validateCaps(cap: AnalyzeOptions['cap'], specs: readonly MetricSpec[]): CapSpec[] {
  if (cap === undefined) return [];
  const list: readonly CapSpec[] = Array.isArray(cap) ? (cap as readonly CapSpec[]) : [cap as CapSpec];
  const seen = new Set<string>();
  for (const c of list) {
    const spec = specs.find((s) => s.name === c.metric);
    if (spec === undefined) throw new AnalysisError('INVALID_OPTION', `cap names metric "${c.metric}", which is not analysed (metrics: ${specs.map((s) => s.name).join(', ') || 'none'})`);
    if (spec.kind !== 'sum') throw new AnalysisError('INVALID_OPTION', `cap on "${c.metric}": only sum metrics can be capped (a conversion is already 0 or 1)`);
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

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}
