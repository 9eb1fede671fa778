// The cumulative series step of the script (see script-events.ts), only when asked for.
import { type Dialect } from './dialect.js';
import { capped, thresholdJoin } from './script-caps.js';
import { SOURCES, TABLES, type ScriptSpec, type Step } from './script-types.js';

/**
 * The cumulative series, as a second pass over the events (only when asked: splitting the main
 * pass per bucket would cost more). Per metric, cell and bucket, the change in Σy, Σy² and
 * conversions when the bucket's events are added: per unit, y after bucket b is the running sum of
 * its valid post-exposure events up to b, and Σ over buckets of cap(y_b) − cap(y_{b−1}) (and of the
 * squares) telescopes to the final sums. New units per bucket come from the "units" result. Like
 * the main pass, it groups on integers (uid, metric number, cell) and the bucket.
 */
export function seriesStep(dialect: Dialect, spec: ScriptSpec): Step {
  const cum = capped(spec, 'l.cum');
  const prev = capped(spec, '(l.cum - l.inc)');
  const squares = spec.caps.length === 0 ? 'l.inc * (2 * l.cum - l.inc)' : `${cum} * ${cum} - ${prev} * ${prev}`;
  const interval = spec.interval ?? 'day';
  const bucket = `date_trunc('${interval}', e.ts)`;
  return {
    name: 'series',
    returnsRows: true,
    comment: `the cumulative series: per metric, cell and ${interval} the increments of Σy, Σy² and conversions`,
    sql: `WITH d AS (SELECT u.uid AS uk, w.m, u.cell, ${bucket} AS bucket, sum(e.value) AS inc
           FROM ${SOURCES.events} e JOIN ${TABLES.units} u ON u.unit_id = e.unit_id JOIN ${TABLES.metrics} w ON w.metric = e.metric
           WHERE e.ts >= u.first_ts AND e.value IS NOT NULL AND ${dialect.isFinite('e.value')}
           GROUP BY u.uid, w.m, u.cell, ${bucket}),
l AS (SELECT m, cell, bucket, inc, sum(inc) OVER (PARTITION BY uk, m ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM d),
z AS (SELECT l.m, l.cell, l.bucket, ${cum} - ${prev} AS dy, ${squares} AS dyy, 0 AS dconv FROM l ${thresholdJoin(spec, 'l.m')}
      UNION ALL
      SELECT m, cell, date_trunc('${interval}', conv_ts) AS bucket, 0 AS dy, 0 AS dyy, 1 AS dconv FROM ${TABLES.pu} WHERE conv_ts IS NOT NULL)
SELECT w.metric, c.stratum, c.arm, g.bucket, g.dy, g.dyy, g.dconv
FROM (SELECT m, cell, ${dialect.epochMs('bucket')} AS bucket, sum(dy) AS dy, sum(dyy) AS dyy, sum(dconv) AS dconv FROM z GROUP BY m, cell, bucket) g
JOIN ${TABLES.cells} c ON c.cell = g.cell
JOIN ${TABLES.metrics} w ON w.m = g.m`,
  };
}
