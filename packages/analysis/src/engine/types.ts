// The engine's options and results (shared by the DuckDB and PostgreSQL entry points). See
// README.md ("The analysis engine") for every definition.
import { type SeriesInterval } from './dialect.js';
import { type Interval } from '../stats/lift.js';
import { type SrmStatus } from '../stats/srm.js';
import { type CovariateStats } from '../stats/summary.js';
import { type CapSpec } from './script-types.js';

export type { CapSpec } from './script-types.js';
export type { SeriesInterval } from './dialect.js';

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

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

/** A file (format from the extension unless given) or rows in memory (objects keyed by column). */
export type InputSource =
  | { readonly path: string; readonly format?: InputFormat }
  | { readonly rows: readonly object[] };

export type InputKind = 'exposures' | 'events';

export interface RuleExample {
  /** 1-based data row (CSV: header not counted; JSONL: line; Parquet and in-memory rows: row index + 1; a PostgreSQL table: position in its scan order). */
  readonly row: number;
  readonly values: Readonly<Record<string, string | number | boolean | null>>;
}

export interface RuleViolation {
  readonly rule: string;
  readonly description: string;
  readonly count: number;
  readonly examples: readonly RuleExample[];
}

export interface LoadReport {
  readonly kind: InputKind;
  /** The file, "(N in-memory rows)", or the PostgreSQL table. */
  readonly source: string;
  readonly format: InputFormat | 'postgres';
  readonly rows: number;
  /** Rows breaking at least one rule (a row breaking two rules is counted once here). */
  readonly badRows: number;
  /** Only the rules with at least one violation. */
  readonly violations: readonly RuleViolation[];
  /** Optional columns found in the input. */
  readonly optionalColumns: readonly string[];
}

/** Units per phase of first exposure (stratum), arm and crossover flag. */
export interface UnitCount {
  readonly stratum: string;
  readonly arm: string;
  readonly crossover: boolean;
  readonly n: number;
}

/** The thresholds a cap resolved to and how many units it moved. */
export interface CapApplied {
  readonly metric: string;
  readonly quantile: number;
  readonly lowerQuantile: number | null;
  readonly upper: number;
  readonly lower: number | null;
  readonly cappedAbove: number;
  readonly cappedBelow: number;
}

/** Everything about an analysis except where the rows come from (shared by analyze() and analyzePostgres()). */
export interface AnalysisOptions {
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
  /**
   * Also compute the primary estimate cumulatively, as of the end of every hour, day or week (UTC)
   * from the first exposure on (`Comparison.cumulative`). Off by default: it splits the events
   * pass per bucket, which costs time.
   */
  readonly cumulative?: SeriesInterval;
  /** Called with a stage name while the analysis runs (for a progress indicator). */
  readonly onStage?: (stage: string) => void;
  /** Called after each SQL step with its name and wall time in ms (diagnostics; the benchmark prints them). */
  readonly onStep?: (step: string, ms: number) => void;
}

/** analyze(): the inputs as files or rows, on an embedded DuckDB. */
export interface AnalyzeOptions extends AnalysisOptions {
  readonly exposures: InputSource;
  readonly events: InputSource;
  readonly duckdb?: { readonly threads?: number; readonly memoryLimit?: string };
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
  /** The primary estimate as of the end of each bucket (only with the `cumulative` option). */
  readonly cumulative: CumulativeSeries | null;
}

/** The primary estimate with everything before `end` (exposures and events); the last point is the primary estimate. */
export interface CumulativePoint {
  /** The bucket's start and end (ISO 8601, UTC). */
  readonly start: string;
  readonly end: string;
  readonly control: ArmSummary;
  readonly treatment: ArmSummary;
  readonly difference: Interval;
  readonly relative: Interval | null;
  readonly pValue: number;
}

export interface CumulativeSeries {
  readonly interval: SeriesInterval;
  /** Buckets where the estimate exists (at least 2 units per arm in some phase), oldest first. */
  readonly points: readonly CumulativePoint[];
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
