/**
 * The store conformance suite: every driver runs exactly these tests (memory, SQLite, PostgreSQL).
 * A driver test file calls describeStoreConformance(name, factory) with a factory that returns a
 * fresh, migrated, empty store.
 */
import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord, ConfigVersionRecord, ExposureInput, LogEntryRecord, MetricEventInput, SigningKeyRecord, Store, StoredAssignment, StoredMetricEvent } from '../store/types.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup?: () => Promise<void> }>;

export function assignmentFixture(overrides: Partial<StoredAssignment> = {}): StoredAssignment {
  return {
    unitType: 'userId',
    unit: 'user_1',
    experiment: 'exp',
    lineage: 'main',
    phase: 'main',
    variant: 'control',
    slot: 42,
    layerEpoch: 1,
    configVersion: 3,
    assignedAt: 1_773_446_400_000,
    ...overrides,
  };
}

export function exposureFixture(overrides: Partial<ExposureInput> = {}): ExposureInput {
  return {
    unitType: 'userId',
    unit: 'user_1',
    experiment: 'exp',
    phase: 'main',
    variant: 'control',
    slot: 42,
    configVersion: 3,
    at: 1_773_446_400_000,
    source: 'server',
    ...overrides,
  };
}

export function metricFixture(overrides: Partial<MetricEventInput> = {}): MetricEventInput {
  return { unitType: 'userId', unit: 'user_1', metric: 'revenue', value: 12.5, at: 1_773_446_400_000, id: null, receivedAt: 1_773_446_401_000, ...overrides };
}

/** The stored events without their seq, after checking that seq increases in append order. */
function withoutSeq(events: readonly StoredMetricEvent[]): MetricEventInput[] {
  for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
  return events.map(({ seq: _seq, ...e }) => e);
}

export function configFixture(version: number, overrides: Partial<ConfigVersionRecord> = {}): ConfigVersionRecord {
  return {
    version,
    doc: { schema: 'sortition/config/v1', version, layers: [], experiments: [], note: 'é 😀' },
    hash: version.toString(16).padStart(64, '0'),
    author: 'alice',
    reason: `version ${version}`,
    createdAt: 1_773_446_400_000 + version,
    impact: version === 1 ? null : { verdict: 'safe' },
    ...overrides,
  };
}

export function logEntryFixture(index: number, overrides: Partial<LogEntryRecord> = {}): LogEntryRecord {
  return { index, leaf: `{"index":${index},"note":"é 😀"}`, leafHash: index.toString(16).padStart(64, 'a'), configVersion: index + 1, ...overrides };
}

export function signingKeyFixture(kid: string, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return { kid, purpose: 'checkpoint', alg: 'Ed25519', publicKey: '11'.repeat(32), privateKey: '22'.repeat(32), createdAt: 1_773_446_400_000, rotatedAt: null, ...overrides };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup?.();
      }
    }

    it('migrates idempotently', () =>
      withStore(async (store) => {
        await store.migrate();
        await store.migrate();
        expect(await store.latestConfig()).toBeNull();
      }));

    it('stores a first assignment and returns it unchanged, including non-ASCII ids', () =>
      withStore(async (store) => {
        const a = assignmentFixture({ unit: 'Jos\u00e9 😀 小明' });
        expect(await store.insertAssignments([a])).toEqual([a]);
        expect(await store.getAssignments([{ unitType: 'userId', unit: a.unit, experiment: 'exp' }])).toEqual([a]);
        expect(await store.getAssignments([{ unitType: 'userId', unit: 'user_1', experiment: 'exp' }])).toEqual([]);
      }));

    it('is first-write-wins: a second write for the same key returns the first, unchanged', () =>
      withStore(async (store) => {
        const first = assignmentFixture();
        const second = assignmentFixture({ variant: 'treatment', slot: 7, configVersion: 4, assignedAt: first.assignedAt + 1000 });
        await store.insertAssignments([first]);
        expect(await store.insertAssignments([second])).toEqual([first]);
        expect(await store.getAssignments([{ unitType: 'userId', unit: 'user_1', experiment: 'exp' }])).toEqual([first]);
      }));

    it('keeps one record per lineage, unit type and experiment', () =>
      withStore(async (store) => {
        const records = [
          assignmentFixture(),
          assignmentFixture({ lineage: 'rerandomized', phase: 'rerandomized', variant: 'treatment' }),
          assignmentFixture({ unitType: 'deviceId' }),
          assignmentFixture({ experiment: 'other' }),
        ];
        expect(await store.insertAssignments(records)).toEqual(records);
        const got = await store.getAssignments([{ unitType: 'userId', unit: 'user_1', experiment: 'exp' }]);
        expect(got.sort((a, b) => a.lineage.localeCompare(b.lineage))).toEqual([records[0], records[1]]);
      }));

    it('resolves duplicates within one batch to the first occurrence', () =>
      withStore(async (store) => {
        const a = assignmentFixture({ variant: 'control' });
        const b = assignmentFixture({ variant: 'treatment' });
        expect(await store.insertAssignments([a, b])).toEqual([a, a]);
      }));

    it('handles large batches in input order', () =>
      withStore(async (store) => {
        const batch = Array.from({ length: 2500 }, (_, i) => assignmentFixture({ unit: `u${i}`, slot: i % 10000 }));
        await store.insertAssignments(batch.slice(0, 1000));
        const result = await store.insertAssignments(batch.map((r) => ({ ...r, variant: 'treatment' })));
        expect(result.slice(0, 1000).every((r) => r.variant === 'control')).toBe(true);
        expect(result.slice(1000).every((r) => r.variant === 'treatment')).toBe(true);
        expect(result.map((r) => r.unit)).toEqual(batch.map((r) => r.unit));
        const keys = batch.map((r) => ({ unitType: r.unitType, unit: r.unit, experiment: r.experiment }));
        expect((await store.getAssignments(keys)).length).toBe(2500);
      }));

    it('agrees under concurrent writers: every key has exactly one winner that all callers see', () =>
      withStore(async (store) => {
        const units = Array.from({ length: 300 }, (_, i) => `race_${i}`);
        const writers = ['control', 'treatment', 'other'].map((variant) =>
          store.insertAssignments(units.map((unit) => assignmentFixture({ unit, variant }))),
        );
        const results = await Promise.all(writers);
        for (let i = 0; i < units.length; i++) {
          const winners = new Set(results.map((r) => r[i]!.variant));
          expect(winners.size).toBe(1);
        }
        const stored = await store.getAssignments(units.map((unit) => ({ unitType: 'userId', unit, experiment: 'exp' })));
        expect(stored.length).toBe(units.length);
      }));

    it('stores first assignments only under the latest config version, and writes nothing of a refused batch', () =>
      withStore(async (store) => {
        expect(await store.appendConfig(configFixture(1))).toEqual({ ok: true });
        expect(await store.appendConfig(configFixture(2))).toEqual({ ok: true });
        const current = assignmentFixture({ unit: 'current', configVersion: 2 });
        expect(await store.insertAssignments([current])).toEqual([current]);
        // A batch with one record made under version 1 is refused whole, by both write paths.
        const batch = [assignmentFixture({ unit: 'fresh_a', configVersion: 2 }), assignmentFixture({ unit: 'fresh_b', configVersion: 1 })];
        await expect(store.insertAssignments(batch)).rejects.toMatchObject({ name: 'StaleConfigError', code: 'STALE_CONFIG', configVersion: 1, latest: 2 });
        await expect(store.enroll(batch.map((assignment) => ({ assignment, exposure: { at: 5, source: 'server' } })))).rejects.toMatchObject({ code: 'STALE_CONFIG', latest: 2 });
        expect(await store.getAssignments(['fresh_a', 'fresh_b'].map((unit) => ({ unitType: 'userId', unit, experiment: 'exp' })))).toEqual([]);
        expect(await collect(store.exportExposures({}))).toEqual([]);
        // A record already stored is returned as before, and records under the latest version are stored.
        expect(await store.insertAssignments([assignmentFixture({ unit: 'fresh_a', configVersion: 2 })])).toEqual([assignmentFixture({ unit: 'fresh_a', configVersion: 2 })]);
        expect(await store.appendConfig(configFixture(3))).toEqual({ ok: true });
        await expect(store.insertAssignments([assignmentFixture({ unit: 'fresh_c', configVersion: 2 })])).rejects.toMatchObject({ code: 'STALE_CONFIG', latest: 3 });
      }));

    it('enrolls: no exposure for a winner assigned in another phase; repeats of a key in one batch are counted', () =>
      withStore(async (store) => {
        const canary = assignmentFixture({ unit: 'from_canary', phase: 'canary', variant: 'treatment' });
        await store.insertAssignments([canary]);
        const winners = await store.enroll([
          { assignment: assignmentFixture({ unit: 'from_canary', phase: 'full' }), exposure: { at: 5, source: 'server' } },
          { assignment: assignmentFixture({ unit: 'twice' }), exposure: { at: 6, source: 'server' } },
          { assignment: assignmentFixture({ unit: 'twice', variant: 'treatment' }), exposure: { at: 7, source: 'server' } },
        ]);
        expect(winners).toEqual([
          { assignment: canary, stored: false },
          { assignment: assignmentFixture({ unit: 'twice' }), stored: true },
          { assignment: assignmentFixture({ unit: 'twice' }), stored: false },
        ]);
        const exposures = await collect(store.exportExposures({}));
        expect(exposures.map((e) => [e.unit, e.phase, e.variant, e.at, e.count, e.lastAt])).toEqual([['twice', 'main', 'control', 6, 2, 7]]);
      }));

    it('enrolls: stores assignments and the first exposure of each stored winner, in input order', () =>
      withStore(async (store) => {
        const earlier = assignmentFixture({ unit: 'taken', variant: 'treatment', slot: 9 });
        await store.insertAssignments([earlier]);
        const fresh = assignmentFixture({ unit: 'fresh', variant: 'control' });
        const lost = assignmentFixture({ unit: 'taken', variant: 'control' });
        const quiet = assignmentFixture({ unit: 'quiet' });
        const winners = await store.enroll([
          { assignment: fresh, exposure: { at: 5, source: 'server' } },
          { assignment: lost, exposure: { at: 6, source: 'server' } },
          { assignment: quiet, exposure: null },
        ]);
        expect(winners).toEqual([
          { assignment: fresh, stored: true },
          { assignment: earlier, stored: false },
          { assignment: quiet, stored: true },
        ]);
        const exposures = await collect(store.exportExposures({}));
        expect(exposures.map((e) => [e.unit, e.variant, e.slot, e.at, e.count]).sort()).toEqual([
          ['fresh', 'control', 42, 5, 1],
          ['taken', 'treatment', 9, 6, 1],
        ]);
      }));

    it('stores the first exposure and counts repeats', () =>
      withStore(async (store) => {
        const first = exposureFixture();
        await store.recordExposures([first]);
        await store.recordExposures([exposureFixture({ at: first.at + 5000, variant: 'treatment', source: 'sdk' }), exposureFixture({ at: first.at + 9000 })]);
        await store.recordExposures([exposureFixture({ phase: 'full', at: first.at + 10000 })]);
        const rows = await collect(store.exportExposures({ experiment: 'exp' }));
        const main = rows.find((r) => r.phase === 'main');
        expect(main).toEqual({ ...first, count: 3, lastAt: first.at + 9000 });
        expect(rows.find((r) => r.phase === 'full')?.count).toBe(1);
        expect(await collect(store.exportExposures({ experiment: 'nope' }))).toEqual([]);
      }));

    it('adds aggregated repeats (count) to the stored count', () =>
      withStore(async (store) => {
        await store.recordExposures([exposureFixture({ count: 3 })]);
        await store.recordExposures([exposureFixture({ at: 9, count: 4 }), exposureFixture({ at: 8 })]);
        const [row] = await collect(store.exportExposures({}));
        expect(row?.count).toBe(8);
      }));

    it('counts exposed units per slot', () =>
      withStore(async (store) => {
        await store.recordExposures([
          exposureFixture({ unit: 'a', slot: 5 }),
          exposureFixture({ unit: 'a', slot: 5 }),
          exposureFixture({ unit: 'b', slot: 5 }),
          exposureFixture({ unit: 'c', slot: 9999 }),
          exposureFixture({ unit: 'd', slot: 7, phase: 'other' }),
          exposureFixture({ unit: 'a', slot: 5, phase: 'full' }),
        ]);
        const counts = await store.exposedSlotCounts('exp', ['main', 'full'], 10000);
        expect(counts.length).toBe(10000);
        expect(counts[5]).toBe(2);
        expect(counts[9999]).toBe(1);
        expect(counts[7]).toBe(0);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
      }));

    it('appends metric events in order and never merges repeats; values, times and ids read back exactly', () =>
      withStore(async (store) => {
        const events = [
          metricFixture(),
          metricFixture(),
          metricFixture({ unit: 'Jos\u00e9 😀 小明', metric: 'checkout:completed', value: -2.5, at: 1 }),
          metricFixture({ value: 0.1 + 0.2, id: 'evt-1' }),
          metricFixture({ value: 1e-300, unitType: 'anonymousId' }),
          metricFixture({ value: Number.MAX_VALUE, at: 253_402_300_799_999 }),
          metricFixture({ value: 0, metric: 'purchase' }),
        ];
        expect(await store.appendMetricEvents(events)).toEqual({ stored: 7, duplicates: 0 });
        expect(await store.appendMetricEvents([metricFixture({ value: 3 })])).toEqual({ stored: 1, duplicates: 0 });
        expect(await store.appendMetricEvents([])).toEqual({ stored: 0, duplicates: 0 });
        expect(withoutSeq(await collect(store.exportMetricEvents({})))).toEqual([...events, metricFixture({ value: 3 })]);
      }));

    it('skips a metric event whose client id is stored already or repeated in its batch, keeping the first', () =>
      withStore(async (store) => {
        const first = metricFixture({ id: 'a', value: 1 });
        const batch = [first, metricFixture({ id: 'b', value: 2 }), metricFixture({ id: 'a', value: 3 }), metricFixture({ value: 4 }), metricFixture({ value: 4 })];
        expect(await store.appendMetricEvents(batch)).toEqual({ stored: 4, duplicates: 1 });
        // A retry of the same batch (the answer was lost): only the events without an id are stored again.
        expect(await store.appendMetricEvents(batch)).toEqual({ stored: 2, duplicates: 3 });
        expect(await store.appendMetricEvents([metricFixture({ id: 'b', value: 9 }), metricFixture({ id: 'c', value: 5 })])).toEqual({ stored: 1, duplicates: 1 });
        const stored = withoutSeq(await collect(store.exportMetricEvents({})));
        expect(stored.map((e) => [e.id, e.value])).toEqual([
          ['a', 1],
          ['b', 2],
          [null, 4],
          [null, 4],
          [null, 4],
          [null, 4],
          ['c', 5],
        ]);
      }));

    it('refuses a batch with a value that is not finite or a time that is not an integer, storing none of it', () =>
      withStore(async (store) => {
        for (const bad of [{ value: Number.POSITIVE_INFINITY }, { value: Number.NaN }, { at: 1.5 }]) {
          await expect(store.appendMetricEvents([metricFixture({ id: 'good' }), metricFixture(bad)])).rejects.toThrow(/appendMetricEvents/);
        }
        expect(await collect(store.exportMetricEvents({}))).toEqual([]);
        expect(await store.appendMetricEvents([metricFixture({ id: 'good' })])).toEqual({ stored: 1, duplicates: 0 });
      }));

    it('stores every event of concurrent batches and one event per client id', () =>
      withStore(async (store) => {
        const batches = [0, 1, 2, 3].map((k) => Array.from({ length: 50 }, (_, i) => metricFixture({ unit: `u${k}-${i}`, value: i, id: i % 2 === 0 ? `shared-${i}` : null })));
        const results = await Promise.all(batches.map((b) => store.appendMetricEvents(b)));
        expect(results.reduce((n, r) => n + r.stored, 0)).toBe(4 * 25 + 25);
        expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(3 * 25);
        const stored = await collect(store.exportMetricEvents({}));
        expect(stored.length).toBe(125);
        expect(new Set(stored.map((e) => e.seq)).size).toBe(125);
        expect(new Set(stored.flatMap((e) => (e.id === null ? [] : [e.id]))).size).toBe(25);
      }));

    it('exports metric events by unit type, across pages, including events appended during the export', () =>
      withStore(async (store) => {
        const many = Array.from({ length: 2500 }, (_, i) => metricFixture({ unit: `u${i}`, unitType: i % 5 === 0 ? 'anonymousId' : 'userId', value: i }));
        await store.appendMetricEvents(many);
        const seen: number[] = [];
        for await (const e of store.exportMetricEvents({ unitType: 'userId' })) {
          seen.push(e.value);
          if (seen.length === 10) await store.appendMetricEvents([metricFixture({ unit: 'late', value: -1 })]);
        }
        expect(seen).toEqual([...many.filter((e) => e.unitType === 'userId').map((e) => e.value), -1]);
        const anonymous = withoutSeq(await collect(store.exportMetricEvents({ unitType: 'anonymousId' })));
        expect(anonymous).toEqual(many.filter((e) => e.unitType === 'anonymousId'));
        expect(await collect(store.exportMetricEvents({ unitType: 'deviceId' }))).toEqual([]);
      }));

    it('summarises stored metric events per name, optionally of one unit type', () =>
      withStore(async (store) => {
        expect(await store.metricSummary({})).toEqual([]);
        await store.appendMetricEvents([
          metricFixture({ metric: 'revenue', at: 30 }),
          metricFixture({ metric: 'purchase', at: 20 }),
          metricFixture({ metric: 'revenue', at: 10 }),
          metricFixture({ metric: 'signup', at: 5, unitType: 'anonymousId' }),
          metricFixture({ metric: 'revenue', at: 50, unitType: 'anonymousId' }),
        ]);
        expect(await store.metricSummary({ unitType: 'userId' })).toEqual([
          { metric: 'purchase', events: 1, firstAt: 20, lastAt: 20 },
          { metric: 'revenue', events: 2, firstAt: 10, lastAt: 30 },
        ]);
        expect(await store.metricSummary({})).toEqual([
          { metric: 'purchase', events: 1, firstAt: 20, lastAt: 20 },
          { metric: 'revenue', events: 3, firstAt: 10, lastAt: 50 },
          { metric: 'signup', events: 1, firstAt: 5, lastAt: 5 },
        ]);
        expect(await store.metricSummary({ unitType: 'deviceId' })).toEqual([]);
      }));

    it('exports assignments, optionally by experiment', () =>
      withStore(async (store) => {
        const rows = [assignmentFixture({ unit: 'a' }), assignmentFixture({ unit: 'b', experiment: 'other' })];
        await store.insertAssignments(rows);
        expect((await collect(store.exportAssignments({}))).length).toBe(2);
        expect(await collect(store.exportAssignments({ experiment: 'other' }))).toEqual([rows[1]]);
      }));

    it('appends config versions strictly in sequence and reads them back exactly', () =>
      withStore(async (store) => {
        expect(await store.appendConfig(configFixture(2))).toEqual({ ok: false, reason: 'VERSION_CONFLICT', latest: 0 });
        expect(await store.appendConfig(configFixture(1))).toEqual({ ok: true });
        expect(await store.appendConfig(configFixture(1, { author: 'mallory' }))).toEqual({ ok: false, reason: 'VERSION_CONFLICT', latest: 1 });
        expect(await store.appendConfig(configFixture(2))).toEqual({ ok: true });
        expect(await store.latestConfig()).toEqual(configFixture(2));
        expect(await store.getConfig(1)).toEqual(configFixture(1));
        expect(await store.getConfig(3)).toBeNull();
        const list = await store.listConfigs();
        expect(list.map((c) => c.version)).toEqual([1, 2]);
        expect(list[0]).toEqual({ version: 1, hash: configFixture(1).hash, author: 'alice', reason: 'version 1', createdAt: configFixture(1).createdAt });
      }));

    it('lets exactly one of several concurrent publishers win a version', () =>
      withStore(async (store) => {
        await store.appendConfig(configFixture(1));
        const results = await Promise.all(['a', 'b', 'c', 'd'].map((author) => store.appendConfig(configFixture(2, { author }))));
        expect(results.filter((r) => r.ok).length).toBe(1);
        expect((await store.listConfigs()).length).toBe(2);
      }));

    it('stores keys by hash and revokes them', () =>
      withStore(async (store) => {
        const key: ApiKeyRecord = { id: 'k1', kind: 'sdk', hash: 'ab'.repeat(32), label: 'web', createdAt: 1, revokedAt: null };
        await store.putKey(key);
        expect(await store.findKeyByHash(key.hash)).toEqual(key);
        expect(await store.findKeyByHash('cd'.repeat(32))).toBeNull();
        expect(await store.revokeKey('k1', 99)).toBe(true);
        expect(await store.revokeKey('nope', 99)).toBe(false);
        expect(await store.findKeyByHash(key.hash)).toEqual({ ...key, revokedAt: 99 });
        expect((await store.listKeys()).length).toBe(1);
      }));

    it('appends log entries strictly at index = size, logs a config version once, and reads them back exactly', () =>
      withStore(async (store) => {
        expect(await store.logEntries(0)).toEqual([]);
        expect(await store.appendLogEntry(logEntryFixture(1))).toEqual({ ok: false, reason: 'INDEX_CONFLICT', size: 0 });
        expect(await store.appendLogEntry(logEntryFixture(0))).toEqual({ ok: true });
        expect(await store.appendLogEntry(logEntryFixture(0, { leaf: 'other' }))).toEqual({ ok: false, reason: 'INDEX_CONFLICT', size: 1 });
        expect(await store.appendLogEntry(logEntryFixture(1, { configVersion: 1 }))).toEqual({ ok: false, reason: 'INDEX_CONFLICT', size: 1 });
        expect(await store.appendLogEntry(logEntryFixture(1, { configVersion: null }))).toEqual({ ok: true });
        expect(await store.appendLogEntry(logEntryFixture(2))).toEqual({ ok: true });
        expect(await store.logEntries(0)).toEqual([logEntryFixture(0), logEntryFixture(1, { configVersion: null }), logEntryFixture(2)]);
        expect(await store.logEntries(2)).toEqual([logEntryFixture(2)]);
        expect(await store.logEntries(3)).toEqual([]);
      }));

    it('lets exactly one of several concurrent log writers win an index', () =>
      withStore(async (store) => {
        const results = await Promise.all(['a', 'b', 'c', 'd'].map((leaf) => store.appendLogEntry(logEntryFixture(0, { leaf }))));
        expect(results.filter((r) => r.ok).length).toBe(1);
        expect((await store.logEntries(0)).length).toBe(1);
      }));

    it('keeps one current signing key per purpose and lists rotated ones', () =>
      withStore(async (store) => {
        expect(await store.listSigningKeys()).toEqual([]);
        expect(await store.insertSigningKey(signingKeyFixture('c1'))).toBe(true);
        expect(await store.insertSigningKey(signingKeyFixture('c2', { createdAt: 1_773_446_400_001 }))).toBe(false);
        expect(await store.insertSigningKey(signingKeyFixture('c1', { purpose: 'receipt' }))).toBe(false);
        expect(await store.insertSigningKey(signingKeyFixture('r1', { purpose: 'receipt', createdAt: 1_773_446_400_002 }))).toBe(true);
        expect(await store.insertSigningKey(signingKeyFixture('old', { createdAt: 1, rotatedAt: 2 }))).toBe(true);
        expect(await store.listSigningKeys()).toEqual([
          signingKeyFixture('old', { createdAt: 1, rotatedAt: 2 }),
          signingKeyFixture('c1'),
          signingKeyFixture('r1', { purpose: 'receipt', createdAt: 1_773_446_400_002 }),
        ]);
        const racing = await Promise.all(['x', 'y', 'z'].map((kid) => store.insertSigningKey(signingKeyFixture(kid, { purpose: 'receipt', rotatedAt: null, createdAt: 5 }))));
        expect(racing.every((r) => !r)).toBe(true);
      }));

    it('rotates a signing key atomically: the current one is retired and its successor stored, once', () =>
      withStore(async (store) => {
        expect(await store.insertSigningKey(signingKeyFixture('c1'))).toBe(true);
        expect(await store.insertSigningKey(signingKeyFixture('r1', { purpose: 'receipt' }))).toBe(true);
        const next = (kid: string): SigningKeyRecord => signingKeyFixture(kid, { createdAt: 1_773_446_500_000, publicKey: '33'.repeat(32) });
        expect(await store.rotateSigningKey('r1', 1_773_446_500_000, next('c2'))).toBe(false); // r1 is not a checkpoint key
        expect(await store.rotateSigningKey('nope', 1_773_446_500_000, next('c2'))).toBe(false);
        const racing = await Promise.all(['c2', 'c3', 'c4'].map((kid) => store.rotateSigningKey('c1', 1_773_446_500_000, next(kid))));
        expect(racing.filter(Boolean).length).toBe(1);
        const winner = ['c2', 'c3', 'c4'][racing.indexOf(true)]!;
        const keys = await store.listSigningKeys();
        expect(keys.filter((k) => k.purpose === 'checkpoint')).toEqual([signingKeyFixture('c1', { rotatedAt: 1_773_446_500_000 }), next(winner)]);
        expect(keys.filter((k) => k.purpose === 'receipt')).toEqual([signingKeyFixture('r1', { purpose: 'receipt' })]);
        expect(await store.rotateSigningKey('c1', 1_773_446_600_000, next('c5'))).toBe(false); // retired already
      }));

    it('stores a layer seed once per commitment and reads it back exactly', () =>
      withStore(async (store) => {
        const seed = { seedCommit: 'ab'.repeat(32), layer: 'checkout', epoch: 2, sealed: 'aes-256-gcm:v1:00:11', createdAt: 1_773_446_400_000 };
        expect(await store.getLayerSeed(seed.seedCommit)).toBeNull();
        expect(await store.putLayerSeed(seed)).toBe(true);
        expect(await store.putLayerSeed({ ...seed, sealed: 'other' })).toBe(false);
        expect(await store.getLayerSeed(seed.seedCommit)).toEqual(seed);
      }));
  });
}
