import { validateConfig, type ConfigIssue } from '@sortition/core';
import { readConfigDocument } from '../config-file.js';

export interface ValidateResult {
  readonly file: string;
  readonly valid: boolean;
  readonly issues: readonly ConfigIssue[];
  readonly summary: { readonly layers: number; readonly experiments: number; readonly holdouts: number } | null;
}

export async function runValidate(file: string): Promise<ValidateResult> {
  const result = validateConfig(await readConfigDocument(file));
  if (!result.ok) return { file, valid: false, issues: result.issues, summary: null };
  const c = result.config;
  return { file, valid: true, issues: [], summary: { layers: c.layers.length, experiments: c.experiments.length, holdouts: c.holdouts?.length ?? 0 } };
}
