/** Streamed exports of stored assignments, exposures and metric events, as JSON Lines or CSV. */
import { Readable } from 'node:stream';
import { Type, type TSchema } from '@sinclair/typebox';
import type { StoredAssignment, StoredExposure, StoredMetricEvent } from '../../store/types.js';
import type { Route } from '../route.js';
import { ExportQuery } from '../schemas.js';

const CSV_COLUMNS = {
  assignments: ['unit_type', 'unit_id', 'experiment', 'lineage', 'phase', 'variant', 'slot', 'layer_epoch', 'config_version', 'assigned_at'],
  exposures: ['unit_type', 'unit_id', 'experiment', 'phase', 'variant', 'slot', 'config_version', 'timestamp', 'source', 'count', 'last_at'],
  // The analysis's metric-event columns (unit_id, timestamp, metric, value) and the unit type.
  metrics: ['unit_id', 'unit_type', 'timestamp', 'metric', 'value'],
} as const;

function csvCell(value: string | number): string {
  // Numbers are written as they are (a negative value is a number, not a formula).
  if (typeof value === 'number') return String(value);
  const s = value;
  return /[",\r\n]/.test(s) || /^[=+\-@\t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function assignmentRow(a: StoredAssignment): Record<string, string | number> {
  return { unit_type: a.unitType, unit_id: a.unit, experiment: a.experiment, lineage: a.lineage, phase: a.phase, variant: a.variant, slot: a.slot, layer_epoch: a.layerEpoch, config_version: a.configVersion, assigned_at: new Date(a.assignedAt).toISOString() };
}

function exposureRow(e: StoredExposure): Record<string, string | number> {
  return { unit_type: e.unitType, unit_id: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, config_version: e.configVersion, timestamp: new Date(e.at).toISOString(), source: e.source, count: e.count, last_at: new Date(e.lastAt).toISOString() };
}

/** One metric event as the analysis reads it: `timestamp` in RFC 3339 UTC with milliseconds. */
export function metricEventRow(e: StoredMetricEvent): { unit_id: string; unit_type: string; timestamp: string; metric: string; value: number } {
  return { unit_id: e.unit, unit_type: e.unitType, timestamp: new Date(e.at).toISOString(), metric: e.metric, value: e.value };
}

async function* lines<T>(rows: AsyncIterable<T>, toRow: (row: T) => Record<string, string | number>, format: 'jsonl' | 'csv', columns: readonly string[]): AsyncIterable<string> {
  if (format === 'csv') yield `${columns.join(',')}\n`;
  for await (const row of rows) {
    const r = toRow(row);
    yield format === 'csv' ? `${columns.map((c) => csvCell(r[c] ?? '')).join(',')}\n` : `${JSON.stringify(r)}\n`;
  }
}

export function exportRoute(kind: 'assignments' | 'exposures'): Route {
  return {
    method: 'GET',
    url: `/v1/export/${kind}`,
    summary: `Stream every stored ${kind === 'assignments' ? 'first assignment' : 'exposure'} as JSON Lines (default) or CSV`,
    tag: 'export',
    permission: 'export',
    schema: { querystring: ExportQuery },
    handler: async (ctx, request, reply) => {
      const q = request.query as { experiment?: string; format?: 'jsonl' | 'csv' };
      const format = q.format ?? 'jsonl';
      const filter = { experiment: q.experiment };
      const body =
        kind === 'assignments'
          ? lines(ctx.store.exportAssignments(filter), assignmentRow, format, CSV_COLUMNS.assignments)
          : lines(ctx.store.exportExposures(filter), exposureRow, format, CSV_COLUMNS.exposures);
      void reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(body));
    },
  };
}

const Format = Type.Union([Type.Literal('jsonl'), Type.Literal('csv')]);

/** GET /v1/export/metrics: every stored metric event in append order (optionally of one unit type). */
export function metricExportRoute(unitType: TSchema): Route {
  return {
    method: 'GET',
    url: '/v1/export/metrics',
    summary: 'Stream every stored metric event, in the order received, as JSON Lines (default) or CSV: unit_id, unit_type, timestamp, metric, value (the events format of `sortition analyze`)',
    tag: 'export',
    permission: 'export',
    schema: { querystring: Type.Object({ format: Type.Optional(Format), unitType: Type.Optional(unitType) }, { additionalProperties: false }) },
    handler: async (ctx, request, reply) => {
      const q = request.query as { format?: 'jsonl' | 'csv'; unitType?: string };
      const format = q.format ?? 'jsonl';
      const body = lines(ctx.store.exportMetricEvents({ unitType: q.unitType }), metricEventRow, format, CSV_COLUMNS.metrics);
      void reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(body));
    },
  };
}
