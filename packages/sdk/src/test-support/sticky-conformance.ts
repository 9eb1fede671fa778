/**
 * One conformance suite for every StickyAdapter. `open` returns a fresh adapter over the same backing
 * store each time it is called (so persistence across instances, e.g. page loads, is checked);
 * `reset` empties the backing store.
 */
import type { StickyRecord } from '@sortition/core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StickyAdapter } from '../sticky/types.js';

export interface ConformanceTarget {
  readonly open: () => StickyAdapter;
  readonly reset: () => void;
  /** Whether records survive a new adapter instance over the same backing store. */
  readonly persistent: boolean;
}

export function record(experiment: string, variant = 'treatment', extra: Partial<StickyRecord> = {}): StickyRecord {
  return { experiment, phase: 'main', variant, slot: 734, layerEpoch: 2, configVersion: 12, assignedAt: 1_767_225_600_123, ...extra };
}

export function stickyConformance(name: string, target: ConformanceTarget): void {
  describe(`StickyAdapter conformance: ${name}`, () => {
    beforeEach(() => target.reset());

    it('returns null for a unit with no record', () => {
      expect(target.open().get('userId', 'u1', 'exp')).toBeNull();
    });

    it('returns exactly the record that was set', () => {
      const a = target.open();
      const r = record('exp');
      a.set('userId', 'u1', r);
      expect(a.get('userId', 'u1', 'exp')).toEqual(r);
    });

    it('keys records by unit type, unit id and experiment', () => {
      const a = target.open();
      a.set('userId', 'u1', record('exp', 'control'));
      a.set('userId', 'u1', record('other', 'treatment'));
      a.set('userId', 'u2', record('exp', 'treatment'));
      a.set('anonymousId', 'u1', record('exp', 'treatment'));
      expect(a.get('userId', 'u1', 'exp')?.variant).toBe('control');
      expect(a.get('userId', 'u1', 'other')?.variant).toBe('treatment');
      expect(a.get('userId', 'u2', 'exp')?.variant).toBe('treatment');
      expect(a.get('anonymousId', 'u1', 'exp')?.variant).toBe('treatment');
      expect(a.get('anonymousId', 'u2', 'exp')).toBeNull();
      expect(a.get('userId', 'u1', 'missing')).toBeNull();
    });

    it('overwrites a record for the same key (a re-randomized phase writes a new one)', () => {
      const a = target.open();
      a.set('userId', 'u1', record('exp', 'control'));
      a.set('userId', 'u1', record('exp', 'treatment', { phase: 'second', slot: 1 }));
      expect(a.get('userId', 'u1', 'exp')).toEqual(record('exp', 'treatment', { phase: 'second', slot: 1 }));
    });

    it('round-trips awkward ids and keys (unicode, separators, quotes, spaces)', () => {
      const a = target.open();
      const ids = ['Zoë', 'a:b|c;d,e', 'with space', '"quoted"', '%41', '漢字', 'x\u0000y'];
      for (const id of ids) a.set('userId', id, record('exp.v2-x_y', 'treat:ment|1'));
      for (const id of ids) expect(a.get('userId', id, 'exp.v2-x_y')).toEqual(record('exp.v2-x_y', 'treat:ment|1'));
    });

    it('does not hand out its internal record (mutating the result changes nothing)', () => {
      const a = target.open();
      a.set('userId', 'u1', record('exp'));
      const got = a.get('userId', 'u1', 'exp') as { variant: string } | null;
      if (got !== null) got.variant = 'mutated';
      expect(a.get('userId', 'u1', 'exp')?.variant).toBe('treatment');
    });

    it.runIf(target.persistent)('keeps records across adapter instances over the same store', () => {
      target.open().set('userId', 'u1', record('exp'));
      target.open().set('userId', 'u1', record('other', 'control'));
      const b = target.open();
      expect(b.get('userId', 'u1', 'exp')).toEqual(record('exp'));
      expect(b.get('userId', 'u1', 'other')).toEqual(record('other', 'control'));
    });
  });
}
