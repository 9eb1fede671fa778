/**
 * assign(): the pure assignment function (spec/ALGORITHM.md §7). Given a compiled config, the unit,
 * its attributes, the time and the unit's stored sticky record, it returns the variant with the
 * reason, plus the effects the caller should perform (a sticky write, an exposure event) as data.
 * It never throws for bad input: problems come back as an error code with reason "ERROR".
 */
import type { CompiledConfig, CompiledExperiment, CompiledPhase } from './config/compile.js';
import type { UnitIdErrorCode } from './encoding/unit-id.js';
import { evaluateCondition, type Attributes } from './targeting.js';

export type Reason =
  /** Assigned now from the slot (first assignment in this phase lineage). */
  | 'ASSIGNED'
  /** Returned from the unit's sticky record. */
  | 'STICKY'
  /** Targeting did not match; no variant. */
  | 'TARGETING_EXCLUDED'
  /** The unit's slot is reserved by a holdout; no variant. */
  | 'HOLDOUT'
  /** The current phase excludes units of an earlier phase (partitioned ramp); no variant. */
  | 'PHASE_EXCLUDED'
  /** The slot is not allocated to any variant of this experiment; no variant. */
  | 'NOT_ALLOCATED'
  /** `now` is before the first phase starts; no variant. */
  | 'NOT_STARTED'
  /** `now` is at or after the experiment's endsAt; no variant. */
  | 'ENDED'
  /** Input error: see `error`. */
  | 'ERROR';

/**
 * Codes a server adds when it holds a result back instead of guessing (spec §4.1: a committed layer
 * before its beacon is supplied, or whose key cannot be derived, or whose config does not match its
 * launch). assign() itself never returns them; they are here so every runtime shares one type.
 */
export type CommittedLayerErrorCode = 'COMMITTED_LAYER_AWAITING_BEACON' | 'COMMITTED_LAYER_UNAVAILABLE' | 'COMMITTED_LAYER_MISMATCH';

export type AssignErrorCode = UnitIdErrorCode | 'EXPERIMENT_NOT_FOUND' | 'UNIT_MISSING' | 'INVALID_NOW' | CommittedLayerErrorCode;

export type StickyStatus =
  /** No record was given. */
  | 'none'
  /** The record decided the variant. */
  | 'honored'
  /** A later phase re-randomized, so the record no longer applies. */
  | 'superseded'
  /** The record names a phase or variant this config does not have (or a later phase); ignored. */
  | 'unknown'
  /** The record belongs to another experiment; ignored. */
  | 'mismatch';

export type TargetingOutcome = 'none' | 'matched' | 'excluded';

/** What the caller stores so the unit keeps its variant (written only on a first assignment). */
export interface StickyRecord {
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly layerEpoch: number;
  readonly configVersion: number;
  /** Milliseconds since the epoch. */
  readonly assignedAt: number;
}

/** An exposure: the unit was served a variant (emitted in enroll mode whenever a variant is served). */
export interface ExposureEvent {
  /** Canonical (NFC) unit id. */
  readonly unit: string;
  readonly unitType: string;
  readonly experiment: string;
  readonly layer: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly configVersion: number;
  readonly at: number;
  readonly first: boolean;
}

export interface AssignInput {
  readonly experiment: string;
  /** Unit ids by unit type, e.g. { userId: "8821" }. The experiment's layer names the type it uses. */
  readonly units: Readonly<Record<string, unknown>>;
  readonly attributes?: Attributes;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The unit's stored record for this experiment, if any. */
  readonly sticky?: StickyRecord | null | undefined;
  /** enroll (default) returns effects; peek returns the same answer and no effects. */
  readonly mode?: 'enroll' | 'peek';
}

export interface Assignment {
  readonly experiment: string;
  readonly variant: string | null;
  /** The variant's configured value (null when no variant or no value). */
  readonly value: unknown;
  readonly reason: Reason;
  readonly error: { readonly code: AssignErrorCode; readonly message: string } | null;
  readonly layer: string | null;
  readonly slot: number | null;
  readonly phase: string | null;
  readonly configVersion: number;
  readonly targeting: TargetingOutcome;
  readonly holdout: string | null;
  readonly stickyStatus: StickyStatus;
  /** Record the caller must store (first assignment, enroll mode), else null. */
  readonly stickyWrite: StickyRecord | null;
  /** Exposure the caller should log (enroll mode, variant served), else null. */
  readonly exposure: ExposureEvent | null;
}

/** Builds the result; one allocation, fixed shape (kept monomorphic for the hot path). */
function make(
  config: CompiledConfig,
  experiment: string,
  variant: string | null,
  value: unknown,
  reason: Reason,
  error: Assignment['error'],
  layer: string | null,
  slot: number | null,
  phase: string | null,
  targeting: TargetingOutcome,
  holdout: string | null,
  stickyStatus: StickyStatus,
  stickyWrite: StickyRecord | null,
  exposure: ExposureEvent | null,
): Assignment {
  return { experiment, variant, value, reason, error, layer, slot, phase, configVersion: config.version, targeting, holdout, stickyStatus, stickyWrite, exposure };
}

function failure(config: CompiledConfig, key: string, code: AssignErrorCode, message: string, layer: string | null): Assignment {
  return make(config, key, null, null, 'ERROR', { code, message }, layer, null, null, 'none', null, 'none', null, null);
}

/** The phase in force at `now` (the last one whose start is at or before it), or undefined. */
export function activePhase(experiment: CompiledExperiment, now: number): CompiledPhase | undefined {
  const phases = experiment.phases;
  for (let i = phases.length - 1; i >= 0; i--) {
    const phase = phases[i]!;
    if (phase.startsAt <= now) return phase;
  }
  return undefined;
}

function stickyStatusOf(experiment: CompiledExperiment, phase: CompiledPhase, record: StickyRecord | null | undefined): StickyStatus {
  if (record === undefined || record === null) return 'none';
  if (record.experiment !== experiment.key) return 'mismatch';
  const j = experiment.phaseIndex.get(record.phase);
  if (j === undefined || j > phase.index || !experiment.variantIndex.has(record.variant)) return 'unknown';
  return j < phase.lineageStart ? 'superseded' : 'honored';
}

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** Assigns one unit to one experiment. Pure: same inputs, same output, no effects performed. */
export function assign(config: CompiledConfig, input: AssignInput): Assignment {
  const key = input.experiment;
  const experiment = config.experiments.get(key);
  if (experiment === undefined) {
    return failure(config, key, 'EXPERIMENT_NOT_FOUND', `experiment "${String(key)}" is not in config version ${config.version}`, null);
  }
  const layer = experiment.layer;
  const unitId = input.units[layer.unit];
  if (unitId === undefined) {
    return failure(config, key, 'UNIT_MISSING', `no "${layer.unit}" unit id given; experiment "${key}" buckets by ${layer.unit}`, layer.id);
  }
  const now = input.now;
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    return failure(config, key, 'INVALID_NOW', 'now must be a finite number of milliseconds since the epoch', layer.id);
  }
  const slot = layer.slotOf(unitId);
  if (typeof slot !== 'number') return failure(config, key, slot.code, slot.message, layer.id);

  const phase = activePhase(experiment, now);
  if (phase === undefined) return make(config, key, null, null, 'NOT_STARTED', null, layer.id, slot, null, 'none', null, 'none', null, null);
  if (now >= experiment.endsAt) return make(config, key, null, null, 'ENDED', null, layer.id, slot, null, 'none', null, 'none', null, null);
  const record = input.sticky;
  const stickyStatus = stickyStatusOf(experiment, phase, record);
  const targeting: TargetingOutcome =
    experiment.targeting === undefined ? 'none' : evaluateCondition(experiment.targeting, input.attributes ?? {}) ? 'matched' : 'excluded';

  // Partitioned ramps: exclusion is by slot, and also by record for units assigned in an excluded phase.
  if ((phase.excluded !== null && phase.excluded[slot] === 1) || (stickyStatus === 'honored' && phase.excludedPhases.has(record!.phase))) {
    return make(config, key, null, null, 'PHASE_EXCLUDED', null, layer.id, slot, phase.id, targeting, null, stickyStatus, null, null);
  }

  let variantIndex: number;
  let reason: Reason;
  if (stickyStatus === 'honored') {
    variantIndex = experiment.variantIndex.get(record!.variant)!;
    reason = 'STICKY';
  } else {
    if (targeting === 'excluded') return make(config, key, null, null, 'TARGETING_EXCLUDED', null, layer.id, slot, phase.id, targeting, null, stickyStatus, null, null);
    for (const g of experiment.globalHoldouts) {
      const hs = g.layer.slotOf(unitId);
      if (typeof hs === 'number' && g.table[hs] === 1) {
        return make(config, key, null, null, 'HOLDOUT', null, layer.id, slot, phase.id, targeting, g.holdout.id, stickyStatus, null, null);
      }
    }
    const h = layer.holdoutTable[slot]!;
    if (h !== 0) return make(config, key, null, null, 'HOLDOUT', null, layer.id, slot, phase.id, targeting, layer.holdouts[h - 1]!.id, stickyStatus, null, null);
    variantIndex = phase.table[slot]! - 1;
    if (variantIndex < 0) return make(config, key, null, null, 'NOT_ALLOCATED', null, layer.id, slot, phase.id, targeting, null, stickyStatus, null, null);
    reason = 'ASSIGNED';
  }
  const variant = experiment.variants[variantIndex]!;
  const value = variant.value ?? null;
  if (input.mode === 'peek') return make(config, key, variant.key, value, reason, null, layer.id, slot, phase.id, targeting, null, stickyStatus, null, null);

  const first = reason === 'ASSIGNED';
  const unit = hasNonAscii(unitId as string) ? (unitId as string).normalize('NFC') : (unitId as string);
  const stickyWrite: StickyRecord | null = first
    ? { experiment: key, phase: phase.id, variant: variant.key, slot, layerEpoch: layer.epoch, configVersion: config.version, assignedAt: now }
    : null;
  const exposure: ExposureEvent = {
    unit,
    unitType: layer.unit,
    experiment: key,
    layer: layer.id,
    phase: phase.id,
    variant: variant.key,
    slot,
    configVersion: config.version,
    at: now,
    first,
  };
  return make(config, key, variant.key, value, reason, null, layer.id, slot, phase.id, targeting, null, stickyStatus, stickyWrite, exposure);
}
