/**
 * Sortition itself (assign() from the built @sortition/core), the bare v1 PRF it is built on, and
 * node:crypto's native HMAC-SHA256 for reference.
 */
import { createHmac } from 'node:crypto';
import { assign, compileConfigOrThrow, createSlotFunction } from '@sortition/core';
import { CONTROL, EXPERIMENT_KEY, hexToBytes, LAYER_ID, LAYER_KEY_HEX, NOW, SLOTS, TREATMENT } from './shared.mjs';

const HALF = SLOTS / 2;

export function configDocument() {
  return {
    schema: 'sortition/config/v1',
    version: 1,
    layers: [{ id: LAYER_ID, algorithm: 'v1', slots: SLOTS, key: LAYER_KEY_HEX, unit: 'userId', normalization: 'nfc' }],
    experiments: [
      {
        key: EXPERIMENT_KEY,
        layer: LAYER_ID,
        variants: [{ key: CONTROL }, { key: TREATMENT }],
        phases: [
          {
            id: 'main',
            startsAt: '2026-01-01T00:00:00Z',
            allocation: { [CONTROL]: [[0, HALF]], [TREATMENT]: [[HALF, SLOTS]] },
          },
        ],
      },
    ],
  };
}

/** assign() in enroll mode: slot derivation, phase lookup, and the sticky-write and exposure effects. */
export function sortitionAssign() {
  const config = compileConfigOrThrow(configDocument());
  return {
    evaluate: (id) => assign(config, { experiment: EXPERIMENT_KEY, units: { userId: id }, now: NOW, mode: 'enroll' }).variant,
  };
}

/** The bare v1 slot function (one HMAC-SHA256 in JavaScript plus encoding): the floor under assign(). */
export function barePrf() {
  const slotOf = createSlotFunction('v1', { layerId: LAYER_ID, key: hexToBytes(LAYER_KEY_HEX), slots: SLOTS });
  return {
    evaluate: (id) => (slotOf(id) < HALF ? CONTROL : TREATMENT),
  };
}

/** node:crypto (OpenSSL) HMAC-SHA256 of the id, one createHmac per id: a reference, not a floor. */
export function nodeHmac() {
  const key = hexToBytes(LAYER_KEY_HEX);
  return {
    evaluate: (id) => (createHmac('sha256', key).update(id).digest().readUIntBE(0, 6) % SLOTS < HALF ? CONTROL : TREATMENT),
  };
}
