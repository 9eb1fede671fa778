import { compileConfigOrThrow, type CompiledConfig } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import type { AssignmentKey, StoredAssignment } from '../store/types.js';
import { exampleConfig } from '../test-support/service.js';
import { Evaluator } from './evaluator.js';

/** A real memory store that counts reads, optionally claiming to share its data with other writers. */
class CountingStore extends MemoryStore {
  reads = 0;
  constructor(override readonly singleWriter: boolean) {
    super();
  }
  override async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    this.reads++;
    return super.getAssignments(keys);
  }
}

const NOW = Date.UTC(2026, 3, 15);
const config: CompiledConfig = compileConfigOrThrow(exampleConfig());
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
});
