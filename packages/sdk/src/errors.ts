import type { AssignErrorCode } from '@sortition/core';

/** Error codes an evaluation can report: the core's, plus the SDK's own. */
export type SdkErrorCode =
  | AssignErrorCode
  /** No config loaded yet (no bootstrap payload and the first load has not succeeded). */
  | 'NOT_READY'
  /** The experiment is in a committed layer (spec §4.1): only the service can evaluate it. */
  | 'SERVER_ONLY'
  /** The variant's value does not have the default value's type. */
  | 'TYPE_MISMATCH'
  /** Anything unexpected (a bug, or an adapter that threw); the default value was returned. */
  | 'GENERAL';

/** Errors reported through `onError` and the client's "error" event (never thrown from evaluation). */
export class SortitionSdkError extends Error {
  constructor(
    readonly code:
      | 'PAYLOAD_LOAD_FAILED'
      | 'PAYLOAD_INVALID'
      | 'STREAM_FAILED'
      | 'STICKY_WRITE_FAILED'
      | 'STICKY_PREFETCH_FAILED'
      | 'EXPOSURE_SEND_FAILED'
      | 'EXPOSURE_REJECTED'
      | 'METRIC_SEND_FAILED'
      | 'METRIC_REJECTED'
      /** track() was given an empty metric name, a value that is not a finite number, or a bad unit id. */
      | 'METRIC_INVALID'
      /** track() was called on a client without a metricSink: the events were dropped (reported once). */
      | 'METRIC_DROPPED'
      | 'NOT_READY'
      | 'CLOSED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SortitionSdkError';
  }
}
