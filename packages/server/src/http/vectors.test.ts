/**
 * The server wraps the algorithm, so it runs the spec's assign vectors through its HTTP API: every
 * case without a stored record, evaluated in peek mode at the vector's time, must give the vector's
 * variant, reason, slot, phase and holdout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { vectorTime, vectorsOfKind } from '../../../../spec/index.js';
import { MemoryStore } from '../store/memory.js';
import { startTestService, type TestService } from '../test-support/service.js';

const services: TestService[] = [];
afterAll(async () => {
  for (const s of services) await s.service.close();
});

describe('the service runs the spec assign vectors', () => {
  for (const vector of vectorsOfKind('assign')) {
    it(vector.name, async () => {
      let now = 0;
      const t = await startTestService(new MemoryStore(), { clock: () => now, bootstrap: { ...(vector.config as object), version: 1 } });
      services.push(t);
      let checked = 0;
      for (const c of vector.cases) {
        const units = c.input.units;
        if (c.input.sticky !== undefined || Object.values(units).some((u) => typeof u !== 'string')) continue;
        now = vectorTime(c.input.now);
        const r = await t.call('POST', '/v1/evaluate', { body: { units, ...(c.input.attributes === undefined ? {} : { attributes: c.input.attributes }), experiments: [c.input.experiment], mode: 'peek' } });
        if (c.expected.error !== null && c.expected.error !== 'UNIT_MISSING') {
          // Unusable ids are rejected at the edge with the same code, naming the field.
          expect(r.status, c.explanation).toBeGreaterThanOrEqual(400);
          expect((r.body as { error: { code: string } }).error.code).toBe(c.expected.error === 'EXPERIMENT_NOT_FOUND' ? 'EXPERIMENT_NOT_FOUND' : c.expected.error);
        } else {
          expect(r.status, `${c.explanation}: ${r.text}`).toBe(200);
          const got = (r.body as { results: Record<string, unknown>[] }).results[0]!;
          expect({ variant: got['variant'], reason: got['reason'], slot: got['slot'], phase: got['phase'], holdout: got['holdout'] }, c.explanation).toEqual({
            variant: c.expected.variant,
            reason: c.expected.reason,
            slot: c.expected.slot,
            phase: c.expected.phase,
            holdout: c.expected.holdout,
          });
        }
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
