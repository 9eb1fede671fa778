/**
 * The dashboard end to end, in headless Chromium against the real service (in-process, memory
 * store, real clock) serving the real build: sign in, create an experiment, ramp it with the
 * planner's preview, see an unsafe change refused (by the preview, then by the service with 409 when
 * exposures arrive after the preview), declare it instead, read health, results and history, and use
 * it read-only, on a phone-sized screen and by keyboard.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '@sortition/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../sdk/src/browser/test-support/harness.js';
import { startTestService, type TestService } from '../../../server/src/test-support/service.js';
import { buildDashboardIfStale, clearScreenshots, screenshot, seededEvents, seededExposures, seededMetricEvents, watchProblems } from './support.js';

let t: TestService;
let sdk: string;
let read: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let scratch: string;
let seeded: ReturnType<typeof seededExposures>;
/** A unit assigned (with a signed receipt) when the suite starts, verified at the end. */
let proven: { unit: string; variant: string; receipt: string };

async function evaluate(experiment: string, units: readonly string[]): Promise<Map<string, string>> {
  const r = await t.call('POST', '/v1/evaluate/batch', { key: sdk, body: { requests: units.map((u) => ({ units: { userId: u }, experiments: [experiment] })) } });
  expect(r.status).toBe(200);
  const variants = new Map<string, string>();
  (r.body as { responses: { results: { variant: string | null }[] }[] }).responses.forEach((response, i) => {
    const v = response.results[0]?.variant;
    if (typeof v === 'string') variants.set(units[i]!, v);
  });
  return variants;
}

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestService(new MemoryStore()), launchChromium(), buildDashboardIfStale(), clearScreenshots()]);
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'analyst' } })).body as { secret: string }).secret;
  scratch = await mkdtemp(join(tmpdir(), 'sortition-dashboard-e2e-'));
  const attributes = { country: 'DE', appVersion: '4.3.1' };
  const receipts = await t.call('POST', '/v1/evaluate/batch', { key: sdk, body: { requests: ids('proven', 20).map((u) => ({ units: { userId: u }, attributes, experiments: ['checkout_v2'], receipt: true })) } });
  const first = (receipts.body as { responses: { results: { variant: string | null; receipt?: string }[] }[] }).responses.findIndex((r) => r.results[0]?.receipt !== undefined);
  const result = (receipts.body as { responses: { results: { variant: string; receipt: string }[] }[] }).responses[first]!.results[0]!;
  proven = { unit: `proven-${first}`, variant: result.variant, receipt: result.receipt };
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  problems = watchProblems(page);
});

afterAll(async () => {
  await browser?.close();
  await t?.service.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

// A failing step leaves a picture of the page behind (packages/dashboard/screenshots/failed-*.png).
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page !== undefined) await screenshot(page, `failed-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`);
});

async function signIn(p: Page, key: string): Promise<void> {
  await p.getByLabel('API key').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

describe('the dashboard in Chromium', () => {
  it('refuses an SDK key with the reason, and signs in with an admin key', async () => {
    await page.goto(`${t.service.url}/`);
    await expect.poll(() => page.title()).toBe('Sortition');
    await signIn(page, sdk);
    await page.getByRole('alert').filter({ hasText: 'SDK key' }).waitFor();
    await screenshot(page, '00-sign-in-refused');
    await signIn(page, t.admin);
    await page.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'checkout_v2' }).waitFor();
    await screenshot(page, '01-experiments');
  });

  it('creates an experiment with the planner preview before saving', async () => {
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page.getByRole('heading', { name: 'New experiment', level: 1 }).waitFor();
    await page.getByLabel('Key', { exact: true }).fill('search_ranking');
    await page.getByLabel('Layer', { exact: true }).selectOption('pricing');
    await page.getByLabel('Traffic: share of the layer (%)').fill('20');
    await page.getByText('Safe: no exposed unit changes variant.').waitFor();
    await page.getByLabel('Reason for this version').fill('Test the new ranking on 20% of pricing traffic');
    await screenshot(page, '02-new-experiment-preview');
    await page.getByRole('button', { name: 'Save as version 2' }).click();
    await page.getByRole('heading', { name: 'search_ranking', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/experiments/search_ranking');
    await page.getByRole('img', { name: /Phase main of search_ranking/ }).waitFor();
    await screenshot(page, '03-experiment-overview');
  });

  it('ramps it: the preview shows slots entering and no exposed unit moving, then saves', async () => {
    expect((await evaluate('search_ranking', ids('ramp', 600))).size).toBeGreaterThan(100);
    await page.getByRole('link', { name: 'Change allocation' }).click();
    await page.getByLabel('Traffic: share of the layer (%)').fill('40');
    await page.getByText('Safe: no exposed unit changes variant.').waitFor();
    await expect.poll(() => page.locator('.plan').innerText()).toMatch(/20,000 slots start serving/);
    await page.getByLabel('Reason for this version').fill('Ramp to 40%: no issues at 20%');
    await screenshot(page, '04-ramp-preview');
    await page.getByRole('button', { name: 'Save as version 3' }).click();
    await page.getByText('Saved as config version 3').waitFor();
  });

  it('refuses a change that would move exposed units, in the preview and with 409 when exposures arrive after it', async () => {
    // Units exposed after the ramp, so every slot of the experiment may now hold exposed units.
    await evaluate('search_ranking', ids('after-ramp', 600));
    await page.getByLabel('Weight of control').fill('30');
    await page.getByLabel('Weight of treatment').fill('70');
    await page.getByText(/^Refused: this change would move exposed units/).waitFor();
    await expect.poll(() => page.locator('.plan').innerText()).toMatch(/[1-9]\d* exposed units would change variant on publish/);
    expect(await page.getByRole('button', { name: 'Save as version 4' }).isDisabled()).toBe(true);
    await screenshot(page, '05-refused-preview');

    // price_anchor has no exposures yet: a 40/60 reweight moves nobody, so the preview says safe...
    await page.goto(`${t.service.url}/experiments/price_anchor/change`);
    await page.getByLabel('Weight of monthly_first').fill('40');
    await page.getByLabel('Weight of annual_first').fill('60');
    await page.getByText('Safe: no exposed unit changes variant.').waitFor();
    await page.getByLabel('Reason for this version').fill('More annual-first data');
    // ...then units are exposed in the slots that would move, and the service refuses to save.
    await evaluate('price_anchor', ids('race', 400));
    await page.getByRole('button', { name: 'Save as version 4' }).click();
    await page.getByText('The service refused to save this change (409)').waitFor();
    // The preview is asked again and now refuses too, offering the declared alternative.
    await page.getByRole('button', { name: 'Declare a re-randomizing phase' }).waitFor();
    await screenshot(page, '06-refused-409');

    // Declared as a re-randomizing phase, the same change is accepted.
    await page.getByRole('button', { name: 'Declare a re-randomizing phase' }).click();
    expect(await page.evaluate<string>('document.activeElement.tagName')).toBe('TEXTAREA');
    await page.getByLabel('Reason for the new phase (also recorded with the version)').fill('Shift to 40/60 and re-randomize deliberately');
    await page.getByText(/^Declared: units change variant/).waitFor();
    await screenshot(page, '07-declared-preview');
    await page.getByRole('button', { name: 'Save as version 4' }).click();
    await page.getByText('Saved as config version 4').waitFor();
  });

  it('shows health: units per arm against the split in force, SRM per phase, crossovers', async () => {
    await page.goto(`${t.service.url}/experiments/search_ranking/health`);
    await page.getByRole('heading', { name: /Phase main/ }).waitFor();
    await page.getByRole('heading', { name: /Crossovers/ }).waitFor();
    const table = await page.getByRole('table', { name: 'Units per arm in phase main' }).innerText();
    expect(table).toMatch(/control/);
    expect(table).toMatch(/50\.0%/);
    await screenshot(page, '08-health');
  });

  it('shows crossovers per day with their cause', async () => {
    seeded = seededExposures(Date.now());
    expect((await t.call('POST', '/v1/exposures', { key: sdk, body: seeded.body })).status).toBe(202);
    await page.goto(`${t.service.url}/experiments/checkout_v2/health`);
    await page.getByRole('heading', { name: /Phase canary/ }).waitFor();
    await page.getByRole('img', { name: /Crossover share per day/ }).waitFor();
    const causes = await page.getByRole('table', { name: 'Causes' }).innerText();
    expect(causes).toMatch(/full\s+40\s+undeclared/);
    await screenshot(page, '09-health-crossovers');
  });

  it('reads results from uploaded metric events: first-exposure lift with its interval, beside the naive view when they disagree', async () => {
    const file = join(scratch, 'events.csv');
    await writeFile(file, seededEvents(seeded.units));
    await page.getByRole('link', { name: 'Results' }).click();
    // Nothing stored yet: the upload is the default, and the stored source says how to get events there.
    await page.getByText('none yet for userId units', { exact: false }).waitFor();
    expect(await page.getByRole('radio', { name: /Stored by the service/ }).isDisabled()).toBe(true);
    await page.getByLabel('Events file (CSV or JSON Lines, up to 32 MiB)').setInputFiles(file);
    await page.getByLabel('purchase').selectOption('conversion');
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.getByRole('heading', { name: /revenue/ }).waitFor();
    await page.getByRole('heading', { name: /purchase/ }).waitFor();
    const revenue = await page.getByRole('table', { name: 'revenue estimates' }).innerText();
    expect(revenue).toMatch(/treatment − control, first exposure by phase/);
    expect(revenue).toMatch(/treatment − control, naive event-time/);
    await page.getByText('The naive event-time view disagrees with the first-exposure estimate.', { exact: false }).first().waitFor();
    await screenshot(page, '10-results');
  });

  it('reads results from the metric events SDKs sent to the service (POST /v1/metrics), by default', async () => {
    const events = seededMetricEvents(seeded.units);
    const sent = await t.call('POST', '/v1/metrics', { key: sdk, body: { metrics: events } });
    expect(sent.body).toEqual({ accepted: events.length, stored: events.length, duplicates: 0 });
    await page.reload();
    await page.getByRole('table', { name: 'Stored metric events' }).waitFor();
    expect(await page.getByRole('radio', { name: /Stored by the service/ }).isChecked()).toBe(true);
    const stored = await page.getByRole('table', { name: 'Stored metric events' }).innerText();
    expect(stored).toMatch(new RegExp(`revenue\\s+${events.filter((e) => e.metric === 'revenue').length}`));
    await page.getByLabel('purchase').selectOption('conversion');
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.getByRole('heading', { name: /purchase/ }).waitFor();
    await page.getByText('event rows stored by the service', { exact: false }).waitFor();
    const revenue = await page.getByRole('table', { name: 'revenue estimates' }).innerText();
    expect(revenue).toMatch(/treatment − control, first exposure by phase/);
    await page.getByText('The naive event-time view disagrees with the first-exposure estimate.', { exact: false }).first().waitFor();
    await screenshot(page, '10-results-stored');
    // The upload stays available.
    await page.getByRole('radio', { name: /A file/ }).check();
    await page.getByLabel('Events file (CSV or JSON Lines, up to 32 MiB)').waitFor();
  });

  it('shows the history with who changed what and why', async () => {
    await page.goto(`${t.service.url}/experiments/search_ranking/history`);
    await page.getByRole('heading', { name: /Version 3/ }).waitFor();
    const text = await page.getByRole('list', { name: /Versions that changed search_ranking/ }).innerText();
    expect(text).toContain('Ramp to 40%: no issues at 20%');
    expect(text).toContain('Test the new ranking on 20% of pricing traffic');
    await screenshot(page, '11-history');
    await page.getByRole('link', { name: 'Config history' }).click();
    await page.getByRole('button', { name: 'Show changes from version 2' }).click();
    await page.getByText('experiments › search_ranking › phases › main › allocation › control').waitFor();
    await screenshot(page, '11-config-history');
  });

  it('gives a read key read-only views', async () => {
    const readOnly = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    readOnly.setDefaultTimeout(10_000);
    const p = await readOnly.newPage();
    const mine = watchProblems(p);
    await p.goto(`${t.service.url}/experiments/search_ranking`);
    await signIn(p, read);
    await p.getByRole('heading', { name: 'search_ranking', level: 1 }).waitFor();
    expect(await p.getByRole('link', { name: 'Change allocation' }).count()).toBe(0);
    await p.getByRole('link', { name: 'Health' }).click();
    await p.getByRole('heading', { name: /Phase main/ }).waitFor();
    await p.goto(`${t.service.url}/`);
    await p.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor();
    expect(await p.getByRole('link', { name: 'New experiment' }).count()).toBe(0);
    expect(mine).toEqual([]);
    await readOnly.close();
  });

  it('works on a phone-sized screen and by keyboard, with visible focus', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.service.url}/experiments/checkout_v2`);
    await page.getByRole('heading', { name: 'checkout_v2', level: 1 }).waitFor();
    // Expressions run in the page (this file is type-checked for Node, without the DOM library).
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await screenshot(page, '12-mobile-experiment');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    const focus = await page.evaluate<{ text: string; outline: string; width: string }>(
      '({ text: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle, width: getComputedStyle(document.activeElement).outlineWidth })',
    );
    expect(focus).toEqual({ text: 'Sortition', outline: 'solid', width: '3px' });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Experiments', level: 1 }).waitFor();
    await screenshot(page, '13-mobile-experiments');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('proves an assignment and verifies the bundle in the browser', async () => {
    await page.getByRole('link', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Verify an assignment', level: 1 }).waitFor();
    await page.getByLabel('Unit id').fill(proven.unit);
    await page.getByLabel('Experiment').selectOption('checkout_v2');
    await page.getByText('More: unit type, attributes, receipt').click();
    await page.getByLabel('Targeting attributes (optional, JSON)').fill('{"country": "DE", "appVersion": "4.3.1", "plan": "pro"}');
    await page.getByLabel('Receipt (optional, compact JWS)').fill(proven.receipt);
    await page.getByRole('button', { name: 'Prove and verify' }).click();
    await page.getByRole('heading', { name: /^Verified/ }).waitFor();
    const verdict = await page.locator('section').filter({ has: page.getByRole('heading', { name: /^Verified/ }) }).innerText();
    expect(verdict).toContain(proven.variant);
    const steps = await page.getByRole('list').filter({ hasText: 'derivation' }).innerText();
    expect(steps).not.toMatch(/FAIL/);
    expect(steps).toMatch(/receipt/);
    await screenshot(page, '14-verify');
  });

  it('logged no console errors, exceptions or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
