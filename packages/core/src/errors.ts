/** Typed errors for the non-hot paths (config loading, planning). The hot path returns codes. */

export type SortitionErrorCode = 'CONFIG_INVALID' | 'INVALID_ARGUMENT';

export class SortitionError extends Error {
  readonly code: SortitionErrorCode;

  constructor(code: SortitionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SortitionError';
    this.code = code;
  }
}

/** One problem found in a config: where (a JSON pointer), what, and how to fix it. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

export class ConfigError extends SortitionError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const head = issues
      .slice(0, 5)
      .map((issue) => `  ${issue.path || '/'}: ${issue.message} (fix: ${issue.fix})`)
      .join('\n');
    const more = issues.length > 5 ? `\n  ... and ${issues.length - 5} more` : '';
    super('CONFIG_INVALID', `config is invalid:\n${head}${more}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
