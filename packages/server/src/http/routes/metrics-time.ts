/**
 * The time of a metric event as POST /v1/metrics accepts it: epoch milliseconds (what the SDK sends)
 * or an RFC 3339 date-time, read exactly (no Date.parse leniency: "2026-02-30" is refused, not
 * rolled over into March).
 */

/** 9999-12-31T23:59:59.999Z: the last instant an RFC 3339 date-time can name. */
export const MAX_EVENT_TIME = 253_402_300_799_999;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Milliseconds of an RFC 3339 date-time (a leap second reads as the last millisecond of its minute), or null. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const millis = second === 60 ? 999 : Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps them as written.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, Math.min(second, 59), millis));
  date.setUTCFullYear(year);
  return date.getTime() - offset;
}

/**
 * An event time in integer epoch milliseconds (a fraction of a millisecond is dropped), or a reason
 * it is not one: a number must lie in [0, MAX_EVENT_TIME], a string must be an RFC 3339 date-time
 * in the same range.
 */
export function eventTime(value: number | string): number | { readonly reason: string } {
  const ms = typeof value === 'number' ? value : parseRfc3339(value);
  if (ms === null) return { reason: `${JSON.stringify(value)} is not an RFC 3339 date-time` };
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EVENT_TIME) return { reason: `${String(value)} is outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z` };
  return Math.floor(ms);
}
