// Intent-to-treat attribution in SQL. Over the views `exposures` and `events` made by load.ts:
//
// - `exp`: the experiment's valid exposures (a temp table; phase NULL becomes the stratum "(none)").
// - `units`: one row per unit: its first exposure (earliest timestamp; ties broken by the smaller
//   variant name, then the smaller phase name, byte order), its arm (the first exposure's variant),
//   its stratum (the first exposure's phase) and whether it was ever exposed to another variant.
// - per metric, stratum, arm and crossover flag, the sufficient statistics the stats library takes.
//   A unit's outcome y is the sum of its event values at or after its first exposure (0 without
//   events), or for conversion metrics 1 if any such event has value > 0, else 0. The covariate x is
//   the same over events strictly before the first exposure (the pre-period, for CUPED).
import { type DuckDBConnection } from '@duckdb/node-api';
import { execute, num, queryRows, str, strOrNull } from './sql.js';

export const NO_PHASE = '(none)';

/** Sufficient statistics of one cell (metric × stratum × arm × crossover flag). */
export interface CellStats {
  readonly metric: string;
  readonly stratum: string;
  readonly arm: string;
  readonly crossover: boolean;
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

export interface UnitCount {
  readonly stratum: string;
  readonly arm: string;
  readonly crossover: boolean;
  readonly n: number;
}

/** Builds `exp` and `units` for one experiment; returns the unit counts per stratum, arm and crossover flag. */
export async function attributeUnits(connection: DuckDBConnection, experiment: string): Promise<UnitCount[]> {
  await execute(
    connection,
    `CREATE OR REPLACE TEMP TABLE exp AS
     SELECT unit_id, variant, ts, COALESCE(phase, '${NO_PHASE}') AS phase, config_version
     FROM exposures WHERE experiment = $experiment`,
    { experiment },
  );
  await execute(
    connection,
    `CREATE OR REPLACE TEMP TABLE units AS
     SELECT unit_id, f.ts AS first_ts, f.variant AS arm, f.phase AS stratum, lo <> hi AS crossover
     FROM (SELECT unit_id, min({'ts': ts, 'variant': variant, 'phase': phase}) AS f, min(variant) AS lo, max(variant) AS hi
           FROM exp GROUP BY unit_id)`,
  );
  const rows = await queryRows(connection, 'SELECT stratum, arm, crossover, count(*) AS n FROM units GROUP BY ALL ORDER BY ALL');
  return rows.map((r) => ({ stratum: str(r, 'stratum'), arm: str(r, 'arm'), crossover: r['crossover'] === true, n: num(r, 'n') }));
}

/** Metric names found in the events of the experiment's units. */
export async function discoverMetrics(connection: DuckDBConnection): Promise<string[]> {
  const rows = await queryRows(connection, 'SELECT DISTINCT metric FROM events WHERE unit_id IN (SELECT unit_id FROM units) ORDER BY metric');
  return rows.map((r) => str(r, 'metric'));
}

/** Per metric × stratum × arm × crossover: the sums (cells without any event are absent: all zeros). */
export async function cellStatistics(connection: DuckDBConnection, metrics: readonly string[]): Promise<CellStats[]> {
  if (metrics.length === 0) return [];
  await execute(connection, 'CREATE OR REPLACE TEMP TABLE wanted_metrics (metric VARCHAR)');
  for (const metric of metrics) await execute(connection, 'INSERT INTO wanted_metrics VALUES ($m)', { m: metric });
  const rows = await queryRows(
    connection,
    `WITH per_unit AS (
       SELECT e.metric, u.stratum, u.arm, u.crossover,
              COALESCE(sum(e.value) FILTER (WHERE e.ts >= u.first_ts), 0) AS y,
              COALESCE(sum(e.value) FILTER (WHERE e.ts < u.first_ts), 0) AS x,
              COALESCE(bool_or(e.value > 0) FILTER (WHERE e.ts >= u.first_ts), false)::INTEGER AS cy,
              COALESCE(bool_or(e.value > 0) FILTER (WHERE e.ts < u.first_ts), false)::INTEGER AS cx
       FROM events e
       JOIN units u ON e.unit_id = u.unit_id
       SEMI JOIN wanted_metrics w ON e.metric = w.metric
       GROUP BY e.unit_id, e.metric, u.stratum, u.arm, u.crossover)
     SELECT metric, stratum, arm, crossover,
            sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy,
            sum(cy) AS cy, sum(cx) AS cx, sum(cx * cy) AS cxy
     FROM per_unit GROUP BY ALL ORDER BY ALL`,
  );
  return rows.map((r) => ({
    metric: str(r, 'metric'),
    stratum: str(r, 'stratum'),
    arm: str(r, 'arm'),
    crossover: r['crossover'] === true,
    sum: num(r, 'sy'),
    sumSquares: num(r, 'syy'),
    sumCovariate: num(r, 'sx'),
    sumCovariateSquares: num(r, 'sxx'),
    sumProducts: num(r, 'sxy'),
    conversions: num(r, 'cy'),
    preConversions: num(r, 'cx'),
    bothConversions: num(r, 'cxy'),
  }));
}

export interface NaiveCell {
  readonly metric: string;
  readonly variant: string;
  readonly sum: number;
  readonly sumSquares: number;
  readonly conversions: number;
}

/**
 * The naive event-time grouping: each event goes to the variant of the unit's latest exposure at
 * or before it (ASOF join; exposures at the same instant resolve to the smaller variant name);
 * events before the unit's first exposure are not attributed. The observation is the
 * (unit, variant) pair: n per variant = units ever exposed to it (a crossover unit counts in
 * both), y = the sum of its events attributed to that variant.
 */
export async function naiveEventTime(connection: DuckDBConnection): Promise<{ pairs: Map<string, number>; cells: NaiveCell[] }> {
  const pairRows = await queryRows(connection, 'SELECT variant, count(DISTINCT unit_id) AS n FROM exp GROUP BY variant');
  const rows = await queryRows(
    connection,
    `WITH ex AS (SELECT unit_id, ts, min(variant) AS variant FROM exp GROUP BY unit_id, ts),
     ev AS (SELECT e.unit_id, e.metric, e.ts, e.value FROM events e SEMI JOIN wanted_metrics w ON e.metric = w.metric),
     per_pair AS (
       SELECT ev.unit_id, ex.variant, ev.metric, sum(ev.value) AS y, bool_or(ev.value > 0)::INTEGER AS cy
       FROM ev ASOF JOIN ex ON ev.unit_id = ex.unit_id AND ev.ts >= ex.ts
       GROUP BY ev.unit_id, ex.variant, ev.metric)
     SELECT metric, variant, sum(y) AS sy, sum(y * y) AS syy, sum(cy) AS cy FROM per_pair GROUP BY ALL ORDER BY ALL`,
  );
  return {
    pairs: new Map(pairRows.map((r) => [str(r, 'variant'), num(r, 'n')])),
    cells: rows.map((r) => ({ metric: str(r, 'metric'), variant: str(r, 'variant'), sum: num(r, 'sy'), sumSquares: num(r, 'syy'), conversions: num(r, 'cy') })),
  };
}

export interface DriftRows {
  readonly flips: { readonly from: string; readonly to: string; readonly units: number }[];
  readonly days: {
    readonly day: string;
    readonly exposedUnits: number;
    readonly exposedInOtherArm: number;
    readonly newUnits: number;
    readonly newCrossovers: number;
  }[];
  readonly flipConfigVersions: { readonly configVersion: number | null; readonly units: number }[];
}

/**
 * Crossover forensics over `exp` and `units`: the flip matrix (first variant × later variant,
 * distinct units), per UTC day the units exposed, those exposed that day in a variant other than
 * their arm, the units first exposed and the units whose first exposure outside their arm (their
 * flip) fell that day, and the config version in force at each unit's flip.
 */
export async function driftRows(connection: DuckDBConnection): Promise<DriftRows> {
  const flips = await queryRows(
    connection,
    `SELECT u.arm AS "from", e.variant AS "to", count(DISTINCT e.unit_id) AS n
     FROM exp e JOIN units u ON e.unit_id = u.unit_id WHERE e.variant <> u.arm GROUP BY ALL ORDER BY ALL`,
  );
  await execute(
    connection,
    `CREATE OR REPLACE TEMP TABLE first_flips AS
     SELECT e.unit_id, min(e.ts) AS flip_ts, arg_min(e.config_version, e.ts) AS config_version
     FROM exp e JOIN units u ON e.unit_id = u.unit_id WHERE e.variant <> u.arm GROUP BY e.unit_id`,
  );
  const days = await queryRows(
    connection,
    `WITH d AS (
       SELECT CAST(e.ts AS DATE) AS day, count(DISTINCT e.unit_id) AS exposed,
              count(DISTINCT e.unit_id) FILTER (WHERE e.variant <> u.arm) AS other
       FROM exp e JOIN units u ON e.unit_id = u.unit_id GROUP BY 1),
     n AS (SELECT CAST(first_ts AS DATE) AS day, count(*) AS new_units FROM units GROUP BY 1),
     f AS (SELECT CAST(flip_ts AS DATE) AS day, count(*) AS new_crossovers FROM first_flips GROUP BY 1)
     SELECT strftime(d.day, '%Y-%m-%d') AS day, d.exposed, d.other, COALESCE(n.new_units, 0) AS new_units, COALESCE(f.new_crossovers, 0) AS new_crossovers
     FROM d LEFT JOIN n ON d.day = n.day LEFT JOIN f ON d.day = f.day ORDER BY d.day`,
  );
  const versions = await queryRows(connection, 'SELECT config_version, count(*) AS n FROM first_flips GROUP BY ALL ORDER BY config_version NULLS LAST');
  return {
    flips: flips.map((r) => ({ from: str(r, 'from'), to: str(r, 'to'), units: num(r, 'n') })),
    days: days.map((r) => ({
      day: str(r, 'day'),
      exposedUnits: num(r, 'exposed'),
      exposedInOtherArm: num(r, 'other'),
      newUnits: num(r, 'new_units'),
      newCrossovers: num(r, 'new_crossovers'),
    })),
    flipConfigVersions: versions.map((r) => {
      const v = strOrNull(r, 'config_version');
      return { configVersion: v === null ? null : Number(v), units: num(r, 'n') };
    }),
  };
}
