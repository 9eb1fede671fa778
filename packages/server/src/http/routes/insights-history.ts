/**
 * One experiment's config history: every published version that changed the experiment (or the
 * layer it lives in), newest first, with who published it and why, the structural diff of the
 * experiment, and the planner's verdict recorded at publication.
 */
import type { PlanReport } from '@sortition/core';
import { diffJson, type JsonChange } from '../../config/diff.js';
import type { Store } from '../../store/types.js';
import { configRecord } from './insights-data.js';

export interface ExperimentVersion {
  readonly version: number;
  readonly createdAt: number;
  readonly author: string;
  readonly reason: string;
  readonly hash: string;
  readonly change: 'added' | 'modified' | 'removed';
  /** JSON pointers into the config document (/experiments/KEY/..., /layers/ID/...). */
  readonly changes: readonly JsonChange[];
  /** The planner's verdict for this experiment when the version was published (null for version 1). */
  readonly verdict: string | null;
  readonly reasons: readonly string[];
  readonly transitions: PlanReport['experiments'][number]['transitions'];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function listIn(doc: unknown, field: 'experiments' | 'layers'): unknown[] {
  const list = isObject(doc) ? doc[field] : undefined;
  return Array.isArray(list) ? list : [];
}

function experimentIn(doc: unknown, key: string): Record<string, unknown> | undefined {
  return listIn(doc, 'experiments').find((e): e is Record<string, unknown> => isObject(e) && e['key'] === key);
}

function layerIn(doc: unknown, id: unknown): Record<string, unknown> | undefined {
  return listIn(doc, 'layers').find((l): l is Record<string, unknown> => isObject(l) && l['id'] === id);
}

const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

function planFor(impact: unknown, key: string): PlanReport['experiments'][number] | undefined {
  if (!isObject(impact) || !Array.isArray(impact['experiments'])) return undefined;
  return (impact['experiments'] as PlanReport['experiments']).find((e) => e.experiment === key);
}

export async function experimentHistory(store: Store, key: string): Promise<ExperimentVersion[]> {
  const out: ExperimentVersion[] = [];
  let before: Record<string, unknown> | undefined;
  let beforeLayer: Record<string, unknown> | undefined;
  for (const summary of await store.listConfigs()) {
    const record = await configRecord(store, summary.version);
    if (record === null) continue;
    const after = experimentIn(record.doc, key);
    const afterLayer = after === undefined ? undefined : layerIn(record.doc, after['layer']);
    const path = `/experiments/${escape(key)}`;
    const changes: JsonChange[] =
      before === undefined || after === undefined
        ? before === after
          ? []
          : [before === undefined ? { path, op: 'add', to: after } : { path, op: 'remove', from: before }]
        : [...diffJson(before, after, path), ...(before['layer'] === after['layer'] ? diffJson(beforeLayer ?? null, afterLayer ?? null, `/layers/${escape(String(after['layer']))}`) : [])];
    if (changes.length > 0) {
      const plan = planFor(record.impact, key);
      out.push({
        version: record.version,
        createdAt: record.createdAt,
        author: record.author,
        reason: record.reason,
        hash: record.hash,
        change: before === undefined ? 'added' : after === undefined ? 'removed' : 'modified',
        changes,
        verdict: plan?.verdict ?? null,
        reasons: plan?.reasons ?? [],
        transitions: plan?.transitions ?? [],
      });
    }
    before = after;
    beforeLayer = afterLayer;
  }
  return out.reverse();
}
