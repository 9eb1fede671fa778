import { parseVerifierKey, verifyCheckpoint, verifyConsistency } from '@sortition/proofs';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../service.js';
import { PostgresStore } from '../store/postgres.js';
import { dropSchema, queryOnce, randomSchemaName, requirePostgres, testDatabaseUrl } from '../test-support/postgres.js';
import { exampleConfig } from '../test-support/service.js';

const url = testDatabaseUrl();
const schema = randomSchemaName();
const NOW = Date.UTC(2026, 3, 15);
const running: RunningService[] = [];

afterAll(async () => {
  for (const s of running) await s.close();
  await dropSchema(url, schema);
});

describe('config log on PostgreSQL, two instances', () => {
  it('agree on the signing keys and the log when they start at once, and serve the same checkpoint after a publish on one', async () => {
    await requirePostgres(url);
    const start = () => startService({ store: new PostgresStore(url, { schema }), port: 0, bootstrapConfig: exampleConfig(), clock: () => NOW, pollMs: 60_000 });
    const [a, b] = await Promise.all([start(), start()]);
    running.push(a, b);
    expect(a.proofs.keys.publicKeySet()).toEqual(b.proofs.keys.publicKeySet());
    const rows = await queryOnce<{ idx: string; config_version: number }>(url, `SELECT idx, config_version FROM "${schema}".log_entries ORDER BY idx`);
    expect(rows.map((r) => [Number(r.idx), r.config_version])).toEqual([[0, 1]]);

    const keys = (await (await fetch(`${a.url}/.well-known/sortition-keys.json`)).json()) as { keys: { purpose: string; noteVerifierKey?: string }[] };
    const parsed = parseVerifierKey(keys.keys.find((k) => k.purpose === 'checkpoint')!.noteVerifierKey!);
    if (!parsed.ok) throw new Error(parsed.reason);
    const checkpointOf = async (s: RunningService) => {
      const v = verifyCheckpoint(await (await fetch(`${s.url}/v1/log/checkpoint`)).text(), [parsed.key], { origin: 'sortition.local/log' });
      if (!v.ok) throw new Error(v.reason);
      return v.checkpoint;
    };
    const before = await checkpointOf(b);
    expect(before.size).toBe(1);

    const admin = a.createdAdminKey ?? b.createdAdminKey!;
    const published = await fetch(`${a.url}/v1/config/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ config: { ...exampleConfig(), version: 2 }, baseVersion: 1, reason: 'second' }),
    });
    expect(published.status).toBe(201);
    const fromA = await checkpointOf(a);
    const fromB = await checkpointOf(b); // b reads a's append from the store
    expect(fromB).toEqual(fromA);
    expect(fromA.size).toBe(2);
    const proof = (await (await fetch(`${b.url}/v1/log/proof/consistency?from=1&to=2`)).json()) as { proof: string[] };
    expect(verifyConsistency(1, 2, proof.proof.map((h) => new Uint8Array(Buffer.from(h, 'hex'))), before.rootHash, fromB.rootHash)).toEqual({ ok: true });
  });
});
