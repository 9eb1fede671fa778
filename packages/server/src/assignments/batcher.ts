/**
 * Group commit: callers submit items and get a promise for their result; items that arrive while a
 * flush is running are gathered and flushed together as soon as it finishes. Under light load each
 * item is flushed at once; under heavy load batches grow, so throughput is not bound by one round
 * trip (or one fsync) per item. A promise resolves only after its batch was flushed, so a result is
 * never acknowledged before it is durable.
 */
export class Batcher<In, Out> {
  private queue: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly flush: (items: readonly In[]) => Promise<readonly Out[]>,
    private readonly maxBatch = 1000,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) this.drain();
    });
  }

  submitAll(items: readonly In[]): Promise<Out[]> {
    return Promise.all(items.map((item) => this.submit(item)));
  }

  private drain(): void {
    this.flushing = true;
    // Yield to the event loop first, so requests that already arrived (their I/O callbacks are
    // pending) join this batch. With a synchronous driver (SQLite) a flush blocks the loop, so
    // without this yield every batch would hold a single item and pay a commit (fsync) for it.
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const results = await this.flush(batch.map((b) => b.item));
      if (results.length !== batch.length) throw new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
    if (this.queue.length > 0) this.drain();
    else this.flushing = false;
  }
}
