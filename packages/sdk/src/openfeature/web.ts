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
  type Provider,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import type { SortitionClient } from '../client.js';
import { resolve } from './mapping.js';
import { exposureAfter, toResolution, type SortitionProviderOptions } from './shared.js';

export type { SortitionProviderOptions };

/** Hook that reports the exposure of each evaluation that served a variant. */
export function sortitionExposureHook(client: SortitionClient): Hook {
  return { after: exposureAfter(client) };
}

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

  /** With a remote sticky adapter, loads the new context's records before it is used. */
  async onContextChange(_old: EvaluationContext, next: EvaluationContext): Promise<void> {
    const units: Record<string, string> = {};
    const given = next.units;
    if (typeof given === 'object' && given !== null && !Array.isArray(given) && !(given instanceof Date)) {
      for (const [t, id] of Object.entries(given)) if (typeof id === 'string') units[t] = id;
    }
    if (typeof next.targetingKey === 'string') {
      for (const experiment of this.client.experiments()) {
        const t = this.client.unitTypeOf(experiment);
        if (t !== null && units[t] === undefined) units[t] = next.targetingKey;
      }
    }
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
