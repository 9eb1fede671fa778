/**
 * Two service instances on one PostgreSQL schema, one of them slow to notice a new config version:
 * its first assignments are refused by the store (made under a replaced version), and the request
 * is answered under the new version instead, never stored under the old one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../service.js';
import { PostgresStore } from '../store/postgres.js';
import { dropSchema, queryOnce, randomSchemaName, requirePostgres, testDatabaseUrl } from '../test-support/postgres.js';
import { exampleConfig } from '../test-support/service.js';

const url = testDatabaseUrl();
const schema = randomSchemaName('sortition_stale');
const NOW = Date.UTC(2026, 3, 15);
const running: RunningService[] = [];

afterAll(async () => {
  for (const s of running) await s.close();
  await dropSchema(url, schema);
});

async function post(base: string, key: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('evaluate on an instance that has not loaded the latest config version', () => {
  it('answers under the latest version and stores first assignments only under it', async () => {
    await requirePostgres(url);
    // Polling once a minute and not listening: the second instance learns of the new version only from the store's refusal.
    const start = () => startService({ store: new PostgresStore(url, { schema }), port: 0, bootstrapConfig: exampleConfig(), clock: () => NOW, pollMs: 60_000, watchConfig: false });
    const a = await start();
    running.push(a);
    const b = await start();
    running.push(b);
    const admin = a.createdAdminKey!;
    const published = await post(a.url, admin, '/v1/config/versions', { config: { ...exampleConfig(), version: 2 }, baseVersion: 1, reason: 'a new version, published on instance a' });
    expect(published.status).toBe(201);

    const units = Array.from({ length: 40 }, (_, i) => `stale_${i}`);
    const single = await post(b.url, admin, '/v1/evaluate', { units: { userId: units[0] }, attributes: { country: 'DE', appVersion: '4.3.1' } });
    expect(single.status).toBe(200);
    expect(single.body['configVersion']).toBe(2);
    const batch = await post(b.url, admin, '/v1/evaluate/batch', { requests: units.slice(1).map((u) => ({ units: { userId: u }, attributes: { country: 'DE', appVersion: '4.3.1' } })) });
    expect(batch.status).toBe(200);
    expect(batch.body['configVersion']).toBe(2);

    const rows = await queryOnce<{ config_version: number; n: string }>(url, `SELECT config_version, count(*) AS n FROM "${schema}".assignments WHERE unit LIKE 'stale_%' GROUP BY 1`);
    expect(rows.length).toBe(1);
    expect(rows[0]!.config_version).toBe(2);
    expect(Number(rows[0]!.n)).toBeGreaterThan(20);
  });
});

describe('config versions published by another instance', () => {
  it('are in force on a listening instance at once, without waiting for its poll', async () => {
    await requirePostgres(url);
    const watched = randomSchemaName('sortition_watch');
    const start = () => startService({ store: new PostgresStore(url, { schema: watched }), port: 0, bootstrapConfig: exampleConfig(), clock: () => NOW, pollMs: 60_000 });
    const a = await start();
    running.push(a);
    const b = await start();
    running.push(b);
    try {
      expect(b.history.current()?.record.version).toBe(1);
      const seen = new Promise<number>((resolve) => b.history.subscribe((current) => resolve(current.record.version)));
      const published = await post(a.url, a.createdAdminKey!, '/v1/config/versions', { config: { ...exampleConfig(), version: 2 }, baseVersion: 1, reason: 'heard by the other instance' });
      expect(published.status).toBe(201);
      // The poll is a minute away: only the notification can bring version 2 this soon (vitest's 5 s timeout).
      expect(await seen).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await dropSchema(url, watched);
    }
  });
});
