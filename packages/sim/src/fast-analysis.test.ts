/**
 * The replicate path (sufficient statistics in memory) against the real engine (DuckDB on the files
 * the stacks wrote), on the same world: both must give the same numbers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, type Estimate, type NaiveEstimate } from '@sortition/analysis';
import { afterAll, describe, expect, it } from 'vitest';
import { LibraryBackend } from './backend.js';
import { quickNaive, quickPrimary, type QuickEstimate } from './fast-analysis.js';
import { METRIC, writeNaiveFiles, writeSortitionFiles } from './files.js';
import { NAIVE_EXPERIMENT, runNaiveStack } from './naive-stack.js';
import { phaseSplits, SORTITION_EXPERIMENT } from './sortition-config.js';
import { runSortitionStack } from './sortition-stack.js';
import { generateWorld } from './world.js';

const dir = await mkdtemp(join(tmpdir(), 'sortition-sim-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function expectSame(quick: QuickEstimate | null, engine: Estimate | NaiveEstimate | null): void {
  expect(quick).not.toBeNull();
  expect(engine).not.toBeNull();
  const q = quick!;
  const e = engine!;
  const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
  expect([q.control.n, q.treatment.n]).toEqual([e.control.n, e.treatment.n]);
  close(q.control.mean, e.control.estimate);
  close(q.treatment.mean, e.treatment.estimate);
  close(q.difference, e.difference.estimate);
  close(q.standardError, e.difference.standardError);
  close(q.lower, e.difference.lower);
  close(q.upper, e.difference.upper);
  expect(Math.abs(q.pValue - e.pValue)).toBeLessThanOrEqual(1e-9 * e.pValue + 1e-15);
}

describe('fast analysis = the DuckDB engine', async () => {
  const world = generateWorld({ users: 3000, days: 10, seed: 17 });
  const effect = 0.03;
  const naive = runNaiveStack(world, effect);
  const sortition = await runSortitionStack({ world, effect, backend: new LibraryBackend(), dryRuns: false });
  const naiveFiles = await writeNaiveFiles(join(dir, 'naive'), world, naive);
  const sortitionFiles = await writeSortitionFiles(join(dir, 'sortition'), world, sortition, sortition.exposures);
  const metrics = [{ name: METRIC, kind: 'sum' as const }];
  const naiveResult = await analyze({ exposures: { path: naiveFiles.exposures }, events: { path: naiveFiles.events }, experiment: NAIVE_EXPERIMENT, metrics });
  const sortitionResult = await analyze({ exposures: { path: sortitionFiles.exposures }, events: { path: sortitionFiles.events }, experiment: SORTITION_EXPERIMENT, metrics, config: { phases: phaseSplits(sortition.part) } });
  const naiveComparison = naiveResult.metrics[0]!.comparisons[0]!;
  const sortitionComparison = sortitionResult.metrics[0]!.comparisons[0]!;

  it("Sortition's stratified primary estimate", () => {
    expect(sortitionResult.strata).toEqual(['launch', 'ramp']);
    expectSame(quickPrimary(world, sortition), sortitionComparison.primary);
  });

  it("the naive stack's event-time view", () => {
    expectSame(quickNaive(world, naive), naiveComparison.naiveEventTime);
  });

  it('the first-exposure estimate on the naive stack\'s files (strata: flag versions)', () => {
    expect(naiveResult.strata).toEqual(['v1', 'v2']);
    expectSame(quickPrimary(world, naive), naiveComparison.primary);
  });

  it('the files hold every session as one event and the first exposure per user and phase', () => {
    expect(sortitionResult.inputs.events.rows).toBe(world.sessions.count);
    expect(naiveResult.inputs.exposures.rows).toBe(world.sessions.count);
    expect(sortitionResult.inputs.exposures.rows).toBe(sortition.exposures.length);
    expect(sortitionResult.drift.crossoverUnits).toBe(0);
    expect(naiveResult.drift.crossoverUnits).toBeGreaterThan(0);
  });
});
