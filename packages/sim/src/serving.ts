/**
 * Serving a stretch of sessions through a backend: each unit once (the sticky store answers for
 * returning units), in batches of at most CHUNK units in order of their first session, each batch at
 * the time of its first session; then every session's exposure, in time order. The stretch must lie
 * within one phase of the experiment (the callers cut it at phase boundaries).
 */
import type { ExposureEvent } from '@sortition/core';
import type { Backend, Served } from './backend.js';
import { UNIT_TYPE } from './sortition-config.js';
import type { World } from './world.js';

/** Units per evaluate batch (the service's limit for POST /v1/evaluate/batch). */
export const CHUNK = 1_000;

export interface ServeContext {
  readonly world: World;
  readonly backend: Backend;
  readonly experiment: string;
  /** Evaluations by reason, counted here. */
  readonly evaluations: Record<string, number>;
  /** Called for every session in time order with what its unit was served. */
  readonly onSession: (session: number, served: Served) => void;
}

/** First session index at or after `t` (sessions are in start order). */
export function indexAt(world: World, t: number): number {
  const starts = world.sessions.start;
  let lo = 0;
  let hi = world.sessions.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function serveRange(ctx: ServeContext, from: number, to: number): Promise<void> {
  const { world, backend } = ctx;
  const { sessions } = world;
  const units: string[] = [];
  const firstSession: number[] = [];
  // Position of each user in `units` (-1: not in this stretch).
  const index = new Int32Array(world.ids.length).fill(-1);
  for (let k = from; k < to; k++) {
    const u = sessions.user[k]!;
    if (index[u] === -1) {
      index[u] = units.length;
      units.push(world.ids[u]!);
      firstSession.push(k);
    }
  }
  const served: Served[] = [];
  for (let i = 0; i < units.length; i += CHUNK) {
    await backend.advanceTo(sessions.start[firstSession[i]!]!);
    for (const r of await backend.serve(units.slice(i, i + CHUNK))) {
      served.push(r);
      ctx.evaluations[r.reason] = (ctx.evaluations[r.reason] ?? 0) + 1;
    }
  }
  const exposures: ExposureEvent[] = [];
  for (let k = from; k < to; k++) {
    const u = sessions.user[k]!;
    const r = served[index[u]!]!;
    ctx.onSession(k, r);
    if (r.variant === null || r.phase === null || r.slot === null) continue;
    exposures.push({ unit: world.ids[u]!, unitType: UNIT_TYPE, experiment: ctx.experiment, layer: '', phase: r.phase, variant: r.variant, slot: r.slot, configVersion: r.configVersion, at: sessions.start[k]!, first: false });
  }
  if (exposures.length > 0) await backend.expose(exposures);
}
