import { describe, expect, it } from 'vitest';
import { exactFixtures, record, stickyConformance, type StickyCapabilities } from '../test-support/sticky-conformance.js';
import { CookieStickyAdapter, documentCookie, parseStickyCookie } from './cookie.js';
import { LocalStorageStickyAdapter, type StorageLike } from './local-storage.js';
import { MemoryStickyAdapter } from './memory.js';

class MapStorage implements StorageLike {
  readonly items = new Map<string, string>();
  failWrites = false;
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.items.set(key, value);
  }
}

const local: StickyCapabilities = { persistent: true, records: 'exact', deletes: true };

// One memory adapter shared by everything in the process (what a server would do)...
let memory = new MemoryStickyAdapter();
stickyConformance('memory', { capabilities: local, open: () => memory, reset: () => void (memory = new MemoryStickyAdapter()), fixtures: exactFixtures });
// ...or one per instance: records do not outlive it.
stickyConformance('memory, one per instance', {
  capabilities: { ...local, persistent: false },
  open: () => new MemoryStickyAdapter(),
  reset: () => undefined,
  fixtures: exactFixtures,
});

const storage = new MapStorage();
stickyConformance('localStorage', { capabilities: local, open: () => new LocalStorageStickyAdapter(storage), reset: () => storage.items.clear(), fixtures: exactFixtures });

let jar: string | null = null;
stickyConformance('cookie', {
  capabilities: local,
  open: () => new CookieStickyAdapter({ read: () => jar, write: (v) => (jar = v) }),
  reset: () => void (jar = null),
  fixtures: exactFixtures,
});

// The cookie adapter through a fake `document.cookie` (the browser path).
const fakeDocument = {
  store: new Map<string, string>(),
  get cookie(): string {
    return [...this.store].map(([k, v]) => `${k}=${v}`).join('; ');
  },
  set cookie(text: string) {
    const [pair] = text.split(';');
    const i = pair!.indexOf('=');
    this.store.set(pair!.slice(0, i), pair!.slice(i + 1));
  },
};
stickyConformance('cookie via document.cookie', {
  capabilities: local,
  open: () => new CookieStickyAdapter(documentCookie(fakeDocument, 'srt')),
  reset: () => fakeDocument.store.clear(),
  fixtures: exactFixtures,
});

describe('localStorage adapter', () => {
  it('ignores corrupt items and keeps units sticky in memory when storage refuses writes', () => {
    const s = new MapStorage();
    s.items.set('sortition:userId:u1', '{not json');
    s.items.set('sortition:userId:u2', JSON.stringify({ exp: { experiment: 'exp', variant: 3 } }));
    const errors: unknown[] = [];
    const a = new LocalStorageStickyAdapter(s, { onError: (e) => errors.push(e) });
    expect(a.get('userId', 'u1', 'exp')).toBeNull();
    expect(a.get('userId', 'u2', 'exp')).toBeNull();
    s.failWrites = true;
    a.set('userId', 'u3', record('exp'));
    expect(errors).toHaveLength(1);
    expect(a.get('userId', 'u3', 'exp')).toEqual(record('exp'));
  });
});

describe('cookie adapter', () => {
  it('writes a compact, cookie-safe value', () => {
    let value = '';
    const a = new CookieStickyAdapter({ read: () => value, write: (v) => (value = v) });
    a.set('userId', 'Zoë; x=1, "y"', record('checkout_v2'));
    expect(value).toMatch(/^s1\|[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/);
    expect(value.length).toBeLessThan(90);
    expect(parseStickyCookie(value)).toEqual([{ unitType: 'userId', unit: 'Zoë; x=1, "y"', record: record('checkout_v2') }]);
  });

  it('stays within maxBytes by dropping the oldest records, never the one just written', () => {
    let value = '';
    const evicted: string[] = [];
    const a = new CookieStickyAdapter({ read: () => value, write: (v) => (value = v) }, { maxBytes: 200, onEvict: (_t, _u, r) => evicted.push(r.experiment) });
    for (let i = 0; i < 10; i++) a.set('userId', 'u1', record(`exp${i}`, 'treatment', { assignedAt: 1000 + i }));
    expect(value.length).toBeLessThanOrEqual(200);
    expect(a.get('userId', 'u1', 'exp9')).not.toBeNull();
    expect(a.get('userId', 'u1', 'exp0')).toBeNull();
    expect(evicted[0]).toBe('exp0');
    expect(a.evictions).toBe(evicted.length);
    expect(evicted.length).toBeGreaterThan(0);
  });

  it('skips malformed entries and unknown formats', () => {
    expect(parseStickyCookie('s0|a:b')).toEqual([]);
    expect(parseStickyCookie('s1|only:three:fields|%E0%A4%A:b:c:d:e:1:1:1:1')).toEqual([]);
    const a = new CookieStickyAdapter({ read: () => 'garbage', write: () => undefined });
    expect(a.get('userId', 'u', 'e')).toBeNull();
  });

  it('hands records from a server-rendered response to the browser (Set-Cookie in, document.cookie out)', () => {
    // Server: read the request Cookie header, write a Set-Cookie header.
    const setCookie: string[] = [];
    const server = new CookieStickyAdapter({ read: () => null, write: (v) => setCookie.push(`sortition=${v}; Path=/; Max-Age=34560000; SameSite=Lax`) });
    server.set('userId', 'u1', record('exp'));
    // Browser: the cookie the server set is visible through document.cookie.
    const doc = { cookie: setCookie.at(-1)!.split(';')[0]! };
    const browser = new CookieStickyAdapter(documentCookie(doc));
    expect(browser.get('userId', 'u1', 'exp')).toEqual(record('exp'));
  });
});
