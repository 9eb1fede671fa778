/**
 * The data behind the dashboard's Health and Results views, read from the store: an experiment's
 * stored exposures written once to a scratch JSONL file (the shape of GET /v1/export/exposures, which
 * @sortition/analysis reads as it is), each unit's first exposure and first crossover, the stored
 * metric events of those units (the shape of GET /v1/export/metrics), and the split in force for
 * every phase under every config version that served a first exposure.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { compileConfig, type CompiledConfig, type CompiledExperiment, type CompiledPhase } from '@sortition/core';
import type { ConfigVersionRecord, Store, StoredExposure } from '../../store/types.js';
import { HttpError } from '../errors.js';
import { metricEventRow } from './export.js';

/** Above this many stored exposures an on-request analysis is refused (use the export and the CLI). */
export const MAX_EXPOSURE_ROWS = 1_000_000;
/** Above this many stored metric events of an experiment's exposed units, likewise. */
export const MAX_METRIC_EVENT_ROWS = 5_000_000;

export interface ExposureRef {
  readonly at: number;
  readonly phase: string;
  readonly variant: string;
  readonly configVersion: number;
  readonly source: string;
}

/** One unit: its first exposure (its arm and stratum) and its first exposure to another variant. */
export interface UnitSummary {
  readonly first: ExposureRef;
  readonly flip: ExposureRef | null;
}

export interface ExposureSnapshot {
  /** Scratch directory holding `exposures.jsonl` (and whatever else the caller writes there). */
  readonly dir: string;
  readonly file: string;
  readonly rows: number;
  /** Sum of exposure counts per phase and variant (repeats included). */
  readonly exposureCounts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly units: ReadonlyMap<string, UnitSummary>;
  dispose(): Promise<void>;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The analysis engine's first-exposure order: time, then variant, then phase (byte order). */
function earlier(a: ExposureRef, b: ExposureRef): boolean {
  return a.at !== b.at ? a.at < b.at : a.variant !== b.variant ? compareText(a.variant, b.variant) < 0 : compareText(a.phase, b.phase) < 0;
}

function summarize(exposures: readonly ExposureRef[]): UnitSummary {
  let first = exposures[0]!;
  for (const e of exposures) if (earlier(e, first)) first = e;
  let flip: ExposureRef | null = null;
  for (const e of exposures) if (e.variant !== first.variant && (flip === null || earlier(e, flip))) flip = e;
  return { first, flip };
}

function exportRow(e: StoredExposure): string {
  return `${JSON.stringify({ unit_id: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, timestamp: new Date(e.at).toISOString(), config_version: e.configVersion, source: e.source })}\n`;
}

/** Streams the experiment's exposures from the store into a scratch file; the caller must dispose() it. */
export async function snapshotExposures(store: Store, experiment: string): Promise<ExposureSnapshot> {
  const dir = await mkdtemp(join(tmpdir(), 'sortition-insights-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const file = join(dir, 'exposures.jsonl');
  const perUnit = new Map<string, ExposureRef[]>();
  const exposureCounts = new Map<string, Map<string, number>>();
  let rows = 0;
  try {
    const out = createWriteStream(file, { encoding: 'utf8' });
    const closed = once(out, 'close');
    try {
      for await (const e of store.exportExposures({ experiment })) {
        if (++rows > MAX_EXPOSURE_ROWS) {
          throw new HttpError(422, 'TOO_MANY_EXPOSURES', `experiment "${experiment}" has more than ${MAX_EXPOSURE_ROWS} stored exposures, too many to analyse on request`, {
            field: '/experiment',
            fix: 'export them with GET /v1/export/exposures?experiment=... and run `sortition analyze` on the file',
          });
        }
        if (!out.write(exportRow(e))) await once(out, 'drain');
        const ref: ExposureRef = { at: e.at, phase: e.phase, variant: e.variant, configVersion: e.configVersion, source: e.source };
        const key = `${e.unitType}\u0000${e.unit}`;
        const list = perUnit.get(key);
        if (list === undefined) perUnit.set(key, [ref]);
        else list.push(ref);
        const phase = exposureCounts.get(e.phase) ?? new Map<string, number>();
        phase.set(e.variant, (phase.get(e.variant) ?? 0) + e.count);
        exposureCounts.set(e.phase, phase);
      }
    } finally {
      out.end();
      await closed;
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const units = new Map<string, UnitSummary>();
  for (const [key, list] of perUnit) units.set(key, summarize(list));
  return { dir, file, rows, exposureCounts, units, dispose };
}

export interface MetricEventsSnapshot {
  readonly file: string;
  /** Events written: those of the experiment's exposed units. */
  readonly rows: number;
  /** Stored events read (of the exposed units' unit types). */
  readonly scanned: number;
}

/**
 * Writes the stored metric events of the snapshot's exposed units to `events.jsonl` beside the
 * exposures (events of other units cannot be attributed, so they are left out here already).
 */
export async function snapshotMetricEvents(store: Store, snapshot: ExposureSnapshot, experiment: string): Promise<MetricEventsSnapshot> {
  const file = join(snapshot.dir, 'events.jsonl');
  const unitTypes = new Set([...snapshot.units.keys()].map((key) => key.slice(0, key.indexOf('\u0000'))));
  const only = unitTypes.size === 1 ? [...unitTypes][0] : undefined;
  let rows = 0;
  let scanned = 0;
  const out = createWriteStream(file, { encoding: 'utf8' });
  const closed = once(out, 'close');
  try {
    for await (const e of store.exportMetricEvents({ unitType: only })) {
      scanned++;
      if (!snapshot.units.has(`${e.unitType}\u0000${e.unit}`)) continue;
      if (++rows > MAX_METRIC_EVENT_ROWS) {
        throw new HttpError(422, 'TOO_MANY_METRIC_EVENTS', `the units of experiment "${experiment}" have more than ${MAX_METRIC_EVENT_ROWS} stored metric events, too many to analyse on request`, {
          field: '/experiment',
          fix: 'export them with GET /v1/export/metrics and the exposures with GET /v1/export/exposures?experiment=..., and run `sortition analyze` on the files',
        });
      }
      if (!out.write(`${JSON.stringify(metricEventRow(e))}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await closed;
  }
  return { file, rows, scanned };
}

/** Published config versions never change, so they are cached per store (bounded). */
const CACHE_LIMIT = 256;
const recordCache = new WeakMap<Store, Map<number, ConfigVersionRecord>>();
const compiledCache = new WeakMap<Store, Map<number, CompiledConfig | null>>();

function cacheFor<T>(caches: WeakMap<Store, Map<number, T>>, store: Store): Map<number, T> {
  let cache = caches.get(store);
  if (cache === undefined) {
    cache = new Map();
    caches.set(store, cache);
  }
  if (cache.size > CACHE_LIMIT) cache.clear();
  return cache;
}

export async function configRecord(store: Store, version: number): Promise<ConfigVersionRecord | null> {
  const cache = cacheFor(recordCache, store);
  const hit = cache.get(version);
  if (hit !== undefined) return hit;
  const record = await store.getConfig(version);
  if (record !== null) cache.set(version, record);
  return record;
}

export async function compiledVersion(store: Store, version: number): Promise<CompiledConfig | null> {
  const cache = cacheFor(compiledCache, store);
  if (cache.has(version)) return cache.get(version) ?? null;
  const record = await configRecord(store, version);
  const compiled = record === null ? null : compileConfig(record.doc);
  const value = compiled?.ok === true ? compiled.config : null;
  if (record !== null) cache.set(version, value);
  return value;
}

/**
 * Slots per variant that give fresh units that variant in `phase`: its allocation without layer
 * holdout slots and without slots of phases it excludes (spec §7 steps 6 and 10).
 */
export function phaseSlotCounts(experiment: CompiledExperiment, phase: CompiledPhase): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(experiment.variants.map((v) => [v.key, 0]));
  for (let slot = 0; slot < phase.table.length; slot++) {
    const v = phase.table[slot] ?? 0;
    if (v === 0 || (experiment.layer.holdoutTable[slot] ?? 0) !== 0 || (phase.excluded?.[slot] ?? 0) !== 0) continue;
    const key = experiment.variants[v - 1]?.key;
    if (key !== undefined) counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface SplitSegment {
  /** Config versions under which units were first exposed with this split. */
  readonly configVersions: readonly number[];
  readonly units: number;
  /** Slots per variant in force (any scale; the shares are what matter). */
  readonly slots: Readonly<Record<string, number>>;
}

export interface PhaseSplit {
  readonly phase: string;
  readonly segments: readonly SplitSegment[];
  /** Expected first-exposed units per variant: Σ over segments of units × share. */
  readonly expected: Readonly<Record<string, number>>;
}

/**
 * The split in force per phase of first exposure. A phase's allocation may be ramped while it runs
 * (only into unallocated slots), so each unit is weighed with the split of the config version it
 * was first exposed under; versions with the same split form one segment.
 */
export async function splitsInForce(store: Store, experiment: string, units: ReadonlyMap<string, UnitSummary>, fallback: CompiledConfig | null): Promise<PhaseSplit[]> {
  const byPhase = new Map<string, Map<number, number>>();
  for (const { first } of units.values()) {
    const versions = byPhase.get(first.phase) ?? new Map<number, number>();
    versions.set(first.configVersion, (versions.get(first.configVersion) ?? 0) + 1);
    byPhase.set(first.phase, versions);
  }
  const out: PhaseSplit[] = [];
  for (const [phase, versions] of [...byPhase].sort((a, b) => compareText(a[0], b[0]))) {
    const segments = new Map<string, { configVersions: number[]; units: number; slots: Record<string, number> }>();
    for (const [version, n] of [...versions].sort((a, b) => a[0] - b[0])) {
      const slots = (await slotsFor(store, version, experiment, phase)) ?? slotsIn(fallback, experiment, phase);
      if (slots === null) continue;
      const key = JSON.stringify(slots);
      const segment = segments.get(key) ?? { configVersions: [], units: 0, slots };
      segment.configVersions.push(version);
      segment.units += n;
      segments.set(key, segment);
    }
    const expected: Record<string, number> = {};
    for (const s of segments.values()) {
      const total = Object.values(s.slots).reduce((a, b) => a + b, 0);
      if (total === 0) continue;
      for (const [variant, count] of Object.entries(s.slots)) expected[variant] = (expected[variant] ?? 0) + (s.units * count) / total;
    }
    out.push({ phase, segments: [...segments.values()], expected });
  }
  return out;
}

function slotsIn(config: CompiledConfig | null, experiment: string, phase: string): Record<string, number> | null {
  const exp = config?.experiments.get(experiment);
  const index = exp?.phaseIndex.get(phase);
  if (exp === undefined || index === undefined) return null;
  return phaseSlotCounts(exp, exp.phases[index]!);
}

async function slotsFor(store: Store, version: number, experiment: string, phase: string): Promise<Record<string, number> | null> {
  return slotsIn(await compiledVersion(store, version), experiment, phase);
}
