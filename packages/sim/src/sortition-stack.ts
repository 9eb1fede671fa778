/**
 * The Sortition side of the post-mortem world, on either backend (library or live service):
 *
 *  v1  at the start: the experiment, 50/50 over all 100 000 slots of its own layer;
 *  v2  just before the Sunday-night change: a new phase "ramp" starting at the change, with the same
 *      allocation (a phase boundary only, so the analysis can stratify by it; moves nobody);
 *  v3  at the change, once "ramp" runs: its allocation takes treatment to 60% of new units using
 *      only control slots that hold no exposed unit (ramp.ts), checked by the planner against the
 *      exposures stored so far.
 *
 * The ramp takes two versions because the planner checks a phase that starts after the publish time
 * without exposure data (it assumes every slot of the running phase holds exposed units), and a new
 * phase may not start before the publish time: only a phase starting exactly at the publish instant
 * could be checked against exposures in one step, which a live service's clock cannot be made to hit.
 *
 * At the change it also asks the planner about the two things the naive stack did, without
 * publishing them: the textbook 50 -> 60 reallocation, and the migration's key rotation.
 */
import { reallocate, targetCounts, type PlanReport } from '@sortition/core';
import { exposedSlotCounts, refusalReasons, type Backend, type ExposureRow } from './backend.js';
import type { StackTraffic } from './naive-stack.js';
import { exposureAwareRamp, type RampResult } from './ramp.js';
import { indexAt, serveRange, type ServeContext } from './serving.js';
import { configTime, launchPart, layerKey, phaseAllocation, SLOTS, SORTITION_EXPERIMENT, VARIANTS, withAllocation, withPhase, type ConfigPart } from './sortition-config.js';
import { satisfied, type World } from './world.js';

export const RAMP_WEIGHTS = { control: 40, treatment: 60 } as const;
/** How far ahead of a live service's clock the ramp phase is scheduled. */
const SCHEDULE_MARGIN_MS = 2_000;

export interface ConfigEvent {
  readonly version: number;
  /** Simulated time of the publish. */
  readonly simAt: number;
  readonly reason: string;
  readonly verdict: string;
  readonly movedSlots: number;
  readonly exposedMoving: number | null;
}

export interface DryRun {
  readonly label: string;
  readonly verdict: string;
  readonly allowed: boolean;
  readonly reasons: readonly string[];
}

export interface SortitionRun extends StackTraffic {
  readonly backend: 'library' | 'service';
  /** Per session: the slot the stack reported. */
  readonly slot: Int32Array;
  /** Evaluations by reason (each unit is evaluated once per stretch of one phase: ASSIGNED first, STICKY after). */
  readonly evaluations: Readonly<Record<string, number>>;
  readonly configLog: readonly ConfigEvent[];
  readonly dryRuns: readonly DryRun[];
  readonly ramp: RampResult;
  readonly part: ConfigPart;
  readonly exposures: readonly ExposureRow[];
}

function summarize(report: PlanReport): { movedSlots: number; exposedMoving: number | null } {
  const t = report.experiments.find((e) => e.experiment === SORTITION_EXPERIMENT)?.transitions ?? [];
  const moved = t.reduce((a, x) => a + x.movedSlots, 0);
  const exposed = t.some((x) => x.exposedMoving === null) ? null : t.reduce((a, x) => a + (x.exposedMoving ?? 0), 0);
  return { movedSlots: moved, exposedMoving: exposed };
}

function dryRun(label: string, report: PlanReport): DryRun {
  return { label, verdict: report.verdict, allowed: report.allowed, reasons: refusalReasons(report) };
}

export interface SortitionStackOptions {
  readonly world: World;
  readonly effect: number;
  readonly backend: Backend;
  /** Ask the planner about the naive stack's reallocation and key rotation (default true). */
  readonly dryRuns?: boolean;
}

export async function runSortitionStack(options: SortitionStackOptions): Promise<SortitionRun> {
  const { world, effect, backend } = options;
  const { sessions, calendar: cal } = world;
  const n = sessions.count;
  const treated = new Uint8Array(n);
  const outcome = new Uint8Array(n);
  const phase = new Uint8Array(n);
  const slot = new Int32Array(n);
  const evaluations: Record<string, number> = {};
  const phases = ['launch', 'ramp'];
  const configLog: ConfigEvent[] = [];
  const dryRuns: DryRun[] = [];

  const publish = async (part: ConfigPart, reason: string, simAt: number): Promise<void> => {
    const r = await backend.publish(part, reason);
    configLog.push({ version: r.version, simAt, reason, verdict: r.report.verdict, ...summarize(r.report) });
  };

  const ctx: ServeContext = {
    world,
    backend,
    experiment: SORTITION_EXPERIMENT,
    evaluations,
    onSession: (k, r) => {
      const unit = world.ids[sessions.user[k]!]!;
      if (r.variant === null || r.phase === null || r.slot === null) throw new Error(`session ${k} of ${unit} was served no variant (${r.reason}): every slot is allocated, so this is a bug`);
      const p = phases.indexOf(r.phase);
      if (p < 0) throw new Error(`session ${k} of ${unit} was served in unknown phase ${r.phase}`);
      const isTreated = r.variant === 'treatment';
      treated[k] = isTreated ? 1 : 0;
      outcome[k] = satisfied(world, k, isTreated, effect) ? 1 : 0;
      phase[k] = p;
      slot[k] = r.slot;
    },
  };
  const serve = (from: number, to: number): Promise<void> => serveRange(ctx, from, to);

  await backend.advanceTo(cal.start);
  let part = launchPart(world.seed, cal.start);
  await publish(part, 'launch: the new model against the current one, 50/50 over the whole layer', cal.start);

  const scheduleAt = cal.change - 60_000;
  await serve(0, indexAt(world, scheduleAt));
  const clock = await backend.advanceTo(scheduleAt);
  const rampAt = Math.max(cal.change, clock + SCHEDULE_MARGIN_MS);
  part = withPhase(part, {
    id: 'ramp',
    startsAt: configTime(rampAt),
    reason: 'Ramp treatment to 60% of new users; the allocation is set once the phase runs, from the slots no exposed user holds.',
    allocation: phaseAllocation(part, 'launch'),
  });
  await publish(part, 'schedule phase "ramp" at the Sunday-night change (same allocation: a phase boundary)', scheduleAt);

  const changeIndex = indexAt(world, cal.change);
  await serve(indexAt(world, scheduleAt), changeIndex);
  await backend.advanceTo(rampAt);

  const launch = phaseAllocation(part, 'launch');
  const counts = exposedSlotCounts(await backend.exposures(), SORTITION_EXPERIMENT, SLOTS);
  if (options.dryRuns !== false) {
    const textbook = reallocate({ slots: SLOTS, variants: VARIANTS, current: launch, target: targetCounts(VARIANTS, RAMP_WEIGHTS, SLOTS) });
    dryRuns.push(dryRun('the textbook 50 -> 60 reallocation (control gives up its highest slots)', await backend.dryRun(withAllocation(part, 'ramp', textbook.allocation))));
    const rotated: ConfigPart = { ...part, layer: { ...part.layer, key: layerKey(world.seed ^ 0x5a17), epoch: 2 } };
    dryRuns.push(dryRun("the migration's salt rotation (a new layer key, epoch 2)", await backend.dryRun(rotated)));
  }
  const ramp = exposureAwareRamp({ slots: SLOTS, variants: VARIANTS, current: launch, weights: RAMP_WEIGHTS, exposed: counts });
  part = withAllocation(part, 'ramp', ramp.allocation);
  await publish(part, `ramp: ${ramp.movedSlots} control slots that hold no exposed user go to treatment (${(ramp.shares['treatment']! * 100).toFixed(1)}% of new users)`, cal.change);

  await serve(changeIndex, n);
  const exposures = await backend.exposures();
  return { backend: backend.kind, treated, outcome, phase, phases, slot, evaluations, configLog, dryRuns, ramp, part, exposures };
}
