/** Config helpers of the bundle verifier: attributes targeting reads, lineages, re-keyed documents. */
import { compileConfig, type Attributes, type CompiledConfig, type CompiledExperiment, type ConditionDocument } from '@sortition/core';
import { isObject } from './format.js';

/** The attribute names a targeting condition reads. */
export function conditionAttributes(condition: ConditionDocument | undefined, out = new Set<string>()): Set<string> {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c) => conditionAttributes(c, out));
  else if ('any' in condition) condition.any.forEach((c) => conditionAttributes(c, out));
  else if ('not' in condition) conditionAttributes(condition.not, out);
  else out.add(condition.attr);
  return out;
}

/** The attrsHash input: the targeting attributes present, keys sorted (as the service computes it). */
export function usedAttributes(condition: ConditionDocument | undefined, attributes: Attributes): Attributes {
  const out: Record<string, Attributes[string]> = {};
  for (const name of [...conditionAttributes(condition)].sort()) if (Object.hasOwn(attributes, name) && attributes[name] !== undefined) out[name] = attributes[name];
  return out;
}

/** A deep copy of a JSON document. */
function copy<T>(doc: T): T {
  return JSON.parse(JSON.stringify(doc)) as T;
}

/**
 * Compiles a config document, optionally with one experiment's targeting removed (to re-derive
 * without attributes) and with layer keys replaced (committed layers: the derived key instead of
 * the commitment the document names).
 */
export function compileVariant(doc: unknown, options: { withoutTargetingOf?: string; layerKeys?: ReadonlyMap<string, string> } = {}): CompiledConfig {
  const d = copy(doc) as { experiments?: { key: string; targeting?: unknown }[]; layers?: { id: string; key: string }[] };
  if (options.withoutTargetingOf !== undefined) for (const e of d.experiments ?? []) if (e.key === options.withoutTargetingOf) delete e.targeting;
  for (const l of d.layers ?? []) {
    const key = options.layerKeys?.get(l.id);
    if (key !== undefined && isObject(l)) l.key = key;
  }
  const compiled = compileConfig(d);
  if (!compiled.ok) throw new Error(`the config does not compile: ${compiled.issues[0]?.path ?? ''} ${compiled.issues[0]?.message ?? ''}`);
  return compiled.config;
}

/** The id of the phase that opened the lineage current at `now` (null before the first phase). */
export function lineageAt(experiment: CompiledExperiment, now: number): string | null {
  for (let i = experiment.phases.length - 1; i >= 0; i--) {
    const phase = experiment.phases[i]!;
    if (phase.startsAt <= now) return experiment.phases[phase.lineageStart]!.id;
  }
  return null;
}

/** RFC 3339 of a unix-ms time (the number itself when it is not a valid date). */
export function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
}
