/**
 * The Sortition side through the real service (started in-process, real HTTP on a loopback port,
 * its clock driven by the simulation) against the library: the same assignments, exposures and
 * analysis must come out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, type AnalysisResult } from '@sortition/analysis';
import { MemoryStore } from '@sortition/server';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../server/src/test-support/service.js';
import { LibraryBackend } from './backend.js';
import { METRIC, writeSortitionFiles } from './files.js';
import { Rng } from './rng.js';
import { ServiceBackend, type ServiceClock } from './service-backend.js';
import { phaseSplits, SORTITION_EXPERIMENT } from './sortition-config.js';
import { runSortitionStack } from './sortition-stack.js';
import { generateWorld } from './world.js';

const dir = await mkdtemp(join(tmpdir(), 'sortition-sim-service-'));
const services: TestService[] = [];
afterAll(async () => {
  for (const s of services) await s.service.close();
  await rm(dir, { recursive: true, force: true });
});

/** A service whose clock the simulation advances (bootstrapped with examples/checkout.yaml as version 1). */
async function service(): Promise<{ t: TestService; clock: ServiceClock }> {
  let now = Date.parse('2026-03-01T00:00:00Z');
  const t = await startTestService(new MemoryStore(), { clock: () => now });
  services.push(t);
  const clock: ServiceClock = {
    now: () => now,
    advanceTo: async (at) => {
      now = Math.max(now, at);
    },
  };
  return { t, clock };
}

describe('--via-server: the service gives what the library gives', () => {
  it('serves identical assignments, stores identical exposures, plans identically, and the analysis agrees', async () => {
    const world = generateWorld({ users: 1200, days: 10, seed: 31 });
    const library = await runSortitionStack({ world, effect: 0.02, backend: new LibraryBackend() });
    const { t, clock } = await service();
    const backend = new ServiceBackend({ url: t.service.url, key: t.admin, clock, rng: Rng.stream(31, 'test') });
    const remote = await runSortitionStack({ world, effect: 0.02, backend });
    await backend.close();

    expect(remote.backend).toBe('service');
    expect(remote.treated).toEqual(library.treated);
    expect(remote.phase).toEqual(library.phase);
    expect(remote.slot).toEqual(library.slot);
    expect(remote.outcome).toEqual(library.outcome);
    expect(remote.evaluations).toEqual(library.evaluations);
    expect(remote.ramp.allocation).toEqual(library.ramp.allocation);
    const strip = (rows: typeof library.exposures): string[] => rows.map((e) => `${e.unit} ${e.phase} ${e.variant} ${e.slot} ${e.at}`).sort();
    expect(strip(remote.exposures)).toEqual(strip(library.exposures));
    // The service numbers versions after the example config it was bootstrapped with (version 1).
    expect(remote.configLog.map((c) => [c.version - 1, c.verdict, c.movedSlots, c.exposedMoving])).toEqual(library.configLog.map((c) => [c.version, c.verdict, c.movedSlots, c.exposedMoving]));
    expect(remote.dryRuns).toEqual(library.dryRuns);
    // What the service stored is what it exports: one first assignment per user.
    const exported = await t.call('GET', '/v1/export/assignments?experiment=sat_model');
    expect(exported.text.trim().split('\n')).toHaveLength(library.evaluations['ASSIGNED']!);

    // The files each path leaves (the service's from its export) give the same analysis.
    const analyse = async (run: typeof library, folder: string): Promise<AnalysisResult> => {
      const files = await writeSortitionFiles(join(dir, folder), world, run, run.exposures);
      return analyze({ exposures: { path: files.exposures }, events: { path: files.events }, experiment: SORTITION_EXPERIMENT, metrics: [{ name: METRIC, kind: 'sum' }], config: { phases: phaseSplits(run.part) } });
    };
    const { inputs: libraryInputs, ...fromLibrary } = await analyse(library, 'library');
    const { inputs: serviceInputs, ...fromService } = await analyse(remote, 'service');
    expect(fromService).toEqual(fromLibrary);
    expect(serviceInputs.exposures.rows).toBe(libraryInputs.exposures.rows);
    expect(fromLibrary.metrics[0]!.comparisons[0]!.primary).not.toBeNull();
  });

  it("refuses a service that already holds the simulation's experiment, and names the fix", async () => {
    const { t, clock } = await service();
    const world = generateWorld({ users: 200, days: 4, seed: 2 });
    await runSortitionStack({ world, effect: 0, backend: new ServiceBackend({ url: t.service.url, key: t.admin, clock, rng: Rng.stream(2, 'test') }), dryRuns: false });
    await expect(runSortitionStack({ world, effect: 0, backend: new ServiceBackend({ url: t.service.url, key: t.admin, clock, rng: Rng.stream(2, 'test') }) })).rejects.toThrow(/already has layer .*fresh service/);
  });

  it('reports a wrong key as an HTTP error that says which key is needed', async () => {
    const { t, clock } = await service();
    const world = generateWorld({ users: 200, days: 4, seed: 2 });
    await expect(runSortitionStack({ world, effect: 0, backend: new ServiceBackend({ url: t.service.url, key: 'sk_admin_wrong', clock, rng: Rng.stream(2, 'test') }) })).rejects.toThrow(/HTTP 401.*admin key/);
  });
});
