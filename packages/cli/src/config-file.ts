/** Reading config files (YAML or JSON) for the CLI. Errors name the file and the field. */
import { readFile } from 'node:fs/promises';
import { compileConfig, ConfigError, type CompiledConfig, type ConfigIssue } from '@sortition/core';
import { parse as parseYaml } from 'yaml';

export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options?.exitCode ?? 2;
  }
}

/** Parses YAML or JSON text. JSON is YAML, but .json files are parsed strictly as JSON. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    if (file.endsWith('.json')) return JSON.parse(text) as unknown;
    // Strict YAML: no duplicate keys, and numbers stay numbers (unit ids must be quoted strings).
    return parseYaml(text, { uniqueKeys: true, strict: true, prettyErrors: true }) as unknown;
  } catch (error) {
    throw new CliError('CONFIG_UNPARSABLE', `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`, { cause: error });
  }
}

export async function readConfigDocument(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('CONFIG_UNREADABLE', `${file}: cannot read config file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  return parseConfigText(text, file);
}

export function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${file}:${i.path || '/'}: ${i.message}\n    fix: ${i.fix}`).join('\n');
}

export async function loadConfig(file: string): Promise<CompiledConfig> {
  const doc = await readConfigDocument(file);
  const result = compileConfig(doc);
  if (!result.ok) {
    throw new CliError('CONFIG_INVALID', `${file} is not a valid Sortition config:\n${formatIssues(file, result.issues)}`, { cause: new ConfigError(result.issues) });
  }
  return result.config;
}

/** Parses --now: an RFC 3339 UTC timestamp or milliseconds since the epoch. */
export function parseNow(value: string | undefined, clock: () => number): number {
  if (value === undefined) return clock();
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) {
    throw new CliError('INVALID_ARGUMENT', `--now "${value}" is not a timestamp; use e.g. 2026-03-14T12:00:00Z or epoch milliseconds`);
  }
  return t;
}
