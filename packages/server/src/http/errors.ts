/** Errors the HTTP layer returns: always JSON with a stable code, a message and (when known) the field and the fix. */

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly field?: string;
    readonly fix?: string;
    readonly details?: unknown;
  };
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly fix: string | undefined;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, extra: { field?: string; fix?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.fix = extra.fix;
    this.details = extra.details;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.fix === undefined ? {} : { fix: this.fix }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}
