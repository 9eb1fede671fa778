/**
 * Smoke test of the benchmark harness: every implementation, a tiny id count, one pass. Checks the
 * report's structure and that every implementation really splits the ids between both variants (a
 * peer returning its default for everyone would make its timing meaningless). Timings are not
 * asserted. Runs bench/run.mjs as `npm run bench` does, so it needs the built core (npm run build,
 * which `npm test` runs first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const IDS = 2_000;
const root = fileURLToPath(new URL('..', import.meta.url));

interface Split {
  readonly control: number;
  readonly treatment: number;
  readonly other: number;
}

interface Result {
  readonly id: string;
  readonly kind: 'ours' | 'floor' | 'reference' | 'peer';
  readonly label: string;
  readonly version: string | null;
  readonly ok: boolean;
  readonly error?: string;
  readonly nsPerAssignment: number;
  readonly nsPasses: readonly number[];
  readonly ratioToOurs: number | null;
  readonly split: Split;
  readonly splitCheck: { readonly ok: boolean };
  readonly deterministic: boolean;
  readonly network: readonly { readonly phase: string; readonly target: string }[];
}

interface Report {
  readonly schema: string;
  readonly options: { readonly ids: number; readonly passes: number; readonly warmup: number; readonly chunk: number };
  readonly results: readonly Result[];
  readonly summary: {
    readonly vsFastestPeer: { readonly required: number; readonly fastestPeer: string | null; readonly speedup: number | null; readonly pass: boolean | null };
    readonly vsBarePrf: { readonly required: number; readonly ratio: number | null; readonly pass: boolean | null };
    readonly failed: readonly string[];
  };
}

describe('bench/run.mjs', () => {
  let dir: string;
  let stdout: string;
  let report: Report;

  beforeAll(() => {
    if (!existsSync(join(root, 'packages/core/dist/index.js'))) {
      throw new Error('bench needs the built core: run `npm run build` first (npm test does)');
    }
    dir = mkdtempSync(join(tmpdir(), 'sortition-bench-'));
    const json = join(dir, 'report.json');
    const run = spawnSync(process.execPath, ['bench/run.mjs', '--ids', String(IDS), '--passes', '1', '--warmup', '1', '--json', json], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`bench exited with ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    stdout = run.stdout;
    report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('measures ours, the PRF floor and every peer SDK, none failing', () => {
    expect(report.schema).toBe('sortition-bench/v1');
    expect(report.options).toEqual({ ids: IDS, passes: 1, warmup: 1, chunk: 1000 });
    expect(report.summary.failed).toEqual([]);
    const ids = report.results.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['sortition', 'prf', 'growthbook', 'eppo', 'optimizely', 'unleash', 'launchdarkly']));
    expect(report.results.filter((r) => r.kind === 'ours').map((r) => r.id)).toEqual(['sortition']);
    expect(report.results.filter((r) => r.kind === 'floor').map((r) => r.id)).toEqual(['prf']);
    for (const r of report.results) {
      expect(r.ok, `${r.id}: ${r.error ?? ''}`).toBe(true);
      expect(r.version, r.id).toMatch(/\d+\.\d+\.\d+/);
      expect(r.nsPasses).toHaveLength(1);
      expect(Number.isFinite(r.nsPerAssignment) && r.nsPerAssignment > 0, r.id).toBe(true);
      expect(r.ratioToOurs).not.toBeNull();
    }
  });

  it('every implementation splits the ids between both variants, roughly 50/50, deterministically', () => {
    for (const r of report.results) {
      expect(r.split.control + r.split.treatment + r.split.other, r.id).toBe(IDS);
      expect(r.split.other, `${r.id} returned something other than the two variants`).toBe(0);
      expect(r.split.control, r.id).toBeGreaterThanOrEqual(0.4 * IDS);
      expect(r.split.control, r.id).toBeLessThanOrEqual(0.6 * IDS);
      expect(r.split.treatment, r.id).toBeGreaterThanOrEqual(0.4 * IDS);
      expect(r.split.treatment, r.id).toBeLessThanOrEqual(0.6 * IDS);
      expect(r.splitCheck.ok, r.id).toBe(true);
      expect(r.deterministic, r.id).toBe(true);
    }
  });

  it('ours and the bare PRF agree on every split (same key, same slots)', () => {
    const ours = report.results.find((r) => r.id === 'sortition');
    const prf = report.results.find((r) => r.id === 'prf');
    expect(ours?.split).toEqual(prf?.split);
  });

  it('nothing connects to the network while timed', () => {
    for (const r of report.results) {
      expect(r.network.filter((c) => c.phase !== 'setup'), r.id).toEqual([]);
      for (const c of r.network) expect(c.target, r.id).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('reports both target checks and prints the table', () => {
    const { vsFastestPeer, vsBarePrf } = report.summary;
    expect(vsFastestPeer.required).toBe(2);
    expect(typeof vsFastestPeer.pass).toBe('boolean');
    expect(report.results.some((r) => r.id === vsFastestPeer.fastestPeer && r.kind === 'peer')).toBe(true);
    expect(vsBarePrf.required).toBe(1.3);
    expect(typeof vsBarePrf.pass).toBe('boolean');
    expect(stdout).toMatch(/^implementation\s+version\s+ns\/assign\s+passes min-max\s+assign\/s\s+vs ours/m);
    expect(stdout).toMatch(/^target 1 \(>= 2x the fastest peer's throughput\): (PASS|MISS)/m);
    expect(stdout).toMatch(/^target 2 \(<= 1\.3x the bare PRF's time\): (PASS|MISS)/m);
    for (const r of report.results) expect(stdout).toContain(r.label);
  });
});
