/**
 * Node side of the dashboard's end-to-end tests: build the dashboard as `npm run build` does, start
 * the real service in-process (memory store) so it serves that build at `/`, and drive Debian's
 * Chromium through playwright-core. Screenshots go to packages/dashboard/screenshots/ (git-ignored).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../screenshots/', import.meta.url));

/** What the build reads: the dashboard's own files and the workspace packages it bundles from source. */
const BUILD_INPUTS = ['index.html', 'vite.config.ts', 'package.json', 'public', 'src/app', '../core/src', '../proofs/src'];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (info === null) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((e) => newestMtime(join(path, e))));
  return Math.max(info.mtimeMs, ...times);
}

/**
 * Builds the dashboard unless dist/ is newer than everything the build reads (as after `npm run
 * build`, which `npm test` runs first), so the test always exercises the current sources.
 */
export async function buildDashboardIfStale(): Promise<'built' | 'fresh'> {
  const built = await newestMtime(join(DASHBOARD_DIR, 'dist', 'index.html'));
  const inputs = await Promise.all(BUILD_INPUTS.map((p) => newestMtime(join(DASHBOARD_DIR, p))));
  if (built > 0 && built > Math.max(...inputs)) return 'fresh';
  await buildDashboard();
  return 'built';
}

/** Runs `vite build` for the dashboard (the package's build script) and fails with its output. */
export async function buildDashboard(): Promise<void> {
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: DASHBOARD_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (exit ${String(code)}):\n${output}`))));
  });
}

/** Empties the screenshot folder, so every picture in it is from the latest run. */
export async function clearScreenshots(): Promise<void> {
  await rm(SCREENSHOT_DIR, { recursive: true, force: true });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  // From the top, so the sticky header is drawn where it belongs in a full-page capture.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}

export interface SeededUnit {
  readonly unit: string;
  readonly arm: string;
  readonly firstAt: number;
  /** When the unit was (wrongly) served the other variant, if it was. */
  readonly flippedAt: number | null;
}

/**
 * A week of SDK-reported exposures for checkout_v2: 400 units first exposed in the canary over four
 * days, and 40 control units later served treatment in the full phase (which excludes the canary):
 * crossovers no phase declared, as a client without durable sticky storage would cause.
 */
export function seededExposures(now: number): { units: SeededUnit[]; body: unknown } {
  const day = 86_400_000;
  const start = now - 7 * day;
  const units: SeededUnit[] = [];
  const exposures: unknown[] = [];
  for (let i = 0; i < 400; i++) {
    const arm = i % 2 === 0 ? 'control' : 'treatment';
    const firstAt = start + (i % 4) * day + i * 1000;
    const flippedAt = i % 10 === 0 ? start + (4 + (i % 3)) * day + i * 1000 : null;
    units.push({ unit: `seed-${i}`, arm, firstAt, flippedAt });
    const base = { unitType: 'userId', unit: `seed-${i}`, experiment: 'checkout_v2', slot: i, configVersion: 1 };
    exposures.push({ ...base, phase: 'canary', variant: arm, at: firstAt });
    if (flippedAt !== null) exposures.push({ ...base, phase: 'full', variant: 'treatment', at: flippedAt });
  }
  return { units, body: { exposures } };
}

export interface SeededMetricEvent {
  readonly unitType: 'userId';
  readonly unit: string;
  readonly metric: string;
  readonly value: number;
  readonly at: number;
}

/** Metric events for the seeded units: treatment earns a little more; crossovers spend a lot after their flip. */
export function seededMetricEvents(units: readonly SeededUnit[]): SeededMetricEvent[] {
  const events: SeededMetricEvent[] = [];
  units.forEach((u, i) => {
    const noise = ((i * 7919) % 11) - 5;
    events.push({ unitType: 'userId', unit: u.unit, metric: 'revenue', value: 10 + (u.arm === 'treatment' ? 1 : 0) + noise, at: u.firstAt + 3_600_000 });
    if (i % 3 === 0 || (u.arm === 'treatment' && i % 2 === 1 && i % 5 === 0)) events.push({ unitType: 'userId', unit: u.unit, metric: 'purchase', value: 1, at: u.firstAt + 7_200_000 });
    if (u.flippedAt !== null) events.push({ unitType: 'userId', unit: u.unit, metric: 'revenue', value: 40, at: u.flippedAt + 3_600_000 });
  });
  return events;
}

/** The same events as an uploadable CSV file. */
export function seededEvents(units: readonly SeededUnit[]): string {
  const lines = ['unit_id,timestamp,metric,value', ...seededMetricEvents(units).map((e) => `${e.unit},${new Date(e.at).toISOString()},${e.metric},${e.value}`)];
  return `${lines.join('\n')}\n`;
}

/** Console errors, uncaught exceptions and CSP violations of a page, collected for a final assertion. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // Failed requests the test provokes on purpose (401 on a bad key, 409 on a refused save) are logged by Chromium as errors.
    if (m.type() === 'error' && !/status of (401|403|409|422)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}
