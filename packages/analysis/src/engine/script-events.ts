// The events half of the script (see script.ts): one pass over the events with the validation
// folded in, then the per-unit table, the outlier thresholds, the sufficient statistics per cell,
// the naive event-time sums of crossover units, and the cumulative series.
import { type Dialect } from './dialect.js';
import { quoteLiteral } from './sql.js';
import { numberLiteral, SOURCES, TABLES, type ScriptSpec, type Step } from './script-types.js';

/** A group of the events pass that is analysed: an experiment unit's valid events (k is its cell) of a non-blank metric. */
function validUe(alias = ''): string {
  const p = alias === '' ? '' : `${alias}.`;
  return `${p}k > 0 AND ${p}metric IS NOT NULL AND trim(${p}metric) <> ''`;
}
const VALID_UE = validUe();

/** `y` capped at its metric's thresholds (the join to the thresholds table is aliased `t`). */
function capped(spec: ScriptSpec, y: string): string {
  return spec.caps.length === 0 ? y : `CASE WHEN t.metric IS NULL THEN ${y} ELSE LEAST(GREATEST(${y}, COALESCE(t.lo, ${y})), t.hi) END`;
}

function thresholdJoin(spec: ScriptSpec, metric: string): string {
  return spec.caps.length === 0 ? '' : `LEFT JOIN ${TABLES.thr} t ON t.metric = ${metric}`;
}

export function eventsSteps(dialect: Dialect, spec: ScriptSpec): Step[] {
  const V = SOURCES.events;
  // The metrics asked for are picked after the pass: testing every row against the list measured
  // slower than grouping the other metrics along when most events are of the metrics asked for
  // (with many other metrics in the events, analyse a view that keeps only the wanted ones).
  const wantedIn = (column: string): string => (spec.metrics === null ? '' : spec.metrics.length === 0 ? ' AND FALSE' : ` AND ${column} IN (${spec.metrics.map((m) => quoteLiteral(m)).join(', ')})`);
  const analysed = `${VALID_UE}${wantedIn('metric')}`;
  const xts = spec.naive ? ', CASE WHEN ok AND xo AND ts >= first_ts THEN ts END AS xts' : '';
  const keys = `uk, metric, k${spec.naive ? ', xts' : ''}`;
  const crossoverCell = `k IN (SELECT cell FROM ${TABLES.cells} WHERE crossover)`;
  // With a series: the time of each unit's first conversion (a positive event after its first exposure).
  const convTs = spec.interval === null ? '' : ', min(ts) FILTER (WHERE post AND value > 0) AS conv_ts';
  const steps: Step[] = [
    {
      name: TABLES.ue,
      returnsRows: false,
      comment:
        "the one pass over the events: per unit and metric (per event time for crossover units) the sums after and before the first exposure. k is the unit's cell for its valid events; the other rows get no unit and k = -code, code's bits: 1 timestamp invalid, 2 value invalid, 4 unit id blank (0: a valid event of another unit)",
      sql: `CREATE TEMP TABLE ${TABLES.ue} AS
SELECT ${keys}, count(*) AS n_rows,
       sum(value) FILTER (WHERE post) AS y, sum(value) FILTER (WHERE pre) AS x,
       bool_or(value > 0) FILTER (WHERE post) AS cy, bool_or(value > 0) FILTER (WHERE pre) AS cx${convTs}
FROM (SELECT CASE WHEN ok THEN unit_id END AS uk, metric,
             CASE WHEN ok THEN cell
                  ELSE -(CASE WHEN tbad THEN 1 ELSE 0 END + CASE WHEN vbad THEN 2 ELSE 0 END + CASE WHEN cell IS NULL AND (unit_id IS NULL OR trim(unit_id) = '') THEN 4 ELSE 0 END) END AS k,
             ok AND ts >= first_ts AS post, ok AND ts < first_ts AS pre, value, ts${xts}
      FROM (SELECT e.unit_id, e.metric, e.ts, e.value, u.first_ts, u.cell, u.xo, tbad, vbad, u.cell IS NOT NULL AND NOT tbad AND NOT vbad AS ok
            FROM (SELECT unit_id, metric, ts, value, ts IS NULL AS tbad, (value IS NULL OR NOT ${dialect.isFinite('value')}) AS vbad FROM ${V}) e
            LEFT JOIN ${TABLES.units} u ON u.unit_id = e.unit_id) j) r
GROUP BY ${keys}`,
    },
    {
      name: 'event_counts',
      returnsRows: true,
      comment: 'event rows not analysed (invalid, of other units, of metrics not asked for): -k as in the pass (the broken row rules; 0 for none), whether the metric is blank',
      sql: `SELECT CASE WHEN k > 0 THEN 0 ELSE -k END AS code, (metric IS NULL OR trim(metric) = '') AS metric_empty, sum(n_rows) AS n
FROM ${TABLES.ue} WHERE NOT (${analysed}) GROUP BY 1, 2`,
    },
  ];
  if (spec.naive) {
    steps.push({
      name: TABLES.nv,
      returnsRows: false,
      comment: "for each event time of a crossover unit, the variant of the unit's latest exposure at or before it (ties: the smaller variant)",
      sql: `CREATE TEMP TABLE ${TABLES.nv} AS
SELECT uk, xts, variant
FROM (SELECT r.uk, r.xts, x.variant, row_number() OVER (PARTITION BY r.uk, r.xts ORDER BY x.ts DESC, ${dialect.bytes('x.variant')}) AS rn
      FROM (SELECT DISTINCT uk, xts FROM ${TABLES.ue} WHERE xts IS NOT NULL) r JOIN ${TABLES.xexp} x ON x.unit_id = r.uk AND x.ts <= r.xts) j
WHERE rn = 1`,
    });
  }
  const conv = (grouped: boolean): string => (spec.interval === null ? '' : grouped ? ', min(conv_ts) AS conv_ts' : ', conv_ts');
  const perUnit = (where: string, grouped: boolean): string =>
    grouped
      ? `SELECT uk, metric, k AS cell, sum(n_rows) AS n_rows, COALESCE(sum(y), 0) AS y, COALESCE(sum(x), 0) AS x, COALESCE(bool_or(cy), FALSE) AS cy, COALESCE(bool_or(cx), FALSE) AS cx${conv(true)} FROM ${TABLES.ue} WHERE ${where} GROUP BY uk, metric, k`
      : `SELECT uk, metric, k AS cell, n_rows, COALESCE(y, 0) AS y, COALESCE(x, 0) AS x, COALESCE(cy, FALSE) AS cy, COALESCE(cx, FALSE) AS cx${conv(false)} FROM ${TABLES.ue} WHERE ${where}`;
  steps.push({
    name: TABLES.pu,
    returnsRows: false,
    comment: 'one row per unit and metric with valid events: y (after the first exposure), x (before), converted after / before (a view: read once, or twice with caps)',
    sql: `CREATE TEMP VIEW ${TABLES.pu} AS
${perUnit(`${analysed} AND NOT ${crossoverCell}`, false)}\nUNION ALL\n${perUnit(`${analysed} AND ${crossoverCell}`, true)}`,
  });
  if (spec.caps.length > 0) {
    const metrics = [...new Set(spec.caps.map((c) => c.metric))];
    const quantiles = spec.caps
      .map(
        (c) => `SELECT ${quoteLiteral(c.metric)} AS metric, CAST(${numberLiteral(c.quantile)} AS ${dialect.double}) AS q_hi, CAST(${c.lowerQuantile === undefined ? 'NULL' : numberLiteral(c.lowerQuantile)} AS ${dialect.double}) AS q_lo,
       percentile_cont(${numberLiteral(c.quantile)}) WITHIN GROUP (ORDER BY y) AS hi, ${c.lowerQuantile === undefined ? `CAST(NULL AS ${dialect.double})` : `percentile_cont(${numberLiteral(c.lowerQuantile)}) WITHIN GROUP (ORDER BY y)`} AS lo
FROM full_y WHERE metric = ${quoteLiteral(c.metric)}`,
      )
      .join('\nUNION ALL\n');
    steps.push(
      {
        name: TABLES.thr,
        returnsRows: false,
        comment: 'outlier thresholds: quantiles of y over every unit of the experiment (0 without events)',
        sql: `CREATE TEMP TABLE ${TABLES.thr} AS
WITH full_y AS (SELECT m.metric, COALESCE(p.y, 0) AS y
                FROM (VALUES ${metrics.map((m) => `(${quoteLiteral(m)})`).join(', ')}) AS m(metric)
                CROSS JOIN ${TABLES.units} u LEFT JOIN ${TABLES.pu} p ON p.uk = u.unit_id AND p.metric = m.metric),
q AS (${quantiles})
SELECT q.metric, q.q_hi, q.q_lo, q.hi, q.lo, count(*) FILTER (WHERE f.y > q.hi) AS above, count(*) FILTER (WHERE f.y < q.lo) AS below
FROM q JOIN full_y f ON f.metric = q.metric GROUP BY q.metric, q.q_hi, q.q_lo, q.hi, q.lo`,
      },
      { name: 'caps', returnsRows: true, comment: 'the thresholds and the units they moved', sql: `SELECT metric, q_hi, q_lo, hi, lo, above, below FROM ${TABLES.thr}` },
    );
  }
  const y = capped(spec, 'p.y');
  steps.push({
    name: 'cells',
    returnsRows: true,
    comment: 'per metric and cell: event rows, units with events (k) and the sufficient statistics Σy, Σy², Σx, Σx², Σxy, conversions after / before / both',
    sql: `SELECT g.metric, c.stratum, c.arm, c.crossover, g.n_rows, g.k, g.sy, g.syy, g.sx, g.sxx, g.sxy, g.cy, g.cx, g.cxy
FROM (SELECT metric, cell, sum(n_rows) AS n_rows, count(*) AS k, sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy, sum(cy) AS cy, sum(cx) AS cx, sum(cx * cy) AS cxy
      FROM (SELECT p.metric, p.cell, p.n_rows, ${y} AS y, p.x, CASE WHEN p.cy THEN 1 ELSE 0 END AS cy, CASE WHEN p.cx THEN 1 ELSE 0 END AS cx
            FROM ${TABLES.pu} p ${thresholdJoin(spec, 'p.metric')}) v
      GROUP BY metric, cell) g
JOIN ${TABLES.cells} c ON c.cell = g.cell`,
  });
  if (spec.naive) {
    steps.push({
      name: 'naive',
      returnsRows: true,
      comment: "naive event-time sums of crossover units: per metric and variant, over (unit, variant) pairs with events attributed to the variant of the unit's latest exposure",
      sql: `SELECT metric, variant, count(*) AS k, sum(y) AS sy, sum(y * y) AS syy, sum(cy) AS cy
FROM (SELECT p.metric, p.variant, ${y} AS y, p.cy
      FROM (SELECT e.uk, e.metric, n.variant, sum(e.y) AS y, max(CASE WHEN e.cy THEN 1 ELSE 0 END) AS cy
            FROM ${TABLES.ue} e JOIN ${TABLES.nv} n ON n.uk = e.uk AND n.xts = e.xts
            WHERE ${validUe('e')}${wantedIn('e.metric')}
            GROUP BY e.uk, e.metric, n.variant) p ${thresholdJoin(spec, 'p.metric')}) v
GROUP BY metric, variant`,
    });
  }
  if (spec.interval !== null) steps.push(seriesStep(dialect, spec, wantedIn('e.metric')));
  return steps;
}

/**
 * The cumulative series, as a second pass over the events (only when asked: splitting the main
 * pass per bucket would cost more). Per metric, cell and bucket, the change in Σy, Σy² and
 * conversions when the bucket's events are added: per unit, y after bucket b is the running sum of
 * its valid post-exposure events up to b, and Σ over buckets of cap(y_b) − cap(y_{b−1}) (and of the
 * squares) telescopes to the final sums. New units per bucket come from the "units" result.
 */
function seriesStep(dialect: Dialect, spec: ScriptSpec, wanted: string): Step {
  const cum = capped(spec, 'l.cum');
  const prev = capped(spec, '(l.cum - l.inc)');
  const squares = spec.caps.length === 0 ? 'l.inc * (2 * l.cum - l.inc)' : `${cum} * ${cum} - ${prev} * ${prev}`;
  const interval = spec.interval ?? 'day';
  const bucket = `date_trunc('${interval}', e.ts)`;
  return {
    name: 'series',
    returnsRows: true,
    comment: `the cumulative series: per metric, cell and ${interval} the increments of Σy, Σy² and conversions`,
    sql: `WITH d AS (SELECT e.unit_id AS uk, e.metric, u.cell, ${bucket} AS bucket, sum(e.value) AS inc
           FROM ${SOURCES.events} e JOIN ${TABLES.units} u ON u.unit_id = e.unit_id
           WHERE e.ts >= u.first_ts AND e.value IS NOT NULL AND ${dialect.isFinite('e.value')} AND e.metric IS NOT NULL AND trim(e.metric) <> ''${wanted}
           GROUP BY e.unit_id, e.metric, u.cell, ${bucket}),
l AS (SELECT metric, cell, bucket, inc, sum(inc) OVER (PARTITION BY uk, metric ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM d),
z AS (SELECT l.metric, l.cell, l.bucket, ${cum} - ${prev} AS dy, ${squares} AS dyy, 0 AS dconv FROM l ${thresholdJoin(spec, 'l.metric')}
      UNION ALL
      SELECT metric, cell, date_trunc('${interval}', conv_ts) AS bucket, 0 AS dy, 0 AS dyy, 1 AS dconv FROM ${TABLES.pu} WHERE conv_ts IS NOT NULL)
SELECT g.metric, c.stratum, c.arm, g.bucket, g.dy, g.dyy, g.dconv
FROM (SELECT metric, cell, ${dialect.epochMs('bucket')} AS bucket, sum(dy) AS dy, sum(dyy) AS dyy, sum(dconv) AS dconv FROM z GROUP BY metric, cell, bucket) g
JOIN ${TABLES.cells} c ON c.cell = g.cell`,
  };
}
