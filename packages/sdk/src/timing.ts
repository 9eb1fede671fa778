/**
 * Injected time: the SDK never calls timers or the clock directly, so tests drive it with fakes and
 * nothing sleeps for real.
 */

/** A handle returned by Scheduler.setTimeout; opaque to the SDK. */
export type TimerHandle = unknown;

export interface Scheduler {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The host's timers (browser or Node), unref'd where supported so an idle SDK never keeps Node alive. */
export const defaultScheduler: Scheduler = {
  setTimeout(callback, ms) {
    const handle: unknown = globalThis.setTimeout(callback, ms);
    const unref = (handle as { unref?: () => void } | null)?.unref;
    if (typeof unref === 'function') unref.call(handle);
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as number);
  },
};

export interface BackoffOptions {
  /** First retry delay in ms (default 500). */
  readonly baseMs?: number;
  /** Upper bound on a delay in ms (default 60 000). */
  readonly maxMs?: number;
}

/**
 * Exponential backoff with "full jitter": attempt n (0-based) waits a uniformly random time in
 * [cap/2, cap], cap = min(maxMs, baseMs * 2^n). Half the cap is kept so retries never stampede at 0.
 */
export function backoffDelay(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 60_000;
  const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(cap / 2 + (cap / 2) * r);
}
