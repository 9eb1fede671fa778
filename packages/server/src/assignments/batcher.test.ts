import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

/** A flush that waits until the test releases it, recording what each call received. */
function gatedFlush() {
  const calls: { items: number[]; release: () => void; fail: (error: Error) => void }[] = [];
  const flush = (items: readonly number[]): Promise<number[]> =>
    new Promise((resolve, reject) => {
      calls.push({ items: [...items], release: () => resolve(items.map((i) => i * 10)), fail: reject });
    });
  return { calls, flush };
}

/** Lets setImmediate callbacks and the promise jobs they start run. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('Batcher', () => {
  it('gathers items that arrive together into one flush and resolves each with its own result', async () => {
    const { calls, flush } = gatedFlush();
    const batcher = new Batcher(flush);
    const results = Promise.all([batcher.submit(1), batcher.submit(2), batcher.submitAll([3, 4])]);
    await turns();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3, 4]]);
    calls[0]!.release();
    expect(await results).toEqual([10, 20, [30, 40]]);
  });

  it('with concurrency 1, holds what arrives during a flush for the next one', async () => {
    const { calls, flush } = gatedFlush();
    const batcher = new Batcher(flush, { concurrency: 1 });
    const first = batcher.submit(1);
    await turns();
    const later = [batcher.submit(2), batcher.submit(3)];
    await turns();
    expect(calls).toHaveLength(1);
    calls[0]!.release();
    expect(await first).toBe(10);
    await turns();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    calls[1]!.release();
    expect(await Promise.all(later)).toEqual([20, 30]);
  });

  it('with concurrency 2, sends a second batch while the first is in flight, and no third', async () => {
    const { calls, flush } = gatedFlush();
    const batcher = new Batcher(flush, { concurrency: 2 });
    const a = batcher.submit(1);
    await turns();
    const b = batcher.submit(2);
    await turns();
    const c = batcher.submit(3);
    await turns();
    expect(calls.map((x) => x.items)).toEqual([[1], [2]]);
    calls[1]!.release();
    expect(await b).toBe(20);
    await turns();
    expect(calls.map((x) => x.items)).toEqual([[1], [2], [3]]);
    calls[0]!.release();
    calls[2]!.release();
    expect(await Promise.all([a, c])).toEqual([10, 30]);
  });

  it('rejects every item of a failed flush and keeps serving later ones', async () => {
    const { calls, flush } = gatedFlush();
    const batcher = new Batcher(flush);
    const failed = Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    await turns();
    calls[0]!.fail(new Error('disk full'));
    expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const ok = batcher.submit(3);
    await turns();
    calls[1]!.release();
    expect(await ok).toBe(30);
  });

  it('splits a queue longer than maxBatch', async () => {
    const { calls, flush } = gatedFlush();
    const batcher = new Batcher(flush, { maxBatch: 2 });
    const all = batcher.submitAll([1, 2, 3, 4, 5]);
    await turns();
    calls[0]!.release();
    await turns();
    calls[1]!.release();
    await turns();
    calls[2]!.release();
    expect(await all).toEqual([10, 20, 30, 40, 50]);
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
