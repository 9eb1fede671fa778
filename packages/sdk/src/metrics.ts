/**
 * Metric events (conversions, revenue, any numeric outcome) for the analysis. A client connected to
 * the service sends them to its `POST /v1/metrics` by default (a MetricBatcher with
 * `serviceMetricSender`, the SDK key, and an id per event so a retried batch is stored once); they
 * can also go to a collector of the application's own (`httpMetricSender({ url })`) or to any
 * `{ track(event) }`.
 *
 * The analysis reads events as rows `unit_id, timestamp, metric, value` (packages/analysis README,
 * "Input formats"); the service's `GET /v1/export/metrics` writes exactly those (plus `unit_type`),
 * and so does `metricEventRow` for a collector of your own.
 */
import { EventBatcher, jsonSender, type BatcherOptions, type BatchSender } from './batch.js';
import { SortitionSdkError } from './errors.js';

/** One metric event of one unit. `unit` is the canonical unit id (the one exposures carry). */
export interface MetricEvent {
  readonly unitType: string;
  readonly unit: string;
  readonly metric: string;
  /** A finite number: an amount for sum metrics, 1 for an occurrence (conversion metrics count value > 0). */
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

/** Where the client hands metric events (SortitionClient's `metricSink` option). */
export interface MetricSink {
  track(event: MetricEvent): void;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** The analysis's event row: `unit_id, timestamp` (epoch milliseconds), `metric, value`, and `unit_type`. */
export function metricEventRow(e: MetricEvent): { unit_id: string; timestamp: number; metric: string; value: number; unit_type: string } {
  return { unit_id: e.unit, timestamp: e.at, metric: e.metric, value: e.value, unit_type: e.unitType };
}

/** The service's rule for metric names (POST /v1/metrics): 1 to 128 of A-Z a-z 0-9 _ . : / -, starting with a letter, digit or _. */
export const METRIC_NAME = /^\w[\w.:/-]{0,127}$/;

/**
 * Whether the service accepts this event's name, value and time (POST /v1/metrics): the name
 * matches METRIC_NAME, the value is finite, the time is epoch milliseconds from 1970 to the end of
 * 9999. (Unit ids are checked by the client's track(), which canonicalises them.)
 */
export function isValidMetricEvent(e: MetricEvent): boolean {
  return METRIC_NAME.test(e.metric) && Number.isFinite(e.value) && e.at >= 0 && e.at <= 253_402_300_799_999;
}

export type MetricSender = BatchSender<MetricEvent>;

/**
 * Batches metric events (every one is sent: there is no de-duplication) with retries and backoff.
 * An event the service would refuse (isValidMetricEvent) is not queued: track() returns false and
 * onError gets METRIC_INVALID, so one bad event never costs the rest of its batch.
 */
export class MetricBatcher extends EventBatcher<MetricEvent> implements MetricSink {
  private readonly report: ((error: SortitionSdkError) => void) | undefined;

  constructor(options: BatcherOptions<MetricEvent>) {
    super(options, { noun: 'metric events', failed: 'METRIC_SEND_FAILED', rejected: 'METRIC_REJECTED' });
    this.report = options.onError;
  }

  /** Queues the event; returns false once the batcher is closed, or when the event is invalid. */
  track(event: MetricEvent): boolean {
    if (this.closed) return false;
    if (!isValidMetricEvent(event)) {
      this.report?.(new SortitionSdkError('METRIC_INVALID', `metric event not sent (see isValidMetricEvent): ${JSON.stringify(event)}`));
      return false;
    }
    this.enqueue(event);
    return true;
  }
}

/**
 * A sender posting to the service's `POST /v1/metrics` with the SDK key. Each event gets a random id
 * (crypto.randomUUID; none where it is missing, as on pages that are not a secure context) the first
 * time it is sent, and keeps it when its batch is retried (the batcher resends the same event
 * objects), so a batch whose answer was lost is stored once.
 */
export function serviceMetricSender(options: { readonly baseUrl: string; readonly sdkKey?: string; readonly headers?: Readonly<Record<string, string>>; readonly fetch?: typeof fetch }): MetricSender {
  const ids = new WeakMap<MetricEvent, string | undefined>();
  const post = jsonSender<MetricEvent>({
    url: `${options.baseUrl.replace(/\/+$/, '')}/v1/metrics`,
    field: 'metrics',
    headers: { ...options.headers, ...(options.sdkKey === undefined ? {} : { authorization: `Bearer ${options.sdkKey}` }) },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  return (events, sendOptions) =>
    post(
      events.map((e) => {
        if (!ids.has(e)) ids.set(e, globalThis.crypto?.randomUUID?.());
        const id = ids.get(e);
        return id === undefined ? e : { ...e, id };
      }),
      sendOptions,
    );
}

export type HttpMetricSenderOptions =
  | { readonly url: string; readonly headers?: Readonly<Record<string, string>>; readonly fetch?: typeof fetch }
  | { readonly baseUrl: string; readonly sdkKey?: string; readonly headers?: Readonly<Record<string, string>>; readonly fetch?: typeof fetch };

/**
 * A sender that POSTs `{ "metrics": [MetricEvent, ...] }` as JSON: to the service's `/v1/metrics`
 * given `{ baseUrl, sdkKey }` (serviceMetricSender), or to `url`, a collector of your own. 4xx
 * answers other than 408 and 429 are refusals (not retried); other failures are retried with backoff.
 */
export function httpMetricSender(options: HttpMetricSenderOptions): MetricSender {
  if ('baseUrl' in options) return serviceMetricSender(options);
  return jsonSender<MetricEvent>({ ...options, field: 'metrics' });
}
