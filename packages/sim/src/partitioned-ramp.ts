/**
 * `sortition simulate partitioned-ramp`: a 10% canary for the first half of the run, then the full
 * ramp at the Sunday-night change, done three ways on the same world (seed 001, after Mojito's
 * "partitioned ramps"):
 *
 *  straight     the full phase keeps the canary's allocation and extends it (carryover sticky):
 *               canary users carry on in the variant they had;
 *  restart      stop, re-key the layer and re-randomize everyone (carryover rerandomize, epoch 2):
 *               canary users are reassigned, half of the treated ones to control;
 *  partitioned  the full phase excludes the canary phase: canary users get no variant in the full
 *               ramp, and the full ramp's users never saw the canary.
 *
 * The mechanism that makes spillover matter: novelty. The new model lifts a user's satisfaction by
 * `novelty` (absolute, per session) during the user's first `noveltyDays` with it, and by `settled`
 * afterwards. When the full ramp starts, canary users who had the treatment are past their novelty,
 * so where they spill into the full ramp's treatment arm they pull its estimate below what a fresh
 * launch would measure on the same users in the same week (the estimand, computed exactly from the
 * model). Bias = mean over replicate worlds of (estimate − estimand), with its Monte Carlo error.
 */
import { welchTTest } from '@sortition/analysis';
import { LibraryBackend } from './backend.js';
import { calendar, DAY } from './calendar.js';
import { wilson, Z_975 } from './normal.js';
import { replicateSeed } from './calibration.js';
import { configTime, layerKey, SLOTS, UNIT_TYPE, type ConfigPart } from './sortition-config.js';
import { indexAt, serveRange } from './serving.js';
import { generateWorld, type World } from './world.js';

export const RAMP_WAYS = ['straight', 'restart', 'partitioned'] as const;
export type RampWay = (typeof RAMP_WAYS)[number];

const EXPERIMENT = 'new_model';
const LAYER = 'sim-partitioned';
const CANARY = SLOTS / 10;

export interface PartitionedRampOptions {
  readonly users: number;
  readonly days: number;
  readonly seed: number;
  readonly replicates: number;
  /** Extra satisfaction during a user's first `noveltyDays` with the treatment (absolute, per session). */
  readonly novelty: number;
  /** The treatment's lasting effect (absolute, per session). */
  readonly settled: number;
  readonly noveltyDays: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export const PARTITIONED_DEFAULTS = { users: 20_000, days: 14, replicates: 20, novelty: 0.08, settled: 0.01, noveltyDays: 7 } as const;

export interface WayWorld {
  /** Canary units (exposed during the canary) in the full ramp's analysis population / in its treatment arm. */
  readonly canaryUnits: number;
  readonly canaryInFull: number;
  readonly canaryInFullTreatment: number;
  /** Canary units treated in the canary and in the full ramp's control arm. */
  readonly treatedToControl: number;
  readonly fullUnits: number;
  readonly estimate: number;
  readonly standardError: number;
  readonly pValue: number;
  readonly estimand: number;
  /**
   * The bias the spillover leaves, exact from the model (no outcome noise): over the treatment arm,
   * the mean of (lift received − lift a fresh launch gives the same user in the same sessions), minus
   * the control arm's mean lift received (carried over from the canary; 0 without carryover).
   */
  readonly spilloverBias: number;
  readonly verdict: string;
}

export interface WaySummary {
  readonly way: RampWay;
  readonly description: string;
  /** Planner verdict for the full ramp (safe / declared). */
  readonly verdict: string;
  /** Share of canary units in the full ramp's analysis population, and in its treatment arm (first world). */
  readonly spillover: number;
  readonly spilloverTreatment: number;
  readonly treatedToControl: number;
  /** Canary units' share of the full ramp's analysis population (first world). */
  readonly canaryShareOfFull: number;
  readonly fullUnits: number;
  /** First world: estimate and 95% interval. */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly pValue: number;
  /** Mean over the replicates of (estimate − estimand), its Monte Carlo standard error, and relative to the estimand. */
  readonly bias: number;
  readonly biasStandardError: number;
  readonly relativeBias: number;
  /** Mean over the replicates of the spillover bias (exact from the model), and relative to the estimand. */
  readonly spilloverBias: number;
  readonly spilloverRelativeBias: number;
  /** Replicates whose 95% interval covers the estimand. */
  readonly coverage: ReturnType<typeof wilson>;
}

export interface PartitionedRampResult {
  readonly options: Omit<PartitionedRampOptions, 'onProgress'>;
  /** The run's calendar: the canary from `start`, the full ramp from `change`. */
  readonly start: number;
  readonly change: number;
  readonly end: number;
  readonly estimand: number;
  readonly ways: readonly WaySummary[];
}

const DESCRIPTIONS: Readonly<Record<RampWay, string>> = {
  straight: 'straight ramp: the full phase extends the canary allocation (sticky)',
  restart: 'restart and reassign: new layer key, carryover rerandomize',
  partitioned: 'partitioned ramp: the full phase excludes the canary phase',
};

function canaryPart(seed: number, startsAt: string): ConfigPart {
  return {
    layer: { id: LAYER, algorithm: 'v1', slots: SLOTS, key: layerKey(seed), unit: UNIT_TYPE, normalization: 'nfc' },
    experiment: {
      key: EXPERIMENT,
      layer: LAYER,
      variants: [{ key: 'control' }, { key: 'treatment' }],
      phases: [{ id: 'canary', startsAt, allocation: { control: [[0, CANARY / 2]], treatment: [[CANARY / 2, CANARY]] } }],
    },
  };
}

function fullPart(way: RampWay, canary: ConfigPart, seed: number, startsAt: string): ConfigPart {
  const half = CANARY + (SLOTS - CANARY) / 2;
  const phases = canary.experiment.phases;
  const reason = DESCRIPTIONS[way];
  switch (way) {
    case 'straight':
      return { ...canary, experiment: { ...canary.experiment, phases: [...phases, { id: 'full', startsAt, reason, allocation: { control: [[0, CANARY / 2], [CANARY, half]], treatment: [[CANARY / 2, CANARY], [half, SLOTS]] } }] } };
    case 'restart':
      return {
        layer: { ...canary.layer, key: layerKey(seed ^ 0x7e57), epoch: 2 },
        experiment: { ...canary.experiment, phases: [...phases, { id: 'full', startsAt, reason, carryover: 'rerandomize', allocation: { control: [[0, SLOTS / 2]], treatment: [[SLOTS / 2, SLOTS]] } }] },
      };
    case 'partitioned':
      return { ...canary, experiment: { ...canary.experiment, phases: [...phases, { id: 'full', startsAt, reason, exclude: ['canary'], allocation: { control: [[CANARY, half]], treatment: [[half, SLOTS]] } }] } };
  }
}

/** Runs one way on `world` through the library: serve, outcomes with novelty, and the full ramp's estimate. */
async function runWay(world: World, way: RampWay, options: PartitionedRampOptions): Promise<WayWorld> {
  const cal = world.calendar;
  const { sessions } = world;
  const backend = new LibraryBackend();
  const users = world.ids.length;
  const firstTreated = new Float64Array(users).fill(Number.NaN);
  const canaryArm = new Int8Array(users).fill(-1);
  const fullArm = new Int8Array(users).fill(-1);
  const y = new Float64Array(users);
  /** Expected lift each user received in the full ramp (from its first full-ramp exposure on). */
  const received = new Float64Array(users);
  const novelFor = options.noveltyDays * DAY;
  let inFull = false;
  const onSession = (k: number, r: { variant: string | null }): void => {
    const u = sessions.user[k]!;
    const t = sessions.start[k]!;
    const treated = r.variant === 'treatment';
    if (treated && Number.isNaN(firstTreated[u]!)) firstTreated[u] = t;
    const lift = treated ? options.settled + (t < firstTreated[u]! + novelFor ? options.novelty : 0) : 0;
    const ok = sessions.draw[k]! < world.baseline[u]! + lift ? 1 : 0;
    if (!inFull) {
      if (r.variant !== null && canaryArm[u] === -1) canaryArm[u] = treated ? 1 : 0;
      return;
    }
    if (r.variant !== null && fullArm[u] === -1) fullArm[u] = treated ? 1 : 0;
    if (fullArm[u] !== -1) {
      y[u]! += ok;
      received[u]! += lift;
    }
  };
  const ctx = { world, backend, experiment: EXPERIMENT, evaluations: {}, onSession };
  await backend.advanceTo(cal.start);
  const canary = canaryPart(world.seed, configTime(cal.start));
  await backend.publish(canary, 'canary: 10% of the layer, 50/50');
  const change = indexAt(world, cal.change);
  await serveRange(ctx, 0, change);
  await backend.advanceTo(cal.change);
  const published = await backend.publish(fullPart(way, canary, world.seed, configTime(cal.change)), DESCRIPTIONS[way]);
  inFull = true;
  await serveRange(ctx, change, sessions.count);

  // The estimand: what a fresh launch would do to the same users in the same week (expected satisfied
  // sessions with treatment minus without, from each user's first full-ramp session on), over the
  // full-ramp users who never saw the canary.
  const firstInFull = new Float64Array(users).fill(Number.NaN);
  const expectedLift = new Float64Array(users);
  for (let k = change; k < sessions.count; k++) {
    const u = sessions.user[k]!;
    const t = sessions.start[k]!;
    if (Number.isNaN(firstInFull[u]!)) firstInFull[u] = t;
    expectedLift[u]! += options.settled + (t < firstInFull[u]! + novelFor ? options.novelty : 0);
  }
  let estimandSum = 0;
  let estimandN = 0;
  for (let u = 0; u < users; u++) {
    if (Number.isNaN(firstInFull[u]!) || canaryArm[u] !== -1) continue;
    estimandSum += expectedLift[u]!;
    estimandN++;
  }

  const arms = [
    { n: 0, sum: 0, sumSquares: 0 },
    { n: 0, sum: 0, sumSquares: 0 },
  ];
  // Per arm: Σ (received − fresh) in treatment, Σ received in control.
  const gap = [0, 0];
  let canaryUnits = 0;
  let canaryInFull = 0;
  let canaryInFullTreatment = 0;
  let treatedToControl = 0;
  for (let u = 0; u < users; u++) {
    if (canaryArm[u] !== -1) canaryUnits++;
    const a = fullArm[u]!;
    if (a === -1) continue;
    const arm = arms[a]!;
    arm.n++;
    arm.sum += y[u]!;
    arm.sumSquares += y[u]! * y[u]!;
    gap[a]! += a === 1 ? received[u]! - expectedLift[u]! : received[u]!;
    if (canaryArm[u] !== -1) {
      canaryInFull++;
      if (a === 1) canaryInFullTreatment++;
      if (canaryArm[u] === 1 && a === 0) treatedToControl++;
    }
  }
  const r = welchTTest(arms[0]!, arms[1]!);
  const estimand = estimandSum / estimandN;
  return {
    canaryUnits,
    canaryInFull,
    canaryInFullTreatment,
    treatedToControl,
    fullUnits: arms[0]!.n + arms[1]!.n,
    estimate: r.difference.estimate,
    standardError: r.difference.standardError,
    pValue: r.pValue,
    estimand,
    spilloverBias: gap[1]! / arms[1]!.n - gap[0]! / arms[0]!.n,
    verdict: published.report.verdict,
  };
}

export async function runPartitionedRamp(options: PartitionedRampOptions): Promise<PartitionedRampResult> {
  if (!Number.isInteger(options.replicates) || options.replicates < 1 || options.replicates > 10_000) throw new RangeError(`replicates must be an integer from 1 to 10000, got ${options.replicates}`);
  const results = new Map<RampWay, WayWorld[]>(RAMP_WAYS.map((w) => [w, []]));
  for (let r = 0; r < options.replicates; r++) {
    const seed = r === 0 ? options.seed : replicateSeed(options.seed, r);
    const world = generateWorld({ users: options.users, days: options.days, seed });
    for (const way of RAMP_WAYS) results.get(way)!.push(await runWay(world, way, options));
    options.onProgress?.(r + 1, options.replicates);
  }
  const first = results.get('partitioned')![0]!;
  const ways = RAMP_WAYS.map((way): WaySummary => {
    const runs = results.get(way)!;
    const w0 = runs[0]!;
    const errors = runs.map((x) => x.estimate - x.estimand);
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, e) => a + (e - mean) ** 2, 0) / Math.max(1, errors.length - 1));
    const estimandMean = runs.reduce((a, x) => a + x.estimand, 0) / runs.length;
    const covered = runs.filter((x) => Math.abs(x.estimate - x.estimand) <= Z_975 * x.standardError).length;
    return {
      way,
      description: DESCRIPTIONS[way],
      verdict: w0.verdict,
      spillover: w0.canaryUnits > 0 ? w0.canaryInFull / w0.canaryUnits : 0,
      spilloverTreatment: w0.canaryUnits > 0 ? w0.canaryInFullTreatment / w0.canaryUnits : 0,
      treatedToControl: w0.treatedToControl,
      canaryShareOfFull: w0.canaryInFull / w0.fullUnits,
      fullUnits: w0.fullUnits,
      estimate: w0.estimate,
      lower: w0.estimate - Z_975 * w0.standardError,
      upper: w0.estimate + Z_975 * w0.standardError,
      pValue: w0.pValue,
      bias: mean,
      biasStandardError: sd / Math.sqrt(errors.length),
      relativeBias: mean / estimandMean,
      spilloverBias: runs.reduce((a, x) => a + x.spilloverBias, 0) / runs.length,
      spilloverRelativeBias: runs.reduce((a, x) => a + x.spilloverBias, 0) / runs.length / estimandMean,
      coverage: wilson(covered, runs.length),
    };
  });
  const { onProgress: _onProgress, ...rest } = options;
  const cal = calendar(options.days);
  return { options: rest, start: cal.start, change: cal.change, end: cal.end, estimand: first.estimand, ways };
}
