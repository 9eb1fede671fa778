/**
 * Starting and stopping the service: open the store, migrate, load (or bootstrap) the config,
 * make sure an admin key exists, load (or create) the signing keys and bring the config log up to
 * date, listen, and run the background work (config polling so several
 * instances converge, flushing exposure counts). Timers live here, at the edge, not in the logic.
 */
import type { FastifyInstance } from 'fastify';
import { Evaluator } from './assignments/evaluator.js';
import { ConfigHistory } from './config/history.js';
import { buildApp } from './http/app.js';
import { createKey } from './keys.js';
import { ProofService } from './proofs/service.js';
import type { Store } from './store/types.js';

export interface ServiceOptions {
  readonly store: Store;
  readonly host?: string;
  readonly port?: number;
  readonly clock?: () => number;
  readonly logger?: boolean;
  /** Published as version 1 when the history is empty. */
  readonly bootstrapConfig?: unknown;
  /** How often the config history and shared state are re-read (default 1000 ms). */
  readonly pollMs?: number;
  /** Listen for versions other instances publish, where the store can (default true; PostgreSQL). */
  readonly watchConfig?: boolean;
  readonly cacheSize?: number;
  /**
   * How long repeat-exposure counts stay in memory before they are written (default 10 s). A crash
   * loses at most this much of the counts; first assignments and first exposures are written before
   * the response, always.
   */
  readonly exposureCountFlushMs?: number;
  /** Origin line of the config log's checkpoints (default "sortition.local/log"). */
  readonly logOrigin?: string;
  /** Seals committed-layer seeds at rest: 64 hex digits (default: env SORTITION_SEALING_KEY; none: stored unsealed). */
  readonly sealingKey?: string | Uint8Array;
  /** How far ahead a committed launch's drand round must be (default 60 s). */
  readonly beaconDelayMs?: number;
  /** How long a rotated signing key keeps signing (default 10 s; all instances switch at once). */
  readonly keyRotationGraceMs?: number;
}

export interface RunningService {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly history: ConfigHistory;
  /** Signing keys, the config transparency log and receipts. */
  readonly proofs: ProofService;
  /** The admin key created on this start (only when none existed); shown once. */
  readonly createdAdminKey: string | null;
  readonly bootstrapped: boolean;
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const clock = options.clock ?? Date.now;
  const { store } = options;
  await store.migrate();
  const history = new ConfigHistory(store);
  await history.refresh();
  let bootstrapped = false;
  if (history.current() === null && options.bootstrapConfig !== undefined) {
    const outcome = await history.publish({ doc: options.bootstrapConfig, baseVersion: 0, reason: 'bootstrap: example experiments loaded on first start', author: 'sortition serve', now: clock() });
    if (!outcome.ok && outcome.code !== 'BASE_VERSION_MISMATCH') {
      throw new Error(`the bootstrap config was not accepted: ${JSON.stringify(outcome)}`);
    }
    bootstrapped = outcome.ok;
    await history.refresh();
  }
  let createdAdminKey: string | null = null;
  if (!(await store.listKeys()).some((k) => k.kind === 'admin' && k.revokedAt === null)) {
    createdAdminKey = (await createKey(store, 'admin', 'first admin (created at start-up)', clock())).secret;
  }
  // Signing keys are created on first start; config versions without a log leaf (databases from
  // before the log existed) are logged now, in version order.
  const proofs = await ProofService.start(store, clock, {
    origin: options.logOrigin,
    sealingKey: options.sealingKey ?? process.env['SORTITION_SEALING_KEY'],
    beaconDelayMs: options.beaconDelayMs,
    keyRotationGraceMs: options.keyRotationGraceMs,
  });
  const evaluator = new Evaluator(store, options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize });
  const app = buildApp({ store, history, evaluator, proofs, clock }, { logger: options.logger ?? false });
  const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });

  const pollMs = options.pollMs ?? 1000;
  let stopped = false;
  const background = async (): Promise<void> => {
    await history.refresh();
    const current = history.current();
    if (current !== null && current.record.version > proofs.log.loggedVersion) await proofs.log.sync();
    // Keys rotated and committed layers launched or activated by other instances.
    await proofs.refresh();
    await evaluator.flushCounts({ minAgeMs: options.exposureCountFlushMs ?? 10_000, now: clock() });
  };
  // One run at a time; a request for another while one runs is served right after it.
  let running: Promise<void> | null = null;
  let again = false;
  const refreshNow = (): void => {
    if (running !== null) {
      again = true;
      return;
    }
    running = background()
      .catch((error: unknown) => app.log.error({ err: error }, 'background refresh failed'))
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          refreshNow();
        }
      });
  };
  const timer = setInterval(refreshNow, pollMs);
  timer.unref();
  // Stores shared with other instances announce their publishes (PostgreSQL: LISTEN/NOTIFY), so
  // a new version is in force here within milliseconds; the poll above stays as the safety net.
  const watch = options.watchConfig === false ? null : (store.watchConfig?.(refreshNow, (error) => app.log.warn({ err: error }, 'config watch failed; polling every %d ms meanwhile', pollMs)) ?? null);
  await watch?.ready;

  return {
    url,
    app,
    store,
    history,
    proofs,
    createdAdminKey,
    bootstrapped,
    async close() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await watch?.stop();
      await running;
      await app.close();
      await evaluator.flushCounts();
      await store.close();
    },
  };
}
