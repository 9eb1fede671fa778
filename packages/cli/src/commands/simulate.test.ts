import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '@sortition/server';
import type { ServiceClock } from '@sortition/sim';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestService } from '../../../server/src/test-support/service.js';
import { CliError } from '../config-file.js';
import { postmortemJson, renderSimulatePostmortem, runSimulatePartitionedRamp, runSimulatePostmortem } from './simulate.js';
import { renderPartitionedRamp } from './simulate-report-ramp.js';

const dir = await mkdtemp(join(tmpdir(), 'sortition-simulate-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('sortition simulate: options', () => {
  it.each([
    [{ users: 'many' }, /--users many: use an integer/],
    [{ users: '50' }, /--users 50: use an integer from 100/],
    [{ days: '1' }, /--days 1/],
    [{ effect: '2' }, /--effect 2: use a number from -0.3 to 0.3/],
    [{ seed: '-1' }, /--seed -1/],
    [{ replicates: '0' }, /--replicates 0/],
    [{ replicates: '5', viaServer: 'http://127.0.0.1:1' }, /leave out --via-server/],
    [{ viaServer: 'http://127.0.0.1:1' }, /--key sk_admin_\.\.\. or set SORTITION_ADMIN_KEY/],
    [{ viaServer: 'not a url', key: 'k' }, /is not a URL/],
  ])('refuses %o', async (options, message) => {
    const error = await runSimulatePostmortem(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(message);
  });

  it('reports an unreachable service as a service error, not a crash', async () => {
    const error = await runSimulatePostmortem({ users: '200', days: '4', viaServer: 'http://127.0.0.1:9', env: { SORTITION_ADMIN_KEY: 'sk_admin_x' }, out: join(dir, 'unreachable') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/did not answer/);
  });
});

describe('sortition simulate postmortem', () => {
  it('renders one world: both stacks side by side, the why, the config history and the diagnostics', async () => {
    const out = join(dir, 'world');
    const outcome = await runSimulatePostmortem({ users: '800', days: '8', seed: '3', out });
    const text = renderSimulatePostmortem(outcome);
    for (const expected of [
      /naive stack\s+Sortition/,
      /lift \[95% CI\]\s+[+-]\d+\.\d%/,
      /Why the naive stack finds a lift/,
      /v3 .* safe .*exposed users moved: 0/,
      /the textbook 50 -> 60 reallocation .*: REFUSED/,
      /crossovers: [\d,]+ of [\d,]+ users/,
      /under flag version 2/,
      /SRM by flag version of first exposure: v1/,
    ]) {
      expect(text).toMatch(expected);
    }
    expect(outcome.kind).toBe('world');
    // The files are where the output says, in the analysis engine's formats.
    const exposures = await readFile(join(out, 'sortition', 'exposures.csv'), 'utf8');
    expect(exposures.split('\n')[0]).toBe('unit_type,unit_id,experiment,phase,variant,slot,config_version,timestamp');
    expect(text).toContain(join(out, 'naive', 'events.csv'));
    const json = JSON.stringify(postmortemJson(outcome));
    expect(json).not.toContain('"analyses"');
    expect(JSON.parse(json)).toHaveProperty('diagnostics.crossoverShare');
  });

  it('--via-server: through an in-process service, with the admin key from the environment', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const t = await startTestService(new MemoryStore(), { clock: () => now });
    try {
      const serviceClock: ServiceClock = {
        now: () => now,
        advanceTo: async (at) => {
          now = Math.max(now, at);
        },
      };
      const outcome = await runSimulatePostmortem({ users: '300', days: '4', seed: '5', out: join(dir, 'svc'), viaServer: t.service.url, env: { SORTITION_ADMIN_KEY: t.admin }, serviceClock });
      if (outcome.kind !== 'world') throw new Error('expected one world');
      // (packages/sim/src/via-server.test.ts checks that the numbers equal the library's.)
      expect(outcome.result.sortition.backend).toBe('service');
      expect(outcome.result.sortition.configLog.map((c) => c.verdict)).toEqual(['safe', 'safe', 'safe']);
      const exported = await t.call('GET', '/v1/export/exposures?experiment=sat_model');
      expect(exported.text.trim().split('\n')).toHaveLength(outcome.result.analyses.sortition.inputs.exposures.rows);
    } finally {
      await t.service.close();
    }
  });

  it('--replicates renders rejection rates with Wilson intervals', async () => {
    const outcome = await runSimulatePostmortem({ users: '500', replicates: '3', seed: '2' });
    const text = renderSimulatePostmortem(outcome);
    expect(text).toMatch(/3 independent worlds of 500 users/);
    expect(text).toMatch(/naive stack \(events by flag value\)\s+\d of 3\s+\d+\.\d%\s+\[\d+\.\d%, \d+\.\d%\]/);
    expect(text).toMatch(/false-positive rate is (NOT )?consistent with 5%/);
  });
});

describe('sortition simulate partitioned-ramp', () => {
  it('renders spillover and bias per way', async () => {
    const result = await runSimulatePartitionedRamp({ users: '3000', replicates: '1', seed: '2' });
    const text = renderPartitionedRamp(result);
    expect(text).toMatch(/^\s+straight\s+safe\s+\d+\.\d%/m);
    expect(text).toMatch(/^\s+partitioned\s+declared\s+0\.0%\s+0\.0%\s+0\s+0\.0%/m);
    expect(text).toMatch(/Mechanism \(novelty\)/);
    await expect(runSimulatePartitionedRamp({ novelty: '-1' })).rejects.toThrow(/--novelty -1/);
  });
});
