// Runs the script (script.ts) on a runner and reads its results into plain records. Nothing here
// depends on the engine: the same rows come back from DuckDB and from PostgreSQL.
import { performance } from 'node:perf_hooks';
import { type SqlRunner } from './runner.js';
import { type Step } from './script.js';
import { num, str, strOrNull, type Row } from './sql.js';

/** Sufficient statistics of one cell (metric × stratum × arm × crossover flag), over the units with events. */
export interface CellStats {
  readonly metric: string;
  readonly stratum: string;
  readonly arm: string;
  readonly crossover: boolean;
  /** Valid event rows of the metric in the cell. */
  readonly eventRows: number;
  /** Units of the cell with at least one valid event of the metric (the others have y = x = 0). */
  readonly unitsWithEvents: number;
  /** Σ y, Σ y², Σ x, Σ x², Σ xy over units with y, x the per-unit sums. */
  readonly sum: number;
  readonly sumSquares: number;
  readonly sumCovariate: number;
  readonly sumCovariateSquares: number;
  readonly sumProducts: number;
  /** Units converted after / before their first exposure, and both. */
  readonly conversions: number;
  readonly preConversions: number;
  readonly bothConversions: number;
}

export interface NaiveCrossoverCell {
  readonly metric: string;
  readonly variant: string;
  /** (unit, variant) pairs of crossover units with an event attributed to the variant. */
  readonly pairsWithEvents: number;
  readonly sum: number;
  readonly sumSquares: number;
  readonly conversions: number;
}

export interface CapRow {
  readonly metric: string;
  readonly quantile: number;
  readonly lowerQuantile: number | null;
  readonly upper: number;
  readonly lower: number | null;
  readonly cappedAbove: number;
  readonly cappedBelow: number;
}

export interface SeriesRow {
  readonly metric: string;
  readonly stratum: string;
  readonly arm: string;
  readonly bucket: number;
  readonly dy: number;
  readonly dyy: number;
  readonly dconv: number;
}

export interface UnitRow {
  readonly stratum: string;
  readonly arm: string;
  readonly crossover: boolean;
  readonly day: string;
  /** Epoch ms of the series bucket of the first exposure (null without a series). */
  readonly bucket: number | null;
  readonly n: number;
}

export interface EngineData {
  /** Exposure rows per validation mask (bit i = rule i). */
  readonly exposureCounts: readonly { readonly mask: number; readonly n: number }[];
  /** Event rows per combination of the four event rules (unit_id_empty, metric_empty, timestamp_invalid, value_invalid). */
  readonly eventCounts: readonly { readonly broken: readonly [boolean, boolean, boolean, boolean]; readonly n: number }[];
  readonly units: readonly UnitRow[];
  readonly days: readonly { readonly day: string; readonly exposed: number }[];
  readonly crossoverDays: readonly { readonly day: string; readonly other: number }[];
  readonly crossoverPairs: readonly { readonly arm: string; readonly variant: string; readonly n: number }[];
  readonly firstFlips: readonly { readonly day: string; readonly configVersion: number | null; readonly n: number }[];
  readonly cells: readonly CellStats[];
  readonly caps: readonly CapRow[];
  readonly naive: readonly NaiveCrossoverCell[] | null;
  readonly series: readonly SeriesRow[] | null;
}

const STAGES: Readonly<Record<string, string>> = {
  sortition_exp: 'reading the exposures',
  sortition_u0: 'attributing units to their first exposure',
  days: 'counting exposures per day',
  sortition_xexp: 'collecting the exposures of crossover units',
  sortition_metrics: 'reading the events',
  sortition_ue: 'reading the events',
  cells: 'summing per arm and phase',
  series: 'computing the cumulative series',
};

/**
 * Runs every step in order; returns the rows of the steps that return rows, by name. `mapError`
 * may replace a step's error (to say which input could not be read).
 */
export async function runSteps(
  runner: SqlRunner,
  steps: readonly Step[],
  hooks: { readonly onStage?: ((stage: string) => void) | undefined; readonly onStep?: ((step: string, ms: number) => void) | undefined } = {},
  mapError?: (step: Step, error: unknown) => unknown,
): Promise<Map<string, Row[]>> {
  const results = new Map<string, Row[]>();
  let current: string | undefined;
  for (const step of steps) {
    const stage = STAGES[step.name];
    if (stage !== undefined && stage !== current) hooks.onStage?.(stage);
    current = stage ?? current;
    const started = performance.now();
    try {
      if (step.returnsRows) results.set(step.name, await runner.query(step.sql));
      else await runner.execute(step.sql);
    } catch (error) {
      throw mapError === undefined ? error : mapError(step, error);
    }
    hooks.onStep?.(step.name, performance.now() - started);
  }
  return results;
}

const bool = (row: Row, key: string): boolean => row[key] === true;
const numOrNull = (row: Row, key: string): number | null => {
  const v = strOrNull(row, key);
  return v === null ? null : Number(v);
};

export function readResults(results: ReadonlyMap<string, Row[]>): EngineData {
  const rows = (name: string): Row[] => results.get(name) ?? [];
  const analysedRows = rows('cells').reduce((a, r) => a + num(r, 'n_rows'), 0);
  return {
    exposureCounts: rows('exposure_counts').map((r) => ({ mask: num(r, 'bad'), n: num(r, 'n') })),
    // event_counts has the rows the analysis did not use; the cells hold the others.
    eventCounts: [
      ...rows('event_counts').map((r) => {
        const code = num(r, 'code');
        return { broken: [(code & 4) !== 0, bool(r, 'metric_empty'), (code & 1) !== 0, (code & 2) !== 0] as const, n: num(r, 'n') };
      }),
      { broken: [false, false, false, false] as const, n: analysedRows },
    ],
    units: rows('units').map((r) => ({ stratum: str(r, 'stratum'), arm: str(r, 'arm'), crossover: bool(r, 'crossover'), day: str(r, 'day'), bucket: numOrNull(r, 'bucket'), n: num(r, 'n') })),
    days: rows('days').map((r) => ({ day: str(r, 'day'), exposed: num(r, 'exposed') })),
    crossoverDays: rows('crossover_days').map((r) => ({ day: str(r, 'day'), other: num(r, 'other') })),
    crossoverPairs: rows('crossover_pairs').map((r) => ({ arm: str(r, 'arm'), variant: str(r, 'variant'), n: num(r, 'n') })),
    firstFlips: rows('first_flips').map((r) => ({ day: str(r, 'day'), configVersion: numOrNull(r, 'config_version'), n: num(r, 'n') })),
    cells: rows('cells').map((r) => ({
      metric: str(r, 'metric'),
      stratum: str(r, 'stratum'),
      arm: str(r, 'arm'),
      crossover: bool(r, 'crossover'),
      eventRows: num(r, 'n_rows'),
      unitsWithEvents: num(r, 'k'),
      sum: num(r, 'sy'),
      sumSquares: num(r, 'syy'),
      sumCovariate: num(r, 'sx'),
      sumCovariateSquares: num(r, 'sxx'),
      sumProducts: num(r, 'sxy'),
      conversions: num(r, 'cy'),
      preConversions: num(r, 'cx'),
      bothConversions: num(r, 'cxy'),
    })),
    caps: rows('caps').map((r) => ({
      metric: str(r, 'metric'),
      quantile: num(r, 'q_hi'),
      lowerQuantile: numOrNull(r, 'q_lo'),
      upper: num(r, 'hi'),
      lower: numOrNull(r, 'lo'),
      cappedAbove: num(r, 'above'),
      cappedBelow: num(r, 'below'),
    })),
    naive: results.has('naive')
      ? rows('naive').map((r) => ({ metric: str(r, 'metric'), variant: str(r, 'variant'), pairsWithEvents: num(r, 'k'), sum: num(r, 'sy'), sumSquares: num(r, 'syy'), conversions: num(r, 'cy') }))
      : null,
    series: results.has('series')
      ? rows('series').map((r) => ({ metric: str(r, 'metric'), stratum: str(r, 'stratum'), arm: str(r, 'arm'), bucket: num(r, 'bucket'), dy: num(r, 'dy'), dyy: num(r, 'dyy'), dconv: num(r, 'dconv') }))
      : null,
  };
}
