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
// - in the same pass over the events, the naive event-time sums of crossover units (each event to
//   the variant of the unit's latest exposure at or before it), and optional per-metric capping of
//   y at quantiles of y over all units (quantile_cont) before any sum is taken.
import { type DuckDBConnection } from '@duckdb/node-api';
import { execute, num, queryRows, quoteLiteral, str, strOrNull } from './sql.js';

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

/** Outlier capping of one metric's per-unit outcome y, thresholds from percentile_cont over all units. */
export interface CapSpec {
  readonly metric: string;
  /** Upper quantile, e.g. 0.99: y above it becomes it. */
  readonly quantile: number;
  /** Optional lower quantile: y below it becomes it. */
  readonly lowerQuantile?: number;
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

export interface NaiveCell {
  readonly metric: string;
  readonly variant: string;
  readonly sum: number;
  readonly sumSquares: number;
  readonly conversions: number;
}

export interface CellResult {
  readonly cells: CellStats[];
  /** Naive event-time sums over crossover units' (unit, variant) pairs only (null when not asked). */
  readonly naiveCrossoverCells: NaiveCell[] | null;
  readonly caps: CapApplied[];
}

/**
 * One pass over the events: per metric × stratum × arm × crossover the first-exposure sums and,
 * when `naiveVariants` is given, the naive event-time sums of crossover units per variant (see
 * naiveCells). Each event is joined to its unit's first exposure (`units`) and, for crossover
 * units only, to the list of that unit's exposures, from which the latest exposure at or before
 * the event is looked up (the same attribution as an ASOF join, without sorting the events). Per
 * unit and metric, conditional sums then give y, x and the per-variant naive sums at once. A unit
 * that never crossed over has a single variant, so its naive observation is its first-exposure y,
 * which the crossover = false cells already hold. Cells without any event are absent (all zeros).
 */
export async function cellStatistics(connection: DuckDBConnection, metrics: readonly string[], naiveVariants: readonly string[] | null, caps: readonly CapSpec[] = []): Promise<CellResult> {
  const naive = naiveVariants !== null;
  if (metrics.length === 0) return { cells: [], naiveCrossoverCells: naive ? [] : null, caps: [] };
  await execute(connection, 'CREATE OR REPLACE TEMP TABLE wanted_metrics (metric VARCHAR)');
  for (const metric of metrics) await execute(connection, 'INSERT INTO wanted_metrics VALUES ($m)', { m: metric });
  const vs = naiveVariants ?? [];
  const capped = caps.length > 0;
  // Thresholds over every unit of the experiment (units without events have y = 0).
  const thresholds = capped
    ? `, full_y AS (
         SELECT c.metric, COALESCE(p.y, 0) AS y
         FROM (SELECT DISTINCT metric FROM (VALUES ${caps.map((c) => `(${quoteLiteral(c.metric)})`).join(', ')}) v(metric)) c
         CROSS JOIN units u LEFT JOIN per_unit p ON p.unit_id = u.unit_id AND p.metric = c.metric),
       thr0 AS (${caps
         .map((c) => `SELECT ${quoteLiteral(c.metric)} AS metric, CAST(${c.quantile} AS DOUBLE) AS q_hi, CAST(${c.lowerQuantile ?? 'NULL'} AS DOUBLE) AS q_lo,
                 quantile_cont(y, ${c.quantile}) AS hi, ${c.lowerQuantile === undefined ? 'CAST(NULL AS DOUBLE)' : `quantile_cont(y, ${c.lowerQuantile})`} AS lo
                 FROM full_y WHERE metric = ${quoteLiteral(c.metric)}`)
         .join(' UNION ALL ')}),
       thr AS (
         SELECT t.metric, t.q_hi, t.q_lo, t.hi, t.lo, count(*) FILTER (WHERE f.y > t.hi) AS above, count(*) FILTER (WHERE f.y < t.lo) AS below
         FROM thr0 t JOIN full_y f ON f.metric = t.metric GROUP BY ALL)`
    : '';
  const capY = (y: string): string => (capped ? `CASE WHEN t.metric IS NULL OR ${y} IS NULL THEN ${y} ELSE LEAST(GREATEST(${y}, COALESCE(t.lo, ${y})), t.hi) END` : y);
  const naivePerUnit = vs
    .map((_, i) => `, sum(e.value) FILTER (WHERE e.nv = ${i + 1}) AS ny${i}, bool_or(e.value > 0) FILTER (WHERE e.nv = ${i + 1})::INTEGER AS ncy${i}`)
    .join('');
  const naiveCells = vs.map((_, i) => `, sum(${capY(`p.ny${i}`)}) AS nsy${i}, sum((${capY(`p.ny${i}`)}) * (${capY(`p.ny${i}`)})) AS nsyy${i}, sum(p.ncy${i}) AS ncy${i}`).join('');
  const nullCols = vs.map((_, i) => `, NULL AS nsy${i}, NULL AS nsyy${i}, NULL AS ncy${i}`).join('');
  const sql = `
    WITH ${naive ? `xl AS (
      SELECT unit_id, list(ts ORDER BY ts) AS tss, list(list_position([${vs.map((v) => quoteLiteral(v)).join(', ')}], variant) ORDER BY ts) AS vs
      FROM (SELECT unit_id, ts, min(variant) AS variant FROM exp SEMI JOIN (SELECT unit_id FROM units WHERE crossover) c ON exp.unit_id = c.unit_id GROUP BY unit_id, ts)
      GROUP BY unit_id),
    uu AS (SELECT u.*, xl.tss, xl.vs FROM units u LEFT JOIN xl ON u.unit_id = xl.unit_id),` : ''}
    ev AS (
      SELECT e.unit_id, e.metric, e.ts, e.value, u.first_ts, u.stratum, u.arm, u.crossover
             ${naive ? ', CASE WHEN u.crossover AND e.ts >= u.first_ts THEN u.vs[len(list_filter(u.tss, t -> t <= e.ts))] END AS nv' : ''}
      FROM events e
      JOIN ${naive ? 'uu' : 'units'} u ON e.unit_id = u.unit_id
      SEMI JOIN wanted_metrics w ON e.metric = w.metric),
    per_unit AS (
      SELECT e.unit_id, e.metric, e.stratum, e.arm, e.crossover,
             COALESCE(sum(e.value) FILTER (WHERE e.ts >= e.first_ts), 0) AS y,
             COALESCE(sum(e.value) FILTER (WHERE e.ts < e.first_ts), 0) AS x,
             COALESCE(bool_or(e.value > 0) FILTER (WHERE e.ts >= e.first_ts), false)::INTEGER AS cy,
             COALESCE(bool_or(e.value > 0) FILTER (WHERE e.ts < e.first_ts), false)::INTEGER AS cx
             ${naivePerUnit}
      FROM ev e GROUP BY e.unit_id, e.metric, e.stratum, e.arm, e.crossover)${thresholds}
    SELECT 'cell' AS kind, p.metric, p.stratum, p.arm, p.crossover,
           sum(${capY('p.y')}) AS sy, sum((${capY('p.y')}) * (${capY('p.y')})) AS syy, sum(p.x) AS sx, sum(p.x * p.x) AS sxx, sum(p.x * (${capY('p.y')})) AS sxy,
           sum(p.cy) AS cy, sum(p.cx) AS cx, sum(p.cx * p.cy) AS cxy ${naiveCells}
    FROM per_unit p ${capped ? 'LEFT JOIN thr t ON t.metric = p.metric' : ''} GROUP BY ALL
    ${capped ? `UNION ALL SELECT 'cap' AS kind, metric, NULL, NULL, NULL, hi, lo, q_hi, q_lo, above, below, 0, 0 ${nullCols} FROM thr` : ''}
    ORDER BY ALL`;
  const rows = await queryRows(connection, sql);
  const cells: CellStats[] = [];
  const crossoverCells = new Map<string, NaiveCell>();
  const applied: CapApplied[] = [];
  for (const r of rows) {
    if (str(r, 'kind') === 'cap') {
      const lo = strOrNull(r, 'syy');
      const qLo = strOrNull(r, 'sxx');
      applied.push({ metric: str(r, 'metric'), upper: num(r, 'sy'), lower: lo === null ? null : Number(lo), quantile: num(r, 'sx'), lowerQuantile: qLo === null ? null : Number(qLo), cappedAbove: num(r, 'sxy'), cappedBelow: num(r, 'cy') });
      continue;
    }
    const cell: CellStats = {
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
    };
    cells.push(cell);
    if (!cell.crossover) continue;
    vs.forEach((variant, i) => {
      const key = `${cell.metric}\u0000${variant}`;
      const prev = crossoverCells.get(key) ?? { metric: cell.metric, variant, sum: 0, sumSquares: 0, conversions: 0 };
      crossoverCells.set(key, { metric: cell.metric, variant, sum: prev.sum + num(r, `nsy${i}`), sumSquares: prev.sumSquares + num(r, `nsyy${i}`), conversions: prev.conversions + num(r, `ncy${i}`) });
    });
  }
  return { cells, naiveCrossoverCells: naive ? [...crossoverCells.values()] : null, caps: applied };
}

/**
 * The naive event-time grouping: each event goes to the variant of the unit's latest exposure at
 * or before it (exposures at the same instant resolve to the smaller variant name);
 * events before the unit's first exposure are not attributed. The observation is the
 * (unit, variant) pair: n per variant = units ever exposed to it (a crossover unit counts in
 * both), y = the sum of its events attributed to that variant. The sums are the crossover = false
 * first-exposure cells plus the crossover pairs from cellStatistics; only the pair counts need a
 * query (over the exposures).
 */
export async function naiveCells(connection: DuckDBConnection, cells: readonly CellStats[], crossoverCells: readonly NaiveCell[]): Promise<{ pairs: Map<string, number>; cells: NaiveCell[] }> {
  const pairRows = await queryRows(connection, 'SELECT variant, count(DISTINCT unit_id) AS n FROM exp GROUP BY variant');
  const merged = new Map<string, { metric: string; variant: string; sum: number; sumSquares: number; conversions: number }>();
  const add = (metric: string, variant: string, sum: number, sumSquares: number, conversions: number): void => {
    const key = `${metric}\u0000${variant}`;
    const m = merged.get(key) ?? { metric, variant, sum: 0, sumSquares: 0, conversions: 0 };
    m.sum += sum;
    m.sumSquares += sumSquares;
    m.conversions += conversions;
    merged.set(key, m);
  };
  for (const c of cells) if (!c.crossover) add(c.metric, c.arm, c.sum, c.sumSquares, c.conversions);
  for (const c of crossoverCells) add(c.metric, c.variant, c.sum, c.sumSquares, c.conversions);
  return { pairs: new Map(pairRows.map((r) => [str(r, 'variant'), num(r, 'n')])), cells: [...merged.values()] };
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
