/**
 * Same answer everywhere: every spec vector runs through @sortition/core inside headless Chromium
 * (Debian's package, driven by playwright-core) and must give exactly what the vectors state and
 * exactly what Node computes. The SDK's sticky-adapter conformance suite also runs in the page, over
 * the real localStorage and document.cookie. Without /usr/bin/chromium this fails, never skips.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVectors, vectorsDir, type Vector } from '../../../../spec/index.js';
import { bundleForBrowser, launchChromium, serveLocally, type LocalServer } from './test-support/harness.js';
import type { InPageResult } from './test-support/in-page-vitest.js';
import type { PageApi } from './test-support/page-entry.js';
import { runVectors, type VectorOutcome } from '../../../../spec/runner.js';

const entry = fileURLToPath(new URL('./test-support/page-entry.ts', import.meta.url));
const all = loadVectors();
const files = all.map((v) => v.file);
const vectors: Vector[] = all.map((v) => v.vector);

let browser: Browser | undefined;
let server: LocalServer | undefined;
let page: Page;
let inBrowser: { files: string[]; outcomes: VectorOutcome[] };
let conformance: InPageResult[];
let bundled: readonly string[];

type PageWindow = typeof globalThis & { sortitionTest: PageApi };

beforeAll(async () => {
  const { script, inputs } = await bundleForBrowser(entry);
  bundled = inputs;
  server = await serveLocally((path) => {
    if (path === '/') return { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>vectors</title><script type="module" src="/entry.js"></script>' };
    if (path === '/entry.js') return { type: 'text/javascript', body: script };
    if (path === '/vectors/index.json') return { type: 'application/json', body: JSON.stringify(files) };
    const name = /^\/vectors\/([a-z0-9-]+\.json)$/.exec(path)?.[1];
    if (name !== undefined && files.includes(name)) return { type: 'application/json', body: readFileSync(`${vectorsDir}${name}`) };
    return undefined;
  });
  browser = await launchChromium();
  page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => 'sortitionTest' in globalThis, undefined, { timeout: 10_000 }).catch((e: unknown) => {
    throw new Error(`the test page did not start: ${pageErrors.join('; ') || String(e)}`);
  });
  inBrowser = await page.evaluate(() => (globalThis as PageWindow).sortitionTest.runVectors());
  conformance = await page.evaluate(() => (globalThis as PageWindow).sortitionTest.runStickyConformance());
}, 40_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('spec vectors in headless Chromium', () => {
  it('runs in Chromium, over every vector file', async () => {
    expect(await page.evaluate(() => (globalThis as PageWindow).sortitionTest.userAgent)).toMatch(/HeadlessChrome|Chromium|Chrome/);
    expect(inBrowser.files).toEqual(files);
    expect(new Set(inBrowser.outcomes.map((o) => o.kind))).toEqual(new Set(['slot', 'assign', 'change']));
  });

  it('runs the compact SHA-256 compression, which the browser condition selects (Node runs the unrolled one)', () => {
    const compression = bundled.filter((p) => /sha256-compress(-compact)?\.ts$/.test(p));
    expect(compression).toHaveLength(1);
    expect(compression[0]).toMatch(/(^|\/)packages\/core\/src\/crypto\/sha256-compress-compact\.ts$/);
  });

  it('gives exactly what Node gives', () => {
    expect(inBrowser.outcomes).toEqual(runVectors(vectors));
  });

  it('gives exactly what every slot vector states', () => {
    let checked = 0;
    for (const [i, outcome] of inBrowser.outcomes.entries()) {
      const vector = vectors[i]!;
      if (vector.kind !== 'slot' || outcome.kind !== 'slot') continue;
      vector.cases.forEach((c, j) => {
        const got = outcome.cases[j]!;
        const where = `${vector.name} case ${j}: ${c.explanation}`;
        if ('error' in c.expected) {
          expect(got.slot, where).toBe(c.expected.error);
        } else {
          expect(got.slot, where).toBe(c.expected.slot);
          expect(got.canonicalUtf8Hex, where).toBe(c.expected.canonicalUtf8Hex);
        }
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('gives exactly what every assign vector states', () => {
    let checked = 0;
    for (const [i, outcome] of inBrowser.outcomes.entries()) {
      const vector = vectors[i]!;
      if (vector.kind !== 'assign' || outcome.kind !== 'assign') continue;
      expect(outcome.cases).toHaveLength(vector.cases.length);
      vector.cases.forEach((c, j) => {
        expect(outcome.cases[j], `${vector.name} case ${j}: ${c.explanation}`).toEqual(c.expected);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('moves exactly the listed units for every change vector', () => {
    for (const [i, outcome] of inBrowser.outcomes.entries()) {
      const vector = vectors[i]!;
      if (vector.kind !== 'change' || outcome.kind !== 'change') continue;
      expect(outcome.result.moved, vector.explanation).toEqual(vector.expected.moved);
      expect(outcome.result.entered, vector.name).toEqual(vector.expected.entered);
      expect(outcome.result.verdict, vector.name).toBe(vector.expected.verdict);
      expect(outcome.result.movedSlots, vector.name).toBe(vector.expected.movedSlots);
    }
  });
});

describe('sticky adapter conformance in headless Chromium', () => {
  it.each(['localStorage (browser)', 'cookie via document.cookie (browser)'])('%s passes the whole suite', (adapter) => {
    const mine = conformance.filter((r) => r.name.startsWith(`StickyAdapter conformance: ${adapter} (exact records, persistent, reset deletes) > `));
    expect(mine.length).toBe(7);
    expect(mine.filter((r) => !r.ok)).toEqual([]);
  });
});
