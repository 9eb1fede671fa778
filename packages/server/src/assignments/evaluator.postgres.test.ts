/**
 * The evaluator's caches with several writers: two evaluators, each with its own PostgreSQL store
 * (pool), on one schema, as two service instances would be.
 */
import { assign, compileConfigOrThrow, type CompiledConfig } from '@sortition/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../store/postgres.js';
import type { AssignmentKey, StoredAssignment } from '../store/types.js';
import { dropSchema, queryOnce, randomSchemaName, requirePostgres, testDatabaseUrl } from '../test-support/postgres.js';
import { exampleConfig } from '../test-support/service.js';
import { Evaluator } from './evaluator.js';

const url = testDatabaseUrl();
const schema = randomSchemaName('sortition_eval');
const NOW = Date.UTC(2026, 3, 15);
const DE = { country: 'DE', appVersion: '4.3.1' };
const JP = { country: 'JP', appVersion: '4.3.1' };
const config: CompiledConfig = compileConfigOrThrow(exampleConfig());

class CountingPostgresStore extends PostgresStore {
  reads = 0;
  override async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    this.reads++;
    return super.getAssignments(keys);
  }
}

let a: CountingPostgresStore;
let b: CountingPostgresStore;

beforeAll(async () => {
  await requirePostgres(url);
  a = new CountingPostgresStore(url, { schema });
  b = new CountingPostgresStore(url, { schema });
  await Promise.all([a.migrate(), b.migrate()]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await dropSchema(url, schema);
});

function assignedUnit(prefix: string): string {
  for (let i = 0; i < 1000; i++) {
    const unit = `${prefix}_${i}`;
    if (assign(config, { experiment: 'checkout_v2', units: { userId: unit }, attributes: DE, now: NOW, mode: 'peek' }).variant !== null) return unit;
  }
  throw new Error(`no assigned unit among ${prefix}_0..999`);
}

type Answer = { experiment: string; variant: string | null; phase: string | null; slot: number | null; reason: string };
const answer = (r: Answer): Answer => ({ experiment: r.experiment, variant: r.variant, phase: r.phase, slot: r.slot, reason: r.reason });

describe('Evaluator on PostgreSQL, two instances', () => {
  it('never trusts its own earlier look at a unit: it serves what the other instance stored since', async () => {
    const one = new Evaluator(a);
    const two = new Evaluator(b);
    const unit = assignedUnit('pg_absent');
    const request = { units: { userId: unit }, experiments: ['checkout_v2'] };
    expect((await two.evaluate(config, { ...request, attributes: JP }, NOW))[0]!.reason).toBe('TARGETING_EXCLUDED');
    const stored = (await one.evaluate(config, { ...request, attributes: DE }, NOW))[0]!;
    expect(stored.reason).toBe('ASSIGNED');
    expect((await two.evaluate(config, { ...request, attributes: JP }, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: stored.variant, slot: stored.slot });
    expect((await two.evaluate(config, { ...request, attributes: JP, mode: 'peek' }, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: stored.variant });
  });

  it('serves a stored record from the cache on both instances once each has seen it', async () => {
    const one = new Evaluator(a);
    const two = new Evaluator(b);
    const unit = assignedUnit('pg_cached');
    const request = { units: { userId: unit }, attributes: DE, experiments: ['checkout_v2'] };
    const stored = (await one.evaluate(config, request, NOW))[0]!;
    expect((await two.evaluate(config, request, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: stored.variant });
    const reads = [a.reads, b.reads];
    for (let i = 0; i < 3; i++) {
      expect((await one.evaluate(config, { ...request, attributes: JP }, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: stored.variant });
      expect((await two.evaluate(config, { ...request, attributes: JP }, NOW))[0]).toMatchObject({ reason: 'STICKY', variant: stored.variant });
    }
    expect([a.reads, b.reads]).toEqual(reads);
  });

  it('racing on the same fresh units, both instances give every unit the one stored answer', async () => {
    const one = new Evaluator(a);
    const two = new Evaluator(b);
    const units = Array.from({ length: 600 }, (_, i) => `pg_race_${i}`);
    const run = (e: Evaluator) => Promise.all(units.map(async (u) => (await e.evaluate(config, { units: { userId: u }, attributes: DE }, NOW)).map(answer)));
    const [fromOne, fromTwo] = await Promise.all([run(one), run(two)]);
    const sticky = (r: Answer): Omit<Answer, 'reason'> => ({ experiment: r.experiment, variant: r.variant, phase: r.phase, slot: r.slot });
    units.forEach((u, i) => expect(fromTwo[i]!.map(sticky), u).toEqual(fromOne[i]!.map(sticky)));
    const rows = await queryOnce<{ unit: string; experiment: string; variant: string; n: string }>(
      url,
      `SELECT unit, experiment, min(variant) AS variant, count(*) AS n FROM "${schema}".assignments WHERE unit LIKE 'pg_race_%' GROUP BY unit, experiment`,
    );
    const assigned = fromOne.flat().filter((r) => r.variant !== null);
    expect(rows.length).toBe(assigned.length);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    const byKey = new Map(rows.map((r) => [`${r.unit}|${r.experiment}`, r.variant]));
    fromOne.forEach((answers, i) => answers.filter((r) => r.variant !== null).forEach((r) => expect(byKey.get(`${units[i]}|${r.experiment}`)).toBe(r.variant)));
    // Afterwards an instance answers from what is stored, whatever the attributes.
    const again = await Promise.all(units.slice(0, 50).map(async (u) => (await two.evaluate(config, { units: { userId: u }, attributes: JP }, NOW)).map(sticky)));
    again.forEach((answers, i) => answers.forEach((r, j) => expect(r.variant).toBe(fromOne[i]![j]!.variant)));
  });

  it('stores one first exposure per unit, experiment and phase, and counts every other one', async () => {
    const one = new Evaluator(a);
    const two = new Evaluator(b);
    const unit = assignedUnit('pg_exposed');
    const request = { units: { userId: unit }, attributes: DE, experiments: ['checkout_v2'] };
    await one.evaluate(config, request, NOW);
    await Promise.all([...Array.from({ length: 5 }, () => one.evaluate(config, request, NOW)), ...Array.from({ length: 5 }, () => two.evaluate(config, request, NOW))]);
    await Promise.all([one.flushCounts(), two.flushCounts()]);
    const rows = await queryOnce<{ count: string }>(url, `SELECT count FROM "${schema}".exposures WHERE unit = $1`, [unit]);
    expect(rows).toEqual([{ count: '11' }]);
  });
});

describe('Evaluator on PostgreSQL: config versions', () => {
  const versioned = randomSchemaName('sortition_eval_v');
  let c: CountingPostgresStore;
  let d: CountingPostgresStore;
  const docV1 = exampleConfig();
  // Version 2 gives annual_first the unallocated half of the pricing layer.
  const docV2 = structuredClone({ ...docV1, version: 2 }) as unknown as { experiments: { key: string; phases: { allocation: Record<string, number[][]> }[] }[] };
  docV2.experiments.find((e) => e.key === 'price_anchor')!.phases[0]!.allocation['annual_first'] = [[25000, 100000]];
  const v1 = compileConfigOrThrow(docV1);
  const v2 = compileConfigOrThrow(docV2);
  const PRICING_NOW = Date.UTC(2026, 3, 15);
  const record = (version: number, doc: unknown) => ({ version, doc, hash: `h${version}`, author: 'test', reason: 'test', createdAt: PRICING_NOW, impact: null });

  beforeAll(async () => {
    c = new CountingPostgresStore(url, { schema: versioned });
    d = new CountingPostgresStore(url, { schema: versioned });
    await c.migrate();
    await d.migrate();
    expect(await c.appendConfig(record(1, docV1))).toEqual({ ok: true });
  });

  afterAll(async () => {
    await Promise.all([c.close(), d.close()]);
    await dropSchema(url, versioned);
  });

  function unitWhere(prefix: string, test: (unit: string) => boolean): string {
    for (let i = 0; i < 5000; i++) if (test(`${prefix}_${i}`)) return `${prefix}_${i}`;
    throw new Error(`no unit among ${prefix}_0..4999`);
  }
  const peek = (config: CompiledConfig, experiment: string, unit: string, attributes = DE) => assign(config, { experiment, units: { userId: unit }, attributes, now: PRICING_NOW, mode: 'peek' });

  it('trusts an absence the slot decides for its config version and phase, re-reads other absences, and re-reads under a newer version', async () => {
    const one = new Evaluator(c);
    const two = new Evaluator(d);
    const unallocated = unitWhere('v_unalloc', (u) => peek(v1, 'price_anchor', u).reason === 'NOT_ALLOCATED' && peek(v2, 'price_anchor', u).variant === 'annual_first');
    const request = { units: { userId: unallocated }, attributes: DE, experiments: ['price_anchor'] };
    expect((await one.evaluate(v1, request, PRICING_NOW))[0]!.reason).toBe('NOT_ALLOCATED');
    const reads = c.reads;
    for (let i = 0; i < 3; i++) expect((await one.evaluate(v1, request, PRICING_NOW))[0]!.reason).toBe('NOT_ALLOCATED');
    expect(c.reads).toBe(reads);

    // Excluded by targeting: another request's attributes could enroll the unit, so it is read every time.
    const excluded = unitWhere('v_excl', (u) => peek(v1, 'checkout_v2', u).variant !== null);
    const jp = { units: { userId: excluded }, attributes: JP, experiments: ['checkout_v2'] };
    for (let i = 0; i < 3; i++) expect((await one.evaluate(v1, jp, PRICING_NOW))[0]!.reason).toBe('TARGETING_EXCLUDED');
    expect(c.reads).toBe(reads + 3);

    // Version 2 allocates the unit's slot; the other instance enrolls it there.
    expect(await d.appendConfig(record(2, docV2))).toEqual({ ok: true });
    const enrolled = (await two.evaluate(v2, request, PRICING_NOW))[0]!;
    expect(enrolled).toMatchObject({ reason: 'ASSIGNED', variant: 'annual_first' });
    // Under version 2 the absence no longer applies: the first instance's write finds the stored record and serves it.
    expect((await one.evaluate(v2, request, PRICING_NOW))[0]).toMatchObject({ reason: 'STICKY', variant: 'annual_first', slot: enrolled.slot, stickyStatus: 'honored' });
    expect(await queryOnce(url, `SELECT count(*)::int AS n FROM "${versioned}".assignments WHERE unit = $1`, [unallocated])).toEqual([{ n: 1 }]);
  });

  it('refuses a first assignment made under a version that another instance has replaced, and stores nothing for it', async () => {
    const lagging = new Evaluator(c);
    const fresh = unitWhere('v_lag', (u) => peek(v1, 'checkout_v2', u).variant !== null);
    // The schema's head is version 2 (the test above published it); this instance still evaluates under version 1.
    await expect(lagging.evaluate(v1, { units: { userId: fresh }, attributes: DE, experiments: ['checkout_v2'] }, NOW)).rejects.toMatchObject({ code: 'STALE_CONFIG', configVersion: 1, latest: 2 });
    expect(await c.getAssignments([{ unitType: 'userId', unit: fresh, experiment: 'checkout_v2' }])).toEqual([]);
    const stored = (await lagging.evaluate(v2, { units: { userId: fresh }, attributes: DE, experiments: ['checkout_v2'] }, NOW))[0]!;
    expect(stored).toMatchObject({ reason: 'ASSIGNED', configVersion: 2 });
  });
});
