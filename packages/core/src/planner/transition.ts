/**
 * One transition of the planner: the slot → variant map a fresh unit would get before and after,
 * compared slot by slot (or, for a reshuffle, as independent draws), with exposed units counted.
 */
import { activePhase } from '../assign.js';
import type { CompiledExperiment, CompiledPhase } from '../config/compile.js';
import { canonicalUnitId } from '../encoding/unit-id.js';
import { NONE, type ExposedUnits, type MatrixCell, type Transition } from './types.js';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Equal as JSON, ignoring object key order and undefined members. */
export const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;

/** The phase that serves fresh units at `now`: the active phase, unless the experiment has ended. */
export function servingPhase(experiment: CompiledExperiment, now: number): CompiledPhase | undefined {
  return now < experiment.endsAt ? activePhase(experiment, now) : undefined;
}

/** Variant index + 1 (0 = none) per slot that a fresh evaluation would give in `phase`. */
export function effectiveTable(experiment: CompiledExperiment, phase: CompiledPhase | undefined): Uint8Array {
  const layer = experiment.layer;
  const out = new Uint8Array(layer.slots);
  if (phase === undefined) return out;
  for (let s = 0; s < out.length; s++) {
    if (layer.holdoutTable[s] !== 0) continue;
    if (phase.excluded !== null && phase.excluded[s] === 1) continue;
    out[s] = phase.table[s]!;
  }
  return out;
}

/** What is known about an experiment's exposed units, per slot of its current layer. */
export interface Exposure {
  readonly counts: Float64Array;
  /** Canonical, distinct unit ids when they were given (a reshuffle can then be computed exactly). */
  readonly ids: readonly string[] | null;
  readonly total: number;
}

export function exposureOf(experiment: CompiledExperiment, exposed: ExposedUnits | undefined): Exposure | null {
  if (exposed === undefined) return null;
  const layer = experiment.layer;
  const counts = new Float64Array(layer.slots);
  if ('slotCounts' in exposed) {
    if (exposed.slotCounts.length !== counts.length) {
      throw new RangeError(`exposed slot counts for ${experiment.key} have ${exposed.slotCounts.length} entries, layer ${layer.id} has ${counts.length} slots`);
    }
    let total = 0;
    for (let s = 0; s < counts.length; s++) {
      const c = exposed.slotCounts[s] ?? 0;
      if (!Number.isFinite(c) || c < 0) throw new RangeError(`exposed slot count for ${experiment.key} at slot ${s} must be a finite non-negative number`);
      counts[s] = c;
      total += c;
    }
    return { counts, ids: null, total };
  }
  // Exposure logs repeat units and may spell one unit two ways (NFC): count each unit once.
  const ids = new Set<string>();
  for (const unit of exposed.units) {
    const id = canonicalUnitId(unit);
    if (typeof id !== 'string' || ids.has(id)) continue;
    const slot = layer.slotOf(id);
    if (typeof slot !== 'number') continue;
    ids.add(id);
    counts[slot]! += 1;
  }
  return { counts, ids: [...ids], total: ids.size };
}

/** One side of a transition: an experiment and the phase serving fresh units (undefined: none). */
interface Side {
  readonly experiment: CompiledExperiment;
  readonly phase: CompiledPhase | undefined;
}

interface TransitionInput {
  readonly trigger: 'publish' | 'phase-start';
  /** Undefined for an experiment the current config does not have. */
  readonly from: Side | undefined;
  readonly to: Side;
  readonly reshuffle: boolean;
  /** Exposure under the from side's layer; null when unknown. */
  readonly exposure: Exposure | null;
  /** When exposure is unknown: whether every allocated slot of the from side may hold exposed units. */
  readonly assumeExposed: boolean;
}

export interface PlannedTransition {
  readonly transition: Transition;
  /** It moves units that are (or may be) exposed, and nothing declares the move. */
  readonly undeclared: boolean;
}

export function transition(t: TransitionInput): PlannedTransition {
  const to = t.to.experiment;
  const from = t.from?.experiment;
  const toLayer = to.layer;
  const fromLayer = from?.layer ?? toLayer;
  const toTable = effectiveTable(to, t.to.phase);
  const fromTable = from === undefined ? new Uint8Array(toTable.length) : effectiveTable(from, t.from?.phase);
  const toNames = [NONE, ...to.variants.map((v) => v.key)];
  const fromNames = [NONE, ...(from?.variants.map((v) => v.key) ?? [])];
  // For each from-variant, its index in the to-side table (variants match by key, never by position);
  // -1 when the proposed experiment no longer has it. None stays none.
  const stay = fromNames.map((name, f) => (f === 0 ? 0 : (to.variantIndex.get(name) ?? -2) + 1));
  const width = toNames.length;
  const cellSlots = new Float64Array(fromNames.length * width);
  const cellExposed = new Float64Array(fromNames.length * width);
  const reshuffle = t.reshuffle || fromTable.length !== toTable.length;
  const excluded = t.to.phase?.excluded ?? null;
  const counts = t.exposure?.counts ?? null;
  let moved = 0;
  let entering = 0;
  let exposedMoving = 0;
  let allMovesExcluded = true;

  if (!reshuffle) {
    // Same slots on both sides: compare slot by slot.
    for (let s = 0; s < toTable.length; s++) {
      const f = fromTable[s]!;
      const g = toTable[s]!;
      const c = counts === null ? 0 : counts[s]!;
      cellSlots[f * width + g]! += 1;
      cellExposed[f * width + g]! += c;
      if (f !== 0 && stay[f] !== g) {
        moved++;
        exposedMoving += c;
        if (excluded === null || excluded[s] !== 1) allMovesExcluded = false;
      } else if (f === 0 && g !== 0) entering++;
    }
  } else {
    // Every unit is redrawn: a unit's from- and to-variant are independent draws, so each cell's
    // expected share is the product of the two variants' shares.
    allMovesExcluded = false;
    const fromCount = new Float64Array(fromNames.length);
    const toCount = new Float64Array(width);
    for (const f of fromTable) fromCount[f]! += 1;
    for (const g of toTable) toCount[g]! += 1;
    const fromSlots = fromTable.length;
    const toSlots = toTable.length;
    for (let f = 0; f < fromNames.length; f++) {
      for (let g = 0; g < width; g++) {
        const n = (fromCount[f]! * toCount[g]!) / fromSlots;
        cellSlots[f * width + g] = n;
        if (f !== 0 && stay[f] !== g) moved += n;
        else if (f === 0 && g !== 0) entering += n;
      }
    }
    if (t.exposure !== null && t.exposure.ids !== null && fromLayer.unit === toLayer.unit) {
      // Known units under an unchanged unit type: derive both slots, exactly.
      for (const id of t.exposure.ids) {
        const fs = fromLayer.slotOf(id);
        const ts = toLayer.slotOf(id);
        if (typeof fs !== 'number' || typeof ts !== 'number') continue;
        const f = fromTable[fs]!;
        const g = toTable[ts]!;
        cellExposed[f * width + g]! += 1;
        if (f !== 0 && stay[f] !== g) exposedMoving++;
      }
    } else if (counts !== null) {
      for (let s = 0; s < fromSlots; s++) {
        const c = counts[s]!;
        if (c === 0) continue;
        const f = fromTable[s]!;
        for (let g = 0; g < width; g++) {
          const e = (c * toCount[g]!) / toSlots;
          cellExposed[f * width + g]! += e;
          if (f !== 0 && stay[f] !== g) exposedMoving += e;
        }
      }
    }
  }

  const known = t.exposure !== null;
  const matrix: MatrixCell[] = [];
  for (let f = 0; f < fromNames.length; f++) {
    for (let g = 0; g < width; g++) {
      const n = cellSlots[f * width + g]!;
      const e = cellExposed[f * width + g]!;
      if (n === 0 && e === 0) continue;
      matrix.push({ from: fromNames[f]!, to: toNames[g]!, slots: round6(n), share: round9(n / toTable.length), exposedUnits: known ? round6(e) : null });
    }
  }
  matrix.sort((a, b) => (a.from !== b.from ? (a.from < b.from ? -1 : 1) : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));

  const fromPhase = t.from?.phase;
  const toPhase = t.to.phase;
  const entersNewPhase = toPhase !== undefined && toPhase.id !== fromPhase?.id;
  const declaredBy =
    entersNewPhase && toPhase.carryover === 'rerandomize' ? 'rerandomize' : entersNewPhase && !reshuffle && moved > 0 && allMovesExcluded ? 'exclude' : null;
  // A reshuffle redraws every unit: knowing today's exposed units cannot make it safe.
  const movesExposed = moved > 0 && t.assumeExposed && (reshuffle || !known || exposedMoving > 0);
  // Ending the experiment (no phase serves afterwards) takes units out; that is what endsAt is for.
  const ending = toPhase === undefined;
  return {
    transition: {
      trigger: t.trigger,
      fromPhase: fromPhase?.id ?? null,
      toPhase: toPhase?.id ?? null,
      reshuffle,
      matrix,
      movedSlots: round6(moved),
      movedShare: round9(moved / toTable.length),
      enteringSlots: round6(entering),
      exposedMoving: known ? round6(exposedMoving) : t.assumeExposed && moved > 0 ? null : 0,
      declared: declaredBy !== null,
      declaredBy,
    },
    undeclared: movesExposed && declaredBy === null && !ending,
  };
}
