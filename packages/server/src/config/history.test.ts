import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import type { ConfigVersionRecord } from '../store/types.js';
import { exampleConfig } from '../test-support/service.js';
import { ConfigHistory } from './history.js';

/** A memory store whose latestConfig() reads now but answers when the test says so. */
class SlowLatestStore extends MemoryStore {
  reads = 0;
  private gates: (() => void)[] = [];
  override async latestConfig(): Promise<ConfigVersionRecord | null> {
    this.reads++;
    const read = await super.latestConfig();
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return read;
  }
  release(): void {
    for (const open of this.gates.splice(0)) open();
  }
}

const record = (version: number): ConfigVersionRecord => ({ version, doc: { ...exampleConfig(), version }, hash: `h${version}`, author: 'test', reason: 'test', createdAt: 0, impact: null });

/** Lets pending promise jobs run. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('ConfigHistory.refresh', () => {
  it('reads the store after each call: a call during a load in flight gets one more load, shared with the others', async () => {
    const store = new SlowLatestStore();
    await store.appendConfig(record(1));
    const history = new ConfigHistory(store);
    const first = history.refresh();
    await turns();
    expect(store.reads).toBe(1);
    // Version 2 is published after the first load read the store.
    await store.appendConfig(record(2));
    const second = history.refresh();
    const third = history.refresh();
    store.release();
    expect(await first).toBe(true);
    expect(history.current()?.record.version).toBe(1);
    await turns();
    expect(store.reads).toBe(2);
    store.release();
    expect(await second).toBe(true);
    expect(await third).toBe(true);
    expect(history.current()?.record.version).toBe(2);
    expect(store.reads).toBe(2);
  });
});
