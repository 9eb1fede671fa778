/**
 * Metric events (conversions, revenue, any numeric outcome) reported by SDKs: POST /v1/metrics stores
 * them append-only, GET /v1/export/metrics streams them in the events format of `sortition analyze`,
 * and the dashboard's results use them (routes/insights.ts).
 *
 * Rules, checked for every event before any is stored (a batch is stored whole or not at all):
 *  - unitType: a unit type name, as in exposures; unit: a unit id checked and canonicalised (NFC) by
 *    the spec's rules (§2), as exposures' units are;
 *  - metric: METRIC_NAME_PATTERN (1 to 128 characters: letters, digits, _ . : / -, not starting with
 *    . : / or -), so names are safe as CSV cells, file names and SQL identifiers alike;
 *  - value: a finite number;
 *  - at: epoch milliseconds (what the SDK sends; a fraction is dropped) or an RFC 3339 date-time,
 *    from 1970 to 9999;
 *  - id (optional): the client's id of the event (METRIC_ID_PATTERN), for idempotent retries: an
 *    event whose id is stored already is skipped and counted as a duplicate. Events without an id
 *    are never de-duplicated: two identical events are two events.
 */
import { Type } from '@sinclair/typebox';
import { canonicalUnitId } from '@sortition/core';
import type { MetricEventInput } from '../../store/types.js';
import { HttpError } from '../errors.js';
import type { Route } from '../route.js';
import { metricExportRoute } from './export.js';
import { eventTime, MAX_EVENT_TIME } from './metrics-time.js';

export const MAX_METRICS_PER_REQUEST = 1000;
export const METRIC_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$';
export const METRIC_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$';

/** The unit type names exposures and evaluate requests use. */
export const UnitType = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$', description: 'unit type, e.g. userId' });

export const MetricEvent = Type.Object(
  {
    unitType: UnitType,
    unit: Type.String({ maxLength: 1024, description: 'the unit id (a JSON string), checked and canonicalised (NFC) as exposures are' }),
    metric: Type.String({ pattern: METRIC_NAME_PATTERN, description: 'metric name: 1 to 128 of A-Z a-z 0-9 _ . : / -, starting with a letter, digit or _' }),
    value: Type.Number({ description: 'a finite number: an amount for sums, 1 for an occurrence (conversions count value > 0)' }),
    at: Type.Union([Type.Number({ minimum: 0, maximum: MAX_EVENT_TIME }), Type.String({ minLength: 1, maxLength: 40 })], {
      description: 'when it happened: epoch milliseconds (a fraction is dropped) or an RFC 3339 date-time such as 2026-04-15T12:00:00.250Z',
    }),
    id: Type.Optional(Type.String({ pattern: METRIC_ID_PATTERN, description: "the client's id of this event, for idempotent retries: an event whose id is stored already is skipped" })),
  },
  { additionalProperties: false },
);

export const MetricsBody = Type.Object({ metrics: Type.Array(MetricEvent, { minItems: 1, maxItems: MAX_METRICS_PER_REQUEST }) }, { additionalProperties: false });

export const MetricsAccepted = Type.Object({
  accepted: Type.Integer({ description: 'events in the request' }),
  stored: Type.Integer({ description: 'events stored by this request' }),
  duplicates: Type.Integer({ description: 'events skipped because their id was stored already (or repeated in the request)' }),
});

interface WireMetricEvent {
  readonly unitType: string;
  readonly unit: string;
  readonly metric: string;
  readonly value: number;
  readonly at: number | string;
  readonly id?: string;
}

/** Checks what the schema cannot express (unit id rules, finiteness, the calendar) and builds the record. */
function toInput(e: WireMetricEvent, i: number, receivedAt: number): MetricEventInput {
  const unit = canonicalUnitId(e.unit);
  if (typeof unit !== 'string') {
    throw new HttpError(400, unit.code, unit.message, { field: `/metrics/${i}/unit`, fix: 'send the unit id the SDK evaluated: a non-empty string of at most 256 UTF-8 bytes without control characters' });
  }
  // The schema's number already excludes 1e999 (Infinity after JSON.parse); kept in case that changes.
  if (!Number.isFinite(e.value)) throw new HttpError(400, 'VALUE_NOT_FINITE', `/metrics/${i}/value is not a finite number`, { field: `/metrics/${i}/value`, fix: 'send a finite number' });
  const at = eventTime(e.at);
  if (typeof at !== 'number') {
    throw new HttpError(400, 'INVALID_TIME', `/metrics/${i}/at: ${at.reason}`, {
      field: `/metrics/${i}/at`,
      fix: 'send epoch milliseconds (a number, as the SDK does) or an RFC 3339 date-time such as 2026-04-15T12:00:00Z, between 1970 and 9999',
    });
  }
  return { unitType: e.unitType, unit, metric: e.metric, value: e.value, at, id: e.id ?? null, receivedAt };
}

export function metricRoutes(): Route[] {
  return [
    {
      method: 'POST',
      url: '/v1/metrics',
      summary: `Report up to ${MAX_METRICS_PER_REQUEST} metric events (stored append-only; an event with an id stored already is skipped); answers 202 with the counts`,
      tag: 'evaluate',
      permission: 'track',
      bodyLimit: 2 * 1024 * 1024,
      schema: { body: MetricsBody, response: { 202: MetricsAccepted } },
      handler: async (ctx, request, reply) => {
        const { metrics } = request.body as { metrics: WireMetricEvent[] };
        const receivedAt = ctx.clock();
        const events = metrics.map((e, i) => toInput(e, i, receivedAt));
        const { stored, duplicates } = await ctx.store.appendMetricEvents(events);
        void reply.code(202);
        return { accepted: metrics.length, stored, duplicates };
      },
    },
    metricExportRoute(UnitType),
  ];
}
