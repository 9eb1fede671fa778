import type { Attributes, StickyRecord } from '@sortition/core';

/**
 * Where a unit's sticky records live. Synchronous, so evaluation stays synchronous: adapters backed
 * by something remote (the service's store) load a unit's records ahead with `prefetch` and answer
 * `get` from memory.
 *
 * Records are keyed by (unit type, canonical unit id, experiment). They never move between ids: see
 * the identity rule in the README of this package.
 *
 * Adapters should not throw; the client treats a throwing `get` as "no record" and a throwing `set`
 * as a lost write (reported through the client's `onError`).
 */
export interface StickyAdapter {
  get(unitType: string, unit: string, experiment: string): StickyRecord | null;
  /**
   * Stores a first assignment. `attributes` are the ones it was made with; only adapters that
   * re-derive on another system (the service's store) need them.
   */
  set(unitType: string, unit: string, record: StickyRecord, attributes?: Attributes): void;
  /** Loads the records of these units ahead of evaluation (remote adapters only). */
  prefetch?(units: Readonly<Record<string, string>>, experiments?: readonly string[]): Promise<void>;
}

/** Checks that a parsed value is a well-formed record (storage contents are untrusted). */
export function isStickyRecord(value: unknown): value is StickyRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.experiment === 'string' &&
    typeof r.phase === 'string' &&
    typeof r.variant === 'string' &&
    Number.isSafeInteger(r.slot) &&
    Number.isSafeInteger(r.layerEpoch) &&
    Number.isSafeInteger(r.configVersion) &&
    typeof r.assignedAt === 'number' &&
    Number.isFinite(r.assignedAt)
  );
}

export function copyRecord(r: StickyRecord): StickyRecord {
  return { experiment: r.experiment, phase: r.phase, variant: r.variant, slot: r.slot, layerEpoch: r.layerEpoch, configVersion: r.configVersion, assignedAt: r.assignedAt };
}
