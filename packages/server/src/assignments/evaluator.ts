/**
 * Server-side evaluation: core assign() with the store as the sticky record source.
 *
 *  - A unit's stored record for the current lineage decides its variant (the core honours it).
 *  - A first assignment is written with first-write-wins semantics through a group-commit batcher
 *    and acknowledged only once committed; if another writer (process) won the race, the unit is
 *    re-evaluated with the winner's record, so every caller sees the stored answer.
 *  - Stored records are immutable, so they are cached in an LRU; a miss is read from the store.
 *    Absence is cached only when this process is the store's single writer (memory, SQLite under
 *    one `sortition serve`): then no record can appear that this process did not write itself.
 *    With PostgreSQL another instance may have written since, so absence is always re-read.
 *  - First exposures per (unit, experiment, phase) are committed before the response (a first
 *    assignment and its exposure share one commit); repeats only raise a counter, aggregated in
 *    memory and flushed in the background in small chunks (flushCounts()), so a crash loses at
 *    most the counts since the last flush, never an assignment or a first exposure.
 */
import { assign, type Assignment, type Attributes, type CompiledConfig, type CompiledExperiment, type StickyRecord } from '@sortition/core';
import type { Enrollment, ExposureInput, Store, StoredAssignment } from '../store/types.js';
import { Batcher } from './batcher.js';
import { Lru } from './lru.js';

export interface EvaluateRequest {
  readonly units: Readonly<Record<string, unknown>>;
  readonly attributes?: Attributes;
  /** Experiments to evaluate (default: every experiment in the config). */
  readonly experiments?: readonly string[];
  /** enroll (default) stores first assignments and exposures; peek changes nothing. */
  readonly mode?: 'enroll' | 'peek';
  /** Whether served variants count as exposures (default true). */
  readonly exposure?: boolean;
}

export interface EvaluatorOptions {
  readonly cacheSize?: number;
  readonly maxBatch?: number;
}

const SEP = '\u0000';

function lineageOf(experiment: CompiledExperiment, now: number): string | null {
  for (let i = experiment.phases.length - 1; i >= 0; i--) {
    const phase = experiment.phases[i]!;
    if (phase.startsAt <= now) return experiment.phases[phase.lineageStart]!.id;
  }
  return null;
}

const toSticky = (r: StoredAssignment): StickyRecord => ({
  experiment: r.experiment,
  phase: r.phase,
  variant: r.variant,
  slot: r.slot,
  layerEpoch: r.layerEpoch,
  configVersion: r.configVersion,
  assignedAt: r.assignedAt,
});

export class Evaluator {
  private readonly records: Lru<string, StoredAssignment>;
  /** Keys known to hold no record (single-writer stores only). */
  private readonly absent: Lru<string, true> | null;
  private readonly exposed: Lru<string, true>;
  private readonly writes: Batcher<Enrollment, StoredAssignment>;
  private readonly firstExposures: Batcher<ExposureInput, true>;
  /** Repeat exposures not yet written, aggregated per (unit, experiment, phase). */
  private pendingCounts = new Map<string, { event: ExposureInput; count: number }>();

  constructor(
    private readonly store: Store,
    options: EvaluatorOptions = {},
  ) {
    const size = options.cacheSize ?? 200_000;
    this.records = new Lru(size);
    this.absent = store.singleWriter ? new Lru(size) : null;
    this.exposed = new Lru(size);
    this.writes = new Batcher((items) => store.enroll(items), options.maxBatch ?? 1000);
    this.firstExposures = new Batcher(async (items) => {
      await store.recordExposures(items);
      return items.map(() => true as const);
    }, options.maxBatch ?? 1000);
  }

  /** Evaluates one unit against the requested experiments of `config` at `now`. */
  async evaluate(config: CompiledConfig, request: EvaluateRequest, now: number): Promise<Assignment[]> {
    const keys = request.experiments ?? [...config.experiments.keys()];
    const mode = request.mode ?? 'enroll';
    const stickyFor = await this.loadRecords(config, keys, request.units, now);
    const results: Assignment[] = [];
    const pendingWrites: { index: number; write: StoredAssignment }[] = [];
    for (const key of keys) {
      const r = assign(config, { experiment: key, units: request.units, ...(request.attributes === undefined ? {} : { attributes: request.attributes }), now, sticky: stickyFor.get(key) ?? null, mode });
      if (r.stickyWrite !== null) {
        const experiment = config.experiments.get(key)!;
        const unit = r.exposure!.unit;
        pendingWrites.push({
          index: results.length,
          write: { ...r.stickyWrite, unitType: experiment.layer.unit, unit, lineage: lineageOf(experiment, now)! },
        });
      }
      results.push(r);
    }
    const exposing = mode === 'enroll' && request.exposure !== false;
    if (pendingWrites.length > 0) {
      const winners = await this.writes.submitAll(pendingWrites.map((p) => ({ assignment: p.write, exposure: exposing ? { at: now, source: 'server' } : null })));
      pendingWrites.forEach((p, i) => {
        const winner = winners[i]!;
        this.records.set(this.cacheKey(winner), winner);
        this.absent?.delete(this.cacheKey(winner));
        if (exposing) this.exposed.set([winner.unitType, winner.unit, winner.experiment, p.write.phase].join(SEP), true);
        if (winner.variant !== p.write.variant || winner.phase !== p.write.phase) {
          // Another writer stored this unit first: serve what is stored.
          results[p.index] = assign(config, { experiment: p.write.experiment, units: request.units, ...(request.attributes === undefined ? {} : { attributes: request.attributes }), now, sticky: toSticky(winner), mode });
        }
      });
    }
    // First assignments were exposed with their enrollment; the rest (returning units) here.
    if (exposing) await this.recordExposures(results.filter((r) => r.stickyWrite === null), 'server');
    return results;
  }

  /** Records exposures (server-evaluated or reported by SDKs): first ones durably, repeats counted. */
  async recordExposures(results: readonly Pick<Assignment, 'exposure'>[], source: string): Promise<void> {
    const firsts: ExposureInput[] = [];
    for (const r of results) {
      const e = r.exposure;
      if (e === null) continue;
      const input: ExposureInput = { unitType: e.unitType, unit: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, configVersion: e.configVersion, at: e.at, source };
      const key = [e.unitType, e.unit, e.experiment, e.phase].join(SEP);
      if (this.exposed.get(key) === true) {
        const pending = this.pendingCounts.get(key);
        if (pending === undefined) this.pendingCounts.set(key, { event: input, count: 1 });
        else {
          pending.count++;
          pending.event = { ...pending.event, at: Math.max(pending.event.at, input.at) };
        }
      } else {
        firsts.push(input);
        this.exposed.set(key, true);
      }
    }
    if (firsts.length > 0) await this.firstExposures.submitAll(firsts);
  }

  /**
   * Writes buffered exposure repeats in chunks of `chunk` rows, yielding to the event loop between
   * chunks (a synchronous driver would otherwise stall every request for the whole flush). Call
   * periodically and at shutdown. Returns the number of exposures written.
   */
  async flushCounts(chunk = 500): Promise<number> {
    const pending = [...this.pendingCounts.values()];
    if (pending.length === 0) return 0;
    this.pendingCounts = new Map();
    let written = 0;
    for (let i = 0; i < pending.length; i += chunk) {
      const events = pending.slice(i, i + chunk).map((p) => ({ ...p.event, count: p.count }));
      await this.store.recordExposures(events);
      written += events.reduce((sum, e) => sum + e.count, 0);
      if (i + chunk < pending.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return written;
  }

  private cacheKey(r: { unitType: string; unit: string; experiment: string; lineage: string }): string {
    return [r.unitType, r.unit, r.experiment, r.lineage].join(SEP);
  }

  /** The stored record of the current lineage for each experiment, from the cache or the store. */
  private async loadRecords(config: CompiledConfig, keys: readonly string[], units: Readonly<Record<string, unknown>>, now: number): Promise<Map<string, StickyRecord>> {
    const out = new Map<string, StickyRecord>();
    const missing: { key: string; unitType: string; unit: string; lineage: string }[] = [];
    for (const key of keys) {
      const experiment = config.experiments.get(key);
      if (experiment === undefined) continue;
      const raw = units[experiment.layer.unit];
      const lineage = lineageOf(experiment, now);
      if (typeof raw !== 'string' || lineage === null) continue;
      const unit = raw.normalize('NFC');
      const cacheKey = this.cacheKey({ unitType: experiment.layer.unit, unit, experiment: key, lineage });
      const cached = this.records.get(cacheKey);
      if (cached !== undefined) out.set(key, toSticky(cached));
      else if (this.absent?.get(cacheKey) !== true) missing.push({ key, unitType: experiment.layer.unit, unit, lineage });
    }
    if (missing.length === 0) return out;
    const stored = await this.store.getAssignments(missing.map((m) => ({ unitType: m.unitType, unit: m.unit, experiment: m.key })));
    for (const m of missing) {
      const hit = stored.find((s) => s.unitType === m.unitType && s.unit === m.unit && s.experiment === m.key && s.lineage === m.lineage);
      if (hit === undefined) {
        this.absent?.set(this.cacheKey({ unitType: m.unitType, unit: m.unit, experiment: m.key, lineage: m.lineage }), true);
        continue;
      }
      this.records.set(this.cacheKey(hit), hit);
      out.set(m.key, toSticky(hit));
    }
    return out;
  }
}
