import { assign, compileConfigOrThrow, type Assignment, type CompiledConfig } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import type { AssignmentKey, ExposureInput, StoredAssignment, StoredExposure } from '../store/types.js';
import { exampleConfig } from '../test-support/service.js';
import { Evaluator } from './evaluator.js';

/** A real memory store that counts reads, optionally claiming to share its data with other writers. */
class CountingStore extends MemoryStore {
  reads = 0;
  keysRead = 0;
  constructor(override readonly singleWriter: boolean) {
    super();
  }
  override async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    this.reads++;
    this.keysRead += keys.length;
    return super.getAssignments(keys);
  }
}

/** A memory store whose exposure writes wait for the test (gate) or fail (failNext). */
class GatedExposureStore extends MemoryStore {
  gate: Promise<void> | null = null;
  failNext = false;
  writes: ExposureInput[][] = [];
  override async recordExposures(events: readonly ExposureInput[]): Promise<void> {
    if (events.length > 0) this.writes.push([...events]);
    if (this.gate !== null) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.recordExposures(events);
  }
  async storedExposures(): Promise<StoredExposure[]> {
    const out: StoredExposure[] = [];
    for await (const e of this.exportExposures({})) out.push(e);
    return out;
  }
}

/** A unit id starting with `prefix` that checkout_v2 assigns (with DE attributes) at NOW. */
function assignedUnit(prefix: string): string {
  for (let i = 0; i < 1000; i++) {
    const unit = `${prefix}_${i}`;
    if (assign(config, { experiment: 'checkout_v2', units: { userId: unit }, attributes: DE, now: NOW, mode: 'peek' }).variant !== null) return unit;
  }
  throw new Error(`no assigned unit among ${prefix}_0..999`);
}

/** Lets setImmediate callbacks (the batchers) and the promise jobs they start run. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const NOW = Date.UTC(2026, 3, 15);
const config: CompiledConfig = compileConfigOrThrow(exampleConfig());
const DE = { country: 'DE', appVersion: '4.3.1' };
const request = (unit: string) => ({ units: { userId: unit }, attributes: { country: 'JP', appVersion: '4.3.1' }, experiments: ['checkout_v2'] });

describe('Evaluator', () => {
  it('remembers that a unit holds no assignment only when it is the single writer', async () => {
    const single = new CountingStore(true);
    const e1 = new Evaluator(single);
    for (let i = 0; i < 3; i++) expect((await e1.evaluate(config, request('u1'), NOW))[0]!.reason).toBe('TARGETING_EXCLUDED');
    expect(single.reads).toBe(1);

    const shared = new CountingStore(false);
    const e2 = new Evaluator(shared);
    for (let i = 0; i < 3; i++) await e2.evaluate(config, request('u1'), NOW);
    expect(shared.reads).toBe(3);
  });

  it('forgets a cached absence once it writes the unit, and serves the stored record afterwards', async () => {
    const store = new CountingStore(true);
    const e = new Evaluator(store);
    const de = { country: 'DE', appVersion: '4.3.1' };
    let unit = '';
    for (let i = 0; unit === ''; i++) {
      const peek = (await e.evaluate(config, { ...request(`u2_${i}`), attributes: de, mode: 'peek' }, NOW))[0]!;
      if (peek.variant !== null) unit = `u2_${i}`;
    }
    expect((await e.evaluate(config, request(unit), NOW))[0]!.reason).toBe('TARGETING_EXCLUDED');
    const first = (await e.evaluate(config, { ...request(unit), attributes: de }, NOW))[0]!;
    expect(first.reason).toBe('ASSIGNED');
    // Targeting no longer matches, but the stored record decides.
    const again = (await e.evaluate(config, request(unit), NOW))[0]!;
    expect(again).toMatchObject({ reason: 'STICKY', variant: first.variant });
  });

  it('serves the stored winner when another writer assigned the unit first', async () => {
    const store = new MemoryStore();
    const e = new Evaluator(store);
    const peek = (await e.evaluate(config, { ...request('u3'), attributes: { country: 'DE', appVersion: '4.3.1' }, mode: 'peek' }, NOW))[0]!;
    expect(peek.variant).not.toBeNull();
    const other = peek.variant === 'control' ? 'treatment' : 'control';
    await store.insertAssignments([{ unitType: 'userId', unit: 'u3', experiment: 'checkout_v2', lineage: 'canary', phase: 'full', variant: other, slot: peek.slot!, layerEpoch: 1, configVersion: 1, assignedAt: NOW - 1 }]);
    const served = (await e.evaluate(config, { ...request('u3'), attributes: { country: 'DE', appVersion: '4.3.1' } }, NOW))[0]!;
    expect(served).toMatchObject({ reason: 'STICKY', variant: other });
  });

  it('serves a stored record from the cache, without reading the store again, also with several writers', async () => {
    const u4 = assignedUnit('u4');
    const store = new CountingStore(false);
    const e = new Evaluator(store);
    const first = (await e.evaluate(config, { ...request(u4), attributes: DE }, NOW))[0]!;
    expect(first.reason).toBe('ASSIGNED');
    const reads = store.reads;
    for (let i = 0; i < 3; i++) expect((await e.evaluate(config, request(u4), NOW))[0]).toMatchObject({ reason: 'STICKY', variant: first.variant });
    expect(store.reads).toBe(reads);
  });

  it('reads what concurrent evaluations miss in one store call, and answers as one at a time would', async () => {
    const units = Array.from({ length: 40 }, (_, i) => `u5_${i}`);
    const reference = new Evaluator(new MemoryStore());
    const expected: unknown[] = [];
    for (const u of units) expected.push(await reference.evaluate(config, { units: { userId: u }, attributes: DE }, NOW));
    const store = new CountingStore(false);
    const e = new Evaluator(store, { batchReads: true });
    const got = await Promise.all(units.map((u) => e.evaluate(config, { units: { userId: u }, attributes: DE }, NOW)));
    expect(got).toEqual(expected);
    expect(store.reads).toBe(1);
    // Where the slot gives a variant, the first assignment is written without a read (insert-or-keep);
    // only the experiments that give the unit no variant are read (a record could still be stored).
    const unassigned = (expected as Assignment[][]).flat().filter((r) => r.stickyWrite === null).length;
    expect(unassigned).toBeGreaterThan(0);
    expect(unassigned).toBeLessThan(units.length * config.experiments.size);
    expect(store.keysRead).toBe(unassigned);
  });

  it('writing first, finds a record of an earlier phase stored: serves it, and records the exposure in the current phase', async () => {
    // price_anchor gains a second phase in the same lineage that keeps main's slots as they were.
    const doc = exampleConfig() as unknown as { experiments: { key: string; phases: Record<string, unknown>[] }[] };
    const pricing = doc.experiments.find((x) => x.key === 'price_anchor')!;
    pricing.phases.push({ id: 'wider', startsAt: '2026-04-10T00:00:00Z', reason: 'ramp monthly_first into unallocated slots', allocation: { monthly_first: [[0, 25000], [50000, 60000]], annual_first: [[25000, 50000]] } });
    const twoPhases = compileConfigOrThrow(doc);
    const MAIN = Date.UTC(2026, 3, 5);
    const unit = (() => {
      for (let i = 0; i < 1000; i++) if (assign(twoPhases, { experiment: 'price_anchor', units: { userId: `u8_${i}` }, now: MAIN, mode: 'peek' }).variant !== null) return `u8_${i}`;
      throw new Error('no assigned unit');
    })();
    const store = new CountingStore(false);
    const enrolled = (await new Evaluator(store).evaluate(twoPhases, { units: { userId: unit }, experiments: ['price_anchor'] }, MAIN))[0]!;
    expect(enrolled).toMatchObject({ reason: 'ASSIGNED', phase: 'main' });
    // Another instance, which has not seen the unit, writes first (no read) in phase "wider".
    const other = new Evaluator(store, { batchReads: true });
    const readsBefore = store.reads;
    const served = (await other.evaluate(twoPhases, { units: { userId: unit }, experiments: ['price_anchor'] }, NOW))[0]!;
    expect(served).toMatchObject({ reason: 'STICKY', variant: enrolled.variant, phase: 'wider', stickyStatus: 'honored' });
    expect(served.stickyWrite).toBeNull();
    expect(store.reads).toBe(readsBefore);
    const exposures: StoredExposure[] = [];
    for await (const e of store.exportExposures({})) exposures.push(e);
    expect(exposures.map((e) => [e.phase, e.variant, e.count]).sort()).toEqual([
      ['main', enrolled.variant, 1],
      ['wider', enrolled.variant, 1],
    ]);
  });

  it('two evaluators on one shared store act as one service: each serves what the other stored', async () => {
    const u6 = assignedUnit('u6');
    const store = new CountingStore(false);
    const a = new Evaluator(store);
    const b = new Evaluator(store);
    // b looks first (nothing stored), then a assigns, then b is asked with attributes its own
    // evaluation would not assign: the stored record decides.
    expect((await b.evaluate(config, request(u6), NOW))[0]!.reason).toBe('TARGETING_EXCLUDED');
    const assigned = (await a.evaluate(config, { ...request(u6), attributes: DE }, NOW))[0]!;
    expect(assigned.reason).toBe('ASSIGNED');
    expect((await b.evaluate(config, request(u6), NOW))[0]).toMatchObject({ reason: 'STICKY', variant: assigned.variant, slot: assigned.slot });
    expect((await b.evaluate(config, { ...request(u6), mode: 'peek' }, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: assigned.variant });
  });

  it('answers a repeat exposure only after the first exposure of the same unit, experiment and phase is committed', async () => {
    const u7 = assignedUnit('u7');
    const store = new GatedExposureStore();
    const e = new Evaluator(store);
    const first = (await e.evaluate(config, { ...request(u7), attributes: DE, exposure: false }, NOW))[0]!;
    expect(first.reason).toBe('ASSIGNED');
    let open!: () => void;
    store.gate = new Promise<void>((resolve) => (open = resolve));
    let answered = 0;
    const one = e.evaluate(config, request(u7), NOW).then(() => answered++);
    const two = e.evaluate(config, request(u7), NOW).then(() => answered++);
    await turns();
    expect(store.writes).toHaveLength(1);
    expect(answered).toBe(0);
    open();
    await Promise.all([one, two]);
    expect(answered).toBe(2);
    expect(await e.flushCounts()).toBe(1);
    expect(await store.storedExposures()).toEqual([expect.objectContaining({ unit: u7, experiment: 'checkout_v2', count: 2 })]);
  });

  it('stores a first exposure again after its write failed', async () => {
    const u8 = assignedUnit('u8');
    const store = new GatedExposureStore();
    const e = new Evaluator(store);
    await e.evaluate(config, { ...request(u8), attributes: DE, exposure: false }, NOW);
    store.failNext = true;
    await expect(e.evaluate(config, request(u8), NOW)).rejects.toThrow('disk full');
    await e.evaluate(config, request(u8), NOW);
    expect(store.writes).toHaveLength(2);
    expect(await store.storedExposures()).toEqual([expect.objectContaining({ unit: u8, count: 1 })]);
  });

  it('holds repeat counts until they are minAgeMs old, then writes one row per unit, experiment and phase', async () => {
    const u9 = assignedUnit('u9');
    const store = new GatedExposureStore();
    const e = new Evaluator(store);
    await e.evaluate(config, { ...request(u9), attributes: DE }, NOW);
    for (let i = 1; i <= 3; i++) await e.evaluate(config, request(u9), NOW + i);
    expect(e.bufferedCounts).toBe(1);
    expect(await e.flushCounts({ minAgeMs: 10_000, now: NOW + 9_000 })).toBe(0);
    expect(await store.storedExposures()).toEqual([expect.objectContaining({ count: 1 })]);
    expect(await e.flushCounts({ minAgeMs: 10_000, now: NOW + 10_001 })).toBe(3);
    expect(await store.storedExposures()).toEqual([expect.objectContaining({ count: 4, lastAt: NOW + 3 })]);
    await e.evaluate(config, request(u9), NOW + 20);
    expect(await e.flushCounts()).toBe(1);
    expect(e.bufferedCounts).toBe(0);
  });

  it('keeps the counts a failed flush did not write, for the next flush', async () => {
    const u10 = assignedUnit('u10');
    const store = new GatedExposureStore();
    const e = new Evaluator(store);
    await e.evaluate(config, { ...request(u10), attributes: DE }, NOW);
    await e.evaluate(config, request(u10), NOW + 1);
    store.failNext = true;
    await expect(e.flushCounts()).rejects.toThrow('disk full');
    expect(e.bufferedCounts).toBe(1);
    expect(await e.flushCounts()).toBe(1);
    expect(await store.storedExposures()).toEqual([expect.objectContaining({ count: 2 })]);
  });

  it('with a cache far smaller than the units it serves, still answers from the store and loses no count', async () => {
    const store = new GatedExposureStore();
    const e = new Evaluator(store, { cacheSize: 4 });
    const units = Array.from({ length: 30 }, (_, i) => assignedUnit(`u11_${i}`));
    const first = new Map<string, string | null>();
    for (const u of units) first.set(u, (await e.evaluate(config, { ...request(u), attributes: DE }, NOW))[0]!.variant);
    for (let round = 0; round < 3; round++) {
      for (const u of units) expect((await e.evaluate(config, request(u), NOW + round))[0]).toMatchObject({ reason: 'STICKY', variant: first.get(u) });
    }
    await e.flushCounts();
    const counts = new Map((await store.storedExposures()).map((x) => [x.unit, x.count]));
    for (const u of units) expect(counts.get(u), u).toBe(4);
  });
});
