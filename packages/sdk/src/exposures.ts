/**
 * Exposure batching: the first exposure per (unit type, unit, experiment, phase) is queued once, then
 * sent like every batched event stream (./batch.ts): in batches, retried with backoff, bounded in
 * memory, and flushed with keepalive when the page is hidden.
 */
import type { ExposureEvent } from '@sortition/core';
import { EventBatcher, jsonSender, RejectedBatchError, type BatcherOptions, type BatchSender } from './batch.js';

export type { VisibilitySource } from './batch.js';

/** Where the client hands exposures. The batcher is one; tests and custom pipelines may supply others. */
export interface ExposureSink {
  track(exposure: ExposureEvent): void;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** The event as the service's POST /v1/exposures accepts it. */
export interface WireExposure {
  readonly unitType: string;
  readonly unit: string;
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly configVersion: number;
  readonly at: number;
}

/** Thrown by a sender when the service refused the batch for good (4xx other than 408/429): not retried. */
export { RejectedBatchError as ExposureRejectedError };

export type ExposureSender = BatchSender<WireExposure>;

export interface ExposureBatcherOptions extends BatcherOptions<WireExposure> {
  /** Events per request (default 100; the service accepts up to 1 000). */
  readonly batchSize?: number;
  /** How many (unit, experiment, phase) keys are remembered for de-duplication (default 100 000, oldest forgotten first). */
  readonly maxRemembered?: number;
}

const SEP = '\u0000';

function keyOf(e: WireExposure): string {
  return e.unitType + SEP + e.unit + SEP + e.experiment + SEP + e.phase;
}

export class ExposureBatcher extends EventBatcher<WireExposure> implements ExposureSink {
  private readonly seen = new Set<string>();
  private readonly maxRemembered: number;

  constructor(options: ExposureBatcherOptions) {
    super(options, { noun: 'exposures', failed: 'EXPOSURE_SEND_FAILED', rejected: 'EXPOSURE_REJECTED' });
    this.maxRemembered = Math.max(1, options.maxRemembered ?? 100_000);
  }

  /** Queues the exposure unless this (unit type, unit, experiment, phase) was queued before. Returns whether it was queued. */
  track(e: ExposureEvent): boolean {
    if (this.closed) return false;
    const wire: WireExposure = { unitType: e.unitType, unit: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, configVersion: e.configVersion, at: e.at };
    const key = keyOf(wire);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.maxRemembered) this.seen.delete(this.seen.values().next().value!);
    this.enqueue(wire);
    return true;
  }

  /** A dropped event was never sent: forget it, so a later evaluation may queue it again. */
  protected override forget(event: WireExposure): void {
    this.seen.delete(keyOf(event));
  }
}

/** A sender posting to the service's POST /v1/exposures. */
export function serviceExposureSender(options: { readonly baseUrl: string; readonly sdkKey?: string; readonly fetch?: typeof fetch }): ExposureSender {
  return jsonSender<WireExposure>({
    url: `${options.baseUrl.replace(/\/+$/, '')}/v1/exposures`,
    field: 'exposures',
    ...(options.sdkKey === undefined ? {} : { headers: { authorization: `Bearer ${options.sdkKey}` } }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
