import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { startTestService, type TestService } from '../../test-support/service.js';
import { eventTime, MAX_EVENT_TIME, parseRfc3339 } from './metrics-time.js';

const NOW = Date.UTC(2026, 3, 15, 12);
let t: TestService;
let sdk: string;
let read: string;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'analyst' } })).body as { secret: string }).secret;
});
afterAll(async () => t.service.close());

const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ unitType: 'userId', unit: 'u1', metric: 'revenue', value: 12.5, at: NOW, ...overrides });

async function exportLines(query = ''): Promise<Record<string, unknown>[]> {
  const r = await t.call('GET', `/v1/export/metrics${query}`, { key: read });
  expect(r.status).toBe(200);
  return r.text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('metric event times', () => {
  it('reads epoch milliseconds and RFC 3339 exactly, and refuses impossible dates', () => {
    expect(eventTime(NOW + 0.75)).toBe(NOW);
    expect(eventTime('2026-04-15T12:00:00Z')).toBe(NOW);
    expect(eventTime('2026-04-15t14:30:00.250+02:30')).toBe(NOW + 250);
    expect(eventTime('2026-04-15 12:00:00.1239-00:00')).toBe(NOW + 123);
    expect(parseRfc3339('2016-12-31T23:59:60Z')).toBe(Date.UTC(2016, 11, 31, 23, 59, 59, 999));
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-04-15T24:00:00Z', '2026-04-15T12:00:00', '2026-04-15', 'yesterday', '2026-04-15T12:00:00+24:00']) {
      expect(parseRfc3339(bad), bad).toBeNull();
    }
    expect(eventTime(-1)).toEqual({ reason: expect.stringContaining('outside') as unknown });
    expect(eventTime('1969-12-31T23:59:59Z')).toEqual({ reason: expect.stringContaining('outside') as unknown });
    expect(eventTime(MAX_EVENT_TIME)).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    expect(eventTime('0099-01-01T00:00:00Z')).toEqual({ reason: expect.stringContaining('outside') as unknown });
  });
});

describe('POST /v1/metrics', () => {
  it('stores every event append-only with canonical unit ids, and answers 202 with the counts', async () => {
    const r = await t.call('POST', '/v1/metrics', {
      key: sdk,
      body: { metrics: [event({ unit: 'Zoe\u0308' }), event({ unit: 'Zoe\u0308' }), event({ metric: 'purchase', value: 1, at: '2026-04-15T14:00:00+02:00', unitType: 'anonymousId' })] },
    });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: 3, stored: 3, duplicates: 0 });
    const rows = await exportLines();
    expect(rows).toEqual([
      { unit_id: 'Zo\u00eb', unit_type: 'userId', timestamp: '2026-04-15T12:00:00.000Z', metric: 'revenue', value: 12.5 },
      { unit_id: 'Zo\u00eb', unit_type: 'userId', timestamp: '2026-04-15T12:00:00.000Z', metric: 'revenue', value: 12.5 },
      { unit_id: 'u1', unit_type: 'anonymousId', timestamp: '2026-04-15T12:00:00.000Z', metric: 'purchase', value: 1 },
    ]);
  });

  it('skips events whose id is stored already, so a retried batch is counted once', async () => {
    const batch = { metrics: [event({ id: 'retry-1', unit: 'retry' }), event({ id: 'retry-2', unit: 'retry', value: -3 })] };
    expect((await t.call('POST', '/v1/metrics', { key: sdk, body: batch })).body).toEqual({ accepted: 2, stored: 2, duplicates: 0 });
    expect((await t.call('POST', '/v1/metrics', { key: sdk, body: batch })).body).toEqual({ accepted: 2, stored: 0, duplicates: 2 });
    expect((await t.call('POST', '/v1/metrics', { body: { metrics: [event({ id: 'retry-2', unit: 'retry' })] } })).body).toEqual({ accepted: 1, stored: 0, duplicates: 1 });
    expect((await exportLines()).filter((r) => r['unit_id'] === 'retry').map((r) => r['value'])).toEqual([12.5, -3]);
  });

  it('needs an sdk or admin key', async () => {
    const body = { metrics: [event()] };
    expect((await t.call('POST', '/v1/metrics', { key: null, body })).status).toBe(401);
    const refused = await t.call('POST', '/v1/metrics', { key: read, body });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN', field: 'Authorization', fix: expect.stringContaining('track') as unknown } });
    expect((await t.call('POST', '/v1/metrics', { body })).status).toBe(202);
  });

  it('refuses a batch with a bad event as a whole, naming the field and the fix', async () => {
    const before = (await exportLines()).length;
    const cases: [unknown, number, string, string][] = [
      [{ metrics: [event(), event({ unit: '' })] }, 400, 'UNIT_ID_EMPTY', '/metrics/1/unit'],
      [{ metrics: [event({ unit: 'a\u0000b' })] }, 400, 'UNIT_ID_CONTROL_CHARACTER', '/metrics/0/unit'],
      [`{"metrics":[${JSON.stringify(event())},{"unitType":"userId","unit":"u","metric":"m","value":1e999,"at":0}]}`, 400, 'VALIDATION_FAILED', '/metrics/1/value'],
      [{ metrics: [event({ at: '2026-02-30T00:00:00Z' })] }, 400, 'INVALID_TIME', '/metrics/0/at'],
      [{ metrics: [event({ at: -5 })] }, 400, 'VALIDATION_FAILED', '/metrics/0/at'],
      [{ metrics: [event({ metric: 'add to cart' })] }, 400, 'VALIDATION_FAILED', '/metrics/0/metric'],
      [{ metrics: [event({ metric: '' })] }, 400, 'VALIDATION_FAILED', '/metrics/0/metric'],
      [{ metrics: [event({ value: '12' })] }, 400, 'VALIDATION_FAILED', '/metrics/0/value'],
      [{ metrics: [event({ unit: 42 })] }, 400, 'VALIDATION_FAILED', '/metrics/0/unit'],
      [{ metrics: [event({ id: 'has space' })] }, 400, 'VALIDATION_FAILED', '/metrics/0/id'],
      [{ metrics: [event({ extra: true })] }, 400, 'VALIDATION_FAILED', '/metrics/0/extra'],
      [{ metrics: [{ unitType: 'userId', unit: 'u', metric: 'm', value: 1 }] }, 400, 'VALIDATION_FAILED', '/metrics/0/at'],
      [{ metrics: [] }, 400, 'VALIDATION_FAILED', '/metrics'],
      [{ metrics: Array.from({ length: 1001 }, () => event()) }, 400, 'VALIDATION_FAILED', '/metrics'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await t.call('POST', '/v1/metrics', { key: sdk, body });
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body, JSON.stringify(body).slice(0, 200)).toMatchObject({ error: { code, field, fix: expect.any(String) as unknown, message: expect.any(String) as unknown } });
    }
    expect((await exportLines()).length).toBe(before);
  });

  it('accepts 1,000 events in one request', async () => {
    const metrics = Array.from({ length: 1000 }, (_, i) => event({ unit: `bulk-${i}`, unitType: 'deviceId', value: i, id: `bulk-${i}`.padEnd(40, 'x') }));
    const r = await t.call('POST', '/v1/metrics', { key: sdk, body: { metrics } });
    expect(r.body).toEqual({ accepted: 1000, stored: 1000, duplicates: 0 });
    expect((await exportLines('?unitType=deviceId')).map((row) => row['value'])).toEqual(metrics.map((m) => m['value']));
  });
});

describe('GET /v1/export/metrics', () => {
  it('streams CSV with the analysis columns, by unit type, for read and admin keys only', async () => {
    const r = await t.call('GET', '/v1/export/metrics?format=csv&unitType=anonymousId', { key: read });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.text).toBe('unit_id,unit_type,timestamp,metric,value\nu1,anonymousId,2026-04-15T12:00:00.000Z,purchase,1\n');
    const negative = await t.call('GET', '/v1/export/metrics?format=csv&unitType=userId', { key: read });
    expect(negative.text).toContain('\nretry,userId,2026-04-15T12:00:00.000Z,revenue,-3\n');
    expect((await t.call('GET', '/v1/export/metrics', { key: sdk })).status).toBe(403);
    const bad = await t.call('GET', '/v1/export/metrics?format=xlsx', { key: read });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: '/format' } });
  });

  it('appears in /openapi.json with its schemas, as does POST /v1/metrics', async () => {
    const doc = (await t.call('GET', '/openapi.json', { key: null })).body as { paths: Record<string, Record<string, Record<string, unknown>>> };
    const post = doc.paths['/v1/metrics']?.['post'];
    expect(post?.['x-permission']).toBe('track');
    // The documented success status is the one the route answers with, with its schema.
    const responses = post?.['responses'] as Record<string, { content?: unknown }>;
    expect(Object.keys(responses)).toContain('202');
    expect(Object.keys(responses)).not.toContain('200');
    expect(responses['202']?.content).toBeDefined();
    const schema = (post?.['requestBody'] as { content: { 'application/json': { schema: { properties: { metrics: { maxItems: number; items: { properties: Record<string, unknown> } } } } } } }).content['application/json'].schema;
    expect(schema.properties.metrics.maxItems).toBe(1000);
    expect(Object.keys(schema.properties.metrics.items.properties)).toEqual(['unitType', 'unit', 'metric', 'value', 'at', 'id']);
    const get = doc.paths['/v1/export/metrics']?.['get'];
    expect(get?.['x-permission']).toBe('export');
    expect((get?.['parameters'] as { name: string }[]).map((p) => p.name)).toEqual(['format', 'unitType']);
  });
});
