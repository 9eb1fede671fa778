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
} from '@openfeature/server-sdk';
import type { SortitionClient } from '../client.js';
import { resolve } from './mapping.js';
import { exposureAfter, toResolution, type SortitionProviderOptions } from './shared.js';

export type { SortitionProviderOptions };

/** Hook that reports the exposure of each evaluation that served a variant. */
export function sortitionExposureHook(client: SortitionClient): Hook {
  return { after: exposureAfter(client) };
}

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
    this.unsubscribe = client.on('config', ({ version }) => {
      this.events.emit(ProviderEvents.ConfigurationChanged, { message: `config version ${String(version)}`, metadata: { version: version ?? 0 } });
    });
  }

  async initialize(): Promise<void> {
    await this.client.ready(this.options.readyTimeoutMs);
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
