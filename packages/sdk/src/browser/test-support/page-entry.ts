/**
 * The browser page's entry (bundled by esbuild for the browser): exposes the vector runner and the
 * SDK's sticky-adapter conformance suite, run over the page's real localStorage and document.cookie.
 */
import type { Vector } from '../../../../../spec/index.js';
import { CookieStickyAdapter, documentCookie } from '../../sticky/cookie.js';
import { LocalStorageStickyAdapter, type StorageLike } from '../../sticky/local-storage.js';
import { exactFixtures, stickyConformance, type StickyCapabilities } from '../../test-support/sticky-conformance.js';
import { runCollected, type InPageResult } from './in-page-vitest.js';
import { runVectors, type VectorOutcome } from '../../../../../spec/runner.js';

interface PageGlobals {
  readonly localStorage: StorageLike & { clear(): void };
  readonly document: { cookie: string };
  readonly location: { href: string };
  sortitionTest?: PageApi;
}

export interface PageApi {
  /** Fetches /vectors/index.json and every file it lists, then runs them. */
  runVectors(): Promise<{ files: string[]; outcomes: VectorOutcome[] }>;
  runStickyConformance(): Promise<InPageResult[]>;
  readonly userAgent: string;
}

const page = globalThis as unknown as PageGlobals;
const COOKIE = 'srt_conformance';

const local: StickyCapabilities = { persistent: true, records: 'exact', deletes: true };

stickyConformance('localStorage (browser)', {
  capabilities: local,
  open: () => new LocalStorageStickyAdapter(page.localStorage),
  reset: () => page.localStorage.clear(),
  fixtures: exactFixtures,
});

stickyConformance('cookie via document.cookie (browser)', {
  capabilities: local,
  open: () => new CookieStickyAdapter(documentCookie(page.document, COOKIE)),
  reset: () => {
    page.document.cookie = `${COOKIE}=; Max-Age=0; Path=/`;
  },
  fixtures: exactFixtures,
});

async function fetchJson(path: string): Promise<unknown> {
  const response = await fetch(new URL(path, page.location.href));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return response.json() as Promise<unknown>;
}

page.sortitionTest = {
  async runVectors() {
    const files = (await fetchJson('/vectors/index.json')) as string[];
    const vectors = (await Promise.all(files.map((f) => fetchJson(`/vectors/${f}`)))) as Vector[];
    return { files, outcomes: runVectors(vectors) };
  },
  runStickyConformance: runCollected,
  userAgent: (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent,
};
