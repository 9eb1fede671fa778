/** Test doubles: a manual scheduler (no real sleeping) and a scripted fetch. */
import type { Scheduler } from '../timing.js';

export class ManualScheduler implements Scheduler {
  now = 0;
  private next = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void; ms: number }>();
  /** Every delay ever requested, in order (to check backoff). */
  readonly delays: number[] = [];

  setTimeout(fn: () => void, ms: number): number {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn, ms });
    this.delays.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Runs timers due within `ms`, in time order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      let best: [number, { at: number; fn: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= end && (best === null || entry[1].at < best[1].at)) best = entry;
      if (best === null) break;
      this.timers.delete(best[0]);
      this.now = best[1].at;
      best[1].fn();
    }
    this.now = end;
    await settle();
  }
}

/** Lets queued promise callbacks run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
}

export interface Call {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

/** A fetch whose answers are decided by a handler; records every call. */
export function scriptedFetch(handler: (url: string, init: RequestInit | undefined, n: number) => Response | Promise<Response>): typeof fetch & { calls: Call[] } {
  const calls: Call[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, init });
    return handler(url, init, calls.length);
  }) as typeof fetch & { calls: Call[] };
  f.calls = calls;
  return f;
}

export function header(init: RequestInit | undefined, name: string): string | null {
  return new Headers(init?.headers).get(name);
}
