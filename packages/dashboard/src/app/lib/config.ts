/**
 * Reading a config: experiment status, the phase a change applies to, and the slot space of a
 * layer as runs of slots (variant ranges, holdouts, other experiments, excluded and free slots).
 */
import { activePhase, compileConfig, countSlots, type CompiledConfig, type CompiledExperiment, type CompiledPhase, type ConfigDocument, type SlotRange } from '@sortition/core';

export type ExperimentStatus =
  | { readonly state: 'scheduled'; readonly startsAt: number }
  | { readonly state: 'running'; readonly phase: string; readonly since: number }
  | { readonly state: 'ended'; readonly endedAt: number };

export function statusOf(experiment: CompiledExperiment, now: number): ExperimentStatus {
  if (Number.isFinite(experiment.endsAt) && experiment.endsAt <= now) return { state: 'ended', endedAt: experiment.endsAt };
  const phase = activePhase(experiment, now);
  if (phase === undefined) return { state: 'scheduled', startsAt: experiment.phases[0]?.startsAt ?? now };
  return { state: 'running', phase: phase.id, since: phase.startsAt };
}

/** The phase an allocation change edits: the one serving now, else the first (not started yet). */
export function editablePhase(experiment: CompiledExperiment, now: number): CompiledPhase {
  return activePhase(experiment, now) ?? experiment.phases[0]!;
}

const compiledByHash = new Map<string, CompiledConfig>();

/** Compiles a published config (cached by content hash); throws if the service served an invalid one. */
export function compiled(doc: ConfigDocument, hash: string): CompiledConfig {
  const hit = compiledByHash.get(hash);
  if (hit !== undefined) return hit;
  const result = compileConfig(doc);
  if (!result.ok) throw new Error(`config version ${doc.version} does not compile: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  if (compiledByHash.size > 20) compiledByHash.clear();
  compiledByHash.set(hash, result.config);
  return result.config;
}

export type SegmentKind = 'variant' | 'holdout' | 'other' | 'excluded' | 'free';

export interface Segment {
  readonly from: number;
  readonly to: number;
  readonly kind: SegmentKind;
  /** Variant key, holdout id, other experiment's key, excluded phase id; '' for free slots. */
  readonly label: string;
  /** Index of the variant in the experiment (for its colour). */
  readonly variantIndex: number;
}

/** Run-length encodes a per-slot labelling into segments. */
function runs(length: number, at: (slot: number) => { kind: SegmentKind; label: string; variantIndex: number }): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  let current = at(0);
  for (let slot = 1; slot <= length; slot++) {
    const next = slot < length ? at(slot) : null;
    if (next === null || next.kind !== current.kind || next.label !== current.label) {
      out.push({ from: start, to: slot, ...current });
      if (next !== null) {
        start = slot;
        current = next;
      }
    }
  }
  return out;
}

/** Which other experiment (any phase) holds each slot of a layer. */
function othersTable(config: CompiledConfig, layer: string, except: string): string[] {
  const slots = config.layers.get(layer)?.slots ?? 0;
  const table = new Array<string>(slots).fill('');
  for (const exp of config.experiments.values()) {
    if (exp.layer.id !== layer || exp.key === except) continue;
    for (const phase of exp.phases) for (let s = 0; s < slots; s++) if ((phase.table[s] ?? 0) !== 0) table[s] = exp.key;
  }
  return table;
}

/** One phase of an experiment over its whole layer. */
export function phaseSegments(config: CompiledConfig, experiment: CompiledExperiment, phase: CompiledPhase): Segment[] {
  const layer = experiment.layer;
  const others = othersTable(config, layer.id, experiment.key);
  const excludedBy = [...phase.excludedPhases].map((id) => experiment.phases[experiment.phaseIndex.get(id) ?? -1]).filter((p): p is CompiledPhase => p !== undefined);
  return runs(layer.slots, (slot) => {
    const holdout = layer.holdoutTable[slot] ?? 0;
    if (holdout !== 0) return { kind: 'holdout', label: layer.holdouts[holdout - 1]?.id ?? 'holdout', variantIndex: -1 };
    const excluded = excludedBy.find((p) => (p.table[slot] ?? 0) !== 0);
    if (excluded !== undefined) return { kind: 'excluded', label: excluded.id, variantIndex: -1 };
    const v = phase.table[slot] ?? 0;
    if (v !== 0) return { kind: 'variant', label: experiment.variants[v - 1]?.key ?? '?', variantIndex: v - 1 };
    const other = others[slot] ?? '';
    if (other !== '') return { kind: 'other', label: other, variantIndex: -1 };
    return { kind: 'free', label: '', variantIndex: -1 };
  });
}

/**
 * A layer now: each experiment's serving (or first) phase, the slots its other phases reserve (no
 * other experiment may take them), holdouts, and free slots.
 */
export function layerSegments(config: CompiledConfig, layerId: string, now: number): Segment[] {
  const layer = config.layers.get(layerId);
  if (layer === undefined) return [];
  const serving = new Array<string>(layer.slots).fill('');
  const reserved = new Array<string>(layer.slots).fill('');
  for (const exp of config.experiments.values()) {
    if (exp.layer.id !== layerId) continue;
    const ended = statusOf(exp, now).state === 'ended';
    const current = editablePhase(exp, now);
    for (const phase of exp.phases) {
      const target = phase === current && !ended ? serving : reserved;
      for (let s = 0; s < layer.slots; s++) if ((phase.table[s] ?? 0) !== 0) target[s] = exp.key;
    }
  }
  const keys = [...config.experiments.keys()];
  return runs(layer.slots, (slot) => {
    const holdout = layer.holdoutTable[slot] ?? 0;
    if (holdout !== 0) return { kind: 'holdout', label: layer.holdouts[holdout - 1]?.id ?? 'holdout', variantIndex: -1 };
    const key = serving[slot] ?? '';
    if (key !== '') return { kind: 'variant', label: key, variantIndex: keys.indexOf(key) };
    const held = reserved[slot] ?? '';
    return held === '' ? { kind: 'free', label: '', variantIndex: -1 } : { kind: 'other', label: held, variantIndex: -1 };
  });
}

/** Slots per variant in a phase's allocation (as written, holdout overlap impossible by validation). */
export function slotCounts(experiment: CompiledExperiment, phase: CompiledPhase): Record<string, number> {
  return Object.fromEntries(experiment.variants.map((v) => [v.key, countSlots(phase.doc.allocation[v.key] ?? [])]));
}

export function totalSlots(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export function rangesText(ranges: readonly SlotRange[]): string {
  return ranges.length === 0 ? 'none' : ranges.map(([a, b]) => `[${a}, ${b})`).join(', ');
}

/** Okabe–Ito palette: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#8C6D31', '#332288'];

export function variantColor(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}
