/**
 * OpenFeature provider for @openfeature/server-sdk: `OpenFeature.setProvider(new SortitionServerProvider(client))`.
 * See ./mapping.ts for how flags, values, context, reasons and error codes map.
 */
import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import type { SortitionClient } from '../client.js';
import { resolve } from './mapping.js';
import { exposureAfter, forwardClientEvents, toResolution, trackMetric, type ProviderEventKind, type SortitionProviderOptions } from './shared.js';

export type { SortitionProviderOptions };

/** Hook that reports the exposure of each evaluation that served a variant. */
export function sortitionExposureHook(client: SortitionClient): Hook {
  return { after: exposureAfter(client) };
}

const EVENTS: Readonly<Record<ProviderEventKind, ProviderEvents>> = {
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
export class SortitionServerProvider implements Provider {
  readonly metadata = { name: 'sortition' } as const;
  readonly runsOn = 'server' as const;
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

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return toResolution(resolve(this.client, flagKey, defaultValue, context));
  }
}
