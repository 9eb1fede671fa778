/**
 * `sortition simulate postmortem --replicates R`: R independent worlds (each with its own seed,
 * population, sessions and layer key), both stacks served in each, and each analysis's rejection
 * rate at alpha = 0.05 with a Wilson interval: the false-positive rate when the true effect is 0,
 * the power otherwise. The analyses are recomputed from sufficient statistics (fast-analysis.ts,
 * checked against the DuckDB engine in its tests); the stacks run in full (the Sortition side on
 * the library backend, planner included).
 */
import { LibraryBackend } from './backend.js';
import { quickNaive, quickPrimary, type QuickEstimate } from './fast-analysis.js';
import { runNaiveStack } from './naive-stack.js';
import { wilson, type Proportion } from './normal.js';
import { Rng } from './rng.js';
import { runSortitionStack } from './sortition-stack.js';
import { generateWorld } from './world.js';

export const ALPHA = 0.05;

export interface CalibrationOptions {
  readonly users: number;
  readonly days: number;
  readonly effect: number;
  readonly seed: number;
  readonly replicates: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RejectionSummary {
  /** Replicates with p < alpha, as a proportion with its 95% Wilson interval. */
  readonly rejections: Proportion;
  /** Alpha lies inside the Wilson interval (the analysis is calibrated, when the true effect is 0). */
  readonly consistentWithAlpha: boolean;
  readonly meanRelative: number;
  readonly meanDifference: number;
  readonly sdDifference: number;
  /** Replicates where the analysis had no estimate (an arm with fewer than 2 units). */
  readonly missing: number;
}

export interface CalibrationResult {
  readonly options: Omit<CalibrationOptions, 'onProgress'>;
  readonly alpha: number;
  /** Sortition: first exposure, phase-stratified. */
  readonly sortition: RejectionSummary;
  /** The naive stack: events grouped by the flag value they carried. */
  readonly naive: RejectionSummary;
  /**
   * The expected difference in satisfied sessions per user: effect × sessions per user, averaged over
   * the worlds (the stratified estimate's weights make it exactly the all-users mean in expectation).
   */
  readonly truthDifference: number;
  readonly seeds: readonly number[];
}

export function replicateSeed(seed: number, replicate: number): number {
  return Rng.stream(seed, 'replicate', replicate).nextUint32();
}

function summarize(estimates: readonly (QuickEstimate | null)[]): RejectionSummary {
  const present = estimates.filter((e): e is QuickEstimate => e !== null);
  const rejected = present.filter((e) => e.pValue < ALPHA).length;
  const rejections = wilson(rejected, present.length);
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const diffs = present.map((e) => e.difference);
  const m = mean(diffs);
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - m) ** 2, 0) / Math.max(1, diffs.length - 1));
  return {
    rejections,
    consistentWithAlpha: rejections.lower <= ALPHA && ALPHA <= rejections.upper,
    meanRelative: mean(present.map((e) => e.treatment.mean / e.control.mean - 1)),
    meanDifference: m,
    sdDifference: sd,
    missing: estimates.length - present.length,
  };
}

export async function runCalibration(options: CalibrationOptions): Promise<CalibrationResult> {
  const { replicates } = options;
  if (!Number.isInteger(replicates) || replicates < 1 || replicates > 100_000) throw new RangeError(`replicates must be an integer from 1 to 100000, got ${replicates}`);
  const sortition: (QuickEstimate | null)[] = [];
  const naive: (QuickEstimate | null)[] = [];
  const seeds: number[] = [];
  let sessionsPerUser = 0;
  for (let r = 0; r < replicates; r++) {
    const seed = replicateSeed(options.seed, r);
    seeds.push(seed);
    const world = generateWorld({ users: options.users, days: options.days, seed });
    sessionsPerUser += world.sessions.count / new Set(world.sessions.user).size;
    naive.push(quickNaive(world, runNaiveStack(world, options.effect)));
    const run = await runSortitionStack({ world, effect: options.effect, backend: new LibraryBackend(), dryRuns: false });
    sortition.push(quickPrimary(world, run));
    options.onProgress?.(r + 1, replicates);
  }
  const { onProgress: _onProgress, ...rest } = options;
  return { options: rest, alpha: ALPHA, sortition: summarize(sortition), naive: summarize(naive), truthDifference: (options.effect * sessionsPerUser) / replicates, seeds };
}
