/**
 * Hearing of config versions other instances publish, at once: a dedicated connection LISTENs on
 * the channel appendConfig notifies when its insert commits (postgres-sql.ts). Polling stays the
 * safety net: notifications sent while this connection is down are lost, so after every (re)connect
 * the caller is told to look once anyway, and the service keeps its periodic refresh.
 */
import pg from 'pg';
import { CONFIG_CHANNEL } from './postgres-sql.js';
import type { ConfigWatch } from './types.js';

/** Delay before reconnecting after the listening connection failed. */
const RECONNECT_MS = 1000;

export function watchConfig(connectionString: string, schema: string, onChange: () => void, onError: (error: Error) => void): ConfigWatch {
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const reconnectLater = (): void => {
    if (stopped || timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, RECONNECT_MS);
    timer.unref();
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString, application_name: 'sortition-config-watch' });
    c.on('notification', (n) => {
      if (n.channel === CONFIG_CHANNEL && n.payload === schema) onChange();
    });
    c.on('error', (error) => {
      onError(new Error(`postgres config watch: ${error.message}`, { cause: error }));
      if (client === c) client = null;
      c.end().catch((cause: unknown) => onError(new Error('postgres config watch: closing a failed connection failed', { cause })));
      reconnectLater();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch (cause) {
      onError(new Error(`postgres config watch: cannot listen: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }));
      await c.end().catch((closing: unknown) => onError(new Error('postgres config watch: closing a failed connection failed', { cause: closing })));
      reconnectLater();
      return;
    }
    if (stopped) {
      await c.end();
      return;
    }
    client = c;
    // Whatever was published while not listening.
    onChange();
  };

  const started = connect();
  return {
    ready: started,
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await started;
      const c = client;
      client = null;
      await c?.end();
    },
  };
}
