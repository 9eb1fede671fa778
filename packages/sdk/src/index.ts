/**
 * @sortition/sdk: local evaluation with the core for Node and browsers. OpenFeature providers live in
 * the subpath exports "@sortition/sdk/openfeature-server" and "@sortition/sdk/openfeature-web".
 */
export { SortitionClient } from './client.js';
export { EventStreamParser } from './sse.js';
export type { ClientEvent, ClientEventInfo, ClientListener, ClientStatus, Evaluation, GetOptions, SdkPayload, SortitionClientOptions, UnitInput } from './client.js';
export { SortitionSdkError, type SdkErrorCode } from './errors.js';
export { EventBatcher, RejectedBatchError, jsonSender, type BatchKind, type BatchSender, type BatcherOptions } from './batch.js';
export { ExposureBatcher, ExposureRejectedError, serviceExposureSender } from './exposures.js';
export type { ExposureBatcherOptions, ExposureSender, ExposureSink, VisibilitySource, WireExposure } from './exposures.js';
export { METRIC_NAME, MetricBatcher, httpMetricSender, isValidMetricEvent, metricEventRow, serviceMetricSender, type HttpMetricSenderOptions, type MetricEvent, type MetricSender, type MetricSink } from './metrics.js';
export { backoffDelay, defaultScheduler, type BackoffOptions, type Scheduler, type TimerHandle } from './timing.js';
export { isStickyRecord, type StickyAdapter } from './sticky/types.js';
export { MemoryStickyAdapter } from './sticky/memory.js';
export { LocalStorageStickyAdapter, type LocalStorageStickyOptions, type StorageLike } from './sticky/local-storage.js';
export { CookieStickyAdapter, documentCookie, parseStickyCookie, type CookieIO, type CookieStickyOptions, type DocumentCookieOptions } from './sticky/cookie.js';
export { ServiceStickyAdapter, type ServiceStickyOptions } from './sticky/service.js';
export { mapErrorCode, mapReason, type OpenFeatureErrorCode, type OpenFeatureReason } from './openfeature/mapping.js';
