// The one error type the analysis engine throws: a stable `code` for programs, a message that names
// the problem and the fix for people, and the underlying `cause` when there is one.

export type AnalysisErrorCode =
  | 'MISSING_COLUMN'
  | 'UNSUPPORTED_FORMAT'
  | 'UNREADABLE_INPUT'
  | 'BAD_ROWS'
  | 'INVALID_OPTION'
  | 'NO_UNITS'
  | 'DUCKDB_ERROR'
  | 'POSTGRES_ERROR';

export class AnalysisError extends Error {
  readonly code: AnalysisErrorCode;
  override readonly cause: unknown;

  constructor(code: AnalysisErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(message);
    this.name = 'AnalysisError';
    this.code = code;
    this.cause = options.cause;
  }
}
