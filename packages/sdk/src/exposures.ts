/**
 * Exposure batching: first exposure per (unit type, unit, experiment, phase) queued once, sent in
 * batches, retried with backoff, bounded in memory (oldest dropped and counted), and flushed with
 * keepalive when the page is hidden.
 */
import type { ExposureEvent } from '@sortition/core';
import { SortitionSdkError } from './errors.js';
import { backoffDelay, defaultScheduler, type BackoffOptions, type Scheduler, type TimerHandle } from './timing.js';

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
export class ExposureRejectedError extends Error {
  override readonly name = 'ExposureRejectedError';
}

export type ExposureSender = (events: readonly WireExposure[], options: { readonly keepalive: boolean }) => Promise<void>;

/** The subset of Document the batcher listens to. */
export interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

export interface ExposureBatcherOptions {
  readonly send: ExposureSender;
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /** Events per request (default 100; the service accepts up to 1 000). */
  readonly batchSize?: number;
  /** How long an event may wait for a batch to fill (default 2 000 ms). */
  readonly flushIntervalMs?: number;
  /** Most events held; beyond it the oldest are dropped and counted (default 1 000). */
  readonly maxQueue?: number;
  /** How many (unit, experiment, phase) keys are remembered for de-duplication (default 100 000, oldest forgotten first). */
  readonly maxRemembered?: number;
  /** When given, everything queued is sent (with keepalive) when it becomes hidden. */
  readonly document?: VisibilitySource;
  readonly onError?: (error: SortitionSdkError) => void;
}

const SEP = '\u0000';

function toWire(e: ExposureEvent): WireExposure {
  return { unitType: e.unitType, unit: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, configVersion: e.configVersion, at: e.at };
}

function keyOf(e: WireExposure): string {
  return e.unitType + SEP + e.unit + SEP + e.experiment + SEP + e.phase;
}

export class ExposureBatcher implements ExposureSink {
  private readonly queue: WireExposure[] = [];
  private readonly seen = new Set<string>();
  private readonly scheduler: Scheduler;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxQueue: number;
  private readonly maxRemembered: number;
  private timer: TimerHandle | null = null;
  private attempts = 0;
  private inflight: Promise<void> | null = null;
  private closed = false;
  private droppedCount = 0;
  private rejectedCount = 0;
  private sentCount = 0;
  private readonly onVisibility = (): void => {
    if (this.options.document?.visibilityState === 'hidden') this.flushAll(true);
  };

  constructor(private readonly options: ExposureBatcherOptions) {
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.random = options.random ?? Math.random;
    this.batchSize = Math.max(1, Math.min(1000, options.batchSize ?? 100));
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    this.maxQueue = Math.max(1, options.maxQueue ?? 1000);
    this.maxRemembered = Math.max(1, options.maxRemembered ?? 100_000);
    options.document?.addEventListener('visibilitychange', this.onVisibility);
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }
  /** Events the service refused for good. */
  get rejected(): number {
    return this.rejectedCount;
  }
  /** Events delivered. */
  get sent(): number {
    return this.sentCount;
  }
  /** Events waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues the exposure unless this (unit type, unit, experiment, phase) was queued before. Returns whether it was queued. */
  track(exposure: ExposureEvent): boolean {
    if (this.closed) return false;
    const wire = toWire(exposure);
    const key = keyOf(wire);
    if (this.seen.has(key)) return false;
    this.remember(key);
    this.queue.push(wire);
    this.trim();
    if (this.queue.length >= this.batchSize && this.inflight === null && this.attempts === 0) void this.flush();
    else this.arm(this.attempts === 0 ? this.flushIntervalMs : null);
    return true;
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > this.maxRemembered) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** Drops the oldest events beyond maxQueue; they are forgotten so a later evaluation may queue them again. */
  private trim(): void {
    while (this.queue.length > this.maxQueue) {
      const dropped = this.queue.shift()!;
      this.seen.delete(keyOf(dropped));
      this.droppedCount++;
    }
  }

  private arm(ms: number | null): void {
    if (this.timer !== null || ms === null || this.closed) return;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends everything queued, batch by batch. Never rejects: failures are retried later with backoff. */
  flush(): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    this.disarm();
    this.inflight = this.drain().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      try {
        await this.options.send(batch, { keepalive: false });
        this.attempts = 0;
        this.sentCount += batch.length;
      } catch (error) {
        if (error instanceof ExposureRejectedError) {
          this.rejectedCount += batch.length;
          this.options.onError?.(new SortitionSdkError('EXPOSURE_REJECTED', `the service refused ${batch.length} exposures: ${error.message}`, { cause: error }));
          continue;
        }
        this.queue.unshift(...batch);
        this.trim();
        const delay = backoffDelay(this.attempts, this.random, this.options.backoff);
        this.attempts++;
        this.options.onError?.(new SortitionSdkError('EXPOSURE_SEND_FAILED', `sending ${batch.length} exposures failed; retrying in ${delay} ms`, { cause: error }));
        this.arm(delay);
        return;
      }
    }
  }

  /** Page hidden or closing: hand everything to keepalive requests now, without waiting for answers. */
  private flushAll(keepalive: boolean): void {
    this.disarm();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      this.options.send(batch, { keepalive }).then(
        () => {
          this.sentCount += batch.length;
        },
        (error: unknown) => {
          if (error instanceof ExposureRejectedError) {
            this.rejectedCount += batch.length;
            return;
          }
          // Still alive (the page came back, or it was not a page): requeue and retry later.
          this.queue.unshift(...batch);
          this.trim();
          this.arm(backoffDelay(this.attempts++, this.random, this.options.backoff));
        },
      );
    }
  }

  /** Flushes and stops; later track() calls are ignored. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.disarm();
    this.options.document?.removeEventListener('visibilitychange', this.onVisibility);
  }
}

/** A sender posting to the service's POST /v1/exposures. */
export function serviceExposureSender(options: { readonly baseUrl: string; readonly sdkKey?: string; readonly fetch?: typeof fetch }): ExposureSender {
  return async (events, { keepalive }) => {
    const f = options.fetch ?? globalThis.fetch;
    const response = await f(`${options.baseUrl.replace(/\/+$/, '')}/v1/exposures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.sdkKey === undefined ? {} : { authorization: `Bearer ${options.sdkKey}` }) },
      body: JSON.stringify({ exposures: events }),
      keepalive,
    });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = await response.text().catch(() => '');
    const message = `POST /v1/exposures answered ${response.status}: ${text.slice(0, 200)}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new ExposureRejectedError(message);
    throw new Error(message);
  };
}
