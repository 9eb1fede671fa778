/** Committed layers (spec §4.1): launch, beacon, reveal, list. See proofs/committed.ts. */
import { Type } from '@sinclair/typebox';
import { CommittedLayerError } from '../../proofs/committed.js';
import { HttpError } from '../errors.js';
import type { Route } from '../route.js';

const LayerId = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' });
const LayerParams = Type.Object({ layer: LayerId });

const LaunchBody = Type.Object(
  {
    layer: LayerId,
    config: Type.Unknown({ description: 'the config to be published with this layer: its experiments and holdouts in the layer are the plan logged at launch (initial ranges and planned ramps); the layer key in it is not used' }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'required for a relaunch' })),
    round: Type.Optional(Type.Integer({ minimum: 1, description: 'drand quicknet round to bind to (default: the first due beaconDelayMs from now)' })),
  },
  { additionalProperties: false },
);

const BeaconBody = Type.Object(
  {
    round: Type.Optional(Type.Integer({ minimum: 1 })),
    signature: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{96}$', description: 'drand BLS signature (G1, 48 bytes hex), as api.drand.sh serves it' })),
    randomness: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'an operator-supplied beacon value instead of the drand round (weaker; marked as such in every bundle and verdict)' })),
  },
  { additionalProperties: false },
);

function authorOf(key: { label: string; id: string } | null): string {
  return key === null ? 'system' : `${key.label} (key ${key.id})`;
}

async function mapped<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof CommittedLayerError) throw new HttpError(error.status, error.code, error.message, { field: error.field, fix: error.fix, cause: error });
    throw error;
  }
}

export function committedRoutes(): Route[] {
  return [
    {
      method: 'POST',
      url: '/v1/committed-layers',
      summary: 'Launch a layer in committed mode: a secret seed is drawn and its commitment, the plan and a future drand round are logged before any assignment; publish the config with the layer key set to the returned configKey',
      tag: 'committed',
      permission: 'config:write',
      bodyLimit: 2 * 1024 * 1024,
      schema: { body: LaunchBody },
      handler: async (ctx, request, reply, key) => {
        const body = request.body as { layer: string; config: unknown; reason?: string; round?: number };
        const result = await mapped(() => ctx.proofs.committed.launch({ layer: body.layer, config: body.config, reason: body.reason, round: body.round, author: authorOf(key), now: ctx.clock() }));
        void reply.code(201);
        return result;
      },
    },
    {
      method: 'GET',
      url: '/v1/committed-layers',
      summary: 'Every committed launch with its status (awaiting-beacon, active, revealed, superseded); no seed before its reveal',
      tag: 'committed',
      permission: 'config:read',
      schema: {},
      handler: async (ctx) => ({ launches: await ctx.proofs.committed.list() }),
    },
    {
      method: 'POST',
      url: '/v1/committed-layers/:layer/beacon',
      summary: 'Supply the beacon of a committed layer: the drand quicknet round named at launch (verified offline against the chain key) or an operator value (weaker); the layer is evaluated from then on',
      tag: 'committed',
      permission: 'config:write',
      schema: { params: LayerParams, body: BeaconBody },
      handler: async (ctx, request, _reply, key) => {
        const { layer } = request.params as { layer: string };
        const body = request.body as { round?: number; signature?: string; randomness?: string; operator?: string };
        return mapped(() => ctx.proofs.committed.supplyBeacon({ layer, ...body, author: authorOf(key), now: ctx.clock() }));
      },
    },
    {
      method: 'POST',
      url: '/v1/committed-layers/:layer/reveal',
      summary: 'Reveal the seed of a committed layer (logged): anyone can then check it against the commitment and re-derive every slot',
      tag: 'committed',
      permission: 'config:write',
      schema: { params: LayerParams },
      handler: async (ctx, request, _reply, key) => {
        const { layer } = request.params as { layer: string };
        return mapped(() => ctx.proofs.committed.reveal(layer, authorOf(key), ctx.clock()));
      },
    },
  ];
}
