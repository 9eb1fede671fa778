// From the script's results (pipeline.ts) to the AnalysisResult: validation reports, attribution
// counts, estimates per metric and comparison, SRM, drift and warnings. Engine-independent.
import { DEFAULT_CONFIDENCE } from '../stats/lift.js';
import { cumulativeSeries } from './cumulative.js';
import { AnalysisError } from './errors.js';
import {
  adjustAcrossMetrics,
  armTable,
  compareBytes,
  fmt,
  naiveComparison,
  srmForPhase,
  stratified,
  validateCaps,
  withAlwaysValid,
  type Arm,
} from './estimate.js';
import { type CellStats, type EngineData } from './pipeline.js';
import { type Rule } from './rules.js';
import { type AnalysisOptions, type AnalysisResult, type AnalysisWarning, type CapApplied, type Comparison, type Drift, type LoadReport, type MetricResult, type MetricSpec, type RuleViolation, type UnitCount } from './types.js';

/** A report's counts (examples are filled in by the caller, which can query the input). */
export function countReport(base: Omit<LoadReport, 'rows' | 'badRows' | 'violations'>, rules: readonly Rule[], counts: readonly { readonly broken: readonly boolean[]; readonly n: number }[]): LoadReport {
  let rows = 0;
  let badRows = 0;
  const perRule = rules.map(() => 0);
  for (const c of counts) {
    rows += c.n;
    if (c.broken.some(Boolean)) badRows += c.n;
    c.broken.forEach((b, i) => {
      if (b) perRule[i] = (perRule[i] ?? 0) + c.n;
    });
  }
  const violations: RuleViolation[] = rules.flatMap((r, i) => ((perRule[i] ?? 0) > 0 ? [{ rule: r.name, description: r.description, count: perRule[i] ?? 0, examples: [] }] : []));
  return { ...base, rows, badRows, violations };
}

export function exposureMaskCounts(data: EngineData, rules: readonly Rule[]): { broken: boolean[]; n: number }[] {
  return data.exposureCounts.map((c) => ({ broken: rules.map((_, i) => (c.mask & (2 ** i)) !== 0), n: c.n }));
}

export function badRowsDetail(reports: readonly LoadReport[]): string {
  return reports
    .filter((r) => r.badRows > 0)
    .map((r) => `${r.kind} ${r.source}: ${r.badRows} of ${r.rows} rows (${r.violations.map((v) => `${v.rule}: ${v.count}, e.g. row ${v.examples.map((e) => e.row).join(', ')}`).join('; ')})`)
    .join('; ');
}

export function unitCounts(data: EngineData): UnitCount[] {
  const m = new Map<string, UnitCount>();
  for (const u of data.units) {
    const key = JSON.stringify([u.stratum, u.arm, u.crossover]);
    const prev = m.get(key);
    m.set(key, { stratum: u.stratum, arm: u.arm, crossover: u.crossover, n: (prev?.n ?? 0) + u.n });
  }
  return [...m.values()].sort((a, b) => compareBytes(a.stratum, b.stratum) || compareBytes(a.arm, b.arm) || Number(a.crossover) - Number(b.crossover));
}

/** The metrics analysed: the ones asked for, else every metric with a valid event of an experiment unit (as sums). */
export function metricSpecsOf(options: AnalysisOptions, data: EngineData): MetricSpec[] {
  if (options.metrics !== undefined) return [...options.metrics];
  return [...new Set(data.cells.map((c) => c.metric))].sort(compareBytes).map((name) => ({ name, kind: 'sum' as const }));
}

/** y of a unit without events, after the metric's cap (a unit's y is capped whether or not it has events). */
function zeroOutcome(cap: CapApplied | null): number {
  if (cap === null) return 0;
  return Math.min(Math.max(0, cap.lower ?? 0), cap.upper);
}

/** Adds the units of each cell without events (y = x = 0, capped to `z`) to the cell's sums. */
function withUnitsWithoutEvents(cells: readonly CellStats[], counts: readonly UnitCount[], metric: string, z: number): CellStats[] {
  const mine = cells.filter((c) => c.metric === metric);
  if (z === 0) return mine;
  return counts.map((u) => {
    const c = mine.find((x) => x.stratum === u.stratum && x.arm === u.arm && x.crossover === u.crossover);
    const missing = u.n - (c?.unitsWithEvents ?? 0);
    const base = c ?? { metric, stratum: u.stratum, arm: u.arm, crossover: u.crossover, eventRows: 0, unitsWithEvents: 0, sum: 0, sumSquares: 0, sumCovariate: 0, sumCovariateSquares: 0, sumProducts: 0, conversions: 0, preConversions: 0, bothConversions: 0 };
    return { ...base, unitsWithEvents: u.n, sum: base.sum + missing * z, sumSquares: base.sumSquares + missing * z * z };
  });
}

/** The naive view's per-variant sums: crossover = false first-exposure cells plus the crossover pairs. */
function naiveSums(data: EngineData, cells: readonly CellStats[], counts: readonly UnitCount[], metric: string, z: number): { pairs: Map<string, number>; cells: { metric: string; variant: string; sum: number; sumSquares: number; conversions: number }[] } {
  const pairs = new Map<string, number>();
  for (const c of counts) if (!c.crossover) pairs.set(c.arm, (pairs.get(c.arm) ?? 0) + c.n);
  const crossoverPairs = new Map<string, number>();
  for (const p of data.crossoverPairs) crossoverPairs.set(p.variant, (crossoverPairs.get(p.variant) ?? 0) + p.n);
  for (const [v, n] of crossoverPairs) pairs.set(v, (pairs.get(v) ?? 0) + n);
  const sums = new Map<string, { metric: string; variant: string; sum: number; sumSquares: number; conversions: number }>();
  const add = (variant: string, sum: number, sumSquares: number, conversions: number): void => {
    const s = sums.get(variant) ?? { metric, variant, sum: 0, sumSquares: 0, conversions: 0 };
    s.sum += sum;
    s.sumSquares += sumSquares;
    s.conversions += conversions;
    sums.set(variant, s);
  };
  for (const c of cells) if (!c.crossover) add(c.arm, c.sum, c.sumSquares, c.conversions);
  for (const [variant, n] of crossoverPairs) {
    const c = data.naive?.find((x) => x.metric === metric && x.variant === variant);
    const missing = n - (c?.pairsWithEvents ?? 0);
    add(variant, (c?.sum ?? 0) + missing * z, (c?.sumSquares ?? 0) + missing * z * z, c?.conversions ?? 0);
  }
  return { pairs, cells: [...sums.values()] };
}

function driftOf(data: EngineData, counts: readonly UnitCount[], warnAt: number): Drift {
  const units = counts.reduce((a, c) => a + c.n, 0);
  const crossoverUnits = counts.filter((c) => c.crossover).reduce((a, c) => a + c.n, 0);
  const sumBy = <T>(rows: readonly T[], day: (r: T) => string, n: (r: T) => number): Map<string, number> => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(day(r), (m.get(day(r)) ?? 0) + n(r));
    return m;
  };
  const other = sumBy(data.crossoverDays, (r) => r.day, (r) => r.other);
  const newUnits = sumBy(data.units, (r) => r.day, (r) => r.n);
  const newCrossovers = sumBy(data.firstFlips, (r) => r.day, (r) => r.n);
  let seen = 0;
  let crossed = 0;
  const days = [...data.days]
    .sort((a, b) => compareBytes(a.day, b.day))
    .map((d) => {
      const day = { day: d.day, exposedUnits: d.exposed, exposedInOtherArm: other.get(d.day) ?? 0, newUnits: newUnits.get(d.day) ?? 0, newCrossovers: newCrossovers.get(d.day) ?? 0 };
      seen += day.newUnits;
      crossed += day.newCrossovers;
      return { ...day, share: day.exposedUnits > 0 ? day.exposedInOtherArm / day.exposedUnits : 0, cumulativeShare: seen > 0 ? crossed / seen : 0 };
    });
  const versions = new Map<number | null, number>();
  for (const f of data.firstFlips) versions.set(f.configVersion, (versions.get(f.configVersion) ?? 0) + f.n);
  const crossoverShare = units > 0 ? crossoverUnits / units : 0;
  return {
    units,
    crossoverUnits,
    crossoverShare,
    warning: crossoverShare >= warnAt,
    flipMatrix: data.crossoverPairs
      .filter((p) => p.arm !== p.variant)
      .map((p) => ({ from: p.arm, to: p.variant, units: p.n }))
      .sort((a, b) => compareBytes(a.from, b.from) || compareBytes(a.to, b.to)),
    firstFlipDay: days.find((d) => d.newCrossovers > 0)?.day ?? null,
    flipConfigVersions: [...versions].map(([configVersion, n]) => ({ configVersion, units: n })).sort((a, b) => (a.configVersion ?? Infinity) - (b.configVersion ?? Infinity)),
    days,
  };
}

export interface AssembleInput {
  readonly options: AnalysisOptions;
  readonly data: EngineData;
  readonly reports: { readonly exposures: LoadReport; readonly events: LoadReport };
  /** BAD_ROWS_EXCLUDED and other warnings raised before assembly. */
  readonly warnings: readonly AnalysisWarning[];
}

export function assembleResult({ options, data, reports, warnings: early }: AssembleInput): AnalysisResult {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const warnings: AnalysisWarning[] = [...early];
  const counts = unitCounts(data);
  const totalUnits = counts.reduce((a, c) => a + c.n, 0);
  if (totalUnits === 0) throw new AnalysisError('NO_UNITS', `no valid exposures for experiment "${options.experiment}": check the experiment key and the exposures input`);
  const variants = [...new Set(counts.map((c) => c.arm))].sort(compareBytes);
  const strata = [...new Set(counts.map((c) => c.stratum))].sort(compareBytes);
  const control = options.controlVariant ?? (variants.includes('control') ? 'control' : (variants[0] as string));
  if (!variants.includes(control)) throw new AnalysisError('INVALID_OPTION', `control variant "${control}" has no units; variants with units: ${variants.join(', ')}`);
  const treatments = variants.filter((v) => v !== control);
  const specs = metricSpecsOf(options, data);
  validateCaps(options.cap, specs);

  const metrics: MetricResult[] = specs.map((spec) => {
    const cap = data.caps.find((c) => c.metric === spec.name) ?? null;
    const z = zeroOutcome(cap);
    const mine = withUnitsWithoutEvents(data.cells, counts, spec.name, z);
    const naive = data.naive === null ? null : naiveSums(data, mine, counts, spec.name, z);
    const table = (include: (c: { crossover: boolean }) => boolean, pool: boolean): Map<string, Map<string, Arm>> => armTable(counts, mine, include, pool);
    const comparisons = treatments.map((treatment): Comparison => {
      const primary = withAlwaysValid(stratified(table(() => true, false), control, treatment, spec.kind, confidence, false), options.plannedSampleSize);
      const pooled = stratified(table(() => true, true), control, treatment, spec.kind, confidence, false);
      const naiveEstimate = naive === null ? null : naiveComparison(naive, spec, control, treatment, confidence, primary);
      if (naiveEstimate?.disagreesWithPrimary === true) {
        warnings.push({
          code: 'NAIVE_DISAGREES',
          message: `${spec.name}, ${treatment} vs ${control}: the naive event-time estimate ${fmt(naiveEstimate.difference.estimate)} [${fmt(naiveEstimate.difference.lower)}, ${fmt(naiveEstimate.difference.upper)}] disagrees with the primary first-exposure estimate ${fmt(primary?.difference.estimate ?? Number.NaN)} [${fmt(primary?.difference.lower ?? Number.NaN)}, ${fmt(primary?.difference.upper ?? Number.NaN)}]; crossovers make event-time attribution unreliable`,
        });
      }
      const interval = options.cumulative;
      return {
        control,
        treatment,
        primary,
        pooled: pooled === null ? null : { ...pooled, headline: false, biasedIfStrataDiffer: strata.length > 1 },
        crossoversExcluded: stratified(table((c) => !c.crossover, false), control, treatment, spec.kind, confidence, false),
        cuped: spec.kind === 'sum' ? stratified(table(() => true, false), control, treatment, spec.kind, confidence, true) : null,
        naiveEventTime: naiveEstimate,
        cumulative:
          interval === undefined || data.series === null
            ? null
            : cumulativeSeries({ metric: spec.name, kind: spec.kind, control, treatment, confidence, interval, units: data.units, series: data.series, zeroOutcome: z }),
      };
    });
    const statistics = [...table(() => true, false)].flatMap(([stratum, arms]) =>
      [...arms].map(([arm, a]) => ({ stratum, arm, n: a.n, sum: a.sum, sumSquares: a.sumSquares, sumCovariate: a.sumCovariate, sumCovariateSquares: a.sumCovariateSquares, sumProducts: a.sumProducts, conversions: a.conversions, preConversions: a.preConversions })),
    );
    return { metric: spec.name, kind: spec.kind, comparisons, statistics, cap };
  });
  adjustAcrossMetrics(metrics);

  if (strata.length > 1) {
    warnings.push({ code: 'POOLED_NOT_HEADLINE', message: `${strata.length} phases of first exposure (${strata.join(', ')}): the primary estimate is stratified by phase; the pooled estimate is shown for reference only and is biased when the split or the baseline changed between phases` });
  }
  for (const m of metrics) {
    for (const c of m.comparisons) {
      for (const s of c.primary?.excludedStrata ?? []) warnings.push({ code: 'STRATUM_EXCLUDED', message: `${m.metric}, ${c.treatment} vs ${c.control}: stratum ${s.stratum} left out of the primary estimate: ${s.reason}` });
    }
  }
  const srm = strata.map((phase) => srmForPhase(phase, counts, variants, options.config));
  for (const s of srm) {
    if (s.status === 'alert' || s.status === 'warn') {
      warnings.push({ code: s.status === 'alert' ? 'SRM_ALERT' : 'SRM_WARN', message: `sample ratio mismatch in phase ${s.phase}: observed ${s.observed.join('/')} against shares ${(s.expectedShares ?? []).map((x) => fmt(x)).join('/')}, p = ${s.pValue}` });
    } else if (s.status === 'expected-split-unknown') {
      warnings.push({ code: 'SRM_SPLIT_UNKNOWN', message: `no expected split for phase ${s.phase}: pass config.phases["${s.phase}"] (or config.split) with the split in force to check sample ratio mismatch` });
    }
  }
  const drift = driftOf(data, counts, options.crossoverWarnAt ?? 0.01);
  if (drift.warning) {
    warnings.push({ code: 'CROSSOVER', message: `${drift.crossoverUnits} of ${drift.units} units (${(drift.crossoverShare * 100).toFixed(2)}%) were exposed to more than one variant (first flips on ${drift.firstFlipDay ?? '?'}); they stay in the arm of their first exposure` });
  }
  return {
    experiment: options.experiment,
    control,
    variants,
    strata,
    confidence,
    inputs: { exposures: reports.exposures, events: reports.events, excludedBadRows: { exposures: reports.exposures.badRows, events: reports.events.badRows } },
    units: { total: totalUnits, perStratum: counts },
    metrics,
    srm,
    drift,
    warnings,
  };
}
