/**
 * The change planner (spec/ALGORITHM.md §8): before a config is published, say who would move.
 *
 * For every experiment it compares the mapping slot → variant that a fresh evaluation would give
 * under the current config at `now` with the mapping under the proposed config at `now` (the
 * "publish" transition), and each scheduled phase of the proposal that is new or whose history
 * changed with its predecessor. It reports each transition's matrix in slots and in share of
 * traffic, how many exposed units would move, and a verdict. The rules:
 *  - within a running phase only changes that move nobody are allowed (ramping into unallocated
 *    slots, reordering, descriptions); targeting, variant and holdout changes need a new phase;
 *  - a transition that moves exposed units (or, without exposure data, any slot of an experiment
 *    that runs or will have run) needs a new phase with carryover "rerandomize", or an `exclude`
 *    that takes exactly the moved units out; ending an experiment with endsAt is always allowed;
 *  - changing a layer's key, slot count, unit, normalisation or algorithm reshuffles every unit and
 *    needs every running experiment in the layer to start a re-randomizing phase at once (and the
 *    layer's epoch to rise), whatever is known about exposures;
 *  - started phases are history and may not be edited or removed, and no phase may start before
 *    `now`; running experiments are ended with endsAt, not removed.
 */
import { activePhase } from '../assign.js';
import type { CompiledConfig, CompiledExperiment, CompiledLayer } from '../config/compile.js';
import { compileConfig } from '../config/compile.js';
import { exposureOf, round6, same, servingPhase, transition, type PlannedTransition } from './transition.js';
import { NONE, type ExperimentPlan, type LayerPlan, type PlanOptions, type PlanReport, type Transition, type Verdict } from './types.js';

export { NONE } from './types.js';
export type { ExperimentPlan, ExposedUnits, LayerPlan, MatrixCell, PlanOptions, PlanReport, Transition, Verdict } from './types.js';

const RESHUFFLE_FIELDS = ['key', 'slots', 'unit', 'normalization', 'algorithm'] as const;
const isReshuffleField = (field: string): boolean => (RESHUFFLE_FIELDS as readonly string[]).includes(field);

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
    const reasons: string[] = [];
    let verdict: Verdict = changed.length + other.length === 0 ? 'unchanged' : 'safe';
    if (changed.includes('key') && next.epoch <= prev.epoch) {
      verdict = 'refused';
      reasons.push(`layer "${id}": the key changed but epoch stayed ${prev.epoch}; raise epoch to ${prev.epoch + 1} so records made under the old key are recognisable`);
    }
    out.set(id, { layer: id, changed: [...changed, ...other], reshuffle: changed.length > 0, verdict, reasons });
  }
  for (const id of current.layers.keys()) {
    if (!proposed.layers.has(id)) out.set(id, { layer: id, changed: ['removed'], reshuffle: false, verdict: 'safe', reasons: [] });
  }
  return out;
}

/**
 * Everything about holdouts that decides who an experiment in `layer` holds out: the layer's own
 * holdouts, and the global holdouts for its unit type together with the slot-deciding fields of the
 * layers they live in (re-keying a global holdout's layer changes who is held out). Descriptions
 * and list order do not matter.
 */
function holdoutsFor(config: CompiledConfig, layer: CompiledLayer): unknown {
  return (config.doc.holdouts ?? [])
    .flatMap((h) => {
      const rule = { ...h, description: undefined };
      if (h.layer === layer.id) return [{ rule }];
      const home = config.layers.get(h.layer);
      if (h.scope !== 'global' || home === undefined || home.unit !== layer.unit) return [];
      return [{ rule, layer: Object.fromEntries(RESHUFFLE_FIELDS.map((f) => [f, home.doc[f]])) }];
    })
    .sort((a, b) => (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0));
}

/** The phase documents with the allocation of phase `keep` blanked out. */
function phasesWithout(experiment: CompiledExperiment, keep: string | undefined): unknown {
  return experiment.doc.phases.map((p) => (p.id === keep ? { ...p, allocation: null } : p));
}

function variantValues(experiment: CompiledExperiment): unknown {
  return Object.fromEntries(experiment.variants.map((v) => [v.key, v.value ?? null]));
}

/**
 * True when `next` keeps every variant of `prev` with the same value and only adds variants to
 * which phase `phaseId` of `next` allocates no slots.
 */
function onlyUnservedAdditions(prev: CompiledExperiment, next: CompiledExperiment, phaseId: string): boolean {
  const before = new Map(prev.variants.map((v) => [v.key, v.value ?? null]));
  const after = new Map(next.variants.map((v) => [v.key, v.value ?? null]));
  for (const [key, value] of before) {
    if (!after.has(key) || !same(value, after.get(key))) return false;
  }
  const index = next.phaseIndex.get(phaseId);
  const allocation = index === undefined ? undefined : next.phases[index]?.doc.allocation;
  for (const key of after.keys()) {
    if (before.has(key)) continue;
    const ranges = allocation?.[key];
    if (ranges !== undefined && ranges.some(([start, end]) => end > start)) return false;
  }
  return true;
}

/**
 * Slots entering a running experiment (from no variant to some variant) in a ratio that differs from
 * the split of the phase they enter. Units in those slots who visited before without being enrolled
 * then enter the arms unevenly, and the estimate for the phase they first enter in compares
 * different populations. Sticky and safe for assignment, but biased for analysis.
 */
function unevenEntry(t: Transition): string[] {
  if (t.reshuffle || t.declaredBy === 'rerandomize' || t.enteringSlots === 0) return [];
  const entering = new Map<string, number>();
  const total = new Map<string, number>();
  for (const cell of t.matrix) {
    if (cell.to === NONE) continue;
    total.set(cell.to, (total.get(cell.to) ?? 0) + cell.slots);
    if (cell.from === NONE) entering.set(cell.to, (entering.get(cell.to) ?? 0) + cell.slots);
  }
  const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const enteringSum = sum(entering);
  const totalSum = sum(total);
  if (enteringSum === 0 || totalSum === 0) return [];
  let worst = 0;
  for (const [variant, slots] of total) worst = Math.max(worst, Math.abs((entering.get(variant) ?? 0) / enteringSum - slots / totalSum));
  // One percentage point: below it the imbalance is rounding in the slot arithmetic.
  if (worst < 0.01) return [];
  const pct = (m: ReadonlyMap<string, number>, of: number): string =>
    [...total.keys()].sort().map((v) => `${v} ${(((m.get(v) ?? 0) / of) * 100).toFixed(1)}%`).join(', ');
  const where = t.trigger === 'publish' ? 'on publish' : `when phase "${String(t.toPhase)}" starts`;
  return [
    `${t.enteringSlots} slots join the experiment ${where} split ${pct(entering, enteringSum)}, while the phase's split is ${pct(total, totalSum)}: ` +
      'units that visited before without being enrolled will enter the arms unevenly, which biases the estimate for the phase they first enter in. ' +
      'Grow every variant in proportion to the split, or start a new phase with carryover: rerandomize',
  ];
}

function describedAs(experiment: CompiledExperiment): unknown {
  return [experiment.doc.description, Object.fromEntries(experiment.variants.map((v) => [v.key, v.description]))];
}

interface Context {
  readonly current: CompiledConfig;
  readonly proposed: CompiledConfig;
  readonly layers: ReadonlyMap<string, LayerPlan>;
  readonly options: PlanOptions;
}

interface PlannedExperiment {
  readonly plan: ExperimentPlan;
  /** A running experiment whose layer reshuffles under it without a re-randomizing phase. */
  readonly reshuffleBlocked: boolean;
}

function removedExperiment(prev: CompiledExperiment, now: number): PlannedExperiment {
  const running = servingPhase(prev, now) !== undefined;
  return {
    plan: {
      experiment: prev.key,
      layer: prev.layer.id,
      change: 'removed',
      changes: ['removed'],
      transitions: [],
      exposedUnits: null,
      verdict: running ? 'refused' : 'safe',
      reasons: running ? [`experiment "${prev.key}" is running; removing it drops its units and its history. Set endsAt to end it, and remove it once ended`] : [],
      warnings: [],
    },
    reshuffleBlocked: false,
  };
}

function planExperiment(ctx: Context, key: string): PlannedExperiment {
  const { now } = ctx.options;
  const prev = ctx.current.experiments.get(key);
  const next = ctx.proposed.experiments.get(key);
  if (next === undefined) return removedExperiment(prev!, now);

  // Phases serving fresh units at publish, before and after (undefined: not started, or ended).
  const fromPhase = prev === undefined ? undefined : servingPhase(prev, now);
  const toPhase = servingPhase(next, now);
  const running = fromPhase !== undefined;
  const layerPlan = ctx.layers.get(next.layer.id);
  const movedLayer = prev !== undefined && prev.layer.id !== next.layer.id;
  const reshuffle = prev !== undefined && (movedLayer || layerPlan?.reshuffle === true);
  const holdoutsChanged = prev !== undefined && !movedLayer && !same(holdoutsFor(ctx.current, prev.layer), holdoutsFor(ctx.proposed, next.layer));

  const changes: string[] = [];
  const reasons: string[] = [];
  if (prev === undefined) changes.push('added');
  else {
    // The last phase that has started, whether or not the experiment has ended since.
    const startedPhase = activePhase(prev, now);
    if (movedLayer) changes.push('layer');
    if (layerPlan?.reshuffle === true) changes.push(...layerPlan.changed.filter(isReshuffleField).map((c) => `layer-${c}`));
    if (!same(prev.doc.targeting, next.doc.targeting)) changes.push('targeting');
    if (!same(variantValues(prev), variantValues(next))) changes.push('variants');
    else if (!same(prev.variants.map((v) => v.key), next.variants.map((v) => v.key))) changes.push('variant-order');
    if (holdoutsChanged) changes.push('holdouts');
    if (!same(prev.doc.endsAt, next.doc.endsAt)) changes.push('endsAt');
    if (!same(phasesWithout(prev, fromPhase?.id), phasesWithout(next, fromPhase?.id))) changes.push('phases');
    const kept = fromPhase === undefined ? undefined : next.phaseIndex.get(fromPhase.id);
    if (fromPhase !== undefined && kept !== undefined && !same(fromPhase.doc.allocation, next.phases[kept]!.doc.allocation)) changes.push('allocation');
    if (!same(describedAs(prev), describedAs(next))) changes.push('description');

    // Started phases are history: only the running phase's allocation may change.
    if (startedPhase !== undefined) {
      for (const phase of prev.phases) {
        if (phase.startsAt > now) break;
        const later = next.phaseIndex.get(phase.id);
        if (later === undefined) {
          reasons.push(`phase "${phase.id}" has started and cannot be removed; add a new phase instead`);
          continue;
        }
        const isRunning = phase.id === fromPhase?.id;
        const nd = next.phases[later]!.doc;
        if (!same(isRunning ? { ...phase.doc, allocation: null } : phase.doc, isRunning ? { ...nd, allocation: null } : nd)) {
          reasons.push(isRunning
            ? `phase "${phase.id}" is running; only its allocation may change. Put other changes (start, exclusions, carryover, reason) in a new phase`
            : `phase "${phase.id}" has ended and is history; it cannot be edited`);
        }
      }
    }
  }

  // A phase that had not started (or did not exist) cannot start in the past: history cannot be
  // backdated. A new experiment is exempt: nothing was served for it before this version, so its
  // phases take effect at publish (the version's publish time bounds every start from below).
  for (const phase of prev === undefined ? [] : next.phases) {
    if (phase.startsAt >= now) continue;
    const before = prev?.phases[prev.phaseIndex.get(phase.id) ?? -1];
    if (before === undefined || before.startsAt > now) {
      reasons.push(`${before === undefined ? 'new ' : ''}phase "${phase.id}" starts before the publish time; history cannot be rewritten. Set startsAt to the publish time or later`);
    }
  }

  const changed = prev === undefined || !same(prev.doc, next.doc) || reshuffle || holdoutsChanged;
  if (changed && changes.length === 0) changes.push('other');
  const exposure = exposureOf(prev ?? next, ctx.options.exposed?.get(key));
  const planned: PlannedTransition[] = [];
  if (changed) {
    planned.push(transition({
      trigger: 'publish',
      from: prev === undefined ? undefined : { experiment: prev, phase: fromPhase },
      to: { experiment: next, phase: toPhase },
      reshuffle,
      exposure,
      assumeExposed: running,
    }));
    // Scheduled phases, each against its predecessor in the proposed timeline, when that pair is new
    // or anything it depends on changed. Units will have been exposed in the predecessor by then.
    for (const phase of next.phases) {
      if (phase.startsAt <= now || phase.startsAt >= next.endsAt) continue;
      const before = phase.index === 0 ? undefined : next.phases[phase.index - 1];
      const earlier = prev?.phaseIndex.get(phase.id);
      const unchangedPair =
        prev !== undefined && earlier !== undefined && !reshuffle && !holdoutsChanged && same(prev.doc.phases.slice(0, earlier + 1), next.doc.phases.slice(0, phase.index + 1));
      if (unchangedPair) continue;
      planned.push(transition({
        trigger: 'phase-start',
        from: before === undefined ? undefined : { experiment: next, phase: before },
        to: { experiment: next, phase },
        reshuffle: false,
        exposure: null,
        assumeExposed: before !== undefined,
      }));
    }
    for (const { transition: t, undeclared } of planned) {
      if (!undeclared) continue;
      const where = t.trigger === 'publish' ? 'on publish' : `when phase "${String(t.toPhase)}" starts`;
      const traffic = `${(t.movedShare * 100).toFixed(2)}% of traffic`;
      if (t.reshuffle) {
        const exposedNote = t.exposedMoving === null ? '' : ` (${t.exposedMoving} of the known exposed units)`;
        reasons.push(`the layer is reshuffled ${where}: every unit is redrawn and an expected ${t.movedSlots} slots (${traffic}) change variant${exposedNote}; start a new phase with carryover: rerandomize at the publish time, with a reason`);
      } else {
        const who = t.exposedMoving === null ? `${t.movedSlots} slots (${traffic}) that may hold exposed units` : `${t.exposedMoving} exposed units`;
        reasons.push(`${who} would change variant ${where}; declare a new phase with carryover: rerandomize and a reason, or take the moved units out with a new phase's exclude list`);
      }
    }
  }

  // Who is eligible, and what a variant serves, are fixed for a phase. Adding a variant is not a
  // change to what the running phase serves as long as that phase gives it no slots: it waits for
  // a later phase (scheduled in this same version) to be allocated.
  if (running && toPhase !== undefined && toPhase.id === fromPhase.id) {
    for (const c of ['targeting', 'variants', 'holdouts'] as const) {
      if (c === 'variants' && prev !== undefined && onlyUnservedAdditions(prev, next, toPhase.id)) continue;
      if (changes.includes(c)) {
        reasons.push(`${c} changed while phase "${fromPhase.id}" is running; changing who is eligible or what a variant serves mid-phase mixes populations. Start a new phase at the publish time, with a reason`);
      }
    }
  }

  const transitions = planned.map((p) => p.transition);
  const warnings = running ? transitions.flatMap((t) => unevenEntry(t)) : [];
  const verdict: Verdict =
    reasons.length > 0 ? 'refused' : !changed ? 'unchanged' : transitions.some((t) => t.declared && t.movedSlots > 0) ? 'declared' : 'safe';
  const publish = planned[0];
  return {
    plan: {
      experiment: key,
      layer: next.layer.id,
      change: prev === undefined ? 'added' : changed ? 'modified' : 'unchanged',
      changes,
      transitions,
      exposedUnits: exposure === null ? null : round6(exposure.total),
      verdict,
      reasons,
      warnings,
    },
    reshuffleBlocked: publish !== undefined && publish.transition.reshuffle && publish.undeclared,
  };
}

/**
 * Plans the change from `current` to `proposed` (parsed config documents) at `options.now`. Pure;
 * never throws for an invalid config (verdict "invalid" with the issues), only for malformed
 * options (exposed slot counts of the wrong length).
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
  const ctx: Context = { current: cur.config, proposed: next.config, layers: layerPlans(cur.config, next.config), options };
  const keys = [...new Set([...cur.config.experiments.keys(), ...next.config.experiments.keys()])];
  const planned = keys.map((key) => planExperiment(ctx, key));
  const experiments = planned.map((p) => p.plan);
  // A reshuffled layer is refused while a running experiment in it has no re-randomizing phase at publish.
  const layers = [...ctx.layers.values()].map((lp): LayerPlan => {
    const blocked = planned.filter((p) => p.reshuffleBlocked && p.plan.layer === lp.layer).map((p) => p.plan.experiment);
    if (!lp.reshuffle || blocked.length === 0) return lp;
    return {
      ...lp,
      verdict: 'refused',
      reasons: [...lp.reasons, `layer "${lp.layer}" changes ${lp.changed.join(', ')}, which reshuffles every unit; experiments ${blocked.join(', ')} must each start a phase with carryover: rerandomize at publish`],
    };
  });
  const all = [...layers, ...experiments];
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
    layers,
    experiments,
  };
}
