/**
 * Server-side evaluation: core assign() with the store as the sticky record source.
 *
 *  - A unit's stored record for the current lineage decides its variant (the core honours it).
 *  - A first assignment is written with first-write-wins semantics through a group-commit batcher
 *    and acknowledged only once committed; if another writer (process) won the race, the unit is
 *    re-evaluated with the winner's record, so every caller sees the stored answer.
 *  - What this process knows about a unit is cached in one entry per unit (unit type and id):
 *    its stored records, the (experiment, lineage) pairs known to hold none, and the (experiment,
 *    phase) pairs whose first exposure is stored. Stored records are immutable, so a cached record
 *    is always right, in every process. Absence is cached when this process is the store's single
 *    writer (memory, SQLite under one `sortition serve`): then no record can appear that this
 *    process did not write itself. With PostgreSQL another instance may write at any time, so an
 *    absence read there is cached only when the slot alone rules the unit out (HOLDOUT,
 *    NOT_ALLOCATED, or PHASE_EXCLUDED by slot: no attributes could change it), and only for the
 *    config version and phase it was read under. No instance can store a record for that unit
 *    under that version and phase (assignment is deterministic), and none can store one under an
 *    older version after this one was published: the store refuses first assignments not made
 *    under the latest version (StaleConfigError, store/errors.ts), and this process evaluates
 *    under a version only after it was published. Under a newer version the key no longer
 *    matches, so the unit is read again. What remains is the propagation window: until this
 *    instance loads a newer version (announced by LISTEN/NOTIFY within milliseconds; polled every
 *    second as the safety net) it answers from the version it has, as it does for every unit.
 *  - On PostgreSQL, reads of records the cache does not hold go through a batcher too: concurrent
 *    requests share one store read (one round trip) instead of one each. A unit the cache knows
 *    nothing about and whose slot gives it a variant is not read first: its first assignment is
 *    written at once (insert-or-keep), which returns the stored record if there is one, and the unit
 *    is evaluated again with it. A first assignment and its exposure then take one round trip.
 *  - A unit's slots (an HMAC each) are remembered in its cache entry (slot-memo.ts): a returning
 *    unit is answered without computing one.
 *  - First exposures per (unit, experiment, phase) are committed before the response (a first
 *    assignment and its exposure share one commit); a request that serves a unit whose first
 *    exposure another request is still writing waits for that commit. Repeats only raise a
 *    counter, aggregated in memory per (unit, experiment, phase) and written in the background
 *    (flushCounts(), optionally only once the counts are minAgeMs old, so that a unit's repeats
 *    become one row update per window), so a crash loses at most the counts not yet written,
 *    never an assignment or a first exposure.
 */
import { activePhase, type Assignment, type Attributes, type CompiledConfig, type CompiledPhase, type ExposureEvent, type StickyRecord } from '@sortition/core';
import type { AssignmentKey, EnrollOutcome, Enrollment, Store, StoredAssignment } from '../store/types.js';
import { Batcher } from './batcher.js';
import { GenerationalCache } from './cache.js';
import { ExposureLedger, FIRST, type FlushOptions } from './exposure-ledger.js';
import { SlotMemo } from './slot-memo.js';
import { addRecord, dropAbsent, emptyUnitState, findPair, findRecord, SEP, setAbsent, unitKeyOf, type UnitState } from './unit-state.js';


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
  /** Units whose stored state is kept in memory (default 200,000). */
  readonly cacheSize?: number;
  /** Largest batch of reads or writes sent to the store at once (default 1000). */
  readonly maxBatch?: number;
  /** Store batches in flight at once (default 4 on PostgreSQL, 1 on synchronous drivers). */
  readonly concurrency?: number;
  /**
   * Whether cache misses of concurrent requests are read together (default: on PostgreSQL, where a
   * read is a round trip). A synchronous driver (SQLite, memory) answers a read at once, so there
   * it is read directly instead of waiting a turn of the event loop for company.
   */
  readonly batchReads?: boolean;
}

/** One experiment of one request that needs a store read. */
interface Miss {
  readonly index: number;
  readonly unitKey: string;
  readonly key: AssignmentKey;
  readonly lineage: string;
  /** Its absence key (UnitState.absent). */
  readonly absence: string;
  readonly state: UnitState;
  readonly writes: number;
}

/** One first assignment of one request, waiting for its commit. */
interface PendingWrite {
  readonly index: number;
  readonly unitKey: string;
  readonly enrollment: Enrollment;
}

/** Reasons for no variant that depend on the unit's slot only, never on attributes or time within a phase. */
const SLOT_DECIDED = new Set(['HOLDOUT', 'NOT_ALLOCATED', 'PHASE_EXCLUDED']);
const NO_ATTRIBUTES: Attributes = Object.freeze({});
const SERVER = 'server';

/** The first assignment `r` (a stickyWrite) of request index `i`, to be stored with its exposure when `exposing`. */
function pendingWrite(config: CompiledConfig, i: number, r: Assignment, lineage: string, unitKey: string | null, now: number, exposing: boolean): PendingWrite {
  const unitType = config.experiments.get(r.experiment)!.layer.unit;
  const assignment: StoredAssignment = { ...r.stickyWrite!, unitType, unit: r.exposure!.unit, lineage };
  return { index: i, unitKey: unitKey ?? unitKeyOf(unitType, r.exposure!.unit), enrollment: { assignment, exposure: exposing ? { at: now, source: SERVER } : null } };
}

/**
 * `record` with its experiment, lineage, phase and variant spelled with the config's own strings
 * where the config has them. Records a store returns carry copies; the hot path compares these
 * fields with the config's strings (findRecord, assign()), and equal strings that are one object
 * compare without reading either.
 */
function withConfigStrings(config: CompiledConfig, record: StoredAssignment): StoredAssignment {
  const experiment = config.experiments.get(record.experiment);
  if (experiment === undefined) return record;
  let { lineage, phase, variant } = record;
  for (const p of experiment.phases) {
    if (p.id === lineage) lineage = p.id;
    if (p.id === phase) phase = p.id;
  }
  for (const v of experiment.variants) if (v.key === variant) variant = v.key;
  return { ...record, experiment: experiment.key, lineage, phase, variant };
}

/** The canonical (NFC) form of a unit id, as the core computes it for exposures and records. */
function canonicalUnit(raw: string): string {
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) > 0x7f) return raw.normalize('NFC');
  return raw;
}

export class Evaluator {
  private readonly units: GenerationalCache<string, UnitState>;
  private readonly singleWriter: boolean;
  private readonly reads: Batcher<AssignmentKey, StoredAssignment[]> | null;
  /** Write first assignments without reading first (see the header): when reads are round trips. */
  private readonly writeFirst: boolean;
  private readonly writes: Batcher<Enrollment, EnrollOutcome>;
  private readonly exposures: ExposureLedger;
  /** assign() with the slots of cached units remembered (slot-memo.ts). */
  private readonly slots = new SlotMemo();
  private keysOf: { config: CompiledConfig; keys: readonly string[] } | null = null;
  private readonly absenceKeys = new WeakMap<CompiledPhase, { readonly version: number; readonly key: string }>();

  constructor(
    private readonly store: Store,
    options: EvaluatorOptions = {},
  ) {
    this.units = new GenerationalCache(options.cacheSize ?? 200_000);
    this.singleWriter = store.singleWriter;
    const batch = { maxBatch: options.maxBatch ?? 1000, concurrency: options.concurrency ?? (store.driver === 'postgres' ? 4 : 1) };
    this.reads = (options.batchReads ?? store.driver === 'postgres') ? new Batcher((keys) => this.readBatch(keys), batch) : null;
    this.writeFirst = this.reads !== null;
    this.writes = new Batcher((items) => store.enroll(items), batch);
    this.exposures = new ExposureLedger(store, (unitKey) => this.state(unitKey), batch);
  }

  /** Evaluates one unit against the requested experiments of `config` at `now`. */
  async evaluate(config: CompiledConfig, request: EvaluateRequest, now: number): Promise<Assignment[]> {
    const keys = request.experiments ?? this.experimentKeys(config);
    const mode = request.mode ?? 'enroll';
    const units = request.units;
    const attributes = request.attributes ?? NO_ATTRIBUTES;
    const n = keys.length;

    // 1. The stored record of each experiment's current lineage: from the cache, else the store.
    const sticky: (StickyRecord | null)[] = new Array<StickyRecord | null>(n).fill(null);
    const lineages: (string | null)[] = new Array<string | null>(n).fill(null);
    const unitKeys: (string | null)[] = new Array<string | null>(n).fill(null);
    const states: (UnitState | null)[] = new Array<UnitState | null>(n).fill(null);
    let misses: Miss[] | null = null;
    /** Per experiment: the absence key of a read that found nothing (several writers only), else null. */
    let readAbsent: (string | null)[] | null = null;
    /** Per experiment: a first assignment computed without a read (writeFirst), else null. */
    let unread: (Assignment | null)[] | null = null;
    // Experiments of the same unit (the usual request) share its key and cached state.
    let lastType = '';
    let lastRaw = '';
    let lastKey = '';
    let lastState: UnitState | null = null;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const experiment = config.experiments.get(key);
      if (experiment === undefined) continue;
      const unitType = experiment.layer.unit;
      const raw = units[unitType];
      const phase = activePhase(experiment, now);
      if (typeof raw !== 'string' || phase === undefined) continue;
      const lineage = experiment.phases[phase.lineageStart]!.id;
      let unitKey: string;
      let state: UnitState;
      if (unitType === lastType && raw === lastRaw && lastState !== null) {
        unitKey = lastKey;
        state = lastState;
      } else {
        unitKey = unitKeyOf(unitType, canonicalUnit(raw));
        state = this.state(unitKey);
        lastType = unitType;
        lastRaw = raw;
        lastKey = unitKey;
        lastState = state;
      }
      lineages[i] = lineage;
      unitKeys[i] = unitKey;
      states[i] = state;
      const record = findRecord(state, key, lineage);
      if (record !== undefined) sticky[i] = record;
      else {
        const absence = this.singleWriter ? lineage : this.absenceKey(config, lineage, phase);
        if (findPair(state.absent, key, absence) < 0) {
          if (this.writeFirst && mode === 'enroll') {
            const fresh = this.slots.assign(config, { experiment: key, units, attributes, now, sticky: null, mode }, state);
            if (fresh.stickyWrite !== null) {
              (unread ??= new Array<Assignment | null>(n).fill(null))[i] = fresh;
              continue;
            }
          }
          (misses ??= []).push({ index: i, unitKey, key: { unitType, unit: unitKey.slice(unitType.length + 1), experiment: key }, lineage, absence, state, writes: state.writes });
        }
      }
    }
    // 2. Assign; first assignments are stored (with their exposure) before anything is returned.
    // Those computed without a read (writeFirst) are written while the misses are read.
    const results: Assignment[] = new Array<Assignment>(n);
    const exposing = mode === 'enroll' && request.exposure !== false;
    let writes: PendingWrite[] | null = null;
    if (unread !== null) {
      for (let i = 0; i < n; i++) {
        const r = unread[i]!;
        if (r === null) continue;
        results[i] = r;
        (writes ??= []).push(pendingWrite(config, i, r, lineages[i]!, unitKeys[i] ?? null, now, exposing));
      }
    }
    /** Indices whose write found a record of another phase stored: evaluated again, their exposure is recorded below. */
    let otherPhase: number[] | null = null;
    if (misses !== null && writes !== null) {
      [readAbsent, otherPhase] = await Promise.all([this.load(config, misses, sticky, n), this.commit(config, request, now, mode, attributes, writes, results, exposing)]);
    } else if (misses !== null) readAbsent = await this.load(config, misses, sticky, n);
    else if (writes !== null) otherPhase = await this.commit(config, request, now, mode, attributes, writes, results, exposing);

    let late: PendingWrite[] | null = null;
    for (let i = 0; i < n; i++) {
      if (results[i] !== undefined) continue;
      const r = this.slots.assign(config, { experiment: keys[i]!, units, attributes, now, sticky: sticky[i], mode }, states[i] ?? null);
      results[i] = r;
      const absence = readAbsent === null ? null : readAbsent[i]!;
      if (absence !== null && r.stickyStatus === 'none' && SLOT_DECIDED.has(r.reason)) setAbsent(states[i]!, r.experiment, absence);
      if (r.stickyWrite !== null) (late ??= []).push(pendingWrite(config, i, r, lineages[i]!, unitKeys[i] ?? null, now, exposing));
    }
    if (late !== null) {
      const lateOther = await this.commit(config, request, now, mode, attributes, late, results, exposing);
      if (lateOther !== null) otherPhase = [...(otherPhase ?? []), ...lateOther];
      writes = [...(writes ?? []), ...late];
    }

    // 3. Exposures of everything served without a write (returning units): first ones committed, repeats counted.
    if (exposing) {
      let firsts: ExposureEvent[] | null = null;
      let waits: Promise<void>[] | null = null;
      for (let i = 0; i < n; i++) {
        const r = results[i]!;
        if (r.exposure === null || r.stickyWrite !== null) continue;
        if (writes !== null && writes.some((w) => w.index === i) && !(otherPhase?.includes(i) ?? false)) continue;
        // Without a read or write in between, the state looked up in step 1 is still the cached one.
        const state = (misses === null && writes === null ? states[i] : null) ?? this.state(unitKeys[i] ?? unitKeyOf(r.exposure.unitType, r.exposure.unit));
        const repeat = this.exposures.countRepeat(r.exposure, SERVER, state);
        if (repeat === FIRST) (firsts ??= []).push(r.exposure);
        else if (repeat !== null) (waits ??= []).push(repeat);
      }
      if (firsts !== null) await this.exposures.recordFirsts(firsts, SERVER);
      if (waits !== null) await Promise.all(waits);
    }
    return results;
  }

  /** Records exposures (server-evaluated or reported by SDKs): first ones durably, repeats counted. */
  recordExposures(results: readonly Pick<Assignment, 'exposure'>[], source: string): Promise<void> {
    return this.exposures.recordExposures(results, source);
  }

  /** Writes buffered exposure repeats (ExposureLedger.flushCounts). */
  flushCounts(options: number | FlushOptions = {}): Promise<number> {
    return this.exposures.flushCounts(options);
  }

  /** Exposure repeats buffered and not yet written (distinct unit, experiment and phase). */
  get bufferedCounts(): number {
    return this.exposures.bufferedCounts;
  }

  /**
   * The absence key of `phase` (of the phase lineage `lineage`) under `config` with several writers: lineage, config
   * version and phase (see the header). Made once per phase and version, so that cached absences
   * compare by identity.
   */
  private absenceKey(config: CompiledConfig, lineage: string, phase: CompiledPhase): string {
    const made = this.absenceKeys.get(phase);
    if (made?.version === config.version) return made.key;
    const key = `${lineage}${SEP}${config.version}${SEP}${phase.id}`;
    this.absenceKeys.set(phase, { version: config.version, key });
    return key;
  }

  /** Every experiment key of `config`, in config order (computed once per config). */
  private experimentKeys(config: CompiledConfig): readonly string[] {
    if (this.keysOf?.config !== config) this.keysOf = { config, keys: [...config.experiments.keys()] };
    return this.keysOf.keys;
  }

  /** The cached state of a unit, created empty when there is none. */
  private state(unitKey: string): UnitState {
    let state = this.units.get(unitKey);
    if (state === undefined) {
      state = emptyUnitState();
      this.units.set(unitKey, state);
    }
    return state;
  }

  /** One store read for a batch of keys (deduplicated); the records of each key, in input order. */
  private async readBatch(keys: readonly AssignmentKey[]): Promise<StoredAssignment[][]> {
    const index = new Map<string, number>();
    const unique: AssignmentKey[] = [];
    const slots = keys.map((k) => {
      const id = `${k.unitType}${SEP}${k.unit}${SEP}${k.experiment}`;
      let at = index.get(id);
      if (at === undefined) {
        at = unique.length;
        index.set(id, at);
        unique.push(k);
      }
      return at;
    });
    const found: StoredAssignment[][] = unique.map(() => []);
    for (const record of await this.store.getAssignments(unique)) {
      const at = index.get(`${record.unitType}${SEP}${record.unit}${SEP}${record.experiment}`);
      if (at !== undefined) found[at]!.push(record);
    }
    return slots.map((at) => found[at]!);
  }

  /**
   * Reads what the cache did not know, caches it, and fills in `sticky`. Returns, with several
   * writers, per experiment index the absence key of each read that found nothing and can still be
   * trusted (the caller caches it if the slot alone rules the unit out); otherwise null.
   */
  private async load(config: CompiledConfig, misses: readonly Miss[], sticky: (StickyRecord | null)[], n: number): Promise<(string | null)[] | null> {
    let readAbsent: (string | null)[] | null = null;
    const keys = misses.map((m) => m.key);
    const found = this.reads === null ? await this.readBatch(keys) : await this.reads.submitAll(keys);
    misses.forEach((m, j) => {
      // The entry may have been evicted (and recreated) while the read was in flight.
      const state = this.state(m.unitKey);
      let hit: StoredAssignment | undefined;
      for (const read of found[j]!) {
        const record = withConfigStrings(config, read);
        addRecord(state, record);
        if (record.lineage === m.lineage) hit = record;
      }
      if (hit !== undefined) sticky[m.index] = hit;
      // Absence is trusted only if nothing was written for the unit since the read was sent.
      else if (state === m.state && state.writes === m.writes) {
        if (this.singleWriter) setAbsent(state, m.key.experiment, m.absence);
        else (readAbsent ??= new Array<string | null>(n).fill(null))[m.index] = m.absence;
      }
    });
    return readAbsent;
  }

  /**
   * Commits first assignments (with their exposures); re-evaluates those where a record was stored
   * already (another writer won, or the unit was not read first). Returns the indices whose stored
   * record is of another phase: the store recorded no exposure for them (store/records.ts).
   */
  private async commit(
    config: CompiledConfig,
    request: EvaluateRequest,
    now: number,
    mode: 'enroll' | 'peek',
    attributes: Attributes,
    writes: readonly PendingWrite[],
    results: Assignment[],
    exposing: boolean,
  ): Promise<number[] | null> {
    const outcomes = await this.writes.submitAll(writes.map((w) => w.enrollment));
    let otherPhase: number[] | null = null;
    writes.forEach((w, j) => {
      const { assignment, stored } = outcomes[j]!;
      const winner = withConfigStrings(config, assignment);
      const wrote = w.enrollment.assignment;
      const state = this.state(w.unitKey);
      addRecord(state, winner);
      dropAbsent(state, winner.experiment);
      state.writes++;
      const samePhase = winner.phase === wrote.phase;
      if (exposing && samePhase) this.exposures.markExposed(state, wrote.experiment, wrote.phase, null);
      if (!stored) {
        // A record was stored before this one: serve what is stored.
        results[w.index] = this.slots.assign(config, { experiment: wrote.experiment, units: request.units, attributes, now, sticky: winner, mode }, state);
        if (!samePhase) (otherPhase ??= []).push(w.index);
      }
    });
    return otherPhase;
  }


}
