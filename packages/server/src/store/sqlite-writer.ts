/**
 * Write transactions of the SQLite store as data: a program of statements (WriteStep) run in one
 * BEGIN IMMEDIATE transaction, either on a worker thread with its own connection (SqliteWriter) or
 * on the store's own connection (runInline). The store builds the programs (sqlite.ts); the two
 * executors only run them, so both paths share one implementation of what a write does.
 *
 * Why a thread: better-sqlite3 is synchronous, and a commit with synchronous=FULL waits for the
 * disk (fsync). On the service's event loop every request in flight waits with it; under a load of
 * first assignments that was about 30 % of the service's time. On the writer thread the event loop
 * goes on serving (reads use the store's own connection: WAL readers never wait for the writer)
 * while the next batch of first assignments gathers in the evaluator's batcher (group commit).
 * A write is acknowledged only after its commit, as before.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** One statement of a write program, by its name in the statement table given to the executor. */
export type WriteStep =
  /** Runs the statement; its result is the number of rows it changed. */
  | { readonly kind: 'run'; readonly statement: string; readonly params: readonly unknown[] }
  /** Reads one row (or null). */
  | { readonly kind: 'get'; readonly statement: string; readonly params: readonly unknown[] }
  /** Reads one row and aborts the whole transaction (WriteGuardFailed) if row[field] > max. */
  | { readonly kind: 'guard'; readonly statement: string; readonly params: readonly unknown[]; readonly field: string; readonly max: number };

/** A guard step aborted the transaction: nothing of it was written. */
export class WriteGuardFailed extends Error {
  constructor(readonly value: number) {
    super(`write guard failed (${value})`);
    this.name = 'WriteGuardFailed';
  }
}

/**
 * The body of the step runner `(statement, steps) => results`, as text: the writer thread is
 * evaluated code, so this one text is what both executors run. A failed guard throws an error
 * carrying `guard` (the value read).
 */
const RUN_STEPS = `return steps.map((s) => {
  const st = statement(s.statement);
  if (s.kind === 'run') return st.run(...s.params).changes;
  const row = st.get(...s.params) ?? null;
  if (s.kind === 'get') return row;
  const value = Number(row === null ? 0 : (row[s.field] ?? 0));
  if (value > s.max) throw Object.assign(new Error('write guard failed'), { guard: value });
  return value;
});`;

type StepRunner = (statement: (name: string) => Database.Statement<unknown[], unknown>, steps: readonly WriteStep[]) => unknown[];
// The same text the writer thread evaluates.
const runSteps = new Function('statement', 'steps', RUN_STEPS) as StepRunner;

/** Runs `steps` on `db` in one IMMEDIATE transaction (the store's own connection). */
export function runInline(db: Database.Database, statement: (name: string) => Database.Statement<unknown[], unknown>, steps: readonly WriteStep[]): unknown[] {
  try {
    return db.transaction(() => runSteps(statement, steps)).immediate();
  } catch (error) {
    const guard = (error as { guard?: unknown }).guard;
    if (typeof guard === 'number') throw new WriteGuardFailed(guard);
    throw error;
  }
}

/** The writer thread (CommonJS, evaluated: it runs the same from src and dist). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
if (workerData.noAutoCheckpoint) db.pragma('wal_autocheckpoint = 0');
const prepared = new Map();
const statement = (name) => {
  let st = prepared.get(name);
  if (st === undefined) {
    st = db.prepare(workerData.statements[name]);
    prepared.set(name, st);
  }
  return st;
};
const runSteps = new Function('statement', 'steps', workerData.runSteps);
const program = db.transaction((steps) => runSteps(statement, steps));
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, ok: true, result: program.immediate(m.steps) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, ok: false, guard: error.guard ?? null, message: error instanceof Error ? error.message : String(error), code: error.code ?? null });
  }
});
`;

type Reply = { id: number; ok: true; result: unknown[] } | { id: number; ok: false; guard: number | null; message: string; code: string | null };

interface Waiting {
  readonly resolve: (result: unknown[]) => void;
  readonly reject: (error: Error) => void;
}

export class SqliteWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly exited: Promise<void>;
  private nextId = 1;
  private failure: Error | null = null;

  constructor(filename: string, options: { readonly busyTimeoutMs: number; readonly statements: Readonly<Record<string, string>>; readonly noAutoCheckpoint: boolean }) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { filename, module, busyTimeoutMs: options.busyTimeoutMs, statements: options.statements, noAutoCheckpoint: options.noAutoCheckpoint, runSteps: RUN_STEPS },
    });
    this.worker.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      if (w === undefined) return;
      this.waiting.delete(reply.id);
      if (reply.ok) w.resolve(reply.result);
      else if (reply.guard !== null) w.reject(new WriteGuardFailed(reply.guard));
      else w.reject(Object.assign(new Error(reply.message), reply.code === null ? {} : { code: reply.code }));
    });
    this.worker.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.fail(new Error('the SQLite writer thread stopped'));
        resolve();
      }),
    );
    this.worker.unref();
  }

  /** Runs `steps` in one transaction on the writer thread; resolves after its commit. */
  transaction(steps: readonly WriteStep[]): Promise<unknown[]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Referenced while a write is in flight, so the process does not exit under it.
      if (this.waiting.size === 1) this.worker.ref();
      this.worker.postMessage({ id, steps });
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
    }) as Promise<unknown[]>;
  }

  /** Lets the writes already sent finish, then closes the thread's connection. */
  async close(): Promise<void> {
    if (this.failure === null) this.worker.postMessage({ type: 'close' });
    await this.exited;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
