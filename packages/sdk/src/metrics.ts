/**
 * Metric events (conversions, revenue, any numeric outcome) for the analysis. The service has no
 * endpoint for them yet, so they go to a sink the application chooses: a MetricBatcher posting JSON
 * to a collector (`httpMetricSender`), or any `{ track(event) }` of its own.
 *
 * The analysis reads events as rows `unit_id, timestamp, metric, value` (packages/analysis README,
 * "Input formats"); `metricEventRow` gives exactly that row (plus `unit_type`, which it ignores), so
 * a collector can write JSONL or CSV that `sortition analyze --events` reads as it is.
 */
import { EventBatcher, jsonSender, type BatcherOptions, type BatchSender } from './batch.js';

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

export type MetricSender = BatchSender<MetricEvent>;

/** Batches metric events (every one is sent: there is no de-duplication) with retries and backoff. */
export class MetricBatcher extends EventBatcher<MetricEvent> implements MetricSink {
  constructor(options: BatcherOptions<MetricEvent>) {
    super(options, { noun: 'metric events', failed: 'METRIC_SEND_FAILED', rejected: 'METRIC_REJECTED' });
  }

  /** Queues the event; returns false once the batcher is closed. */
  track(event: MetricEvent): boolean {
    if (this.closed) return false;
    this.enqueue(event);
    return true;
  }
}

/**
 * A sender that POSTs `{ "metrics": [MetricEvent, ...] }` as JSON to `url` (a collector of your own:
 * the service has no metric endpoint yet). 4xx answers other than 408 and 429 are refusals (not
 * retried); other failures are retried with backoff.
 */
export function httpMetricSender(options: { readonly url: string; readonly headers?: Readonly<Record<string, string>>; readonly fetch?: typeof fetch }): MetricSender {
  return jsonSender<MetricEvent>({ ...options, field: 'metrics' });
}
