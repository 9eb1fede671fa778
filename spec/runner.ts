/**
 * Runs the spec vectors through @sortition/core and returns what the core computed, in the shape the
 * vectors state their expectations (every package that runs the vectors uses these projections). Pure:
 * the same module runs in Node and, bundled, in the browser page, so the two results can be compared.
 */
import { assign, compileConfigOrThrow, createSlotFunction, fromHex, plan, toHex, unitIdBytes } from '@sortition/core';
import type { AssignVector, ChangeVector, SlotVector, Vector } from './index.js';

export interface SlotOutcome {
  /** The slot, or the error code. */
  readonly slot: number | string;
  /** Hex of the canonical UTF-8 bytes, or the error code. */
  readonly canonicalUtf8Hex: string;
}

export interface AssignOutcome {
  readonly variant: string | null;
  readonly reason: string;
  readonly error: string | null;
  readonly slot: number | null;
  readonly layer: string | null;
  readonly phase: string | null;
  readonly targeting: string;
  readonly holdout: string | null;
  readonly stickyStatus: string;
  readonly writesSticky: boolean;
  readonly emitsExposure: boolean;
}

export interface ChangeOutcome {
  readonly verdict: string;
  readonly movedSlots: number;
  readonly moved: { unit: string; from: string; to: string | null }[];
  readonly entered: { unit: string; to: string }[];
}

export type VectorOutcome =
  | { readonly name: string; readonly kind: 'slot'; readonly cases: SlotOutcome[] }
  | { readonly name: string; readonly kind: 'assign'; readonly cases: AssignOutcome[] }
  | { readonly name: string; readonly kind: 'change'; readonly result: ChangeOutcome };

function vectorTime(text: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new RangeError(`bad vector timestamp ${text}`);
  return t;
}

function runSlot(vector: SlotVector): SlotOutcome[] {
  return vector.cases.map((c) => {
    const layer = vector.layers[c.layer]!;
    const slotOf = createSlotFunction(layer.algorithm, { layerId: layer.id, key: fromHex(layer.key)!, slots: layer.slots });
    const slot = slotOf(c.unit);
    const bytes = unitIdBytes(c.unit);
    return { slot: typeof slot === 'number' ? slot : slot.code, canonicalUtf8Hex: bytes instanceof Uint8Array ? toHex(bytes) : bytes.code };
  });
}

function runAssign(vector: AssignVector): AssignOutcome[] {
  const config = compileConfigOrThrow(vector.config);
  return vector.cases.map((c) => {
    const { sticky, now, ...rest } = c.input;
    const r = assign(config, {
      ...rest,
      now: vectorTime(now),
      ...(sticky === undefined ? {} : { sticky: { ...sticky, assignedAt: vectorTime(sticky.assignedAt) } }),
    });
    return {
      variant: r.variant,
      reason: r.reason,
      error: r.error?.code ?? null,
      slot: r.slot,
      layer: r.layer,
      phase: r.phase,
      targeting: r.targeting,
      holdout: r.holdout,
      stickyStatus: r.stickyStatus,
      writesSticky: r.stickyWrite !== null,
      emitsExposure: r.exposure !== null,
    };
  });
}

function runChange(vector: ChangeVector): ChangeOutcome {
  const current = compileConfigOrThrow(vector.current);
  const proposed = compileConfigOrThrow(vector.proposed);
  const moved: ChangeOutcome['moved'] = [];
  const entered: ChangeOutcome['entered'] = [];
  for (const unit of vector.units) {
    const input = { experiment: vector.experiment, units: { [vector.unitType]: unit }, now: vectorTime(vector.now), mode: 'peek' as const };
    const a = assign(current, input).variant;
    const b = assign(proposed, input).variant;
    if (a !== null && a !== b) moved.push({ unit, from: a, to: b });
    if (a === null && b !== null) entered.push({ unit, to: b });
  }
  const report = plan(vector.current, vector.proposed, { now: vectorTime(vector.now) });
  const publish = report.experiments.find((e) => e.experiment === vector.experiment)?.transitions[0];
  return { verdict: report.verdict, movedSlots: publish?.movedSlots ?? 0, moved, entered };
}

/** Every vector's outcome, in the order given. */
export function runVectors(vectors: readonly Vector[]): VectorOutcome[] {
  return vectors.map((v): VectorOutcome => {
    switch (v.kind) {
      case 'slot':
        return { name: v.name, kind: 'slot', cases: runSlot(v) };
      case 'assign':
        return { name: v.name, kind: 'assign', cases: runAssign(v) };
      case 'change':
        return { name: v.name, kind: 'change', result: runChange(v) };
    }
  });
}
