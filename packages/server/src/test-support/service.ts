/** Helpers for tests that run the real service (real HTTP on a loopback port). */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startService, type RunningService } from '../service.js';
import type { Store } from '../store/types.js';

export function exampleConfig(name = 'checkout.yaml'): Record<string, unknown> {
  const doc = parse(readFileSync(new URL(`../../../../examples/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...doc, version: 1 };
}

export interface TestService {
  readonly service: RunningService;
  readonly admin: string;
  call(method: string, path: string, options?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: unknown; headers: Headers; text: string }>;
}

export async function startTestService(store: Store, options: { clock?: () => number; bootstrap?: unknown } = {}): Promise<TestService> {
  const service = await startService({ store, port: 0, bootstrapConfig: options.bootstrap ?? exampleConfig(), ...(options.clock === undefined ? {} : { clock: options.clock }), pollMs: 60_000 });
  const admin = service.createdAdminKey!;
  return {
    service,
    admin,
    async call(method, path, o = {}) {
      const key = o.key === undefined ? admin : o.key;
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(o.body === undefined ? {} : { 'content-type': 'application/json' }), ...o.headers },
        ...(o.body === undefined ? {} : { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
      }
      return { status: response.status, body, headers: response.headers, text };
    },
  };
}
