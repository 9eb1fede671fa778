/**
 * One conformance suite for every StickyAdapter: memory, localStorage and cookie (in Node and in
 * Chromium) and the service's store (against the real service). What differs between stores is
 * stated as capabilities, and each case checks what the store promises under its capabilities; no
 * case is skipped because a store cannot do it.
 *
 * The protocol the cases follow is the client's: a new adapter instance (a page load, another server
 * process) is `prefetch`ed for a unit before its records are read (a no-op for local stores), and a
 * remote store's writes are awaited (`target.settle`) before another instance reads them.
 */
import type { StickyRecord } from '@sortition/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StickyAdapter } from '../sticky/types.js';

export interface StickyCapabilities {
  /** Records outlive the adapter instance: a new instance over the same store reads them. */
  readonly persistent: boolean;
  /**
   * What the store keeps of a record it is given.
   * - "exact": any well-formed record, every field as given, under any unit type, unit id and
   *   experiment key (local stores).
   * - "derived": only the first assignment the store derives itself under its own config (the
   *   service's store: the adapter writes through by asking the service to enroll the unit). The
   *   cases then use records the store derives (the client's first assignment under the same config)
   *   and ids the store accepts (canonical unit ids; the client never hands an adapter any other). A
   *   record that disagrees with the store's derivation is kept by the instance that wrote it, but a
   *   new instance reads the store's own. Across instances only experiment, phase, variant, slot and
   *   configVersion survive (the API returns no layerEpoch or assignedAt).
   */
  readonly records: 'exact' | 'derived';
  /**
   * Whether reset() can delete records. The service's store cannot: a unit's first assignment is
   * permanent (receipts and proofs refer to it; re-randomizing is a new phase). Such a target gives
   * each case fresh unit ids instead (`unit()`), which is what "empty" means for these cases.
   */
  readonly deletes: boolean;
}

export interface Fixtures {
  /** Unit type A, with two experiments that bucket by it. */
  readonly a: { readonly unitType: string; readonly experiments: readonly [string, string] };
  /**
   * Unit type B and an experiment on it. For "exact" stores it is A's first experiment key, so the
   * unit type is shown to be part of the key; a "derived" store's experiments have one unit type each.
   */
  readonly b: { readonly unitType: string; readonly experiment: string };
  /** The record the store holds for this unit's first assignment; `variant` is a hint exact stores follow. */
  record(unitType: string, unit: string, experiment: string, variant?: string): StickyRecord;
  /** A record for the same key that differs from `record(...)` (another phase and variant). */
  conflicting(record: StickyRecord): StickyRecord;
  /** Unit ids that stress encodings (each valid for the store), and an experiment to store them under (on unit type A). */
  readonly awkward: { readonly units: readonly string[]; readonly experiment: string };
}

export interface ConformanceTarget {
  readonly capabilities: StickyCapabilities;
  /** A new adapter instance over the same backing store. */
  readonly open: () => StickyAdapter;
  /** Before each case: empty the store, or (deletes: false) start a fresh namespace of unit ids. */
  readonly reset: () => void | Promise<void>;
  /** A unit id in the current namespace (default: the name itself). */
  readonly unit?: (name: string) => string;
  /** Waits until the writes of this instance have reached the store (remote stores). */
  readonly settle?: (adapter: StickyAdapter) => Promise<void>;
  readonly fixtures: Fixtures;
}

/** A synthetic record, for stores that keep whatever they are given. */
export function record(experiment: string, variant = 'treatment', extra: Partial<StickyRecord> = {}): StickyRecord {
  return { experiment, phase: 'main', variant, slot: 734, layerEpoch: 2, configVersion: 12, assignedAt: 1_767_225_600_123, ...extra };
}

/** A slot that differs between (unit type, unit) pairs, so the synthetic records of different keys differ. */
function syntheticSlot(unitType: string, unit: string): number {
  let h = 7;
  for (const c of `${unitType}\u0000${unit}`) h = (h * 31 + c.codePointAt(0)!) % 10_000;
  return h;
}

/** Fixtures for "exact" stores: synthetic records under any keys, and ids no service would accept. */
export const exactFixtures: Fixtures = {
  a: { unitType: 'userId', experiments: ['exp', 'other'] },
  b: { unitType: 'anonymousId', experiment: 'exp' },
  record: (unitType, unit, experiment, variant) => record(experiment, variant, { slot: syntheticSlot(unitType, unit) }),
  conflicting: (r) => ({ ...r, phase: 'second', variant: `${r.variant}-2`, slot: r.slot + 1 }),
  awkward: { units: ['Zoë', 'a:b|c;d,e', 'with space', '"quoted"', '%41', '漢字', 'x\u0000y'], experiment: 'exp.v2-x_y' },
};

export function stickyConformance(name: string, target: ConformanceTarget): void {
  const { capabilities, fixtures } = target;
  const unit = (n: string): string => target.unit?.(n) ?? n;
  const { a, b } = fixtures;
  const [expA, expA2] = a.experiments;
  // What a new instance reads back of a record.
  const durable = (r: StickyRecord | null): unknown =>
    r === null || capabilities.records === 'exact' ? r : { experiment: r.experiment, phase: r.phase, variant: r.variant, slot: r.slot, configVersion: r.configVersion };
  const settle = async (adapter: StickyAdapter): Promise<void> => {
    await target.settle?.(adapter);
  };
  /** A new instance, prefetched for these units (a page load, or another process before evaluating). */
  const reopen = async (units: readonly (readonly [string, string])[]): Promise<StickyAdapter> => {
    const adapter = target.open();
    for (const [unitType, id] of units) await adapter.prefetch?.({ [unitType]: id });
    return adapter;
  };

  describe(`StickyAdapter conformance: ${name} (${capabilities.records} records, ${capabilities.persistent ? 'persistent' : 'per instance'}, ${capabilities.deletes ? 'reset deletes' : 'no deletes: fresh unit ids per case'})`, () => {
    beforeEach(async () => {
      await target.reset();
    });

    it('returns null for a unit with no record', async () => {
      const u1 = unit('u1');
      const adapter = await reopen([[a.unitType, u1]]);
      expect(adapter.get(a.unitType, u1, expA)).toBeNull();
    });

    it('returns exactly the record that was set', () => {
      const adapter = target.open();
      const u1 = unit('u1');
      const r = fixtures.record(a.unitType, u1, expA);
      adapter.set(a.unitType, u1, r);
      expect(adapter.get(a.unitType, u1, expA)).toEqual(r);
    });

    it('keys records by unit type, unit id and experiment', async () => {
      const adapter = target.open();
      const [u1, u2] = [unit('u1'), unit('u2')];
      const written: [string, string, StickyRecord][] = [
        [a.unitType, u1, fixtures.record(a.unitType, u1, expA, 'control')],
        [a.unitType, u1, fixtures.record(a.unitType, u1, expA2, 'treatment')],
        [a.unitType, u2, fixtures.record(a.unitType, u2, expA, 'treatment')],
        [b.unitType, u1, fixtures.record(b.unitType, u1, b.experiment, 'treatment')],
      ];
      // The fixture's records differ, so a store that mixed keys up would be caught.
      expect(new Set(written.map(([, , r]) => JSON.stringify(r))).size).toBe(written.length);
      for (const [t, u, r] of written) adapter.set(t, u, r);
      for (const [t, u, r] of written) expect(adapter.get(t, u, r.experiment)).toEqual(r);
      expect(adapter.get(b.unitType, u2, b.experiment)).toBeNull();
      expect(adapter.get(a.unitType, u1, 'missing')).toBeNull();
      if (!capabilities.persistent) return;
      await settle(adapter);
      const fresh = await reopen([
        [a.unitType, u1],
        [a.unitType, u2],
        [b.unitType, u1],
        [b.unitType, u2],
      ]);
      for (const [t, u, r] of written) expect(durable(fresh.get(t, u, r.experiment))).toEqual(durable(r));
      expect(fresh.get(b.unitType, u2, b.experiment)).toBeNull();
    });

    it(
      capabilities.records === 'exact'
        ? 'overwrites a record for the same key (a re-randomized phase writes a new one)'
        : "keeps a conflicting write in the writing instance only: a new instance reads the store's own record",
      async () => {
        const adapter = target.open();
        const u1 = unit('u1');
        const first = fixtures.record(a.unitType, u1, expA);
        const second = fixtures.conflicting(first);
        expect(second).not.toEqual(first);
        adapter.set(a.unitType, u1, first);
        adapter.set(a.unitType, u1, second);
        expect(adapter.get(a.unitType, u1, expA)).toEqual(second);
        if (!capabilities.persistent) return;
        await settle(adapter);
        const fresh = await reopen([[a.unitType, u1]]);
        expect(durable(fresh.get(a.unitType, u1, expA))).toEqual(durable(capabilities.records === 'exact' ? second : first));
      },
    );

    it('round-trips awkward ids and keys (unicode, separators, quotes, spaces)', async () => {
      const adapter = target.open();
      const ids = fixtures.awkward.units.map(unit);
      const experiment = fixtures.awkward.experiment;
      const records = ids.map((id) => fixtures.record(a.unitType, id, experiment, 'treat:ment|1'));
      ids.forEach((id, i) => adapter.set(a.unitType, id, records[i]!));
      ids.forEach((id, i) => expect(adapter.get(a.unitType, id, experiment)).toEqual(records[i]!));
      if (!capabilities.persistent) return;
      await settle(adapter);
      const fresh = await reopen(ids.map((id) => [a.unitType, id] as const));
      ids.forEach((id, i) => expect(durable(fresh.get(a.unitType, id, experiment))).toEqual(durable(records[i]!)));
    });

    it('does not hand out its internal record (mutating the result changes nothing)', () => {
      const adapter = target.open();
      const u1 = unit('u1');
      const r = fixtures.record(a.unitType, u1, expA);
      adapter.set(a.unitType, u1, r);
      const got = adapter.get(a.unitType, u1, expA) as { variant: string } | null;
      expect(got).not.toBeNull();
      if (got !== null) got.variant = 'mutated';
      expect(adapter.get(a.unitType, u1, expA)?.variant).toBe(r.variant);
    });

    it(capabilities.persistent ? 'keeps records across adapter instances over the same store' : 'keeps records only in the instance that wrote them', async () => {
      const u1 = unit('u1');
      const r1 = fixtures.record(a.unitType, u1, expA);
      const r2 = fixtures.record(a.unitType, u1, expA2, 'control');
      const first = target.open();
      first.set(a.unitType, u1, r1);
      await settle(first);
      const second = await reopen([[a.unitType, u1]]);
      second.set(a.unitType, u1, r2);
      await settle(second);
      const third = await reopen([[a.unitType, u1]]);
      if (capabilities.persistent) {
        expect(durable(third.get(a.unitType, u1, expA))).toEqual(durable(r1));
        expect(durable(third.get(a.unitType, u1, expA2))).toEqual(durable(r2));
      } else {
        expect(third.get(a.unitType, u1, expA)).toBeNull();
        expect(second.get(a.unitType, u1, expA)).toBeNull();
        expect(second.get(a.unitType, u1, expA2)).toEqual(r2);
      }
    });
  });
}
