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
    // Let the current tick's submissions join the batch.
    queueMicrotask(() => void this.run());
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.flush(batch.map((b) => b.item));
        if (results.length !== batch.length) throw new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    this.flushing = false;
  }
}
