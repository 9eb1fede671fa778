/**
 * WAL checkpoints for the SQLite store, on a worker thread with its own connection.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the threshold (1000 pages), on
 * the committing connection: with better-sqlite3 that is the service's event loop, which then
 * stalls for the copy and its fsyncs (10 ms and more), and every request in flight waits. The store
 * turns the automatic checkpoint off on its connection and this thread runs PASSIVE checkpoints
 * instead: they copy what no reader still needs and never take the write lock, so the service's
 * commits go on meanwhile. Durability does not depend on them (a commit is durable once it is in
 * the WAL); they only keep the WAL from growing.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointResult {
  /** Frames in the WAL, and how many of them are now copied into the database. */
  readonly log: number;
  readonly checkpointed: number;
}

/** The worker's code (CommonJS, evaluated): it needs no build step and runs the same from src and dist. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
let last = -1;
const run = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r.checkpointed !== last) parentPort.postMessage({ type: 'checkpoint', log: r.log, checkpointed: r.checkpointed });
    last = r.checkpointed;
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly waiting: ((result: CheckpointResult) => void)[] = [];
  private readonly exited: Promise<void>;
  /** The last error the thread reported (it keeps trying). */
  lastError: string | null = null;

  constructor(filename: string, options: { readonly intervalMs: number; readonly busyTimeoutMs: number }) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { filename, module, intervalMs: options.intervalMs, busyTimeoutMs: options.busyTimeoutMs } });
    this.worker.unref();
    this.worker.on('message', (message: { type: 'checkpoint'; log: number; checkpointed: number } | { type: 'error'; message: string }) => {
      if (message.type === 'error') {
        this.lastError = message.message;
        return;
      }
      for (const resolve of this.waiting.splice(0)) resolve({ log: message.log, checkpointed: message.checkpointed });
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => {
      this.lastError = error.message;
    });
  }

  /** Resolves with the next checkpoint that copied frames. */
  next(): Promise<CheckpointResult> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs a last checkpoint and ends the thread. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
  }
}
