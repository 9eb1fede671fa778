// Types and names shared by the script builders (script-exposures.ts, script-events.ts).
import { type SeriesInterval } from './dialect.js';
import { AnalysisError } from './errors.js';
import { type Rule } from './rules.js';

/** Outlier capping of one metric's per-unit outcome y, thresholds from percentile_cont over all units. */
export interface CapSpec {
  readonly metric: string;
  /** Upper quantile, e.g. 0.99: y above it becomes it. */
  readonly quantile: number;
  /** Optional lower quantile: y below it becomes it. */
  readonly lowerQuantile?: number;
}

export interface ScriptSpec {
  readonly experiment: string;
  /** Rules over `sortition_exposures_src`, one bit each of the mask (bit i = rule i). */
  readonly exposureRules: readonly Rule[];
  /** Metric names to analyse; null = every metric found in the events of the experiment's units. */
  readonly metrics: readonly string[] | null;
  readonly naive: boolean;
  readonly caps: readonly CapSpec[];
  /** Bucket of the cumulative series; null = no series. */
  readonly interval: SeriesInterval | null;
}

export interface Step {
  /** The result's name when the step returns rows, else the table it creates. */
  readonly name: string;
  readonly sql: string;
  /** True when the step returns rows the engine reads. */
  readonly returnsRows: boolean;
  readonly comment: string;
  /** Set on the steps that drop a table no later step reads (rendered as such by renderScript). */
  readonly drops?: string;
}

/** Temp tables the script creates, prefixed so they cannot shadow a user's tables. */
export const TABLES = {
  codes: 'sortition_codes',
  exp: 'sortition_exp',
  u0: 'sortition_u0',
  cells: 'sortition_cells',
  units: 'sortition_units',
  xexp: 'sortition_xexp',
  metrics: 'sortition_metrics',
  ue: 'sortition_ue',
  nv: 'sortition_nv',
  pu: 'sortition_pu',
  thr: 'sortition_thr',
} as const;

export const SOURCES = { exposures: 'sortition_exposures_src', events: 'sortition_events_src' } as const;

export const NO_PHASE = '(none)';

/** A number as a SQL literal (finite only). */
export function numberLiteral(x: number): string {
  if (!Number.isFinite(x)) throw new AnalysisError('INVALID_OPTION', `not a finite number: ${String(x)}`);
  return String(x);
}
