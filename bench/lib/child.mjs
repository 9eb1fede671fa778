/**
 * The measuring side. Each implementation runs in its own child process of run.mjs, which imports
 * only that implementation's module, builds its client, and then runs one pass over all ids each
 * time the parent asks. The parent interleaves the children's passes (round-robin, one child
 * running at a time) so slow drifts in machine load spread evenly over every implementation.
 */
import net from 'node:net';
import { findImplementation } from '../impls/index.mjs';
import { VARIANTS } from '../impls/shared.mjs';

/**
 * Ids per chunk. After each chunk the loop yields to the event loop, as a server does between
 * requests: SDKs that defer work to promises or immediates (GrowthBook runs its tracking callback
 * through an async helper) would otherwise pile up a million pending callbacks within one pass and
 * be charged for the garbage.
 */
export const CHUNK = 1000;

/**
 * Records every outgoing socket connection (net, tls, http and fetch all end in Socket#connect), by
 * phase, so the report can show that no implementation touches the network while it is timed.
 */
function installNetworkRecorder() {
  const record = { phase: 'setup', connections: [] };
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(...args) {
    // Node calls connect with its normalized [options, callback] array; user code with (options) or (port, host).
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const target =
      typeof first === 'object' && first !== null
        ? (first.path ?? `${first.host ?? 'localhost'}:${first.port ?? '?'}`)
        : String(first);
    record.connections.push({ phase: record.phase, target: String(target) });
    return original.apply(this, args);
  };
  return record;
}

export function makeIds(count) {
  const ids = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = `user_${i}`;
  return ids;
}

function yieldToEventLoop() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One pass over all ids, synchronous API. Counting the variants keeps every result live. */
async function passSync(evaluate, ids) {
  const [a, b] = VARIANTS;
  const n = ids.length;
  let countA = 0;
  let countB = 0;
  let other = 0;
  let firstOther;
  const start = process.hrtime.bigint();
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(from + CHUNK, n);
    for (let i = from; i < to; i++) {
      const v = evaluate(ids[i]);
      if (v === a) countA++;
      else if (v === b) countB++;
      else if (other++ === 0) firstOther = v;
    }
    await yieldToEventLoop();
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { ns, counts: { [a]: countA, [b]: countB, other }, firstOther };
}

/** One pass over all ids, each assignment awaited in turn (for SDKs whose API returns a promise). */
async function passAsync(evaluate, ids) {
  const [a, b] = VARIANTS;
  const n = ids.length;
  let countA = 0;
  let countB = 0;
  let other = 0;
  let firstOther;
  const start = process.hrtime.bigint();
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(from + CHUNK, n);
    for (let i = from; i < to; i++) {
      const v = await evaluate(ids[i]);
      if (v === a) countA++;
      else if (v === b) countB++;
      else if (other++ === 0) firstOther = v;
    }
    await yieldToEventLoop();
  }
  const ns = Number(process.hrtime.bigint() - start);
  return { ns, counts: { [a]: countA, [b]: countB, other }, firstOther };
}

function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/**
 * The child's side of the protocol with run.mjs. Replies to the parent's messages in order:
 *   (start)          -> { type: 'ready', setupMs, async, notes }
 *   { cmd: 'pass' }  -> { type: 'pass', ns, counts, firstOther }
 *   { cmd: 'close' } -> { type: 'closed', network }, after which the parent kills the child (SDK
 *                       clients may leave timers or sockets behind)
 * Any failure -> { type: 'error', message } and the child exits.
 */
export async function serveChild(id, count) {
  const network = installNetworkRecorder();
  const send = (message) => new Promise((resolve) => process.send(message, resolve));
  const fail = async (error) => {
    await send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  };
  try {
    const impl = findImplementation(id);
    if (impl === undefined) throw new Error(`unknown implementation "${id}"`);
    const ids = makeIds(count);
    const setupStart = process.hrtime.bigint();
    const mod = await import(new URL(impl.module, new URL('../impls/', import.meta.url)).href);
    const instance = await mod[impl.factory]();
    const setupMs = Number(process.hrtime.bigint() - setupStart) / 1e6;
    const evaluate = instance.evaluate;
    const pass = instance.async === true ? passAsync : passSync;

    process.on('message', (message) => {
      const handle = async () => {
        if (message.cmd === 'pass') {
          network.phase = 'timed';
          collectGarbage();
          const result = await pass(evaluate, ids);
          await send({ type: 'pass', ns: result.ns, counts: result.counts, firstOther: result.firstOther === undefined ? undefined : String(result.firstOther) });
        } else if (message.cmd === 'close') {
          network.phase = 'close';
          if (typeof instance.close === 'function') await instance.close();
          // The parent ends this process once it has read the reply. Exiting here instead raced the
          // reply: the parent could see the exit before the message and count the run as failed.
          await send({ type: 'closed', network: network.connections });
        } else {
          throw new Error(`unknown command ${JSON.stringify(message)}`);
        }
      };
      handle().catch(fail);
    });
    await send({ type: 'ready', setupMs, async: instance.async === true, notes: instance.notes ?? [] });
  } catch (error) {
    await fail(error);
  }
}
