/**
 * System tests of `sortition serve` as real processes: two instances racing on one PostgreSQL, and
 * kill -9 under load on SQLite and on PostgreSQL. PostgreSQL must be running (CI starts it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { withDefaultUser } from '@sortition/server';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startServeProcess, type ServeProcess } from './test-support/process.js';

const PG = process.env['SORTITION_TEST_PG'] ?? 'postgres://127.0.0.1:5432/test';
const ATTRS = { country: 'DE', appVersion: '4.3.1' };
const schemas: string[] = [];
const dirs: string[] = [];

async function pgSchema(): Promise<string> {
  const schema = `sys_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return `${PG}?schema=${schema}`;
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: withDefaultUser(PG) });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Row = { unit_id: string; experiment: string; variant: string; phase: string; slot: number };

async function exportAssignments(url: string, key: string): Promise<Row[]> {
  const response = await fetch(`${url}/v1/export/assignments`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return (await response.text()).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row);
}

async function sdkKey(p: ServeProcess, admin: string): Promise<string> {
  const r = await api(p.url, admin, 'POST', '/v1/keys', { kind: 'sdk', label: 'system test' });
  expect(r.status).toBe(201);
  return (r.body as { secret: string }).secret;
}

type Answer = { experiment: string; variant: string | null; phase: string | null; slot: number | null };

describe('sortition serve under concurrency and crashes', () => {
  it('two processes on one PostgreSQL assign the same 10,000 fresh units concurrently: exactly one stored assignment per unit, returned by both', async () => {
    const db = await pgSchema();
    const a = await startServeProcess(db);
    const b = await startServeProcess(db);
    try {
      expect(a.adminKey).not.toBeNull();
      expect(b.adminKey).toBeNull();
      const sdk = await sdkKey(a, a.adminKey!);
      const units = Array.from({ length: 10_000 }, (_, i) => `race_${i}`);
      const run = async (url: string): Promise<Map<string, Answer[]>> => {
        const out = new Map<string, Answer[]>();
        const batches: string[][] = [];
        for (let i = 0; i < units.length; i += 100) batches.push(units.slice(i, i + 100));
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < batches.length) {
            const batch = batches[next++]!;
            const r = await api(url, sdk, 'POST', '/v1/evaluate/batch', { requests: batch.map((u) => ({ units: { userId: u }, attributes: ATTRS })) });
            expect(r.status).toBe(200);
            (r.body as { responses: { results: Answer[] }[] }).responses.forEach((resp, i) => out.set(batch[i]!, resp.results.map(({ experiment, variant, phase, slot }) => ({ experiment, variant, phase, slot }))));
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
        return out;
      };
      const [fromA, fromB] = await Promise.all([run(a.url), run(b.url)]);
      expect(fromA.size).toBe(10_000);
      for (const u of units) expect(fromB.get(u), u).toEqual(fromA.get(u));
      const rows = await exportAssignments(a.url, a.adminKey!);
      const byKey = new Map<string, Row[]>();
      for (const r of rows) byKey.set(`${r.unit_id}|${r.experiment}`, [...(byKey.get(`${r.unit_id}|${r.experiment}`) ?? []), r]);
      let assigned = 0;
      for (const [unit, answers] of fromA) {
        for (const ans of answers) {
          const stored = byKey.get(`${unit}|${ans.experiment}`) ?? [];
          if (ans.variant === null) {
            expect(stored).toEqual([]);
            continue;
          }
          assigned++;
          expect(stored.length, `${unit} ${ans.experiment}`).toBe(1);
          expect(stored[0]).toMatchObject({ variant: ans.variant, phase: ans.phase, slot: ans.slot });
        }
      }
      expect(assigned).toBeGreaterThan(5000);
      expect(rows.length).toBe(assigned);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('refuses a second process on one SQLite file (one writer per file), naming the holder and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sortition-lock-'));
    dirs.push(dir);
    const db = join(dir, 'one.db');
    const first = await startServeProcess(db);
    try {
      await expect(startServeProcess(db)).rejects.toThrow(new RegExp(`held by process ${first.child.pid!}.*PostgreSQL`));
    } finally {
      await first.stop();
    }
    const again = await startServeProcess(db);
    await again.stop();
  });

  const crashCase = async (db: string): Promise<void> => {
    const first = await startServeProcess(db);
    const admin = first.adminKey!;
    const sdk = await sdkKey(first, admin);
    const acknowledged = new Map<string, Answer[]>();
    let counter = 0;
    let killed = false;
    const worker = async (w: number): Promise<void> => {
      while (!killed) {
        const unit = `crash_${w}_${counter++}`;
        try {
          const r = await api(first.url, sdk, 'POST', '/v1/evaluate', { units: { userId: unit }, attributes: ATTRS });
          if (r.status === 200) acknowledged.set(unit, (r.body as { results: Answer[] }).results);
        } catch (error) {
          if (!killed) throw error;
        }
        if (acknowledged.size >= 1500 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    await first.stop();
    expect(first.child.signalCode).toBe('SIGKILL');
    const second = await startServeProcess(db);
    try {
      const rows = await exportAssignments(second.url, admin);
      const stored = new Map(rows.map((r) => [`${r.unit_id}|${r.experiment}`, r]));
      let checked = 0;
      for (const [unit, answers] of acknowledged) {
        for (const ans of answers) {
          if (ans.variant === null) continue;
          checked++;
          expect(stored.get(`${unit}|${ans.experiment}`), `${unit} ${ans.experiment} was acknowledged`).toMatchObject({ variant: ans.variant, phase: ans.phase, slot: ans.slot });
        }
      }
      expect(checked).toBeGreaterThan(700);
    } finally {
      await second.stop();
    }
  };

  it('kill -9 under load on SQLite: every acknowledged assignment is stored, unchanged, after restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sortition-crash-'));
    dirs.push(dir);
    await crashCase(join(dir, 'crash.db'));
  });

  it('kill -9 under load on PostgreSQL: every acknowledged assignment is stored, unchanged, after restart', async () => {
    await crashCase(await pgSchema());
  });
});
