/**
 * @sortition/core: the pure, isomorphic assignment engine. No I/O, no clock, no randomness:
 * callers pass `now`, stored sticky records and config in, and receive effects back as data.
 */
export { assign, activePhase } from './assign.js';
export type {
  AssignErrorCode,
  CommittedLayerErrorCode,
  AssignInput,
  Assignment,
  ExposureEvent,
  Reason,
  StickyRecord,
  StickyStatus,
  TargetingOutcome,
} from './assign.js';
export { compileConfig, compileConfigOrThrow } from './config/compile.js';
export { compileTrustedConfig } from './config/trusted.js';
export type { CompileResult, CompiledConfig, CompiledExperiment, CompiledLayer, CompiledPhase } from './config/compile.js';
export { validateConfig, parseTimestamp } from './config/validate.js';
export type { ValidationResult } from './config/validate.js';
export { ConfigSchema, CONFIG_SCHEMA_ID } from './config/schema.js';
export type {
  ConditionDocument,
  ConfigDocument,
  ExperimentDocument,
  HoldoutDocument,
  LayerDocument,
  PhaseDocument,
  VariantDocument,
} from './config/schema.js';
export { countSlots, unionRanges, type SlotRange } from './config/ranges.js';
export { createSlotFunction, DERIVATION_VERSIONS, SLOT_COUNTS } from './crypto/derivation.js';
export type { DerivationVersion, LayerKeyMaterial, SlotCount, SlotFunction } from './crypto/derivation.js';
export { sha256, hmacSha256 } from './crypto/sha256.js';
export { toHex, fromHex } from './encoding/hex.js';
export { canonicalJson } from './encoding/canonical-json.js';
export { canonicalUnitId, unitIdBytes, unitIdFromInteger, MAX_UNIT_ID_BYTES } from './encoding/unit-id.js';
export type { UnitIdError, UnitIdErrorCode } from './encoding/unit-id.js';
export { evaluateCondition, parseSemver, compareSemver } from './targeting.js';
export type { AttributeValue, Attributes } from './targeting.js';
export { plan, NONE } from './planner/plan.js';
export type { ExperimentPlan, ExposedUnits, LayerPlan, MatrixCell, PlanOptions, PlanReport, Transition, Verdict } from './planner/plan.js';
export { reallocate, targetCounts } from './planner/allocate.js';
export type { Allocation, ReallocateInput, ReallocateResult } from './planner/allocate.js';
export { SortitionError, ConfigError } from './errors.js';
export type { ConfigIssue, SortitionErrorCode } from './errors.js';
