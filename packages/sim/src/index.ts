/**
 * @sortition/sim: the traffic simulator. A population whose habits differ, the post-mortem's naive
 * stack and Sortition serving the same sessions, the files each leaves, both analyses, calibration
 * over replicate worlds, and the partitioned-ramp comparison. Everything returns data.
 */
export { runPostmortem, composition, type PostmortemOptions, type PostmortemResult, type EstimateView, type Composition, type ArmMakeup } from './postmortem.js';
export { runCalibration, replicateSeed, ALPHA, type CalibrationOptions, type CalibrationResult, type RejectionSummary } from './calibration.js';
export { runPartitionedRamp, PARTITIONED_DEFAULTS, RAMP_WAYS, type PartitionedRampOptions, type PartitionedRampResult, type RampWay, type WaySummary } from './partitioned-ramp.js';
export { LibraryBackend, type Backend, type ExposureRow, type Served } from './backend.js';
export { ServiceBackend, realClock, ServiceError, type ServiceBackendOptions, type ServiceClock } from './service-backend.js';
export { generateWorld, DEFAULT_POPULATION, type World, type WorldOptions, type PopulationModel } from './world.js';
export { calendar, type Calendar } from './calendar.js';
export { Rng } from './rng.js';
export { wilson, type Proportion } from './normal.js';
export type { NaiveFlagVersion } from './naive-stack.js';
export type { ConfigEvent, DryRun } from './sortition-stack.js';
