import { srmChiSquare } from '@sortition/analysis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { exampleConfig, startTestService, type TestService } from '../../test-support/service.js';
import type { HealthReport, ResultsReport } from './insights-analysis.js';
import type { ExperimentVersion } from './insights-history.js';

const START = Date.UTC(2026, 3, 15);
const DAY = 86_400_000;
let now = START - DAY;
let t: TestService;
let sdk: string;
let read: string;
const UNITS = Array.from({ length: 600 }, (_, i) => `unit-${i}`);

async function expose(units: readonly string[]): Promise<Map<string, string>> {
  const response = await t.call('POST', '/v1/evaluate/batch', { key: sdk, body: { requests: units.map((u) => ({ units: { userId: u }, experiments: ['price_anchor'] })) } });
  expect(response.status).toBe(200);
  const variants = new Map<string, string>();
  (response.body as { responses: { results: { variant: string | null }[] }[] }).responses.forEach((r, i) => {
    const variant = r.results[0]?.variant;
    if (typeof variant === 'string') variants.set(units[i]!, variant);
  });
  return variants;
}

let before: Map<string, string>;
let after: Map<string, string>;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => now });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'analyst' } })).body as { secret: string }).secret;
  before = await expose(UNITS);
  // A declared re-randomization (40/60) starting at the publish time, then the same units again a day later.
  now = START;
  const published = await t.call('POST', '/v1/config/versions', { body: { config: { ...exampleConfig('checkout-rerandomize.yaml'), version: 2 }, baseVersion: 1, reason: 'deliberate 40/60' } });
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  now = START + DAY;
  after = await expose(UNITS);
});
afterAll(async () => t.service.close());

describe('GET /v1/whoami', () => {
  it('names the key and what it may do, for admin and read keys; sdk keys are refused', async () => {
    expect((await t.call('GET', '/v1/whoami')).body).toMatchObject({ kind: 'admin', canWrite: true, canExport: true });
    expect((await t.call('GET', '/v1/whoami', { key: read })).body).toMatchObject({ kind: 'read', label: 'analyst', canWrite: false, canExport: true });
    const refused = await t.call('GET', '/v1/whoami', { key: sdk });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).not.toContain('sk_');
  });
});

describe('GET /v1/insights/history', () => {
  it('lists the versions that changed the experiment, newest first, with author, reason, diff and verdict', async () => {
    const r = await t.call('GET', '/v1/insights/history?experiment=price_anchor', { key: read });
    expect(r.status).toBe(200);
    const versions = (r.body as { versions: ExperimentVersion[] }).versions;
    expect(versions.map((v) => [v.version, v.change, v.verdict])).toEqual([
      [2, 'modified', 'declared'],
      [1, 'added', null],
    ]);
    expect(versions[0]!.reason).toBe('deliberate 40/60');
    expect(versions[0]!.author).toContain('first admin');
    expect(versions[0]!.changes.map((c) => c.path)).toContain('/experiments/price_anchor/phases/reweighted');
    expect(versions[0]!.transitions.some((tr) => tr.declaredBy === 'rerandomize')).toBe(true);
    // checkout_v2 did not change in version 2.
    const checkout = (await t.call('GET', '/v1/insights/history?experiment=checkout_v2', { key: read })).body as { versions: ExperimentVersion[] };
    expect(checkout.versions.map((v) => v.version)).toEqual([1]);
  });

  it('answers 404 naming the field for an experiment no version defined', async () => {
    const r = await t.call('GET', '/v1/insights/history?experiment=nope');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: { code: 'EXPERIMENT_NOT_FOUND', field: '/experiment' } });
  });
});

describe('GET /v1/insights/health', () => {
  it('counts units per arm per phase of first exposure against the split in force, with SRM from the analysis library', async () => {
    const r = await t.call('GET', '/v1/insights/health?experiment=price_anchor', { key: read });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const health = r.body as HealthReport;
    const main = health.phases.find((p) => p.phase === 'main')!;
    const counts = (variant: string): number => [...before.values()].filter((v) => v === variant).length;
    expect(main.arms.map((a) => [a.variant, a.units, a.exposures])).toEqual([
      ['annual_first', counts('annual_first'), counts('annual_first')],
      ['monthly_first', counts('monthly_first'), counts('monthly_first')],
    ]);
    expect(main.arms.map((a) => a.expectedShare)).toEqual([0.5, 0.5]);
    const expected = srmChiSquare(main.arms.map((a) => a.units), [1, 1]);
    expect(main.srm.pValue).toBeCloseTo(expected.pValue, 12);
    expect(main.srm.status).toBe(expected.status);
    expect(main.split?.segments.map((s) => s.configVersions)).toEqual([[1]]);
  });

  it('reports the crossovers of the declared re-randomization per day, with the version that caused them', async () => {
    const health = (await t.call('GET', '/v1/insights/health?experiment=price_anchor')).body as HealthReport;
    const flipped = [...before].filter(([unit, variant]) => after.has(unit) && after.get(unit) !== variant).length;
    expect(flipped).toBeGreaterThan(0);
    expect(health.crossovers.crossoverUnits).toBe(flipped);
    expect(health.crossovers.causes).toEqual([
      expect.objectContaining({ phase: 'reweighted', units: flipped, kind: 'rerandomized', rerandomizedBy: 'reweighted', version: expect.objectContaining({ version: 2, reason: 'deliberate 40/60' }) as unknown }),
    ]);
    const day = health.crossovers.days.find((d) => d.day === '2026-04-16')!;
    expect(day.newCrossovers).toBe(flipped);
    expect(health.warnings.map((w) => w.code)).toContain('CROSSOVER');
  });

  it('answers an experiment nobody was exposed to with empty sections, and refuses sdk keys and unknown experiments', async () => {
    const empty = (await t.call('GET', '/v1/insights/health?experiment=checkout_v2')).body as HealthReport;
    expect(empty).toMatchObject({ units: 0, phases: [], exposureRows: 0 });
    expect((await t.call('GET', '/v1/insights/health?experiment=price_anchor', { key: sdk })).status).toBe(403);
    const unknown = await t.call('GET', '/v1/insights/health?experiment=nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'EXPERIMENT_NOT_FOUND', field: '/experiment', fix: expect.stringContaining('price_anchor') as unknown } });
  });
});

describe('POST /v1/insights/results', () => {
  const csv = (): string => {
    const lines = ['unit_id,timestamp,metric,value'];
    for (const [unit, variant] of before) {
      const at = new Date(START - DAY / 2).toISOString();
      lines.push(`${unit},${at},revenue,${variant === 'annual_first' ? 12 : 10}`);
      if (variant === 'annual_first' || Number(unit.slice(5)) % 3 === 0) lines.push(`${unit},${at},purchase,1`);
    }
    return `${lines.join('\n')}\n`;
  };

  it('gives the first-exposure, phase-stratified lift with its interval and the naive view, per metric', async () => {
    const r = await t.call('POST', '/v1/insights/results', {
      key: read,
      body: { experiment: 'price_anchor', control: 'monthly_first', events: { format: 'csv', content: csv() }, metrics: [{ name: 'revenue', kind: 'sum' }, { name: 'purchase', kind: 'conversion' }] },
    });
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
    const results = r.body as ResultsReport;
    expect(results.control).toBe('monthly_first');
    const revenue = results.metrics.find((m) => m.metric === 'revenue')!.comparisons[0]!;
    expect(revenue.treatment).toBe('annual_first');
    expect(revenue.primary!.difference.estimate).toBeCloseTo(2, 6);
    expect(revenue.primary!.difference.lower).toBeLessThanOrEqual(2);
    expect(revenue.naiveEventTime).not.toBeNull();
    const purchase = results.metrics.find((m) => m.metric === 'purchase')!;
    expect(purchase.kind).toBe('conversion');
    expect(results.inputs.events.source).toBe('upload');
    expect(JSON.stringify(results)).not.toContain('sortition-insights-');
  });

  it('names the field and the fix for events it cannot use', async () => {
    const missing = await t.call('POST', '/v1/insights/results', { body: { experiment: 'price_anchor', events: { format: 'csv', content: 'unit_id,metric\nu,revenue\n' } } });
    expect(missing.status).toBe(422);
    expect(missing.body).toMatchObject({ error: { code: 'ANALYSIS_MISSING_COLUMN', field: '/events/content', fix: expect.stringContaining('unit_id, timestamp, metric and value') as unknown } });
    expect(JSON.stringify(missing.body)).not.toContain('sortition-insights-');
    const bad = await t.call('POST', '/v1/insights/results', { body: { experiment: 'price_anchor', events: { format: 'csv', content: 'unit_id,timestamp,metric,value\nunit-1,yesterday,revenue,x\n' } } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ error: { code: 'ANALYSIS_BAD_ROWS', field: '/events/content', details: { reports: expect.anything() as unknown } } });
    const none = await t.call('POST', '/v1/insights/results', { body: { experiment: 'checkout_v2', events: { format: 'csv', content: csv() } } });
    expect(none.status).toBe(422);
    expect(none.body).toMatchObject({ error: { code: 'NO_EXPOSURES', field: '/experiment' } });
    const shape = await t.call('POST', '/v1/insights/results', { body: { experiment: 'price_anchor', events: { format: 'xlsx', content: 'x' } } });
    expect(shape.status).toBe(400);
    expect(shape.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});

describe('results on the stored metric events (POST /v1/metrics)', () => {
  it('refuses with the fix when no metric events are stored and none are uploaded', async () => {
    const r = await t.call('POST', '/v1/insights/results', { key: read, body: { experiment: 'price_anchor' } });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ error: { code: 'NO_METRIC_EVENTS', field: '/events', fix: expect.stringContaining('POST /v1/metrics') as unknown } });
  });

  it('uses the stored events of exposed units of the experiment’s unit type by default, and lists the stored metrics', async () => {
    const at = START - DAY / 2;
    const metrics: Record<string, unknown>[] = [];
    for (const [unit, variant] of before) {
      metrics.push({ unitType: 'userId', unit, metric: 'revenue', value: variant === 'annual_first' ? 12 : 10, at });
      // The same ids as another unit type, and units never exposed: neither may count.
      metrics.push({ unitType: 'anonymousId', unit, metric: 'revenue', value: 1000, at });
    }
    metrics.push({ unitType: 'userId', unit: 'never-exposed', metric: 'revenue', value: 1000, at: new Date(at).toISOString() });
    for (let i = 0; i < metrics.length; i += 1000) {
      expect((await t.call('POST', '/v1/metrics', { key: sdk, body: { metrics: metrics.slice(i, i + 1000) } })).status).toBe(202);
    }
    const listed = await t.call('GET', '/v1/insights/metrics?experiment=price_anchor', { key: read });
    expect(listed.body).toEqual({ experiment: 'price_anchor', unitType: 'userId', metrics: [{ metric: 'revenue', events: before.size + 1, firstAt: at, lastAt: at }] });

    const r = await t.call('POST', '/v1/insights/results', { key: read, body: { experiment: 'price_anchor', control: 'monthly_first' } });
    expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200);
    const results = r.body as ResultsReport;
    expect(results.inputs.events).toMatchObject({ source: 'store', rows: before.size, badRows: 0 });
    const revenue = results.metrics.find((m) => m.metric === 'revenue')!.comparisons[0]!;
    expect(revenue.primary!.difference.estimate).toBeCloseTo(2, 6);
    expect(revenue.primary!.control.estimate).toBeCloseTo(10, 6);
    // An upload still wins over the stored events.
    const upload = 'unit_id,timestamp,metric,value\n' + [...before].map(([u, v]) => `${u},${new Date(at).toISOString()},revenue,${v === 'annual_first' ? 20 : 10}`).join('\n');
    const uploaded = (await t.call('POST', '/v1/insights/results', { key: read, body: { experiment: 'price_anchor', control: 'monthly_first', events: { format: 'csv', content: upload } } })).body as ResultsReport;
    expect(uploaded.inputs.events.source).toBe('upload');
    expect(uploaded.metrics[0]!.comparisons[0]!.primary!.difference.estimate).toBeCloseTo(10, 6);
  });
});
