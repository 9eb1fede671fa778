/**
 * The simulated calendar. The post-mortem's service migration (and with it the ramp) lands on a
 * Sunday night, halfway through the run: the run is placed so that its midpoint is Monday
 * 2026-03-16 00:00 UTC and the change happens at 23:00 the Sunday before.
 */
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Monday 2026-03-16T00:00:00Z. */
const MIDPOINT_MONDAY = Date.UTC(2026, 2, 16);

export interface Calendar {
  readonly days: number;
  /** First instant of the run (midnight UTC). */
  readonly start: number;
  /** The Sunday-night change: the naive stack's migration and salt rotation, and both stacks' ramp. */
  readonly change: number;
  /** First instant after the run. */
  readonly end: number;
}

export function calendar(days: number): Calendar {
  if (!Number.isInteger(days) || days < 2 || days > 120) throw new RangeError(`days must be an integer from 2 to 120, got ${days}`);
  const start = MIDPOINT_MONDAY - Math.floor(days / 2) * DAY;
  return { days, start, change: MIDPOINT_MONDAY - HOUR, end: start + days * DAY };
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekday(t: number): number {
  return new Date(t).getUTCDay();
}

export function isWeekend(t: number): boolean {
  const d = weekday(t);
  return d === 0 || d === 6;
}

export const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}
