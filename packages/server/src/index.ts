export { startService, type RunningService, type ServiceOptions } from './service.js';
export { buildApp, type AppOptions } from './http/app.js';
export { ConfigHistory, contentHash, type CurrentConfig, type PublishOutcome } from './config/history.js';
export { Evaluator, type EvaluateRequest } from './assignments/evaluator.js';
export { MemoryStore } from './store/memory.js';
export { openStore, describeLocation } from './store/open.js';
export { withDefaultUser } from './store/postgres.js';
export type { Store, StoredAssignment, StoredExposure, ExposureInput, ConfigVersionRecord, ApiKeyRecord, KeyKind } from './store/types.js';
export { createKey, hashKey } from './keys.js';
