/**
 * The browser example (examples/browser/) in headless Chromium: it shows a variant, and a reload shows
 * the same variant for the same anonymous id (both kept in localStorage), which is also what Node's
 * core computes for that id. Leaves a screenshot at /tmp/example-page.png.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assign, compileConfigOrThrow } from '@sortition/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, launchChromium, serveLocally, type LocalServer } from './test-support/harness.js';

const exampleDir = fileURLToPath(new URL('../../../../examples/browser/', import.meta.url));
const payload = JSON.parse(readFileSync(`${exampleDir}config.json`, 'utf8')) as { version: number; config: unknown };
const SCREENSHOT = '/tmp/example-page.png';

let browser: Browser | undefined;
let server: LocalServer | undefined;

beforeAll(async () => {
  const { script: app } = await bundleForBrowser(`${exampleDir}main.js`);
  const html = readFileSync(`${exampleDir}index.html`, 'utf8');
  server = await serveLocally((path) => {
    if (path === '/' || path === '/index.html') return { type: 'text/html; charset=utf-8', body: html };
    if (path === '/app.js') return { type: 'text/javascript', body: app };
    return undefined;
  });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Shown {
  readonly variant: string;
  readonly anonymousId: string;
  readonly idOrigin: string;
  readonly slot: string;
  readonly sticky: string;
  readonly reason: string;
  readonly button: string;
}

async function shown(page: Page): Promise<Shown> {
  await page.waitForSelector('body[data-ready]', { timeout: 10_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('true');
  const text = async (id: string): Promise<string> => (await page.textContent(`#${id}`))?.trim() ?? '';
  return {
    variant: await text('variant'),
    anonymousId: await text('anonymous-id'),
    idOrigin: await text('id-origin'),
    slot: await text('slot'),
    sticky: await text('sticky'),
    reason: await text('reason'),
    button: await text('pay'),
  };
}

function nodeVariant(anonymousId: string): string | null {
  const config = compileConfigOrThrow(payload.config);
  return assign(config, { experiment: 'pay_button', units: { anonymousId }, now: Date.now(), mode: 'peek' }).variant;
}

describe('examples/browser in headless Chromium', () => {
  it('shows a variant that survives a reload, with the same anonymous id', async () => {
    const context = await browser!.newContext({ viewport: { width: 720, height: 620 } });
    const errors: string[] = [];
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    await page.goto(`${server!.url}/`);
    const first = await shown(page);
    expect(['control', 'treatment']).toContain(first.variant);
    expect(first.anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.idOrigin).toBe('new on this load');
    expect(first.sticky).toBe('none');
    expect(first.variant).toBe(nodeVariant(first.anonymousId));
    expect(first.button).toBe(first.variant === 'control' ? 'Continue to payment' : 'Pay now');

    const stored = await page.evaluate(
      (id) => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(`sortition:anonymousId:${id}`),
      first.anonymousId,
    );
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ pay_button: { experiment: 'pay_button', variant: first.variant, phase: 'main' } });

    await page.reload();
    const second = await shown(page);
    expect(second.anonymousId).toBe(first.anonymousId);
    expect(second.variant).toBe(first.variant);
    expect(second.slot).toBe(first.slot);
    expect(second.idOrigin).toBe('from localStorage');
    expect(second.sticky).toBe('honored');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);

    // Another browser profile (fresh storage) is another anonymous visitor.
    const other = await browser!.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto(`${server!.url}/`);
    const third = await shown(otherPage);
    expect(third.anonymousId).not.toBe(first.anonymousId);
    expect(third.variant).toBe(nodeVariant(third.anonymousId));
    await other.close();
    await context.close();
  });
});
