/**
 * Validating (JSON Schema, then the cross-field rules) and compiling a config. For the browser,
 * where the schema validator is too heavy to ship, see trusted.ts.
 */
import { ConfigError } from '../errors.js';
import { buildCompiled, type CompileResult, type CompiledConfig } from './build.js';
import { validateConfig } from './validate.js';

export type { CompileResult, CompiledConfig, CompiledExperiment, CompiledLayer, CompiledPhase, GlobalHoldout } from './build.js';

/** Validates and compiles a parsed config; issues are returned, never thrown. */
export function compileConfig(raw: unknown): CompileResult {
  const validation = validateConfig(raw);
  if (!validation.ok) return validation;
  return { ok: true, config: buildCompiled(validation.config) };
}

/** compileConfig for callers that prefer an exception (CLI, server start-up). */
export function compileConfigOrThrow(raw: unknown): CompiledConfig {
  const result = compileConfig(raw);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
