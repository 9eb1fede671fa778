/**
 * Metric events in the SQLite store (sqlite.ts): appended in one write transaction per batch
 * (a program for the store's writer, sqlite-writer.ts), read back in seq (rowid) order with keyset pagination, summarised per metric name.
 */
import { byMetricName, firstOfEachId } from './records.js';
import type { Prepare } from './sqlite-sql.js';
import type { WriteStep } from './sqlite-writer.js';
import type { MetricEventInput, MetricFilter, MetricSummary, StoredMetricEvent } from './types.js';

const COLUMNS = 'seq, unit_type AS unitType, unit, metric, value, at, event_id AS id, received_at AS receivedAt';

const METRIC_SQL = {
  // The partial unique index on event_id makes a stored id a no-op (0 changes); events without an id never conflict.
  insert: `INSERT INTO metric_events (unit_type, unit, metric, value, at, event_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING`,
  page: `SELECT ${COLUMNS} FROM metric_events WHERE seq > ? ORDER BY seq LIMIT ?`,
  unitTypePage: `SELECT ${COLUMNS} FROM metric_events WHERE unit_type = ? AND seq > ? ORDER BY seq LIMIT ?`,
  summary: 'SELECT metric, count(*) AS events, min(at) AS firstAt, max(at) AS lastAt FROM metric_events GROUP BY metric',
  unitTypeSummary: 'SELECT metric, count(*) AS events, min(at) AS firstAt, max(at) AS lastAt FROM metric_events WHERE unit_type = ? GROUP BY metric',
} as const;

/** The write program of appendMetricEvents (sqlite-writer.ts): one insert per event not already stored by id. */
export function metricEventSteps(events: readonly MetricEventInput[]): WriteStep[] {
  return firstOfEachId(events).map((e) => ({ kind: 'run', statement: 'insertMetricEvent', params: [e.unitType, e.unit, e.metric, e.value, e.at, e.id, e.receivedAt] }));
}

/** The insert statement the writer runs as 'insertMetricEvent'. */
export const INSERT_METRIC_EVENT = METRIC_SQL.insert;

/** One page of events with seq > `after`, in seq order. */
export function metricEventPage(stmt: Prepare, filter: MetricFilter, after: number, limit: number): StoredMetricEvent[] {
  const { unitType } = filter;
  return unitType === undefined
    ? stmt<[number, number], StoredMetricEvent>(METRIC_SQL.page).all(after, limit)
    : stmt<[string, number, number], StoredMetricEvent>(METRIC_SQL.unitTypePage).all(unitType, after, limit);
}

export function metricSummary(stmt: Prepare, filter: MetricFilter): MetricSummary[] {
  const { unitType } = filter;
  const rows = unitType === undefined ? stmt<[], MetricSummary>(METRIC_SQL.summary).all() : stmt<[string], MetricSummary>(METRIC_SQL.unitTypeSummary).all(unitType);
  return byMetricName(rows);
}
