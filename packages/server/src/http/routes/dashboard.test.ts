import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../../assignments/evaluator.js';
import { ConfigHistory } from '../../config/history.js';
import { ProofService } from '../../proofs/service.js';
import { MemoryStore } from '../../store/memory.js';
import { buildApp } from '../app.js';

const NOW = Date.UTC(2026, 3, 15);
let dist: string;
let built: FastifyInstance;
let missing: FastifyInstance;

async function app(dashboardDir: string | null): Promise<FastifyInstance> {
  const store = new MemoryStore();
  await store.migrate();
  const history = new ConfigHistory(store);
  const proofs = await ProofService.start(store, NOW);
  const instance = buildApp({ store, history, evaluator: new Evaluator(store), proofs, clock: () => NOW }, { dashboardDir });
  await instance.ready();
  return instance;
}

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'sortition-dashboard-dist-'));
  await mkdir(join(dist, 'assets'));
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>Sortition</title><div id="root"></div>');
  await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log("dashboard")');
  built = await app(dist);
  missing = await app(join(dist, 'no-such-dir'));
});
afterAll(async () => {
  await built?.close();
  await missing?.close();
  await rm(dist, { recursive: true, force: true });
});

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the dashboard at /', () => {
  it('serves index.html at / without caching and with a strict content security policy', async () => {
    const r = await built.inject({ method: 'GET', url: '/', headers: html });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.body).toContain('<div id="root">');
  });

  it('serves hashed assets as immutable', async () => {
    const r = await built.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toContain('immutable');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers client routes opened by a browser with index.html (SPA fallback)', async () => {
    for (const url of ['/experiments/checkout_v2', '/experiments/checkout_v2/health', '/verify?unit=8821']) {
      const r = await built.inject({ method: 'GET', url, headers: html });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).toContain('<div id="root">');
      expect(r.headers['cache-control'], url).toBe('no-cache');
    }
  });

  it('keeps API 404s JSON, also for browsers, and for anything that is not a page navigation', async () => {
    const cases = [
      { method: 'GET' as const, url: '/v1/nope', headers: html },
      { method: 'GET' as const, url: '/v1/nope', headers: {} },
      { method: 'GET' as const, url: '/.well-known/nope', headers: html },
      { method: 'GET' as const, url: '/experiments/x', headers: { accept: 'application/json' } },
      { method: 'GET' as const, url: '/assets/missing.js', headers: { accept: '*/*' } },
      { method: 'POST' as const, url: '/experiments/x', headers: html },
    ];
    for (const c of cases) {
      const r = await built.inject(c);
      expect(r.statusCode, `${c.method} ${c.url}`).toBe(404);
      expect(r.headers['content-type'], c.url).toMatch(/^application\/json/);
      expect(r.json(), c.url).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    const health = await built.inject({ method: 'GET', url: '/health', headers: html });
    expect(health.json()).toEqual({ status: 'ok' });
  });

  it('still starts without a built dashboard, and / says to run npm run build (JSON or HTML)', async () => {
    const json = await missing.inject({ method: 'GET', url: '/' });
    expect(json.statusCode).toBe(503);
    expect(json.json()).toMatchObject({ error: { code: 'DASHBOARD_NOT_BUILT', fix: expect.stringContaining('npm run build') as unknown } });
    const page = await missing.inject({ method: 'GET', url: '/experiments/x', headers: html });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('npm run build');
    const api = await missing.inject({ method: 'GET', url: '/v1/nope', headers: html });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await missing.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
  });
});
