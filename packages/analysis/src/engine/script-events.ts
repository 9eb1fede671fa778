// The events half of the script (see script.ts): the metric dictionary, one pass over the events
// with the validation folded in, then the per-unit table, the outlier thresholds, the sufficient
// statistics per cell, the naive event-time sums of crossover units, and the cumulative series
// (script-series.ts).
//
// The pass groups on integers only: the unit's uid (sortition_units), the metric's number m in the
// dictionary and the cell k (plus, for crossover units, the event time). A text key makes every
// group row variable-sized, which measured about 1.5× the CPU of this pass at 50M events (and more
// wall time under a memory limit); the names come back from the small dictionary at the end.
import { type Dialect } from './dialect.js';
import { blank } from './rules.js';
import { capped, capSteps, thresholdJoin } from './script-caps.js';
import { seriesStep } from './script-series.js';
import { quoteLiteral } from './sql.js';
import { SOURCES, TABLES, type ScriptSpec, type Step } from './script-types.js';

/** The metric dictionary: the metrics analysed, numbered 1.. (asked for, or every non-blank metric in the events). */
function metricsStep(spec: ScriptSpec): Step {
  const body =
    spec.metrics === null
      ? `SELECT metric, CAST(row_number() OVER () AS INTEGER) AS m FROM (SELECT DISTINCT metric FROM ${SOURCES.events} WHERE NOT ${blank('metric')}) d`
      : spec.metrics.length === 0
        ? 'SELECT CAST(NULL AS VARCHAR) AS metric, CAST(NULL AS INTEGER) AS m WHERE 1 = 0'
        : `SELECT CAST(metric AS VARCHAR) AS metric, CAST(m AS INTEGER) AS m FROM (VALUES ${spec.metrics.map((name, i) => `(${quoteLiteral(name)}, ${i + 1})`).join(', ')}) AS d(metric, m)`;
  return {
    name: TABLES.metrics,
    returnsRows: false,
    comment: spec.metrics === null ? 'the metrics analysed: every non-blank metric of the events, numbered' : 'the metrics analysed, numbered',
    sql: `CREATE TEMP TABLE ${TABLES.metrics} AS\n${body}`,
  };
}

/**
 * The conversion flags of the pass, one bit_or of a SMALLINT per group instead of two bool_or
 * (post, pre): one aggregate state less per group row.
 */
const FLAG = { post: 1, pre: 2 } as const;

export function eventsSteps(dialect: Dialect, spec: ScriptSpec): Step[] {
  const V = SOURCES.events;
  const xts = spec.naive ? ', CASE WHEN a AND xo AND ts >= first_ts THEN ts END AS xts' : '';
  const keys = `uk, m, k${spec.naive ? ', xts' : ''}`;
  const crossoverCell = `k IN (SELECT cell FROM ${TABLES.cells} WHERE crossover)`;
  // With a series: the time of each unit's first conversion (a positive event after its first exposure).
  const convTs = spec.interval === null ? '' : ', min(ts) FILTER (WHERE post AND value > 0) AS conv_ts';
  const steps: Step[] = [
    metricsStep(spec),
    {
      name: TABLES.ue,
      returnsRows: false,
      comment:
        "the one pass over the events: per unit (uid) and metric (m; 0: not analysed, -1: blank) (per event time for crossover units) the sums after and before the first exposure, and f, the conversion flags (bit 1: a positive event after, bit 2: before). uk and k (the unit's cell) are set for the analysed events only; the other rows get no unit and k = -code, code's bits: 1 timestamp invalid, 2 value invalid, 4 unit id blank (0: a valid event of another unit or of a metric not analysed)",
      sql: `CREATE TEMP TABLE ${TABLES.ue} AS
SELECT ${keys}, count(*) AS n_rows,
       sum(value) FILTER (WHERE post) AS y, sum(value) FILTER (WHERE pre) AS x, bit_or(f) AS f${convTs}
FROM (SELECT CASE WHEN a THEN uid END AS uk, m,
             CASE WHEN a THEN cell WHEN ok THEN 0
                  ELSE -(CASE WHEN tbad THEN 1 ELSE 0 END + CASE WHEN vbad THEN 2 ELSE 0 END + CASE WHEN cell IS NULL AND ${blank('unit_id')} THEN 4 ELSE 0 END) END AS k,
             a AND ts >= first_ts AS post, a AND ts < first_ts AS pre, value, ts,
             CAST(CASE WHEN a AND value > 0 THEN CASE WHEN ts >= first_ts THEN ${FLAG.post} ELSE ${FLAG.pre} END ELSE 0 END AS SMALLINT) AS f${xts}
      FROM (SELECT j.*, ok AND m > 0 AS a
            FROM (SELECT e.unit_id, e.ts, e.value, u.uid, u.first_ts, u.cell, u.xo, tbad, vbad, u.cell IS NOT NULL AND NOT tbad AND NOT vbad AS ok,
                         COALESCE(d.m, CASE WHEN ${blank('e.metric')} THEN -1 ELSE 0 END) AS m
                  FROM (SELECT unit_id, metric, ts, value, ts IS NULL AS tbad, (value IS NULL OR NOT ${dialect.isFinite('value')}) AS vbad FROM ${V}) e
                  LEFT JOIN ${TABLES.units} u ON u.unit_id = e.unit_id
                  LEFT JOIN ${TABLES.metrics} d ON d.metric = e.metric) j) r0) r
GROUP BY ${keys}`,
    },
    {
      name: 'event_counts',
      returnsRows: true,
      comment: 'event rows not analysed (invalid, of other units, of metrics not asked for): -k as in the pass (the broken row rules; 0 for none), whether the metric is blank',
      sql: `SELECT -k AS code, m = -1 AS metric_empty, sum(n_rows) AS n FROM ${TABLES.ue} WHERE uk IS NULL GROUP BY 1, 2`,
    },
  ];
  if (spec.naive) {
    steps.push({
      name: TABLES.nv,
      returnsRows: false,
      comment: "for each event time of a crossover unit, the variant of the unit's latest exposure at or before it (ties: the smaller variant)",
      sql: dialect.asofJoin
        ? `CREATE TEMP TABLE ${TABLES.nv} AS
SELECT r.uk, r.xts, x.variant
FROM (SELECT DISTINCT uk, xts FROM ${TABLES.ue} WHERE xts IS NOT NULL) r
ASOF JOIN (SELECT uid, ts, min(${dialect.bytes('variant')}) AS variant FROM ${TABLES.xexp} GROUP BY uid, ts) x ON x.uid = r.uk AND x.ts <= r.xts`
        : `CREATE TEMP TABLE ${TABLES.nv} AS
SELECT uk, xts, variant
FROM (SELECT r.uk, r.xts, x.variant, row_number() OVER (PARTITION BY r.uk, r.xts ORDER BY x.ts DESC, ${dialect.bytes('x.variant')}) AS rn
      FROM (SELECT DISTINCT uk, xts FROM ${TABLES.ue} WHERE xts IS NOT NULL) r JOIN ${TABLES.xexp} x ON x.uid = r.uk AND x.ts <= r.xts) j
WHERE rn = 1`,
    });
  }
  const conv = (grouped: boolean): string => (spec.interval === null ? '' : grouped ? ', min(conv_ts) AS conv_ts' : ', conv_ts');
  const flags = (f: string): string => `(${f} & ${FLAG.post}) <> 0 AS cy, (${f} & ${FLAG.pre}) <> 0 AS cx`;
  const perUnit = (where: string, grouped: boolean): string =>
    grouped
      ? `SELECT uk, m, k AS cell, sum(n_rows) AS n_rows, COALESCE(sum(y), 0) AS y, COALESCE(sum(x), 0) AS x, ${flags('bit_or(f)')}${conv(true)} FROM ${TABLES.ue} WHERE ${where} GROUP BY uk, m, k`
      : `SELECT uk, m, k AS cell, n_rows, COALESCE(y, 0) AS y, COALESCE(x, 0) AS x, ${flags('f')}${conv(false)} FROM ${TABLES.ue} WHERE ${where}`;
  steps.push({
    name: TABLES.pu,
    returnsRows: false,
    comment: 'one row per unit and metric with valid events: y (after the first exposure), x (before), converted after / before (a view: read once, or twice with caps)',
    sql: `CREATE TEMP VIEW ${TABLES.pu} AS
${perUnit(`uk IS NOT NULL AND NOT ${crossoverCell}`, false)}\nUNION ALL\n${perUnit(`uk IS NOT NULL AND ${crossoverCell}`, true)}`,
  });
  if (spec.caps.length > 0) steps.push(...capSteps(dialect, spec));
  const y = capped(spec, 'p.y');
  steps.push({
    name: 'cells',
    returnsRows: true,
    comment: 'per metric and cell: event rows, units with events (k) and the sufficient statistics Σy, Σy², Σx, Σx², Σxy, conversions after / before / both',
    sql: `SELECT d.metric, c.stratum, c.arm, c.crossover, g.n_rows, g.k, g.sy, g.syy, g.sx, g.sxx, g.sxy, g.cy, g.cx, g.cxy
FROM (SELECT m, cell, sum(n_rows) AS n_rows, count(*) AS k, sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy, sum(cy) AS cy, sum(cx) AS cx, sum(cx * cy) AS cxy
      FROM (SELECT p.m, p.cell, p.n_rows, ${y} AS y, p.x, CASE WHEN p.cy THEN 1 ELSE 0 END AS cy, CASE WHEN p.cx THEN 1 ELSE 0 END AS cx
            FROM ${TABLES.pu} p ${thresholdJoin(spec, 'p.m')}) v
      GROUP BY m, cell) g
JOIN ${TABLES.cells} c ON c.cell = g.cell
JOIN ${TABLES.metrics} d ON d.m = g.m`,
  });
  if (spec.naive) {
    steps.push({
      name: 'naive',
      returnsRows: true,
      comment: "naive event-time sums of crossover units: per metric and variant, over (unit, variant) pairs with events attributed to the variant of the unit's latest exposure",
      sql: `SELECT d.metric, g.variant, g.k, g.sy, g.syy, g.cy
FROM (SELECT m, variant, count(*) AS k, sum(y) AS sy, sum(y * y) AS syy, sum(cy) AS cy
      FROM (SELECT p.m, p.variant, ${y} AS y, p.cy
            FROM (SELECT e.uk, e.m, n.variant, sum(e.y) AS y, max(e.f & ${FLAG.post}) AS cy
                  FROM ${TABLES.ue} e JOIN ${TABLES.nv} n ON n.uk = e.uk AND n.xts = e.xts
                  GROUP BY e.uk, e.m, n.variant) p ${thresholdJoin(spec, 'p.m')}) v
      GROUP BY m, variant) g
JOIN ${TABLES.metrics} d ON d.m = g.m`,
    });
  }
  if (spec.interval !== null) steps.push(seriesStep(dialect, spec));
  return steps;
}
