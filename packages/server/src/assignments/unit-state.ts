/**
 * What one process knows about one unit (the evaluator's per-unit cache entry), and the small
 * operations on it. Every fact in a UnitState stays true: see assignments/evaluator.ts.
 */
import type { SlotFunction } from '@sortition/core';
import type { ExposureInput, StoredAssignment } from '../store/types.js';

/** Separates the parts of cache keys (unit type and unit id). */
export const SEP = '\u0000';

/** The cache key of a unit. */
export function unitKeyOf(unitType: string, unit: string): string {
  return `${unitType}${SEP}${unit}`;
}

/** What this process knows about one unit. Every fact in it stays true (see the header). */
export interface UnitState {
  /** Stored records of the unit (any experiment and lineage). */
  readonly records: StoredAssignment[];
  /**
   * Flat pairs [experiment, absence key] known to hold no record. The key is the lineage on a
   * single-writer store; otherwise lineage, config version and phase (see the header).
   */
  readonly absent: string[];
  /** Flat pairs [experiment, phase] whose first exposure this process stored or is storing. */
  readonly exposed: string[];
  /** One per exposed pair: resolves once that first exposure is committed (or failed), null once committed. */
  readonly exposing: (Promise<void> | null)[];
  /** Records this process stored for the unit; an absence read before a write is not trusted. */
  writes: number;
  /** Repeat exposures not yet written; the state is then also in the ledger's dirty list. */
  pending: PendingCount[] | null;
  /** Flat pairs [slot function, slot] of the unit's slots computed so far (slot-memo.ts), or null. */
  slots: (SlotFunction | number)[] | null;
}

/** Repeat exposures of one (unit, experiment, phase) not yet written. */
export interface PendingCount extends Pick<ExposureInput, 'unitType' | 'unit' | 'experiment' | 'phase' | 'variant' | 'slot' | 'configVersion' | 'source'> {
  lastAt: number;
  count: number;
}


export function emptyUnitState(): UnitState {
  return { records: [], absent: [], exposed: [], exposing: [], writes: 0, pending: null, slots: null };
}

export function findRecord(state: UnitState, experiment: string, lineage: string): StoredAssignment | undefined {
  for (const r of state.records) if (r.experiment === experiment && r.lineage === lineage) return r;
  return undefined;
}

export function addRecord(state: UnitState, record: StoredAssignment): void {
  if (findRecord(state, record.experiment, record.lineage) === undefined) state.records.push(record);
}

/** Records that `experiment` holds no record under `absence`, replacing what was known of it. */
export function setAbsent(state: UnitState, experiment: string, absence: string): void {
  dropAbsent(state, experiment);
  state.absent.push(experiment, absence);
}

export function dropAbsent(state: UnitState, experiment: string): void {
  for (let i = state.absent.length - 2; i >= 0; i -= 2) if (state.absent[i] === experiment) state.absent.splice(i, 2);
}

/** Index of the pair [a, b] in a flat pair list, or -1. */
export function findPair(pairs: readonly string[], a: string, b: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === a && pairs[i + 1] === b) return i;
  return -1;
}
