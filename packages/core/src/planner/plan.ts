/**
 * The change planner (spec/ALGORITHM.md §8): before a config is published, say who would move.
 *
 * For every experiment it compares the mapping slot → variant that a fresh evaluation would give
 * under the current config at `now` with the mapping under the proposed config (at `now`, and at the
 * start of every newly scheduled phase), and reports the transition matrix in slots and in share of
 * traffic, how many exposed units would move, and a verdict. The rules:
 *  - within a running phase only changes that move nobody are allowed (ramping into unallocated
 *    slots, descriptions); anything else needs a new phase with a reason;
 *  - a transition that moves exposed units needs a new phase with carryover "rerandomize", or an
 *    `exclude` that takes the moved units out explicitly;
 *  - changing a layer's key, slot count, unit, normalisation or algorithm reshuffles every unit and
 *    needs every running experiment in the layer to start a re-randomizing phase at once (and the
 *    layer's epoch to rise);
 *  - started phases are history and may not be edited or removed; running experiments are ended
 *    with endsAt, not removed.
 */
import { activePhase } from '../assign.js';
import type { CompiledConfig, CompiledExperiment, CompiledLayer, CompiledPhase } from '../config/compile.js';
import { compileConfig } from '../config/compile.js';
import type { ConfigIssue } from '../errors.js';

export const NONE = '(none)';

/** What is known about units already exposed to an experiment. */
export type ExposedUnits =
  /** The unit ids themselves (the planner derives their slots). */
  | { readonly units: Iterable<string> }
  /** Exposed-unit counts per slot of the experiment's layer under the current key. */
  | { readonly slotCounts: ArrayLike<number> };

export interface PlanOptions {
  /** Milliseconds since the epoch: the moment the proposed config would be published. */
  readonly now: number;
  /** Exposure knowledge per experiment key. Without it, a running experiment is assumed exposed everywhere it allocates. */
  readonly exposed?: ReadonlyMap<string, ExposedUnits>;
}

export type Verdict = 'unchanged' | 'safe' | 'declared' | 'refused';

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly slots: number;
  readonly share: number;
  /** Exposed units in these slots (null when unknown). */
  readonly exposedUnits: number | null;
}

export interface Transition {
  /** "publish" for the immediate effect, or the id of a newly scheduled phase. */
  readonly at: 'publish' | string;
  readonly fromPhase: string | null;
  readonly toPhase: string | null;
  /** Every unit is re-drawn (layer key/slots/unit/normalisation/algorithm changed). */
  readonly reshuffle: boolean;
  readonly matrix: readonly MatrixCell[];
  /** Slots (or, when reshuffled, expected slots) whose variant changes, including to none. */
  readonly movedSlots: number;
  readonly movedShare: number;
  readonly enteringSlots: number;
  /** Exposed units that would move; null when unknown. */
  readonly exposedMoving: number | null;
  readonly declared: boolean;
}

export interface ExperimentPlan {
  readonly experiment: string;
  readonly layer: string;
  readonly change: 'added' | 'removed' | 'modified' | 'unchanged';
  readonly changes: readonly string[];
  readonly transitions: readonly Transition[];
  readonly exposedUnits: number | null;
  readonly verdict: Verdict;
  /** Why, and how to make a refused change acceptable. */
  readonly reasons: readonly string[];
}

export interface LayerPlan {
  readonly layer: string;
  readonly changed: readonly string[];
  readonly reshuffle: boolean;
  readonly verdict: Verdict;
  readonly reasons: readonly string[];
}

export interface PlanReport {
  readonly verdict: Verdict | 'invalid';
  readonly allowed: boolean;
  readonly fromVersion: number | null;
  readonly toVersion: number | null;
  readonly issues: readonly ConfigIssue[];
  readonly layers: readonly LayerPlan[];
  readonly experiments: readonly ExperimentPlan[];
}

const RESHUFFLE_FIELDS = ['key', 'slots', 'unit', 'normalization', 'algorithm'] as const;

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

const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/** Variant index + 1 (0 = none) per slot that a fresh evaluation would give in `phase`. */
function effectiveTable(experiment: CompiledExperiment, phase: CompiledPhase | undefined): Uint8Array {
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

function variantName(experiment: CompiledExperiment, index: number): string {
  return index === 0 ? NONE : experiment.variants[index - 1]!.key;
}

function exposedSlotCounts(experiment: CompiledExperiment, exposed: ExposedUnits | undefined): Float64Array | null {
  if (exposed === undefined) return null;
  const counts = new Float64Array(experiment.layer.slots);
  if ('slotCounts' in exposed) {
    if (exposed.slotCounts.length !== counts.length) {
      throw new RangeError(`exposed slot counts for ${experiment.key} have ${exposed.slotCounts.length} entries, layer has ${counts.length} slots`);
    }
    for (let s = 0; s < counts.length; s++) counts[s] = exposed.slotCounts[s] ?? 0;
  } else {
    for (const unit of exposed.units) {
      const slot = experiment.layer.slotOf(unit);
      if (typeof slot === 'number') counts[slot]! += 1;
    }
  }
  return counts;
}

interface TransitionInput {
  readonly at: 'publish' | string;
  readonly from: CompiledExperiment | undefined;
  readonly fromPhase: CompiledPhase | undefined;
  readonly to: CompiledExperiment;
  readonly toPhase: CompiledPhase | undefined;
  readonly reshuffle: boolean;
  /** Exposed counts per slot; null means unknown. */
  readonly exposed: Float64Array | null;
  /** When exposure is unknown: whether to assume every allocated slot holds exposed units. */
  readonly assumeExposed: boolean;
}

function transition(t: TransitionInput): Transition {
  const slots = t.to.layer.slots;
  const toTable = effectiveTable(t.to, t.toPhase);
  const fromTable = t.from === undefined ? new Uint8Array(slots) : effectiveTable(t.from, t.fromPhase);
  const cells = new Map<string, { from: string; to: string; slots: number; exposed: number }>();
  const bump = (from: string, to: string, n: number, exposed: number): void => {
    const key = `${from}\u0000${to}`;
    const cell = cells.get(key);
    if (cell === undefined) cells.set(key, { from, to, slots: n, exposed });
    else {
      cell.slots += n;
      cell.exposed += exposed;
    }
  };
  let moved = 0;
  let entering = 0;
  let exposedMoving = 0;
  if (t.reshuffle || t.from === undefined || t.from.layer.slots !== slots) {
    // Independent draws: expected share in each (from, to) cell is the product of the shares.
    const fromShare = new Map<string, number>();
    const toShare = new Map<string, number>();
    const fromSlots = fromTable.length;
    for (let s = 0; s < fromSlots; s++) {
      const name = t.from === undefined ? NONE : variantName(t.from, fromTable[s]!);
      fromShare.set(name, (fromShare.get(name) ?? 0) + 1 / fromSlots);
    }
    for (let s = 0; s < slots; s++) {
      const name = variantName(t.to, toTable[s]!);
      toShare.set(name, (toShare.get(name) ?? 0) + 1 / slots);
    }
    for (const [f, fs] of fromShare) {
      for (const [g, gs] of toShare) {
        const n = fs * gs * slots;
        if (n === 0) continue;
        bump(f, g, n, 0);
        if (f !== NONE && f !== g) moved += n;
        if (f === NONE && g !== NONE) entering += n;
      }
    }
    // Exposed units stay with probability toShare(their variant); the rest move.
    if (t.exposed !== null && t.from !== undefined) {
      for (let s = 0; s < fromSlots; s++) {
        const c = t.exposed[s] ?? 0;
        if (c === 0) continue;
        const name = variantName(t.from, fromTable[s]!);
        exposedMoving += c * (1 - (name === NONE ? 0 : (toShare.get(name) ?? 0)));
      }
      exposedMoving = Math.round(exposedMoving);
    }
  } else {
    for (let s = 0; s < slots; s++) {
      const f = variantName(t.from, fromTable[s]!);
      const g = variantName(t.to, toTable[s]!);
      const c = t.exposed === null ? 0 : t.exposed[s]!;
      bump(f, g, 1, c);
      if (f !== NONE && f !== g) {
        moved++;
        exposedMoving += c;
      }
      if (f === NONE && g !== NONE) entering++;
    }
  }
  const unknownExposure = t.exposed === null;
  const matrix = [...cells.values()]
    .sort((a, b) => (a.from === b.from ? (a.to < b.to ? -1 : 1) : a.from < b.from ? -1 : 1))
    .map((c) => ({
      from: c.from,
      to: c.to,
      slots: Math.round(c.slots * 1e6) / 1e6,
      share: Math.round((c.slots / slots) * 1e9) / 1e9,
      exposedUnits: unknownExposure ? null : c.exposed,
    }));
  const exposedMovingOut = unknownExposure ? (t.assumeExposed && moved > 0 ? null : 0) : exposedMoving;
  const newPhase = t.toPhase !== undefined && (t.fromPhase === undefined || t.toPhase.id !== t.fromPhase.id);
  const declared = newPhase && t.toPhase!.carryover === 'rerandomize';
  return {
    at: t.at,
    fromPhase: t.fromPhase?.id ?? null,
    toPhase: t.toPhase?.id ?? null,
    reshuffle: t.reshuffle,
    matrix,
    movedSlots: Math.round(moved * 1e6) / 1e6,
    movedShare: Math.round((moved / slots) * 1e9) / 1e9,
    enteringSlots: Math.round(entering * 1e6) / 1e6,
    exposedMoving: exposedMovingOut,
    declared,
  };
}

/** Slots moved because the new phase explicitly excludes them: declared by the exclude list. */
function onlyExclusionMoves(t: Transition, from: CompiledExperiment | undefined, fromPhase: CompiledPhase | undefined, to: CompiledExperiment, toPhase: CompiledPhase | undefined): boolean {
  if (from === undefined || fromPhase === undefined || toPhase === undefined || toPhase.excluded === null || t.reshuffle) return false;
  if (toPhase.id === fromPhase.id) return false;
  const fromTable = effectiveTable(from, fromPhase);
  const toTable = effectiveTable(to, toPhase);
  for (let s = 0; s < fromTable.length; s++) {
    const f = fromTable[s]!;
    if (f === 0) continue;
    const fName = variantName(from, f);
    const gName = variantName(to, toTable[s]!);
    if (fName !== gName && toPhase.excluded[s] !== 1) return false;
  }
  return true;
}

function layerPlans(current: CompiledConfig, proposed: CompiledConfig): Map<string, LayerPlan> {
  const out = new Map<string, LayerPlan>();
  for (const [id, next] of proposed.layers) {
    const prev = current.layers.get(id);
    if (prev === undefined) {
      out.set(id, { layer: id, changed: ['added'], reshuffle: false, verdict: 'safe', reasons: [] });
      continue;
    }
    const changed = RESHUFFLE_FIELDS.filter((f) => !same(prev.doc[f], next.doc[f]));
    const other = (['epoch', 'description'] as const).filter((f) => !same(prev.doc[f], next.doc[f]));
    const reshuffle = changed.length > 0;
    const reasons: string[] = [];
    let verdict: Verdict = changed.length + other.length === 0 ? 'unchanged' : 'safe';
    if (changed.includes('key') && next.epoch <= prev.epoch) {
      verdict = 'refused';
      reasons.push(`layer "${id}": the key changed but epoch stayed ${prev.epoch}; raise epoch to ${prev.epoch + 1} so records made under the old key are recognisable`);
    }
    out.set(id, { layer: id, changed: [...changed, ...other], reshuffle, verdict, reasons });
  }
  for (const id of current.layers.keys()) {
    if (!proposed.layers.has(id)) out.set(id, { layer: id, changed: ['removed'], reshuffle: false, verdict: 'safe', reasons: [] });
  }
  return out;
}

function holdoutsChanged(current: CompiledConfig, proposed: CompiledConfig, layer: CompiledLayer): boolean {
  const pick = (c: CompiledConfig): unknown => (c.doc.holdouts ?? []).filter((h) => h.layer === layer.id || (h.scope === 'global' && c.layers.get(h.layer)?.unit === layer.unit));
  return !same(pick(current), pick(proposed));
}

function planExperiment(current: CompiledConfig, proposed: CompiledConfig, key: string, layers: Map<string, LayerPlan>, options: PlanOptions): ExperimentPlan {
  const { now } = options;
  const prev = current.experiments.get(key);
  const next = proposed.experiments.get(key);
  const reasons: string[] = [];
  const changes: string[] = [];
  if (next === undefined) {
    const p = prev!;
    const started = activePhase(p, now) !== undefined && now < p.endsAt;
    return {
      experiment: key,
      layer: p.layer.id,
      change: 'removed',
      changes: ['removed'],
      transitions: [],
      exposedUnits: null,
      verdict: started ? 'refused' : 'safe',
      reasons: started ? [`experiment "${key}" is running; removing it drops its units and its history. Set endsAt to end it, and remove it once ended`] : [],
    };
  }
  const exposed = exposedSlotCounts(prev ?? next, options.exposed?.get(key));
  const exposedUnits = exposed === null ? null : Math.round(exposed.reduce((a, b) => a + b, 0));
  const fromPhase = prev === undefined ? undefined : activePhase(prev, now);
  const running = prev !== undefined && fromPhase !== undefined && now < prev.endsAt;
  const layerPlan = layers.get(next.layer.id);
  const reshuffle = prev !== undefined && (prev.layer.id !== next.layer.id || (layerPlan?.reshuffle ?? false));
  const toPhase = activePhase(next, now);
  const assumeExposed = running;

  if (prev === undefined) changes.push('added');
  else {
    if (prev.layer.id !== next.layer.id) changes.push('layer');
    if (layerPlan?.reshuffle === true) changes.push(...(layerPlan.changed.filter((c) => RESHUFFLE_FIELDS.includes(c as never)).map((c) => `layer-${c}`)));
    if (!same(prev.doc.targeting, next.doc.targeting)) changes.push('targeting');
    if (!same(prev.doc.variants.map((v) => v.value), next.doc.variants.map((v) => v.value)) || !same(prev.doc.variants.map((v) => v.key), next.doc.variants.map((v) => v.key))) {
      changes.push('variants');
    }
    if (!same(prev.doc.endsAt, next.doc.endsAt)) changes.push('endsAt');
    if (holdoutsChanged(current, proposed, next.layer)) changes.push('holdouts');
  }

  // Started phases are history.
  if (prev !== undefined && fromPhase !== undefined) {
    for (const phase of prev.phases) {
      if (phase.startsAt > now) break;
      const later = next.phaseIndex.get(phase.id);
      const isCurrent = phase.id === fromPhase.id;
      if (later === undefined) {
        reasons.push(`phase "${phase.id}" has started and cannot be removed; add a new phase instead`);
        continue;
      }
      const nd = next.phases[later]!.doc;
      const pd = phase.doc;
      const fixed = isCurrent ? { ...pd, allocation: null } : pd;
      const cand = isCurrent ? { ...nd, allocation: null } : nd;
      if (!same(fixed, cand)) {
        reasons.push(isCurrent
          ? `phase "${phase.id}" is running; only its allocation may change. Put other changes (start, exclusions, carryover, reason) in a new phase`
          : `phase "${phase.id}" has ended and is history; it cannot be edited`);
      }
    }
  }

  // New phases take effect from publish on; they cannot be backdated into history.
  for (const phase of next.phases) {
    if (prev?.phaseIndex.has(phase.id) !== true && phase.startsAt < now) {
      reasons.push(`new phase "${phase.id}" starts before the publish time; history cannot be rewritten. Set startsAt to the publish time or later`);
    }
  }

  const transitions: Transition[] = [];
  if (prev === undefined || !same(prev.doc, next.doc) || reshuffle || changes.includes('holdouts')) {
    const publish = transition({ at: 'publish', from: prev, fromPhase, to: next, toPhase, reshuffle, exposed, assumeExposed });
    transitions.push(publish);
    // Newly scheduled phases: each against its predecessor in the proposed timeline.
    for (const phase of next.phases) {
      if (phase.startsAt <= now || prev?.phaseIndex.has(phase.id) === true) continue;
      const before = phase.index === 0 ? undefined : next.phases[phase.index - 1];
      transitions.push(transition({ at: phase.id, from: before === undefined ? undefined : next, fromPhase: before, to: next, toPhase: phase, reshuffle: false, exposed: null, assumeExposed: running }));
    }
    for (const t of transitions) {
      const moving = t.exposedMoving === null || t.exposedMoving > 0;
      if (!moving || t.movedSlots === 0) continue;
      const fp = t.at === 'publish' ? prev : next;
      const fromP = t.at === 'publish' ? fromPhase : next.phases[(next.phaseIndex.get(t.at) ?? 1) - 1];
      const toP = t.at === 'publish' ? toPhase : next.phases[next.phaseIndex.get(t.at)!];
      if (t.declared || onlyExclusionMoves(t, fp, fromP, next, toP)) continue;
      const who = t.exposedMoving === null ? `${t.movedSlots} slots (${(t.movedShare * 100).toFixed(2)}% of traffic) that may hold exposed units` : `${t.exposedMoving} exposed units`;
      const where = t.at === 'publish' ? 'on publish' : `when phase "${t.at}" starts`;
      reasons.push(`${who} would change variant ${where}${t.reshuffle ? ' (the layer is reshuffled)' : ''}; declare a new phase with carryover: rerandomize and a reason, or exclude the moved units with a new phase's exclude list`);
    }
  }
  if (running && toPhase !== undefined && fromPhase !== undefined && toPhase.id === fromPhase.id) {
    for (const c of ['targeting', 'variants', 'holdouts'] as const) {
      if (changes.includes(c)) {
        reasons.push(`${c} changed while phase "${fromPhase.id}" is running; changing who is eligible or what a variant serves mid-phase mixes populations. Start a new phase with a reason`);
      }
    }
  }
  const changed = prev === undefined || !same(prev.doc, next.doc) || reshuffle || changes.includes('holdouts');
  if (changed && changes.length === 0) changes.push('allocation');
  const verdict: Verdict = reasons.length > 0 ? 'refused' : !changed ? 'unchanged' : transitions.some((t) => t.declared && t.movedSlots > 0) ? 'declared' : 'safe';
  return {
    experiment: key,
    layer: next.layer.id,
    change: prev === undefined ? 'added' : changed ? 'modified' : 'unchanged',
    changes,
    transitions,
    exposedUnits,
    verdict,
    reasons,
  };
}

/**
 * Plans the change from `current` to `proposed` (parsed config documents). Pure; never throws for
 * an invalid proposal (verdict "invalid" with the issues). The current config must be valid.
 */
export function plan(current: unknown, proposed: unknown, options: PlanOptions): PlanReport {
  const cur = compileConfig(current);
  if (!cur.ok) {
    return { verdict: 'invalid', allowed: false, fromVersion: null, toVersion: null, issues: cur.issues.map((i) => ({ ...i, path: `current:${i.path}` })), layers: [], experiments: [] };
  }
  const next = compileConfig(proposed);
  if (!next.ok) {
    return { verdict: 'invalid', allowed: false, fromVersion: cur.config.version, toVersion: null, issues: next.issues, layers: [], experiments: [] };
  }
  const layers = layerPlans(cur.config, next.config);
  const keys = [...new Set([...cur.config.experiments.keys(), ...next.config.experiments.keys()])];
  const experiments = keys.map((key) => planExperiment(cur.config, next.config, key, layers, options));
  // A reshuffled layer refuses unless every running experiment in it declared a re-randomizing phase.
  const layerList = [...layers.values()].map((lp): LayerPlan => {
    const blocked = experiments.filter((e) => e.layer === lp.layer && e.verdict === 'refused').map((e) => e.experiment);
    if (!lp.reshuffle || blocked.length === 0) return lp;
    return {
      ...lp,
      verdict: 'refused',
      reasons: [...lp.reasons, `layer "${lp.layer}" changes ${lp.changed.join(', ')}, which reshuffles every unit; experiments ${blocked.join(', ')} must each start a phase with carryover: rerandomize at publish`],
    };
  });
  const all = [...layerList, ...experiments];
  const verdict: Verdict = all.some((x) => x.verdict === 'refused')
    ? 'refused'
    : all.some((x) => x.verdict === 'declared')
      ? 'declared'
      : all.some((x) => x.verdict === 'safe')
        ? 'safe'
        : 'unchanged';
  return {
    verdict,
    allowed: verdict !== 'refused',
    fromVersion: cur.config.version,
    toVersion: next.config.version,
    issues: [],
    layers: layerList,
    experiments,
  };
}
