import type { Assignment } from '@sortition/core';
import Fastify from 'fastify';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchEvaluateResponse, EvaluateResponse, serializeBatchEvaluateResponse, serializeEvaluateResponse, type EvaluatedUnit } from './schemas.js';

/** The response objects Fastify serialized with the schema before the evaluate routes had their own serializer. */
function asObject(unit: EvaluatedUnit): Record<string, unknown>[] {
  return unit.results.map((r, i) => {
    const receipt = unit.receipts?.[i] ?? null;
    const o: Record<string, unknown> = {
      experiment: r.experiment,
      variant: r.variant,
      value: r.value,
      reason: r.reason,
      error: r.error,
      layer: r.layer,
      slot: r.slot,
      phase: r.phase,
      configVersion: r.configVersion,
      targeting: r.targeting,
      holdout: r.holdout,
      stickyStatus: r.stickyStatus,
      firstAssignment: r.stickyWrite !== null,
    };
    return receipt === null ? o : { ...o, receipt };
  });
}

// Fastify's own schema serializer (fast-json-stringify), the reference.
const app = Fastify();
let pending: unknown = null;
app.post('/one', { schema: { response: { 200: EvaluateResponse } } }, async () => pending);
app.post('/batch', { schema: { response: { 200: BatchEvaluateResponse } } }, async () => pending);
afterAll(async () => app.close());

async function reference(url: string, body: unknown): Promise<string> {
  pending = body;
  const response = await app.inject({ method: 'POST', url });
  expect(response.statusCode).toBe(200);
  return response.body;
}

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const id = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/);
const nullable = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null });
const assignment: fc.Arbitrary<Assignment> = fc.record({
  experiment: id,
  variant: nullable(id),
  value: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
  reason: fc.constantFrom('ASSIGNED', 'STICKY', 'NOT_ALLOCATED', 'HOLDOUT', 'ERROR'),
  error: nullable(fc.record({ code: text, message: text })),
  layer: nullable(id),
  slot: nullable(fc.nat({ max: 99_999 })),
  phase: nullable(id),
  configVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  targeting: fc.constantFrom('none', 'matched', 'excluded'),
  holdout: nullable(id),
  stickyStatus: fc.constantFrom('none', 'honored', 'superseded', 'unknown', 'mismatch'),
  stickyWrite: fc.constantFrom(null, { experiment: 'e', phase: 'p', variant: 'v', slot: 1, layerEpoch: 1, configVersion: 1, assignedAt: 0 }),
  exposure: fc.constant(null),
}) as fc.Arbitrary<Assignment>;
const unit: fc.Arbitrary<EvaluatedUnit> = fc.array(assignment, { maxLength: 4 }).chain((results) =>
  fc.record({ results: fc.constant(results), receipts: nullable(fc.array(nullable(fc.base64String({ minLength: 4, maxLength: 40 })), { minLength: results.length, maxLength: results.length })) }),
);

describe('evaluate response serializers', () => {
  it('write exactly the bytes of Fastify serializing EvaluateResponse', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), unit, async (configVersion, u) => {
        expect(serializeEvaluateResponse(configVersion, u)).toBe(await reference('/one', { configVersion, results: asObject(u) }));
      }),
      { numRuns: 300 },
    );
  });

  it('write exactly the bytes of Fastify serializing BatchEvaluateResponse', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(unit, { maxLength: 4 }), async (configVersion, units) => {
        expect(serializeBatchEvaluateResponse(configVersion, units)).toBe(await reference('/batch', { configVersion, responses: units.map((u) => ({ results: asObject(u) })) }));
      }),
      { numRuns: 200 },
    );
  });

  it('write exactly those bytes when results share their strings and values (cached heads and tails)', async () => {
    // Few distinct strings and value objects, as a service sees them, so that cached parts are found
    // again for results that differ in any one field.
    const experiment = fc.constantFrom('exp_a', 'exp_b');
    const values = [null, 'v', 0, { flow: 'a' }, { flow: 'a' }, [1, 2]];
    const shared: fc.Arbitrary<Assignment> = fc.record({
      experiment,
      variant: fc.constantFrom(null, 'control', 'treatment'),
      value: fc.constantFrom(...values),
      reason: fc.constantFrom('ASSIGNED', 'STICKY', 'NOT_ALLOCATED', 'HOLDOUT'),
      error: fc.constant(null),
      layer: fc.constantFrom(null, 'layer_1', 'layer_2'),
      slot: nullable(fc.nat({ max: 99_999 })),
      phase: fc.constantFrom(null, 'canary', 'full'),
      configVersion: fc.integer({ min: 1, max: 3 }),
      targeting: fc.constantFrom('none', 'matched', 'excluded'),
      holdout: fc.constantFrom(null, 'h1'),
      stickyStatus: fc.constantFrom('none', 'honored', 'superseded'),
      stickyWrite: fc.constantFrom(null, { experiment: 'e', phase: 'p', variant: 'v', slot: 1, layerEpoch: 1, configVersion: 1, assignedAt: 0 }),
      exposure: fc.constant(null),
    }) as fc.Arbitrary<Assignment>;
    const units = fc.array(
      fc.array(shared, { maxLength: 4 }).chain((results) =>
        fc.record({ results: fc.constant(results), receipts: nullable(fc.array(nullable(fc.constantFrom('r1', 'r2')), { minLength: results.length, maxLength: results.length })) }),
      ),
      { minLength: 1, maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), units, async (configVersion, us) => {
        for (const u of us) expect(serializeEvaluateResponse(configVersion, u)).toBe(await reference('/one', { configVersion, results: asObject(u) }));
      }),
      { numRuns: 300 },
    );
  });

  it('serializes a value object once and still writes what it holds', () => {
    const value = { flow: 'one-page', steps: [1, 2] };
    const r = { experiment: 'x', variant: 'v', value, reason: 'STICKY', error: null, layer: 'l', slot: 3, phase: 'p', configVersion: 1, targeting: 'none', holdout: null, stickyStatus: 'honored', stickyWrite: null, exposure: null } as const;
    const once = serializeEvaluateResponse(1, { results: [r], receipts: null });
    expect(serializeEvaluateResponse(1, { results: [r, r], receipts: null })).toContain('"value":{"flow":"one-page","steps":[1,2]},');
    expect(JSON.parse(once)).toEqual({ configVersion: 1, results: [expect.objectContaining({ value, firstAssignment: false })] });
  });
});
