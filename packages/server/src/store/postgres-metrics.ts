/**
 * Metric events in the PostgreSQL store (postgres.ts): each batch is one INSERT ... SELECT FROM
 * unnest() (one statement, so one atomic transaction and one round trip), read back in seq order
 * with keyset pagination, summarised per metric name.
 *
 * Batches are not sorted by key (the append order is the point), so two concurrent batches that
 * carry the same client ids in different orders can deadlock on the unique index; PostgreSQL then
 * rolls one back as a whole and the store's query() retries it (its ids are then found stored).
 */
import type { QueryResultRow } from 'pg';
import { toSafeInteger } from './postgres-rows.js';
import { byMetricName, firstOfEachId } from './records.js';
import type { MetricAppendResult, MetricEventInput, MetricFilter, MetricSummary, StoredMetricEvent } from './types.js';

/** The store's retrying single-statement query (PostgresStore.query). */
export type Query = <R extends QueryResultRow>(op: string, sql: string, params: readonly unknown[]) => Promise<R[]>;

const COLUMNS = 'seq, unit_type, unit, metric, value, at, event_id, received_at';

export function metricStatements(s: string) {
  return {
    insert: `INSERT INTO ${s}.metric_events (unit_type, unit, metric, value, at, event_id, received_at)
      SELECT unit_type, unit, metric, value, at, event_id, received_at
      FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[], $5::bigint[], $6::text[], $7::bigint[])
        WITH ORDINALITY AS t(unit_type, unit, metric, value, at, event_id, received_at, ord)
      ORDER BY ord
      ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING
      RETURNING seq`,
    page: `SELECT ${COLUMNS} FROM ${s}.metric_events WHERE seq > $2 ORDER BY seq LIMIT $1`,
    unitTypePage: `SELECT ${COLUMNS} FROM ${s}.metric_events WHERE unit_type = $3 AND seq > $2 ORDER BY seq LIMIT $1`,
    summary: `SELECT metric, count(*) AS events, min(at) AS first_at, max(at) AS last_at FROM ${s}.metric_events GROUP BY metric`,
    unitTypeSummary: `SELECT metric, count(*) AS events, min(at) AS first_at, max(at) AS last_at FROM ${s}.metric_events WHERE unit_type = $1 GROUP BY metric`,
  } as const;
}

export type MetricStatements = ReturnType<typeof metricStatements>;

interface MetricEventRow {
  readonly seq: string;
  readonly unit_type: string;
  readonly unit: string;
  readonly metric: string;
  readonly value: number;
  readonly at: string;
  readonly event_id: string | null;
  readonly received_at: string;
}

function fromRow(r: MetricEventRow): StoredMetricEvent {
  return {
    seq: toSafeInteger(r.seq, 'seq'),
    unitType: r.unit_type,
    unit: r.unit,
    metric: r.metric,
    value: r.value,
    at: toSafeInteger(r.at, 'at'),
    id: r.event_id,
    receivedAt: toSafeInteger(r.received_at, 'received_at'),
  };
}

export async function appendMetricEvents(query: Query, sql: MetricStatements, events: readonly MetricEventInput[]): Promise<MetricAppendResult> {
  const rows = firstOfEachId(events);
  if (rows.length === 0) return { stored: 0, duplicates: events.length };
  const inserted = await query<{ seq: string }>('appendMetricEvents', sql.insert, [
    rows.map((e) => e.unitType),
    rows.map((e) => e.unit),
    rows.map((e) => e.metric),
    rows.map((e) => e.value),
    rows.map((e) => e.at),
    rows.map((e) => e.id),
    rows.map((e) => e.receivedAt),
  ]);
  return { stored: inserted.length, duplicates: events.length - inserted.length };
}

/** Keyset pagination on seq: one short query per page, no connection held between pages. */
export async function* metricEvents(query: Query, sql: MetricStatements, filter: MetricFilter, limit: number): AsyncGenerator<StoredMetricEvent> {
  let after = 0;
  for (;;) {
    const page =
      filter.unitType === undefined
        ? await query<MetricEventRow>('exportMetricEvents', sql.page, [limit, after])
        : await query<MetricEventRow>('exportMetricEvents', sql.unitTypePage, [limit, after, filter.unitType]);
    for (const row of page) yield fromRow(row);
    const last = page.at(-1);
    if (last === undefined || page.length < limit) return;
    after = toSafeInteger(last.seq, 'seq');
  }
}

export async function metricSummary(query: Query, sql: MetricStatements, filter: MetricFilter): Promise<MetricSummary[]> {
  const rows =
    filter.unitType === undefined
      ? await query<{ metric: string; events: string; first_at: string; last_at: string }>('metricSummary', sql.summary, [])
      : await query<{ metric: string; events: string; first_at: string; last_at: string }>('metricSummary', sql.unitTypeSummary, [filter.unitType]);
  return byMetricName(rows.map((r) => ({ metric: r.metric, events: toSafeInteger(r.events, 'count'), firstAt: toSafeInteger(r.first_at, 'min(at)'), lastAt: toSafeInteger(r.last_at, 'max(at)') })));
}
