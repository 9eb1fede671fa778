/**
 * An HTTP proxy in front of the real service that tests use to inject network faults: drop every open
 * connection (the config stream breaks), refuse connections altogether (the service is away) and
 * accept them again on the same port, or answer chosen paths with an error status (a failing payload
 * endpoint while the stream still works). Everything else is forwarded as it is, streams included.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FaultProxy {
  readonly url: string;
  /** Answers requests whose path starts with `prefix` with `status` (null: forward them again). */
  fail(prefix: string, status: number | null): void;
  /** Drops every open connection, streams included; new connections are accepted. */
  cut(): void;
  /** Refuses connections (listener closed, open connections dropped) until start(). */
  stop(): Promise<void>;
  /** Listens again, on the same port. */
  start(): Promise<void>;
  /** Resolves once a response to a path starting with `prefix` is being streamed through (at once if one is). */
  streaming(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const failing = new Map<string, number>();
  const open = new Map<ServerResponse, string>();
  let waiters: { prefix: string; resolve: () => void }[] = [];
  let server: Server | null = null;
  let port = 0;

  const opened = (res: ServerResponse, path: string): void => {
    open.set(res, path);
    const ready = waiters.filter((w) => path.startsWith(w.prefix));
    waiters = waiters.filter((w) => !path.startsWith(w.prefix));
    for (const w of ready) w.resolve();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    for (const [prefix, status] of failing) {
      if (path.startsWith(prefix)) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end('failure injected by the test proxy');
        return;
      }
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      opened(res, path);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      open.delete(res);
      upstream.destroy();
    });
    req.pipe(upstream);
  };

  const start = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(handle);
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const cut = (): void => {
    for (const socket of sockets) socket.destroy();
  };

  const stop = async (): Promise<void> => {
    const s = server;
    server = null;
    if (s === null) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    cut();
    await closed;
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    fail(prefix, status) {
      if (status === null) failing.delete(prefix);
      else failing.set(prefix, status);
    },
    cut,
    stop,
    start,
    streaming(prefix) {
      if ([...open.values()].some((p) => p.startsWith(prefix))) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ prefix, resolve }));
    },
    close: stop,
  };
}
