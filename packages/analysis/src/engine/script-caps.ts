// Outlier capping in the script (see script-events.ts): the thresholds step, and the capped
// outcome with its join to the thresholds (by metric number), for the cells, the naive view and
// the series.
import { type Dialect } from './dialect.js';
import { quoteLiteral } from './sql.js';
import { numberLiteral, TABLES, type ScriptSpec, type Step } from './script-types.js';

/** `y` capped at its metric's thresholds (the join to the thresholds table is aliased `t`). */
export function capped(spec: ScriptSpec, y: string): string {
  return spec.caps.length === 0 ? y : `CASE WHEN t.metric IS NULL THEN ${y} ELSE LEAST(GREATEST(${y}, COALESCE(t.lo, ${y})), t.hi) END`;
}

/** The join to the thresholds on the metric number `m` (nothing without caps). */
export function thresholdJoin(spec: ScriptSpec, m: string): string {
  return spec.caps.length === 0 ? '' : `LEFT JOIN ${TABLES.thr} t ON t.m = ${m}`;
}

/** The outlier thresholds (quantiles of y over every unit of the experiment) and the "caps" result. */
export function capSteps(dialect: Dialect, spec: ScriptSpec): Step[] {
  const metrics = [...new Set(spec.caps.map((c) => c.metric))];
  const quantiles = spec.caps
    .map(
      (c) => `SELECT ${quoteLiteral(c.metric)} AS metric, CAST(${numberLiteral(c.quantile)} AS ${dialect.double}) AS q_hi, CAST(${c.lowerQuantile === undefined ? 'NULL' : numberLiteral(c.lowerQuantile)} AS ${dialect.double}) AS q_lo,
       percentile_cont(${numberLiteral(c.quantile)}) WITHIN GROUP (ORDER BY y) AS hi, ${c.lowerQuantile === undefined ? `CAST(NULL AS ${dialect.double})` : `percentile_cont(${numberLiteral(c.lowerQuantile)}) WITHIN GROUP (ORDER BY y)`} AS lo
FROM full_y WHERE metric = ${quoteLiteral(c.metric)}`,
    )
    .join('\nUNION ALL\n');
  return [
    {
      name: TABLES.thr,
      returnsRows: false,
      comment: 'outlier thresholds: quantiles of y over every unit of the experiment (0 without events); m is the metric number (NULL: no events of it)',
      sql: `CREATE TEMP TABLE ${TABLES.thr} AS
WITH full_y AS (SELECT c.metric, COALESCE(p.y, 0) AS y
                FROM (VALUES ${metrics.map((m) => `(${quoteLiteral(m)})`).join(', ')}) AS c(metric)
                LEFT JOIN ${TABLES.metrics} d ON d.metric = c.metric
                CROSS JOIN ${TABLES.units} u LEFT JOIN ${TABLES.pu} p ON p.uk = u.uid AND p.m = d.m),
q AS (${quantiles})
SELECT q.metric, d.m, q.q_hi, q.q_lo, q.hi, q.lo, count(*) FILTER (WHERE f.y > q.hi) AS above, count(*) FILTER (WHERE f.y < q.lo) AS below
FROM q JOIN full_y f ON f.metric = q.metric LEFT JOIN ${TABLES.metrics} d ON d.metric = q.metric GROUP BY q.metric, d.m, q.q_hi, q.q_lo, q.hi, q.lo`,
    },
    { name: 'caps', returnsRows: true, comment: 'the thresholds and the units they moved', sql: `SELECT metric, q_hi, q_lo, hi, lo, above, below FROM ${TABLES.thr}` },
  ];
}
