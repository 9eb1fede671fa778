/** The SDK payload (GET /v1/sdk/payload, or a bootstrap document) in the shape the client keeps. */

export interface NormalisedPayload {
  readonly config: unknown;
  readonly version: number | null;
  readonly hash: string | null;
  readonly etag: string | null;
  readonly serverOnly: ReadonlySet<string>;
}

function serverOnlyOf(value: unknown): ReadonlySet<string> {
  if (typeof value !== 'object' || value === null) return new Set();
  const experiments = (value as Record<string, unknown>)['experiments'];
  return new Set(Array.isArray(experiments) ? experiments.filter((e): e is string => typeof e === 'string') : []);
}

export function normalisePayload(raw: unknown): NormalisedPayload {
  if (typeof raw === 'object' && raw !== null && 'config' in raw) {
    const p = raw as Record<string, unknown>;
    return {
      config: p.config,
      version: typeof p.version === 'number' ? p.version : null,
      hash: typeof p.hash === 'string' ? p.hash : null,
      etag: typeof p.etag === 'string' ? p.etag : null,
      serverOnly: serverOnlyOf(p.serverOnly),
    };
  }
  return { config: raw, version: null, hash: null, etag: null, serverOnly: new Set() };
}
