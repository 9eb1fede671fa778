/**
 * OpenFeature mapping shared by the server and web providers (no OpenFeature import here, so each
 * provider depends only on its own SDK).
 *
 * Flag key = experiment key. Value = the variant's configured value (a string flag with no value gets
 * the variant key). Evaluation context: `targetingKey` is the unit id for the experiment's layer unit
 * type unless `units` (an object of unit type to id) names that type explicitly, which wins: after
 * login pass `{ targetingKey: userId, units: { anonymousId } }` and device-bucketed experiments keep
 * the anonymous id. Every other top-level string, number, boolean or null entry is a targeting
 * attribute (objects, arrays and dates are ignored).
 */
import type { Attributes, ExposureEvent } from '@sortition/core';
import type { Evaluation, SortitionClient } from '../client.js';
import type { SdkErrorCode } from '../errors.js';

/** OpenFeature's standard reasons (string values of StandardResolutionReasons). */
export type OpenFeatureReason = 'SPLIT' | 'CACHED' | 'DEFAULT' | 'DISABLED' | 'ERROR';
/** OpenFeature's error codes (string values of ErrorCode). */
export type OpenFeatureErrorCode = 'PROVIDER_NOT_READY' | 'FLAG_NOT_FOUND' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'TYPE_MISMATCH' | 'GENERAL';

/**
 * ASSIGNED -> SPLIT (the unit was bucketed now). STICKY -> CACHED (the stored record, not a fresh
 * split, decided the value). TARGETING_EXCLUDED, HOLDOUT, PHASE_EXCLUDED, NOT_ALLOCATED -> DEFAULT
 * (the experiment runs but serves this unit no variant). NOT_STARTED, ENDED -> DISABLED (the
 * experiment is not running). ERROR -> ERROR. The Sortition reason is kept in flagMetadata.sortitionReason.
 */
export function mapReason(reason: Evaluation<unknown>['reason']): OpenFeatureReason {
  switch (reason) {
    case 'ASSIGNED':
      return 'SPLIT';
    case 'STICKY':
      return 'CACHED';
    case 'NOT_STARTED':
    case 'ENDED':
      return 'DISABLED';
    case 'ERROR':
      return 'ERROR';
    default:
      return 'DEFAULT';
  }
}

export function mapErrorCode(code: SdkErrorCode): OpenFeatureErrorCode {
  switch (code) {
    case 'NOT_READY':
      return 'PROVIDER_NOT_READY';
    case 'EXPERIMENT_NOT_FOUND':
      return 'FLAG_NOT_FOUND';
    case 'UNIT_MISSING':
      return 'TARGETING_KEY_MISSING';
    case 'TYPE_MISMATCH':
      return 'TYPE_MISMATCH';
    // Committed layers (SERVER_ONLY, COMMITTED_LAYER_*) are a service-side condition, not a flaw
    // in the evaluation context.
    case 'INVALID_NOW':
    case 'GENERAL':
    case 'SERVER_ONLY':
    case 'COMMITTED_LAYER_AWAITING_BEACON':
    case 'COMMITTED_LAYER_UNAVAILABLE':
    case 'COMMITTED_LAYER_MISMATCH':
      return 'GENERAL';
    default:
      // Every unit id error (UNIT_ID_NOT_STRING, UNIT_ID_EMPTY, ...): the context carries a bad id.
      return 'INVALID_CONTEXT';
  }
}

/** The evaluation context as OpenFeature passes it (kept structural). */
export type ContextLike = Readonly<Record<string, unknown>>;

export function unitsAndAttributes(client: SortitionClient, experiment: string, context: ContextLike): { units: Record<string, string>; attributes: Attributes } {
  const units: Record<string, string> = {};
  const attributes: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(context)) {
    if (k === 'targetingKey') continue;
    if (k === 'units' && typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)) {
      for (const [t, id] of Object.entries(v as Record<string, unknown>)) if (typeof id === 'string') units[t] = id;
      continue;
    }
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
  }
  const unitType = client.unitTypeOf(experiment);
  const key = context.targetingKey;
  if (unitType !== null && typeof key === 'string' && key !== '' && units[unitType] === undefined) units[unitType] = key;
  return { units, attributes };
}

/**
 * Every unit id a context stands for: each id in `units`, and `targetingKey` for each unit type of the
 * loaded experiments that `units` does not name, i.e. the id each experiment would evaluate this
 * context with (the rule above). Tracking records metric events for these units, so a metric joins
 * the exposures of experiments on any unit type; the web provider prefetches them on context change.
 */
export function contextUnits(client: SortitionClient, context: ContextLike): Record<string, string> {
  const units: Record<string, string> = {};
  const given = context.units;
  if (typeof given === 'object' && given !== null && !Array.isArray(given) && !(given instanceof Date)) {
    for (const [t, id] of Object.entries(given as Record<string, unknown>)) if (typeof id === 'string') units[t] = id;
  }
  const key = context.targetingKey;
  if (typeof key === 'string' && key !== '') {
    for (const experiment of client.experiments()) {
      const t = client.unitTypeOf(experiment);
      if (t !== null && units[t] === undefined) units[t] = key;
    }
  }
  return units;
}

export interface MappedDetails<T> {
  value: T;
  variant?: string;
  reason: OpenFeatureReason;
  errorCode?: OpenFeatureErrorCode;
  errorMessage?: string;
  flagMetadata: Record<string, string | number | boolean>;
}

/** Metadata key holding the exposure (JSON) for the exposure hook. */
export const EXPOSURE_METADATA_KEY = 'sortitionExposure';

export function resolve<T>(client: SortitionClient, experiment: string, defaultValue: T, context: ContextLike, validate?: (v: unknown) => v is T): MappedDetails<T> {
  const { units, attributes } = unitsAndAttributes(client, experiment, context);
  const e = client.get(experiment, units, defaultValue, { attributes, expose: false, ...(validate === undefined ? {} : { validate }) });
  const flagMetadata: Record<string, string | number | boolean> = { sortitionReason: e.reason };
  const a = e.assignment;
  if (a !== null) {
    flagMetadata.configVersion = a.configVersion;
    if (a.phase !== null) flagMetadata.phase = a.phase;
    if (a.layer !== null) flagMetadata.layer = a.layer;
    if (a.slot !== null) flagMetadata.slot = a.slot;
    if (a.holdout !== null) flagMetadata.holdout = a.holdout;
    if (a.exposure !== null && e.errorCode === undefined) flagMetadata[EXPOSURE_METADATA_KEY] = JSON.stringify(a.exposure);
  }
  const out: MappedDetails<T> = { value: e.value, reason: mapReason(e.reason), flagMetadata };
  if (e.variant !== null) out.variant = e.variant;
  if (e.errorCode !== undefined) {
    out.errorCode = mapErrorCode(e.errorCode);
    if (e.errorMessage !== undefined) out.errorMessage = e.errorMessage;
  }
  return out;
}

/** The exposure stored in flag metadata by resolve(), or null. */
export function exposureFromMetadata(metadata: Readonly<Record<string, unknown>> | undefined): ExposureEvent | null {
  const raw = metadata?.[EXPOSURE_METADATA_KEY];
  if (typeof raw !== 'string') return null;
  try {
    return JSON.parse(raw) as ExposureEvent;
  } catch {
    return null;
  }
}

export function isJsonObjectOrArray(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}
