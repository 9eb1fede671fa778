/**
 * @sortition/core/engine: evaluation without the JSON Schema validator, for browsers and other
 * size-sensitive clients. Configs are compiled with compileTrustedConfig (shape + cross-field
 * rules); everything else is the same engine as the main entry.
 */
export { assign, activePhase } from './assign.js';
export type { AssignErrorCode, CommittedLayerErrorCode, AssignInput, Assignment, ExposureEvent, Reason, StickyRecord, StickyStatus, TargetingOutcome } from './assign.js';
export { compileTrustedConfig } from './config/trusted.js';
export type { CompileResult, CompiledConfig, CompiledExperiment, CompiledLayer, CompiledPhase } from './config/build.js';
export type { ConfigDocument } from './config/schema.js';
export { canonicalUnitId, unitIdFromInteger } from './encoding/unit-id.js';
export type { UnitIdError, UnitIdErrorCode } from './encoding/unit-id.js';
export type { AttributeValue, Attributes } from './targeting.js';
export type { ConfigIssue } from './errors.js';
