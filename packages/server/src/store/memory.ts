/** In-memory store: for tests, demos and single-process experiments. Loses everything on exit. */
import type {
  ApiKeyRecord,
  AppendResult,
  AssignmentKey,
  ConfigVersionRecord,
  ConfigVersionSummary,
  EnrollOutcome,
  Enrollment,
  LogAppendResult,
  LayerSeedRecord,
  LogEntryRecord,
  MetricAppendResult,
  MetricEventInput,
  MetricFilter,
  MetricSummary,
  SigningKeyRecord,
  StoredMetricEvent,
  ExportFilter,
  ExposureInput,
  Store,
  StoredAssignment,
  StoredExposure,
} from './types.js';
import { oldestVersion, StaleConfigError } from './errors.js';
import { byMetricName, enrollmentExposure, firstOfEachId } from './records.js';

const SEP = '\u0000';
const unitKey = (k: AssignmentKey): string => [k.unitType, k.unit, k.experiment].join(SEP);

export class MemoryStore implements Store {
  readonly driver = 'memory';
  readonly singleWriter: boolean = true;
  private readonly assignments = new Map<string, Map<string, StoredAssignment>>();
  private readonly exposures = new Map<string, StoredExposure>();
  private readonly configs: ConfigVersionRecord[] = [];
  private readonly keys = new Map<string, ApiKeyRecord>();
  private readonly log: LogEntryRecord[] = [];
  private readonly signingKeys: SigningKeyRecord[] = [];
  private readonly seeds = new Map<string, LayerSeedRecord>();
  private readonly metrics: StoredMetricEvent[] = [];
  private readonly metricIds = new Set<string>();

  async migrate(): Promise<void> {}

  async close(): Promise<void> {}

  async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    return keys.flatMap((k) => [...(this.assignments.get(unitKey(k))?.values() ?? [])]);
  }

  async insertAssignments(records: readonly StoredAssignment[]): Promise<StoredAssignment[]> {
    this.refuseStale(records);
    return records.map((record) => this.insertOne(record).assignment);
  }

  async enroll(enrollments: readonly Enrollment[]): Promise<EnrollOutcome[]> {
    this.refuseStale(enrollments.map((e) => e.assignment));
    const outcomes = enrollments.map((e) => this.insertOne(e.assignment));
    await this.recordExposures(enrollments.flatMap((e, i) => enrollmentExposure(e, outcomes[i]!.assignment) ?? []));
    return outcomes;
  }

  /** First assignments are stored only under the latest config version. */
  private refuseStale(records: readonly StoredAssignment[]): void {
    const oldest = oldestVersion(records);
    if (oldest < this.configs.length) throw new StaleConfigError(oldest, this.configs.length);
  }

  private insertOne(record: StoredAssignment): EnrollOutcome {
    const key = unitKey(record);
    let byLineage = this.assignments.get(key);
    if (byLineage === undefined) {
      byLineage = new Map();
      this.assignments.set(key, byLineage);
    }
    const existing = byLineage.get(record.lineage);
    if (existing !== undefined) return { assignment: { ...existing }, stored: false };
    byLineage.set(record.lineage, { ...record });
    return { assignment: { ...record }, stored: true };
  }

  async recordExposures(events: readonly ExposureInput[]): Promise<void> {
    for (const e of events) {
      const key = [e.unitType, e.unit, e.experiment, e.phase].join(SEP);
      const existing = this.exposures.get(key);
      if (existing === undefined) this.exposures.set(key, { ...e, count: e.count ?? 1, lastAt: e.at });
      else this.exposures.set(key, { ...existing, count: existing.count + (e.count ?? 1), lastAt: Math.max(existing.lastAt, e.at) });
    }
  }

  async exposedSlotCounts(experiment: string, phases: readonly string[], slots: number): Promise<Uint32Array> {
    const counts = new Uint32Array(slots);
    const seen = new Set<string>();
    for (const e of this.exposures.values()) {
      if (e.experiment !== experiment || !phases.includes(e.phase)) continue;
      const unit = `${e.unitType}${SEP}${e.unit}`;
      if (seen.has(unit) || e.slot >= slots) continue;
      seen.add(unit);
      counts[e.slot]! += 1;
    }
    return counts;
  }

  async *exportAssignments(filter: ExportFilter): AsyncIterable<StoredAssignment> {
    for (const byLineage of this.assignments.values()) {
      for (const a of byLineage.values()) if (filter.experiment === undefined || a.experiment === filter.experiment) yield a;
    }
  }

  async *exportExposures(filter: ExportFilter): AsyncIterable<StoredExposure> {
    for (const e of this.exposures.values()) if (filter.experiment === undefined || e.experiment === filter.experiment) yield e;
  }

  async appendMetricEvents(events: readonly MetricEventInput[]): Promise<MetricAppendResult> {
    // All or nothing, as the SQL drivers (their columns refuse these values).
    const bad = events.find((e) => !Number.isFinite(e.value) || !Number.isSafeInteger(e.at) || !Number.isSafeInteger(e.receivedAt));
    if (bad !== undefined) throw new RangeError(`memory store: appendMetricEvents failed: value must be finite and times integers (got value ${bad.value}, at ${bad.at})`);
    let stored = 0;
    for (const e of firstOfEachId(events)) {
      if (e.id !== null && this.metricIds.has(e.id)) continue;
      if (e.id !== null) this.metricIds.add(e.id);
      this.metrics.push({ ...e, seq: this.metrics.length + 1 });
      stored++;
    }
    return { stored, duplicates: events.length - stored };
  }

  async *exportMetricEvents(filter: MetricFilter): AsyncIterable<StoredMetricEvent> {
    // By index, so events appended while the export runs are included (as a paginated driver would).
    for (let i = 0; i < this.metrics.length; i++) {
      const e = this.metrics[i]!;
      if (filter.unitType === undefined || e.unitType === filter.unitType) yield { ...e };
    }
  }

  async metricSummary(filter: MetricFilter): Promise<MetricSummary[]> {
    const byName = new Map<string, { metric: string; events: number; firstAt: number; lastAt: number }>();
    for (const e of this.metrics) {
      if (filter.unitType !== undefined && e.unitType !== filter.unitType) continue;
      const s = byName.get(e.metric);
      if (s === undefined) byName.set(e.metric, { metric: e.metric, events: 1, firstAt: e.at, lastAt: e.at });
      else {
        s.events++;
        s.firstAt = Math.min(s.firstAt, e.at);
        s.lastAt = Math.max(s.lastAt, e.at);
      }
    }
    return byMetricName([...byName.values()]);
  }

  async latestConfig(): Promise<ConfigVersionRecord | null> {
    return this.configs.at(-1) ?? null;
  }

  async getConfig(version: number): Promise<ConfigVersionRecord | null> {
    return this.configs[version - 1] ?? null;
  }

  async listConfigs(): Promise<ConfigVersionSummary[]> {
    return this.configs.map(({ version, hash, author, reason, createdAt }) => ({ version, hash, author, reason, createdAt }));
  }

  async appendConfig(record: ConfigVersionRecord): Promise<AppendResult> {
    const latest = this.configs.length;
    if (record.version !== latest + 1) return { ok: false, reason: 'VERSION_CONFLICT', latest };
    this.configs.push(structuredClone(record));
    return { ok: true };
  }

  async appendLogEntry(entry: LogEntryRecord): Promise<LogAppendResult> {
    const size = this.log.length;
    if (entry.index !== size || (entry.configVersion !== null && this.log.some((e) => e.configVersion === entry.configVersion))) {
      return { ok: false, reason: 'INDEX_CONFLICT', size };
    }
    this.log.push({ ...entry });
    return { ok: true };
  }

  async logEntries(from: number): Promise<LogEntryRecord[]> {
    return this.log.slice(Math.max(0, from)).map((e) => ({ ...e }));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.signingKeys.map((k) => ({ ...k })).sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  async insertSigningKey(record: SigningKeyRecord): Promise<boolean> {
    if (this.signingKeys.some((k) => k.kid === record.kid || (k.purpose === record.purpose && k.rotatedAt === null && record.rotatedAt === null))) return false;
    this.signingKeys.push({ ...record });
    return true;
  }

  async rotateSigningKey(retiringKid: string, at: number, next: SigningKeyRecord): Promise<boolean> {
    const i = this.signingKeys.findIndex((k) => k.kid === retiringKid && k.purpose === next.purpose && k.rotatedAt === null);
    if (i < 0 || next.rotatedAt !== null || this.signingKeys.some((k) => k.kid === next.kid)) return false;
    this.signingKeys[i] = { ...this.signingKeys[i]!, rotatedAt: at };
    this.signingKeys.push({ ...next });
    return true;
  }

  async putLayerSeed(record: LayerSeedRecord): Promise<boolean> {
    if (this.seeds.has(record.seedCommit)) return false;
    this.seeds.set(record.seedCommit, { ...record });
    return true;
  }

  async getLayerSeed(seedCommit: string): Promise<LayerSeedRecord | null> {
    const r = this.seeds.get(seedCommit);
    return r === undefined ? null : { ...r };
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    this.keys.set(record.id, record);
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    for (const k of this.keys.values()) if (k.hash === hash) return k;
    return null;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()];
  }

  async revokeKey(id: string, at: number): Promise<boolean> {
    const k = this.keys.get(id);
    if (k === undefined) return false;
    this.keys.set(id, { ...k, revokedAt: at });
    return true;
  }
}
