/**
 * The batching both event streams share (exposures, metric events): queued, optionally de-duplicated,
 * sent in batches, retried with backoff, bounded in memory (oldest dropped and counted), and flushed
 * with keepalive when the page is hidden.
 */
import { SortitionSdkError } from './errors.js';
import { backoffDelay, defaultScheduler, type BackoffOptions, type Scheduler, type TimerHandle } from './timing.js';

/** Thrown by a sender when the receiver refused the batch for good (4xx other than 408/429): not retried. */
export class RejectedBatchError extends Error {
  override readonly name: string = 'RejectedBatchError';
}

export type BatchSender<T> = (events: readonly T[], options: { readonly keepalive: boolean }) => Promise<void>;

/** The subset of Document a batcher listens to. */
export interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

export interface BatcherOptions<T> {
  readonly send: BatchSender<T>;
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /** Events per request (default 100, at most 1 000). */
  readonly batchSize?: number;
  /** How long an event may wait for a batch to fill (default 2 000 ms). */
  readonly flushIntervalMs?: number;
  /** Most events held; beyond it the oldest are dropped and counted (default 1 000). */
  readonly maxQueue?: number;
  /** When given, everything queued is sent (with keepalive) when it becomes hidden. */
  readonly document?: VisibilitySource;
  readonly onError?: (error: SortitionSdkError) => void;
}

/** What a batcher calls its events in errors, and the error codes it reports. */
export interface BatchKind {
  readonly noun: string;
  readonly failed: 'EXPOSURE_SEND_FAILED' | 'METRIC_SEND_FAILED';
  readonly rejected: 'EXPOSURE_REJECTED' | 'METRIC_REJECTED';
}

export class EventBatcher<T> {
  private readonly queue: T[] = [];
  private readonly scheduler: Scheduler;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxQueue: number;
  private timer: TimerHandle | null = null;
  private attempts = 0;
  private inflight: Promise<void> | null = null;
  protected closed = false;
  private droppedCount = 0;
  private rejectedCount = 0;
  private sentCount = 0;
  private readonly onVisibility = (): void => {
    if (this.options.document?.visibilityState === 'hidden') this.flushAll();
  };

  constructor(
    private readonly options: BatcherOptions<T>,
    private readonly kind: BatchKind,
  ) {
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.random = options.random ?? Math.random;
    this.batchSize = Math.max(1, Math.min(1000, options.batchSize ?? 100));
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    this.maxQueue = Math.max(1, options.maxQueue ?? 1000);
    options.document?.addEventListener('visibilitychange', this.onVisibility);
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }
  /** Events the receiver refused for good. */
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

  /** Queues an event (the caller has decided it is new). */
  protected enqueue(event: T): void {
    this.queue.push(event);
    this.trim();
    if (this.queue.length >= this.batchSize && this.inflight === null && this.attempts === 0) void this.flush();
    else this.arm(this.attempts === 0 ? this.flushIntervalMs : null);
  }

  /** Called with each event dropped from a full queue (the exposure batcher forgets its key). */
  protected forget(_event: T): void {}

  /** Drops the oldest events beyond maxQueue. */
  private trim(): void {
    while (this.queue.length > this.maxQueue) {
      this.forget(this.queue.shift()!);
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

  private requeue(batch: readonly T[]): void {
    this.queue.unshift(...batch);
    this.trim();
  }

  private refused(batch: readonly T[], error: RejectedBatchError): void {
    this.rejectedCount += batch.length;
    this.options.onError?.(new SortitionSdkError(this.kind.rejected, `${batch.length} ${this.kind.noun} were refused: ${error.message}`, { cause: error }));
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
        if (error instanceof RejectedBatchError) {
          this.refused(batch, error);
          continue;
        }
        this.requeue(batch);
        const delay = backoffDelay(this.attempts++, this.random, this.options.backoff);
        this.options.onError?.(new SortitionSdkError(this.kind.failed, `sending ${batch.length} ${this.kind.noun} failed; retrying in ${delay} ms`, { cause: error }));
        this.arm(delay);
        return;
      }
    }
  }

  /** Page hidden: hand everything to keepalive requests now, without waiting for answers. */
  private flushAll(): void {
    this.disarm();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      this.options.send(batch, { keepalive: true }).then(
        () => {
          this.sentCount += batch.length;
        },
        (error: unknown) => {
          if (error instanceof RejectedBatchError) return this.refused(batch, error);
          // Still alive (the page came back, or it was not a page): requeue and retry later.
          this.requeue(batch);
          this.arm(backoffDelay(this.attempts++, this.random, this.options.backoff));
        },
      );
    }
  }

  /** Flushes and stops; later events are ignored. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.disarm();
    this.options.document?.removeEventListener('visibilitychange', this.onVisibility);
  }
}

/**
 * A sender that POSTs `{ [field]: events }` as JSON. A 4xx answer other than 408 and 429 is a
 * refusal (RejectedBatchError, not retried); anything else that is not 2xx is retried.
 */
export function jsonSender<T>(options: { readonly url: string; readonly field: string; readonly headers?: Readonly<Record<string, string>>; readonly fetch?: typeof fetch }): BatchSender<T> {
  return async (events, { keepalive }) => {
    const f = options.fetch ?? globalThis.fetch;
    const response = await f(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify({ [options.field]: events }),
      keepalive,
    });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = await response.text().catch(() => '');
    const message = `POST ${options.url} answered ${response.status}: ${text.slice(0, 200)}`;
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new RejectedBatchError(message);
    throw new Error(message);
  };
}
