/**
 * OpenFeature provider for @openfeature/web-sdk: `OpenFeature.setProvider(new SortitionWebProvider(client))`.
 * See ./mapping.ts for how flags, values, context, reasons and error codes map.
 */
import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  type ProviderEmittableEvents,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/web-sdk';
import type { SortitionClient } from '../client.js';
import { contextUnits, resolve } from './mapping.js';
import { exposureAfter, forwardClientEvents, toResolution, trackMetric, type ProviderEventKind, type SortitionProviderOptions } from './shared.js';

export type { SortitionProviderOptions };

/** Hook that reports the exposure of each evaluation that served a variant. */
export function sortitionExposureHook(client: SortitionClient): Hook {
  return { after: exposureAfter(client) };
}

const EVENTS: Readonly<Record<ProviderEventKind, ProviderEmittableEvents>> = {
  ready: ProviderEvents.Ready,
  error: ProviderEvents.Error,
  stale: ProviderEvents.Stale,
  changed: ProviderEvents.ConfigurationChanged,
};

/**
 * Provider events: READY once initialized (a config is loaded); ERROR when the payload request or the
 * config stream fails afterwards; STALE when the config is known to be out of date (the stream
 * announced a version that could not be loaded, or it has been down for the client's staleAfterMs);
 * READY again on recovery, and CONFIGURATION_CHANGED for each new config version. Evaluation goes on
 * with the loaded config throughout. `track(name, context, details)` records metric events (see
 * shared.ts) through the client's metricSink.
 */
export class SortitionWebProvider implements Provider {
  readonly metadata = { name: 'sortition' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly hooks: Hook[];
  private readonly unsubscribe: () => void;

  constructor(
    readonly client: SortitionClient,
    private readonly options: SortitionProviderOptions = {},
  ) {
    this.hooks = options.exposures === false ? [] : [sortitionExposureHook(client)];
    this.unsubscribe = forwardClientEvents(client, (kind, details) => this.events.emit(EVENTS[kind], details));
  }

  async initialize(): Promise<void> {
    await this.client.ready(this.options.readyTimeoutMs);
  }

  track(trackingEventName: string, context: EvaluationContext, trackingEventDetails: TrackingEventDetails): void {
    trackMetric(this.client, trackingEventName, context, trackingEventDetails);
  }

  async onClose(): Promise<void> {
    this.unsubscribe();
    await this.client.close();
  }

  /** With a remote sticky adapter, loads the new context's records before it is used. */
  async onContextChange(_old: EvaluationContext, next: EvaluationContext): Promise<void> {
    const units = contextUnits(this.client, next);
    if (Object.keys(units).length > 0) await this.client.prefetch(units);
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): ResolutionDetails<number> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }
}
