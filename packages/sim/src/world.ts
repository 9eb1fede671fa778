/**
 * The simulated population and its traffic, shared by every stack: who the users are, when they
 * open a session, and a uniform draw per session that decides its outcome once the stack has
 * decided which variant the session saw (common random numbers: with no true effect both stacks see
 * exactly the same outcomes).
 *
 * Two kinds of user, as in the post-mortem: "weekday" users come mostly Monday to Friday and are
 * satisfied more often; "weekend" users come mostly on Saturday and Sunday and are satisfied less
 * often. A quarter of the users sign up during the run.
 */
import { calendar, DAY, HOUR, isWeekend, type Calendar } from './calendar.js';
import { Rng } from './rng.js';

export const SEGMENTS = ['weekday', 'weekend'] as const;
export type Segment = (typeof SEGMENTS)[number];

export interface PopulationModel {
  /** Share of weekday users. */
  readonly weekdayShare: number;
  /** Mean satisfaction probability per session, by segment. */
  readonly baseline: Readonly<Record<Segment, number>>;
  /** Standard deviation of a user's own satisfaction probability around its segment's. */
  readonly baselineSpread: number;
  /** Probability of visiting on a given day (before the user's activity multiplier), by segment and kind of day. */
  readonly visit: Readonly<Record<Segment, { readonly weekday: number; readonly weekend: number }>>;
  /** Extra sessions on a visiting day: Poisson mean. */
  readonly extraSessions: number;
  /** Share of users who sign up at a uniform time during the run. */
  readonly newUserShare: number;
}

export const DEFAULT_POPULATION: PopulationModel = {
  weekdayShare: 0.5,
  baseline: { weekday: 0.42, weekend: 0.3 },
  baselineSpread: 0.06,
  visit: { weekday: { weekday: 0.45, weekend: 0.06 }, weekend: { weekday: 0.06, weekend: 0.6 } },
  extraSessions: 0.6,
  newUserShare: 0.25,
};

export interface Sessions {
  readonly count: number;
  readonly user: Int32Array;
  /** Session start (ms): the flag is evaluated and the exposure logged here. */
  readonly start: Float64Array;
  /** Session end (ms): the satisfaction event is logged here. */
  readonly end: Float64Array;
  /** Uniform draw deciding satisfaction: satisfied when below the session's probability. */
  readonly draw: Float64Array;
}

export interface World {
  readonly seed: number;
  readonly calendar: Calendar;
  readonly model: PopulationModel;
  readonly ids: readonly string[];
  /** 0 = weekday user, 1 = weekend user. */
  readonly segment: Uint8Array;
  /** Each user's satisfaction probability without treatment. */
  readonly baseline: Float64Array;
  /** Sessions in start order. */
  readonly sessions: Sessions;
}

export interface WorldOptions {
  readonly users: number;
  readonly days: number;
  readonly seed: number;
  readonly model?: PopulationModel;
}

const MINUTE = 60_000;

export function userId(index: number): string {
  return `u${String(index).padStart(6, '0')}`;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Indices of `times` (generated user by user) in (time, user) order: a stable counting sort by
 * minute, then insertion sort within each minute (a comparator sort of every session is 5x slower).
 */
function timeOrder(times: readonly number[], from: number, to: number): Uint32Array {
  const buckets = Math.ceil((to - from) / MINUTE) + 1;
  const counts = new Uint32Array(buckets + 1);
  for (const t of times) counts[Math.floor((t - from) / MINUTE) + 1]!++;
  for (let b = 1; b <= buckets; b++) counts[b]! += counts[b - 1]!;
  const order = new Uint32Array(times.length);
  const next = counts.slice(0, buckets);
  times.forEach((t, i) => {
    order[next[Math.floor((t - from) / MINUTE)]!++] = i;
  });
  for (let b = 0; b < buckets; b++) {
    for (let k = counts[b]! + 1; k < counts[b + 1]!; k++) {
      const v = order[k]!;
      let j = k - 1;
      while (j >= counts[b]! && times[order[j]!]! > times[v]!) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = v;
    }
  }
  return order;
}

export function generateWorld(options: WorldOptions): World {
  const { users, seed } = options;
  if (!Number.isInteger(users) || users < 10 || users > 2_000_000) throw new RangeError(`users must be an integer from 10 to 2000000, got ${users}`);
  const model = options.model ?? DEFAULT_POPULATION;
  const cal = calendar(options.days);
  const segment = new Uint8Array(users);
  const baseline = new Float64Array(users);
  const ids: string[] = [];
  const user: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const draw: number[] = [];

  // Per segment and day: the visit probability before the activity multiplier, and the active window.
  const dayBase = SEGMENTS.map((name) => Array.from({ length: cal.days }, (_, day) => model.visit[name][isWeekend(cal.start + day * DAY) ? 'weekend' : 'weekday']));
  // Weekday users are active 8:00-20:00, weekend users 10:00-24:00.
  const windowFrom = [8 * HOUR, 10 * HOUR];
  const windowSpan = [12 * HOUR, 14 * HOUR];
  const starts: number[] = [];
  for (let i = 0; i < users; i++) {
    ids.push(userId(i));
    const r = Rng.stream(seed, 'user', i);
    const s = r.uniform() < model.weekdayShare ? 0 : 1;
    segment[i] = s;
    baseline[i] = clamp(model.baseline[SEGMENTS[s]!] + model.baselineSpread * r.normal(), 0.02, 0.95);
    const activity = r.gammaInt(2, 0.5);
    const arrival = r.uniform() < model.newUserShare ? cal.start + r.uniform() * (cal.end - cal.start) : cal.start;
    const base = dayBase[s]!;
    let lastEnd = -Infinity;
    for (let day = 0; day < cal.days; day++) {
      if (r.uniform() >= Math.min(0.95, activity * base[day]!)) continue;
      const n = 1 + r.poisson(model.extraSessions);
      const from = cal.start + day * DAY + windowFrom[s]!;
      starts.length = 0;
      for (let k = 0; k < n; k++) starts.push(from + r.uniform() * windowSpan[s]!);
      if (n > 1) starts.sort((a, b) => a - b);
      for (const t0 of starts) {
        const t = Math.max(t0, lastEnd + 5 * MINUTE);
        const duration = (3 + r.uniform() * 22) * MINUTE;
        const u = r.uniform();
        if (t < arrival || t + duration >= cal.end) continue;
        user.push(i);
        start.push(Math.round(t));
        end.push(Math.round(t + duration));
        draw.push(u);
        lastEnd = t + duration;
      }
    }
  }

  const order = timeOrder(start, cal.start, cal.end);
  const count = order.length;
  const sessions: Sessions = { count, user: new Int32Array(count), start: new Float64Array(count), end: new Float64Array(count), draw: new Float64Array(count) };
  for (let k = 0; k < count; k++) {
    const j = order[k]!;
    sessions.user[k] = user[j]!;
    sessions.start[k] = start[j]!;
    sessions.end[k] = end[j]!;
    sessions.draw[k] = draw[j]!;
  }
  return { seed, calendar: cal, model, ids, segment, baseline, sessions };
}

/** Satisfaction probability of a session: the user's baseline plus the effect when treated. */
export function satisfied(world: World, session: number, treated: boolean, effect: number): boolean {
  const u = world.sessions.user[session]!;
  return world.sessions.draw[session]! < world.baseline[u]! + (treated ? effect : 0);
}
