import { MemoryStore, startService, type RunningService } from '@sortition/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../config-file.js';
import { runRotateKey } from './rotate-key.js';

let service: RunningService;
let admin: string;

beforeAll(async () => {
  service = await startService({ store: new MemoryStore(), port: 0, pollMs: 60_000 });
  admin = service.createdAdminKey!;
});
afterAll(async () => service.close());

interface PublishedKey {
  readonly kid: string;
  readonly purpose?: string;
  readonly use?: string;
  readonly notAfter?: string | number | null;
}

async function publishedKeys(): Promise<PublishedKey[]> {
  const response = await fetch(`${service.url}/.well-known/sortition-keys.json`);
  const body = (await response.json()) as { keys: PublishedKey[] };
  return body.keys;
}

describe('sortition rotate-key', () => {
  it('rotates the receipt key on the live service; the old key stays published with an end to its window', async () => {
    const before = await publishedKeys();
    const rotated = await runRotateKey({ url: `${service.url}/`, key: admin, purpose: 'receipt', reason: 'scheduled yearly rotation' });
    const after = await publishedKeys();
    expect(after.length).toBe(before.length + 1);
    for (const k of before) expect(after.map((a) => a.kid)).toContain(k.kid);
    expect(JSON.stringify(rotated)).toMatch(/receipt/);
  });

  it('refuses a bad purpose or an empty reason before calling the service, and names the flag', async () => {
    await expect(runRotateKey({ url: service.url, key: admin, purpose: 'tls', reason: 'x' })).rejects.toThrow(/--purpose must be "checkpoint" or "receipt"/);
    await expect(runRotateKey({ url: service.url, key: admin, purpose: 'checkpoint', reason: '  ' })).rejects.toThrow(/--reason is empty/);
  });

  it('passes on the service\'s error for a key that may not rotate', async () => {
    const error = await runRotateKey({ url: service.url, key: 'sk_admin_unknown', purpose: 'checkpoint', reason: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('UNAUTHENTICATED');
  });
});
