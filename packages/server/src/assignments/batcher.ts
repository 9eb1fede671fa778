/**
 * Group commit: callers submit items and get a promise for their result; items that arrive while a
 * flush is running are gathered and flushed together. Under light load each item is flushed at
 * once; under heavy load batches grow, so throughput is not bound by one round trip (or one fsync)
 * per item. A promise resolves only after its batch was flushed, so a result is never acknowledged
 * before it is durable.
 *
 * `concurrency` is how many flushes may be in flight at once. With a synchronous driver (SQLite) a
 * flush runs to completion before the next can start, so it makes no difference there; with a
 * networked database (PostgreSQL) a new batch can be sent while earlier ones wait for their round
 * trip or commit, so one slow commit does not hold up everything that arrived after it.
 */
interface Pending<In, Out> {
  readonly item: In;
  readonly resolve: (out: Out) => void;
  readonly reject: (error: unknown) => void;
}

export interface BatcherOptions {
  /** Largest number of items in one flush (default 1000). */
  readonly maxBatch?: number;
  /** Flushes in flight at once (default 1). */
  readonly concurrency?: number;
}

export class Batcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly concurrency: number;

  constructor(
    private readonly flush: (items: readonly In[]) => Promise<readonly Out[]>,
    options: BatcherOptions | number = {},
  ) {
    const o = typeof options === 'number' ? { maxBatch: options } : options;
    this.maxBatch = o.maxBatch ?? 1000;
    this.concurrency = o.concurrency ?? 1;
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
    if (!Number.isSafeInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  submitAll(items: readonly In[]): Promise<Out[]> {
    if (items.length === 1) return this.submit(items[0]!).then((out) => [out]);
    return Promise.all(items.map((item) => this.submit(item)));
  }

  /** Items waiting for a flush (not counting those in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    // Yield to the event loop first, so requests that already arrived (their I/O callbacks are
    // pending) join this batch. With a synchronous driver (SQLite) a flush blocks the loop, so
    // without this yield every batch would hold a single item and pay a commit (fsync) for it.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.inFlight >= this.concurrency || this.queue.length === 0) return;
    const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
    this.inFlight++;
    // More work and a free slot: let the next batch gather while this one is in flight.
    this.schedule();
    try {
      const results = await this.flush(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    } catch (error) {
      for (const b of batch) b.reject(error);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
