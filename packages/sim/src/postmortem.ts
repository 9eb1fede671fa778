/**
 * `sortition simulate postmortem`: one world, two stacks serving the same sessions, both stacks'
 * files written, both analysed by the real engine (DuckDB), and Sortition's diagnostics run on the
 * naive stack's files. Returns data; the CLI renders it.
 */
import { join } from 'node:path';
import { analyze, type AnalysisResult, type Comparison } from '@sortition/analysis';
import { LibraryBackend, type Backend } from './backend.js';
import { METRIC, writeNaiveFiles, writeSortitionFiles, type StackFiles } from './files.js';
import { NAIVE_EXPERIMENT, runNaiveStack, type NaiveFlagVersion, type NaiveRun, type StackTraffic } from './naive-stack.js';
import { phaseSplits, SORTITION_EXPERIMENT } from './sortition-config.js';
import { runSortitionStack, type ConfigEvent, type DryRun } from './sortition-stack.js';
import { generateWorld, type World } from './world.js';

export interface PostmortemOptions {
  readonly users: number;
  readonly days: number;
  /** True effect of treatment on the per-session satisfaction probability (absolute). */
  readonly effect: number;
  readonly seed: number;
  /** Folder for the files (naive/ and sortition/ inside). */
  readonly out: string;
  /** Where Sortition runs (default: the library, in memory). */
  readonly backend?: Backend;
  readonly onStage?: (stage: string) => void;
}

export interface EstimateView {
  readonly control: { readonly n: number; readonly mean: number };
  readonly treatment: { readonly n: number; readonly mean: number };
  readonly difference: number;
  readonly lower: number;
  readonly upper: number;
  /** Treatment / control − 1, with its delta-method 95% interval (NaN when the engine gave none). */
  readonly relative: number;
  readonly relativeLower: number;
  readonly relativeUpper: number;
  readonly pValue: number;
}

export interface ArmMakeup {
  /** Observations: users, or (user, variant) pairs in the naive view. */
  readonly observations: number;
  readonly sessionsPerObservation: number;
  /** Share of the arm's sessions that belong to weekday users. */
  readonly weekdaySessionShare: number;
  /** Share of the arm's sessions after the Sunday-night change. */
  readonly afterChangeShare: number;
  readonly satisfiedPerSession: number;
}

export interface Composition {
  readonly control: ArmMakeup;
  readonly treatment: ArmMakeup;
}

export interface PostmortemResult {
  readonly options: { readonly users: number; readonly days: number; readonly effect: number; readonly seed: number; readonly out: string };
  readonly world: {
    readonly start: number;
    readonly change: number;
    readonly end: number;
    readonly sessions: number;
    readonly activeUsers: number;
    readonly weekdayUsers: number;
    readonly baseline: { readonly weekday: number; readonly weekend: number };
  };
  readonly naive: {
    readonly versions: readonly NaiveFlagVersion[];
    readonly files: StackFiles;
    /** The naive stack's own analysis: events grouped by the flag value they carried. */
    readonly estimate: EstimateView;
    readonly composition: Composition;
  };
  readonly sortition: {
    readonly backend: 'library' | 'service';
    readonly files: StackFiles;
    readonly configLog: readonly ConfigEvent[];
    readonly dryRuns: readonly DryRun[];
    readonly ramp: { readonly movedSlots: number; readonly emptyAvailable: number; readonly treatmentShare: number; readonly ranges: number };
    readonly evaluations: Readonly<Record<string, number>>;
    /** First exposure, stratified by phase: the headline. */
    readonly estimate: EstimateView;
    readonly strata: readonly { readonly phase: string; readonly weight: number; readonly difference: number; readonly pValue: number }[];
    /** All users pooled over both phases (the engine's sensitivity view, not the headline). */
    readonly pooled: EstimateView | null;
    readonly srm: readonly { readonly phase: string; readonly status: string; readonly pValue: number | null }[];
    readonly composition: Composition;
  };
  /** Sortition's analysis run on the naive stack's files. */
  readonly diagnostics: {
    readonly crossoverUnits: number;
    readonly units: number;
    readonly crossoverShare: number;
    readonly firstFlipDay: string | null;
    readonly flips: readonly { readonly from: string; readonly to: string; readonly units: number }[];
    readonly flipConfigVersions: readonly { readonly configVersion: number | null; readonly units: number; readonly note: string }[];
    readonly srm: readonly { readonly phase: string; readonly observed: readonly number[]; readonly expected: readonly number[] | null; readonly status: string; readonly pValue: number | null }[];
    /** First-exposure, version-stratified estimate on the naive stack's own data. */
    readonly firstExposure: EstimateView;
    readonly warnings: readonly string[];
  };
  readonly analyses: { readonly naive: AnalysisResult; readonly sortition: AnalysisResult };
}

function comparison(result: AnalysisResult): Comparison {
  const c = result.metrics.find((m) => m.metric === METRIC)?.comparisons[0];
  if (c === undefined) throw new Error(`the analysis of ${result.experiment} has no ${METRIC} comparison`);
  return c;
}

function view(
  e: { control: { n: number; estimate: number }; treatment: { n: number; estimate: number }; difference: { estimate: number; lower: number; upper: number }; relative: { lower: number; upper: number } | null; pValue: number } | null,
): EstimateView {
  if (e === null) throw new Error('the analysis produced no estimate (too few units in an arm)');
  return {
    control: { n: e.control.n, mean: e.control.estimate },
    treatment: { n: e.treatment.n, mean: e.treatment.estimate },
    difference: e.difference.estimate,
    lower: e.difference.lower,
    upper: e.difference.upper,
    relative: e.treatment.estimate / e.control.estimate - 1,
    relativeLower: e.relative?.lower ?? Number.NaN,
    relativeUpper: e.relative?.upper ?? Number.NaN,
    pValue: e.pValue,
  };
}

/**
 * What the arms are made of. `byPair`: the naive view, each session in the variant it was served and
 * one observation per (user, variant); otherwise each session in its user's first variant.
 */
export function composition(world: World, traffic: StackTraffic, byPair: boolean, change: number): Composition {
  const users = world.ids.length;
  const seen = [new Uint8Array(users), new Uint8Array(users)] as const;
  const first = new Int8Array(users).fill(-1);
  const acc = [0, 1].map(() => ({ observations: 0, sessions: 0, weekday: 0, after: 0, satisfied: 0 }));
  const { sessions } = world;
  for (let s = 0; s < sessions.count; s++) {
    const u = sessions.user[s]!;
    if (first[u] === -1) first[u] = traffic.treated[s]!;
    const arm = (byPair ? traffic.treated[s]! : first[u]!) as 0 | 1;
    const a = acc[arm]!;
    if (seen[arm][u] === 0) {
      seen[arm][u] = 1;
      a.observations++;
    }
    a.sessions++;
    if (world.segment[u] === 0) a.weekday++;
    if (sessions.start[s]! >= change) a.after++;
    a.satisfied += traffic.outcome[s]!;
  }
  const makeup = (arm: 0 | 1): ArmMakeup => {
    const a = acc[arm]!;
    return { observations: a.observations, sessionsPerObservation: a.sessions / a.observations, weekdaySessionShare: a.weekday / a.sessions, afterChangeShare: a.after / a.sessions, satisfiedPerSession: a.satisfied / a.sessions };
  };
  return { control: makeup(0), treatment: makeup(1) };
}

export async function runPostmortem(options: PostmortemOptions): Promise<PostmortemResult> {
  const stage = options.onStage ?? ((): void => undefined);
  stage('generating the population and its sessions');
  const world = generateWorld({ users: options.users, days: options.days, seed: options.seed });
  const cal = world.calendar;
  stage('serving the naive stack');
  const naive: NaiveRun = runNaiveStack(world, options.effect);
  stage('serving Sortition');
  const backend = options.backend ?? new LibraryBackend();
  let sortition;
  try {
    sortition = await runSortitionStack({ world, effect: options.effect, backend });
  } finally {
    await backend.close();
  }

  stage('writing the files');
  const naiveFiles = await writeNaiveFiles(join(options.out, 'naive'), world, naive);
  const sortitionFiles = await writeSortitionFiles(join(options.out, 'sortition'), world, sortition, sortition.exposures);

  stage('analysing both stacks (DuckDB)');
  const metrics = [{ name: METRIC, kind: 'sum' as const }];
  const naiveSplits = Object.fromEntries(naive.versions.map((v) => [v.phase, { control: 100 - v.treatmentPercent, treatment: v.treatmentPercent }]));
  const naiveAnalysis = await analyze({ exposures: { path: naiveFiles.exposures }, events: { path: naiveFiles.events }, experiment: NAIVE_EXPERIMENT, metrics, config: { phases: naiveSplits } });
  const sortitionAnalysis = await analyze({ exposures: { path: sortitionFiles.exposures }, events: { path: sortitionFiles.events }, experiment: SORTITION_EXPERIMENT, metrics, config: { phases: phaseSplits(sortition.part) } });

  const naiveComparison = comparison(naiveAnalysis);
  const sortitionComparison = comparison(sortitionAnalysis);
  const primary = sortitionComparison.primary;
  const activeUsers = new Set(world.sessions.user).size;
  let weekdayUsers = 0;
  for (let u = 0; u < world.ids.length; u++) if (world.segment[u] === 0) weekdayUsers++;
  const versionNote = (v: number | null): string => naive.versions.find((f) => f.version === v)?.note ?? 'unknown version';

  return {
    options: { users: options.users, days: options.days, effect: options.effect, seed: options.seed, out: options.out },
    world: {
      start: cal.start,
      change: cal.change,
      end: cal.end,
      sessions: world.sessions.count,
      activeUsers,
      weekdayUsers,
      baseline: { weekday: world.model.baseline.weekday, weekend: world.model.baseline.weekend },
    },
    naive: { versions: naive.versions, files: naiveFiles, estimate: view(naiveComparison.naiveEventTime), composition: composition(world, naive, true, cal.change) },
    sortition: {
      backend: sortition.backend,
      files: sortitionFiles,
      configLog: sortition.configLog,
      dryRuns: sortition.dryRuns,
      ramp: {
        movedSlots: sortition.ramp.movedSlots,
        emptyAvailable: sortition.ramp.emptyAvailable,
        treatmentShare: sortition.ramp.shares['treatment'] ?? Number.NaN,
        ranges: Object.values(sortition.ramp.allocation).reduce((a, r) => a + r.length, 0),
      },
      evaluations: sortition.evaluations,
      estimate: view(primary),
      strata: (primary?.strata ?? []).map((s) => ({ phase: s.stratum, weight: s.weight, difference: s.difference.estimate, pValue: s.pValue })),
      pooled: sortitionComparison.pooled === null ? null : view(sortitionComparison.pooled),
      srm: sortitionAnalysis.srm.map((s) => ({ phase: s.phase, status: s.status, pValue: s.pValue })),
      composition: composition(world, sortition, false, cal.change),
    },
    diagnostics: {
      crossoverUnits: naiveAnalysis.drift.crossoverUnits,
      units: naiveAnalysis.drift.units,
      crossoverShare: naiveAnalysis.drift.crossoverShare,
      firstFlipDay: naiveAnalysis.drift.firstFlipDay,
      flips: naiveAnalysis.drift.flipMatrix,
      flipConfigVersions: naiveAnalysis.drift.flipConfigVersions.map((f) => ({ ...f, note: versionNote(f.configVersion) })),
      srm: naiveAnalysis.srm.map((s) => ({ phase: s.phase, observed: s.observed, expected: s.expectedShares, status: s.status, pValue: s.pValue })),
      firstExposure: view(naiveComparison.primary),
      warnings: naiveAnalysis.warnings.map((w) => `${w.code}: ${w.message}`),
    },
    analyses: { naive: naiveAnalysis, sortition: sortitionAnalysis },
  };
}
