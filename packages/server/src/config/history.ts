/**
 * Config history: the service's view of the append-only list of config versions. Publishing runs
 * the planner against the version in force (with the store's exposure counts) and refuses a change
 * that would move exposed units unless it is declared; every published version records its author,
 * reason, content hash and impact report.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, compileConfig, plan, type CompiledConfig, type ConfigIssue, type ExposedUnits, type PlanReport } from '@sortition/core';
import type { ConfigVersionRecord, Store } from '../store/types.js';
import { diffJson, type JsonChange } from './diff.js';

export interface CurrentConfig {
  readonly record: ConfigVersionRecord;
  readonly compiled: CompiledConfig;
}

export type PublishOutcome =
  | { readonly ok: true; readonly record: ConfigVersionRecord; readonly report: PlanReport | null }
  | { readonly ok: false; readonly code: 'CONFIG_INVALID'; readonly issues: readonly ConfigIssue[] }
  | { readonly ok: false; readonly code: 'BASE_VERSION_MISMATCH'; readonly latest: number }
  | { readonly ok: false; readonly code: 'CHANGE_REFUSED'; readonly report: PlanReport };

export interface PublishRequest {
  readonly doc: unknown;
  /** The version the author planned against (0 for the first version). */
  readonly baseVersion: number;
  readonly reason: string;
  readonly author: string;
  readonly now: number;
}

export function contentHash(doc: unknown): string {
  return createHash('sha256').update(canonicalJson(doc), 'utf8').digest('hex');
}

function docVersion(doc: unknown): unknown {
  return doc !== null && typeof doc === 'object' ? (doc as { version?: unknown }).version : undefined;
}

export class ConfigHistory {
  private cached: CurrentConfig | null = null;
  private refreshing: Promise<boolean> | null = null;
  /** The load that runs once the one in flight is done, for callers that came during it. */
  private following: Promise<boolean> | null = null;
  private readonly listeners = new Set<(current: CurrentConfig) => void>();

  constructor(private readonly store: Store) {}

  /** The version in force as last loaded (call refresh() to load). */
  current(): CurrentConfig | null {
    return this.cached;
  }

  /**
   * Loads the latest version if it changed; returns whether it did. The load always reads the
   * store after this call: if one is in flight (it may have read before), one more runs after it.
   * Concurrent callers (requests refused under a replaced version, the poller) share these loads.
   */
  refresh(): Promise<boolean> {
    if (this.refreshing === null) {
      this.refreshing = this.load().finally(() => {
        this.refreshing = null;
      });
      return this.refreshing;
    }
    this.following ??= this.refreshing
      .catch(() => false) // its failure is reported to its own callers; this load tries again
      .then(() => {
        this.following = null;
        return this.refresh();
      });
    return this.following;
  }

  private async load(): Promise<boolean> {
    const latest = await this.store.latestConfig();
    if (latest === null || latest.version === this.cached?.record.version) return false;
    this.install(latest);
    return true;
  }

  subscribe(listener: (current: CurrentConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private install(record: ConfigVersionRecord): CurrentConfig {
    const compiled = compileConfig(record.doc);
    if (!compiled.ok) {
      throw new Error(`stored config version ${record.version} no longer validates: ${compiled.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    }
    if (this.cached !== null && this.cached.record.version >= record.version) return this.cached;
    this.cached = { record, compiled: compiled.config };
    for (const listener of this.listeners) listener(this.cached);
    return this.cached;
  }

  private async exposure(current: CompiledConfig): Promise<Map<string, ExposedUnits>> {
    const out = new Map<string, ExposedUnits>();
    for (const experiment of current.experiments.values()) {
      const counts = await this.store.exposedSlotCounts(experiment.key, experiment.phases.map((p) => p.id), experiment.layer.slots);
      out.set(experiment.key, { slotCounts: counts });
    }
    return out;
  }

  /** The impact of replacing the version in force with `doc` at `now` (a dry run). */
  async propose(doc: unknown, now: number): Promise<PlanReport | { readonly verdict: 'invalid'; readonly issues: readonly ConfigIssue[] }> {
    await this.refresh();
    const validation = compileConfig(doc);
    if (!validation.ok) return { verdict: 'invalid', issues: validation.issues };
    const current = this.cached;
    if (current === null) return plan({ schema: 'sortition/config/v1', version: 0, layers: [], experiments: [] }, doc, { now });
    return plan(current.record.doc, doc, { now, exposed: await this.exposure(current.compiled) });
  }

  async publish(request: PublishRequest): Promise<PublishOutcome> {
    await this.refresh();
    const latest = this.cached?.record.version ?? 0;
    if (request.baseVersion !== latest) return { ok: false, code: 'BASE_VERSION_MISMATCH', latest };
    if (docVersion(request.doc) !== latest + 1) {
      return {
        ok: false,
        code: 'CONFIG_INVALID',
        issues: [{ path: '/version', message: `the new version must be numbered ${latest + 1} (the latest is ${latest}), got ${JSON.stringify(docVersion(request.doc))}`, fix: `set version to ${latest + 1}` }],
      };
    }
    const report = await this.propose(request.doc, request.now);
    if (report.verdict === 'invalid') return { ok: false, code: 'CONFIG_INVALID', issues: report.issues };
    const planReport = report as PlanReport;
    if (!planReport.allowed) return { ok: false, code: 'CHANGE_REFUSED', report: planReport };
    const record: ConfigVersionRecord = {
      version: latest + 1,
      doc: JSON.parse(canonicalJson(request.doc)) as unknown,
      hash: contentHash(request.doc),
      author: request.author,
      reason: request.reason,
      createdAt: request.now,
      impact: latest === 0 ? null : planReport,
    };
    const appended = await this.store.appendConfig(record);
    if (!appended.ok) return { ok: false, code: 'BASE_VERSION_MISMATCH', latest: appended.latest };
    this.install(record);
    return { ok: true, record, report: latest === 0 ? null : planReport };
  }

  async diff(from: number, to: number): Promise<{ readonly changes: readonly JsonChange[]; readonly impact: unknown } | null> {
    const [a, b] = await Promise.all([this.store.getConfig(from), this.store.getConfig(to)]);
    if (a === null || b === null) return null;
    return { changes: diffJson(a.doc, b.doc), impact: to === from + 1 ? b.impact : null };
  }
}
