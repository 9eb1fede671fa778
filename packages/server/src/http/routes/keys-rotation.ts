/** Rotation of the service's signing keys (checkpoints, receipts). See proofs/keys.ts. */
import { Type } from '@sinclair/typebox';
import { KeyRotationError } from '../../proofs/keys.js';
import { HttpError } from '../errors.js';
import type { Route } from '../route.js';

const RotateBody = Type.Object(
  {
    purpose: Type.Union([Type.Literal('checkpoint'), Type.Literal('receipt')]),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);

export function keyRotationRoutes(): Route[] {
  return [
    {
      method: 'POST',
      url: '/v1/signing-keys/rotate',
      summary: 'Rotate the checkpoint or receipt signing key: the new key signs from activeFrom (after a short grace so every instance switches at once); the old one stays published with its validity window; the rotation is logged',
      tag: 'proofs',
      permission: 'config:write',
      schema: { body: RotateBody },
      handler: async (ctx, request, reply, key) => {
        const body = request.body as { purpose: 'checkpoint' | 'receipt'; reason: string };
        try {
          const rotated = await ctx.proofs.rotateKey(body.purpose, body.reason, key === null ? 'system' : `${key.label} (key ${key.id})`);
          void reply.code(201);
          return rotated;
        } catch (error) {
          if (error instanceof KeyRotationError) throw new HttpError(409, error.code, error.message, { field: '/purpose', fix: 'read GET /.well-known/sortition-keys.json and retry', cause: error });
          throw error;
        }
      },
    },
  ];
}
