/** What the server and web providers share: options, the mapping to ResolutionDetails, the exposure hook. */
import type { ErrorCode, EvaluationDetails, FlagValue, HookContext, ResolutionDetails } from '@openfeature/core';
import type { SortitionClient } from '../client.js';
import { exposureFromMetadata, type MappedDetails } from './mapping.js';

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
