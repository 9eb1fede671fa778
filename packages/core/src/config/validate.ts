/**
 * Config validation: the JSON Schema (structure) first, then the cross-field rules that a schema
 * cannot state (rules.ts). Every issue names the field (as a JSON pointer), what is wrong, and the
 * fix. Nothing is repaired: a config is accepted exactly as written or rejected.
 */
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { ConfigIssue } from '../errors.js';
import { crossFieldIssues, MAX_ISSUES } from './rules.js';
import { ConfigSchema, type ConfigDocument } from './schema.js';

export { parseTimestamp } from './rules.js';

export type ValidationResult =
  | { readonly ok: true; readonly config: ConfigDocument }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

function structuralIssues(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(ConfigSchema, raw)) {
    // Unions report once per branch; keep the first message for each path.
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    const schema = error.schema as { fix?: unknown; description?: unknown };
    const fix = typeof schema.fix === 'string' ? schema.fix : 'see spec/schema/config.schema.json';
    const what = typeof schema.description === 'string' ? schema.description : '';
    const shown = JSON.stringify(error.value)?.slice(0, 60) ?? 'undefined';
    const message =
      error.type === ValueErrorType.StringPattern
        ? `${shown} has the wrong format${what ? ` for ${what}` : ''}`
        : `${error.message}${what ? ` (${what})` : ''}, got ${shown}`;
    issues.push({ path: error.path, message, fix });
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues;
}

/** Validates a parsed config document (from JSON or YAML). */
export function validateConfig(raw: unknown): ValidationResult {
  const structural = structuralIssues(raw);
  if (structural.length > 0) return { ok: false, issues: structural };
  const config = raw as ConfigDocument;
  const issues = crossFieldIssues(config);
  return issues.length === 0 ? { ok: true, config } : { ok: false, issues };
}
