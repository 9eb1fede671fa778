/** The planner's public result types (spec/ALGORITHM.md §8). */
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
  /**
   * Exposure knowledge per experiment key. Without it, a running experiment is assumed exposed
   * everywhere it allocates. Unit ids are canonicalised and counted once each.
   */
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
  /** "publish": the immediate effect; "phase-start": when the scheduled phase `toPhase` starts. */
  readonly trigger: 'publish' | 'phase-start';
  readonly fromPhase: string | null;
  readonly toPhase: string | null;
  /** Every unit is re-drawn (layer key/slots/unit/normalisation/algorithm changed). */
  readonly reshuffle: boolean;
  readonly matrix: readonly MatrixCell[];
  /** Slots (or, when reshuffled, expected slots) whose variant changes, including to none. */
  readonly movedSlots: number;
  readonly movedShare: number;
  readonly enteringSlots: number;
  /**
   * Exposed units that would move (expected, when reshuffled and only slot counts are known); null
   * when unknown, in which case every slot of a running experiment is assumed to hold some.
   */
  readonly exposedMoving: number | null;
  /** The moves are declared (spec §8.1): by entering a re-randomizing phase, or by its exclude list. */
  readonly declared: boolean;
  readonly declaredBy: 'rerandomize' | 'exclude' | null;
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
  /**
   * What the change allows but an analyst must know: e.g. slots entering a running experiment in a
   * different ratio than the split in force, so units seen before the change join the arms unevenly.
   */
  readonly warnings: readonly string[];
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
