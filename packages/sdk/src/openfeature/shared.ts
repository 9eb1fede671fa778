/**
 * What the server and web providers share: options, the mapping to ResolutionDetails, the exposure
 * hook, provider events from the client's status, and tracking. Type-only OpenFeature imports, so
 * each provider depends at run time only on its own SDK.
 */
import type { ErrorCode, EvaluationDetails, FlagValue, HookContext, ResolutionDetails, TrackingEventDetails } from '@openfeature/core';
import type { ClientStatus, SortitionClient } from '../client.js';
import { exposureFromMetadata, contextUnits, type ContextLike, type MappedDetails } from './mapping.js';

export interface SortitionProviderOptions {
  /** initialize() fails (provider ERROR) when no config is loaded within this time (default: waits). */
  readonly readyTimeoutMs?: number;
  /** Send exposures from the provider's hook after each successful evaluation (default true). */
  readonly exposures?: boolean;
}

export function toResolution<T>(d: MappedDetails<T>): ResolutionDetails<T> {
  return {
    value: d.value,
    reason: d.reason,
    flagMetadata: d.flagMetadata,
    ...(d.variant === undefined ? {} : { variant: d.variant }),
    ...(d.errorCode === undefined ? {} : { errorCode: d.errorCode as ErrorCode }),
    ...(d.errorMessage === undefined ? {} : { errorMessage: d.errorMessage }),
  };
}

/** The body of the exposure hook: report the exposure of each evaluation that served a variant. */
export function exposureAfter(client: SortitionClient): (context: HookContext, details: EvaluationDetails<FlagValue>) => void {
  return (_context, details) => {
    const exposure = exposureFromMetadata(details.flagMetadata);
    if (exposure !== null && details.errorCode === undefined) client.expose(exposure);
  };
}

/** The provider events the client's changes map to (each SDK's ProviderEvents has the same four). */
export type ProviderEventKind = 'ready' | 'error' | 'stale' | 'changed';

// A type, not an interface: the SDKs' emit() wants something assignable to Record<string, unknown>.
export type ProviderEventDetailsLike = {
  readonly message: string;
  /** version, the client's status, and on failures sortitionError (the SDK error code). */
  readonly metadata: Record<string, string | number | boolean>;
};

/**
 * Maps the client's events to provider events, after initialization (the OpenFeature SDK reports the
 * first READY itself when initialize() resolves):
 * - status ready -> error: ERROR; ready -> stale: ERROR then STALE; error -> stale: STALE;
 *   stale -> error (no longer known out of date, still failing): ERROR; anything -> ready: READY.
 * - a new config version: CONFIGURATION_CHANGED (after READY when the same reload brought both).
 * Returns the unsubscribe function.
 */
export function forwardClientEvents(client: SortitionClient, emit: (kind: ProviderEventKind, details: ProviderEventDetailsLike) => void): () => void {
  const offConfig = client.on('config', ({ version }) => {
    emit('changed', { message: `config version ${String(version)}`, metadata: { version: version ?? 0 } });
  });
  const offStatus = client.on('status', ({ status, previous, error, version }) => {
    if (status === undefined || previous === undefined || previous === 'loading') return;
    const metadata: Record<string, string | number | boolean> = { version: version ?? 0, status };
    if (error !== undefined) metadata.sortitionError = error.code;
    const message = describe(status, error?.message);
    if (status === 'ready') return emit('ready', { message, metadata });
    if (previous === 'ready' || status === 'error') emit('error', { message, metadata });
    if (status === 'stale') emit('stale', { message, metadata });
  });
  return () => {
    offConfig();
    offStatus();
  };
}

function describe(status: ClientStatus, error: string | undefined): string {
  switch (status) {
    case 'ready':
      return 'the service is reachable again and the config is current';
    case 'stale':
      return `the config in use is known to be out of date${error === undefined ? '' : ` (${error})`}; evaluating with it until the service is back`;
    default:
      return `${error ?? 'the service is unreachable'}; evaluating with the loaded config`;
  }
}

/**
 * OpenFeature tracking (`client.track(name, context, details)`) as metric events: metric = the event
 * name, value = details.value when it is a number (else 1, an occurrence), for the units of the
 * context (see contextUnits). Goes to the client's metricSink.
 */
export function trackMetric(client: SortitionClient, trackingEventName: string, context: ContextLike, details: TrackingEventDetails | undefined): void {
  const value = details?.value;
  client.track(trackingEventName, contextUnits(client, context), typeof value === 'number' ? value : 1);
}
