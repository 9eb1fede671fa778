/**
 * Turning what a person asks for (a ramp, new weights, a new variant, a new phase, a new
 * experiment) into a proposed config document. Slot counts come from the core's largest-remainder
 * `targetCounts` and ranges from its minimal-move `reallocate`, so the dashboard proposes exactly
 * the allocation the planner will judge, moving no more slots than the change needs.
 */
import {
  reallocate,
  targetCounts,
  unionRanges,
  type ConfigDocument,
  type ExperimentDocument,
  type LayerDocument,
  type PhaseDocument,
  type SlotRange,
} from '@sortition/core';

/** A problem with the request, naming the form field and the fix. */
export class EditError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'EditError';
  }
}

export interface NewPhaseInput {
  readonly id: string;
  /** RFC 3339 UTC, e.g. 2026-11-22T10:00:00Z. */
  readonly startsAt: string;
  readonly reason: string;
  readonly carryover: 'sticky' | 'rerandomize';
  readonly exclude: readonly string[];
}

export interface AllocationChange {
  readonly experiment: string;
  /** Slots the experiment holds afterwards in the edited (or new) phase. */
  readonly coverage: number;
  /** Weight per variant (any non-negative scale), new variants included. */
  readonly weights: Readonly<Record<string, number>>;
  readonly newVariants: readonly { readonly key: string; readonly value?: unknown }[];
  /** Declare the change as a new phase instead of editing the phase in force. */
  readonly newPhase: NewPhaseInput | null;
}

export interface Proposal {
  readonly doc: ConfigDocument;
  /** Slots that leave a variant / join one, as reallocate counted them. */
  readonly moved: number;
  readonly entered: number;
}

const KEY = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function findExperiment(doc: ConfigDocument, key: string): ExperimentDocument {
  const exp = doc.experiments.find((e) => e.key === key);
  if (exp === undefined) throw new EditError('experiment', `experiment "${key}" is not in config version ${doc.version}; reload the page`);
  return exp;
}

function findLayer(doc: ConfigDocument, id: string): LayerDocument {
  const layer = doc.layers.find((l) => l.id === id);
  if (layer === undefined) throw new EditError('layer', `layer "${id}" is not in config version ${doc.version}; pick a layer from the list`);
  return layer;
}

/** The phase a change edits: the last one started at `now`, else the first. */
export function phaseInForce(exp: ExperimentDocument, now: number): PhaseDocument {
  let found = exp.phases[0]!;
  for (const p of exp.phases) if (Date.parse(p.startsAt) <= now) found = p;
  return found;
}

/**
 * Slots an experiment may not take in `layer`: every other experiment's ranges (any phase), the
 * layer's holdouts, and the slots of the phases `excluded` (their units get no variant there anyway).
 */
export function unavailableSlots(doc: ConfigDocument, layer: string, experiment: string | null, excluded: readonly string[]): SlotRange[] {
  const lists: SlotRange[][] = [];
  for (const e of doc.experiments) {
    if (e.layer !== layer) continue;
    const phases = e.key === experiment ? e.phases.filter((p) => excluded.includes(p.id)) : e.phases;
    for (const p of phases) for (const ranges of Object.values(p.allocation)) lists.push(ranges.map(([a, b]) => [a, b] as SlotRange));
  }
  for (const h of doc.holdouts ?? []) if (h.layer === layer) lists.push(h.ranges.map(([a, b]) => [a, b] as SlotRange));
  return unionRanges(lists);
}

function subtract(ranges: readonly SlotRange[], remove: readonly SlotRange[], slots: number): SlotRange[] {
  const table = new Uint8Array(slots);
  for (const [a, b] of ranges) table.fill(1, a, b);
  for (const [a, b] of remove) table.fill(0, a, b);
  const out: SlotRange[] = [];
  let start = -1;
  for (let s = 0; s <= slots; s++) {
    const on = s < slots && table[s] === 1;
    if (on && start < 0) start = s;
    if (!on && start >= 0) {
      out.push([start, s]);
      start = -1;
    }
  }
  return out;
}

/** Reallocated ranges as a config allocation (variants left without slots are omitted). */
function mutableAllocation(allocation: Readonly<Record<string, readonly SlotRange[]>>): PhaseDocument['allocation'] {
  return Object.fromEntries(
    Object.entries(allocation)
      .filter(([, ranges]) => ranges.length > 0)
      .map(([v, ranges]) => [v, ranges.map(([a, b]) => [a, b] as [number, number])]),
  );
}

const countOf = (ranges: readonly SlotRange[]): number => ranges.reduce((n, [a, b]) => n + b - a, 0);

/** How many slots the experiment could hold in the edited (or new) phase. */
export function maxCoverage(doc: ConfigDocument, experiment: string, excluded: readonly string[]): number {
  const exp = findExperiment(doc, experiment);
  const layer = findLayer(doc, exp.layer);
  return layer.slots - countOf(unavailableSlots(doc, exp.layer, experiment, excluded));
}

function checkWeights(variants: readonly string[], weights: Readonly<Record<string, number>>): void {
  for (const v of variants) {
    const w = weights[v];
    if (w === undefined || !Number.isFinite(w) || w < 0) throw new EditError(`weight-${v}`, `the weight of ${v} must be a number of at least 0`);
  }
  if (variants.every((v) => weights[v] === 0)) throw new EditError(`weight-${variants[0] ?? ''}`, 'at least one variant needs a weight above 0');
}

function checkNewPhase(exp: ExperimentDocument, phase: NewPhaseInput, now: number): void {
  if (!KEY.test(phase.id)) throw new EditError('phase-id', 'the phase id must be 1-64 characters: lower-case letters, digits, _ . - (starting with a letter or digit)');
  if (exp.phases.some((p) => p.id === phase.id)) throw new EditError('phase-id', `phase "${phase.id}" already exists; pick a new id`);
  if (!TIME.test(phase.startsAt) || !Number.isFinite(Date.parse(phase.startsAt))) throw new EditError('phase-start', 'the start must be a UTC time such as 2026-11-22T10:00:00Z');
  if (Date.parse(phase.startsAt) < now) throw new EditError('phase-start', 'a new phase cannot start in the past: pick a time after now (history cannot be rewritten)');
  const last = exp.phases[exp.phases.length - 1];
  if (last !== undefined && Date.parse(phase.startsAt) <= Date.parse(last.startsAt)) throw new EditError('phase-start', `the new phase must start after phase "${last.id}" (${last.startsAt})`);
  if (phase.reason.trim() === '') throw new EditError('reason', 'say why: a new phase needs a reason (it is recorded in the config and its history)');
  for (const id of phase.exclude) if (!exp.phases.some((p) => p.id === id)) throw new EditError('phase-exclude', `phase "${id}" is not a phase of ${exp.key}`);
}

/** The proposed config for an allocation change of an existing experiment, at `now`. */
export function proposeAllocation(current: ConfigDocument, change: AllocationChange, now: number): Proposal {
  const doc = clone(current);
  doc.version = current.version + 1;
  const exp = findExperiment(doc, change.experiment);
  const layer = findLayer(doc, exp.layer);
  for (const v of change.newVariants) {
    if (!KEY.test(v.key)) throw new EditError('new-variant', 'a variant key must be 1-64 characters: lower-case letters, digits, _ . - (starting with a letter or digit)');
    if (exp.variants.some((x) => x.key === v.key)) throw new EditError('new-variant', `variant "${v.key}" already exists`);
  }
  exp.variants.push(...change.newVariants.map((v) => (v.value === undefined ? { key: v.key } : { key: v.key, value: v.value })) as ExperimentDocument['variants']);
  const variants = exp.variants.map((v) => v.key);
  checkWeights(variants, change.weights);
  const base = phaseInForce(exp, now);
  const excluded = change.newPhase === null ? (base.exclude ?? []) : change.newPhase.exclude;
  if (change.newPhase !== null) checkNewPhase(exp, change.newPhase, now);
  const currentAllocation: Record<string, SlotRange[]> = {};
  const blocked = unavailableSlots(doc, exp.layer, exp.key, excluded);
  for (const [v, ranges] of Object.entries(base.allocation)) currentAllocation[v] = subtract(ranges as SlotRange[], blocked, layer.slots);
  const limit = layer.slots - countOf(blocked);
  if (!Number.isInteger(change.coverage) || change.coverage < 1) throw new EditError('coverage', 'the experiment needs at least one slot: raise the traffic share');
  if (change.coverage > limit) throw new EditError('coverage', `only ${limit} of the layer's ${layer.slots} slots are available to this experiment (${((limit / layer.slots) * 100).toFixed(2)}%): lower the traffic share`);
  const target = targetCounts(variants, change.weights, change.coverage);
  const result = reallocate({ slots: layer.slots, variants, current: currentAllocation, target, unavailable: blocked });
  const allocation = mutableAllocation(result.allocation);
  if (change.newPhase === null) {
    base.allocation = allocation;
  } else {
    const p = change.newPhase;
    exp.phases.push({
      id: p.id,
      startsAt: p.startsAt,
      reason: p.reason.trim(),
      ...(p.carryover === 'rerandomize' ? { carryover: 'rerandomize' as const } : {}),
      ...(p.exclude.length === 0 ? {} : { exclude: [...p.exclude] }),
      allocation,
    } as PhaseDocument);
  }
  return { doc, moved: result.moved, entered: result.entered };
}

export interface NewExperimentInput {
  readonly key: string;
  readonly layer: string;
  readonly description: string;
  readonly variants: readonly { readonly key: string; readonly weight: number }[];
  readonly coverage: number;
  /** RFC 3339 UTC; a new experiment's phases take effect from publication at the earliest. */
  readonly startsAt: string;
  readonly targeting: unknown;
}

/** The proposed config with a new experiment in `input.layer`, in slots nobody else holds. */
export function proposeExperiment(current: ConfigDocument, input: NewExperimentInput): Proposal {
  const doc = clone(current);
  doc.version = current.version + 1;
  if (!KEY.test(input.key)) throw new EditError('key', 'the key must be 1-64 characters: lower-case letters, digits, _ . - (starting with a letter or digit)');
  if (doc.experiments.some((e) => e.key === input.key)) throw new EditError('key', `experiment "${input.key}" already exists; pick another key`);
  const layer = findLayer(doc, input.layer);
  const keys = input.variants.map((v) => v.key);
  if (keys.length < 1) throw new EditError('variant-0', 'add at least one variant');
  keys.forEach((k, i) => {
    if (!KEY.test(k)) throw new EditError(`variant-${i}`, 'a variant key must be 1-64 characters: lower-case letters, digits, _ . - (starting with a letter or digit)');
    if (keys.indexOf(k) !== i) throw new EditError(`variant-${i}`, `variant "${k}" is listed twice`);
  });
  const weights = Object.fromEntries(input.variants.map((v) => [v.key, v.weight]));
  try {
    checkWeights(keys, weights);
  } catch (error) {
    if (error instanceof EditError) throw new EditError(`weight-${keys.indexOf(error.field.slice('weight-'.length))}`, error.message);
    throw error;
  }
  if (!TIME.test(input.startsAt)) throw new EditError('starts-at', 'the start must be a UTC time such as 2026-11-22T10:00:00Z');
  const blocked = unavailableSlots(doc, layer.id, null, []);
  const limit = layer.slots - countOf(blocked);
  if (!Number.isInteger(input.coverage) || input.coverage < 1) throw new EditError('coverage', 'the experiment needs at least one slot: raise the traffic share');
  if (input.coverage > limit) throw new EditError('coverage', `only ${limit} of layer ${layer.id}'s ${layer.slots} slots are free (${((limit / layer.slots) * 100).toFixed(2)}%): lower the traffic share or pick another layer`);
  const result = reallocate({ slots: layer.slots, variants: keys, current: {}, target: targetCounts(keys, weights, input.coverage), unavailable: blocked });
  const experiment = {
    key: input.key,
    layer: layer.id,
    ...(input.description.trim() === '' ? {} : { description: input.description.trim() }),
    variants: keys.map((key) => ({ key })),
    ...(input.targeting === undefined || input.targeting === null ? {} : { targeting: input.targeting }),
    phases: [{ id: 'main', startsAt: input.startsAt, allocation: mutableAllocation(result.allocation) }],
  } as ExperimentDocument;
  doc.experiments.push(experiment);
  return { doc, moved: 0, entered: result.entered };
}

/** RFC 3339 UTC to the second, rounded up to the next whole minute at least `leadMs` after `now`. */
export function startTime(now: number, leadMs: number): string {
  const minute = 60_000;
  return new Date(Math.ceil((now + leadMs) / minute) * minute).toISOString().replace('.000Z', 'Z');
}
