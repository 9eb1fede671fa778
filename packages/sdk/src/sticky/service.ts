import type { Attributes, StickyRecord } from '@sortition/core';
import { MemoryStickyAdapter } from './memory.js';
import type { StickyAdapter } from './types.js';

export interface ServiceStickyOptions {
  readonly baseUrl: string;
  readonly sdkKey?: string;
  readonly fetch?: typeof fetch;
  readonly clock?: () => number;
  readonly onError?: (error: unknown) => void;
}

interface PeekResult {
  readonly experiment: string;
  readonly variant: string | null;
  readonly reason: string;
  readonly phase: string | null;
  readonly slot: number | null;
  readonly configVersion: number;
}

/**
 * The service's sticky store, read through POST /v1/evaluate in peek mode (which answers STICKY
 * from the stored record and stores nothing) and written through enroll mode with exposure off (the
 * service derives and stores the same first assignment when it runs the same config version).
 *
 * `prefetch` must run before evaluating a unit: `get` answers from what was prefetched (and from
 * this process's own writes), never from the network. Rebuilt records carry the fields assignment
 * needs (experiment, phase, variant, slot, configVersion); layerEpoch is 0 and assignedAt is the
 * prefetch time, since the API does not return them. The write-through sends the attributes the
 * assignment was made with; if the service runs another config version or its answer differs, the
 * service's record wins at the next prefetch (the write is not a forced store).
 */
export class ServiceStickyAdapter implements StickyAdapter {
  private readonly cache = new MemoryStickyAdapter();
  private readonly pendingWrites = new Set<Promise<void>>();

  constructor(private readonly options: ServiceStickyOptions) {}

  private async post(body: unknown): Promise<{ results: PeekResult[] }> {
    const f = this.options.fetch ?? globalThis.fetch;
    const response = await f(`${this.options.baseUrl.replace(/\/+$/, '')}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.options.sdkKey === undefined ? {} : { authorization: `Bearer ${this.options.sdkKey}` }) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST /v1/evaluate answered ${response.status}: ${(await response.text().catch(() => '')).slice(0, 200)}`);
    return (await response.json()) as { results: PeekResult[] };
  }

  async prefetch(units: Readonly<Record<string, string>>, experiments?: readonly string[]): Promise<void> {
    // The response does not name the unit type per result; one request per unit type keeps it unambiguous.
    const types = Object.keys(units);
    if (types.length !== 1) {
      await Promise.all(types.map((t) => this.prefetch({ [t]: units[t]! }, experiments)));
      return;
    }
    const { results } = await this.post({ units, mode: 'peek', exposure: false, ...(experiments === undefined ? {} : { experiments }) });
    const now = (this.options.clock ?? Date.now)();
    const unitType = types[0]!;
    const unit = units[unitType]!.normalize('NFC');
    for (const r of results) {
      if (r.reason !== 'STICKY' || r.variant === null || r.phase === null || r.slot === null) continue;
      this.cache.set(unitType, unit, { experiment: r.experiment, phase: r.phase, variant: r.variant, slot: r.slot, layerEpoch: 0, configVersion: r.configVersion, assignedAt: now });
    }
  }

  get(unitType: string, unit: string, experiment: string): StickyRecord | null {
    return this.cache.get(unitType, unit, experiment);
  }

  set(unitType: string, unit: string, record: StickyRecord, attributes?: Attributes): void {
    this.cache.set(unitType, unit, record);
    const write = this.post({ units: { [unitType]: unit }, attributes: attributes ?? {}, experiments: [record.experiment], mode: 'enroll', exposure: false })
      .then(
        () => undefined,
        (error: unknown) => this.options.onError?.(error),
      )
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }

  /** Waits for writes in flight (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
  }
}
