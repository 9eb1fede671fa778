/**
 * The naive stack of the post-mortem: a flag service that buckets by a hash of salt + user id mod
 * 100, an SDK that evaluates the flag once per session and caches it for the session, a service
 * migration on Sunday night that rotated the salt (nobody read the release notes) in the same
 * window as the ramp of treatment from 50% to 60%, and exposures and events that carry the flag
 * value of the moment.
 */
import { fnv1a } from './rng.js';
import { satisfied, type World } from './world.js';

export const NAIVE_EXPERIMENT = 'sat_model';

export interface NaiveFlagVersion {
  readonly version: number;
  /** The exposures' phase label for this flag version. */
  readonly phase: string;
  readonly from: number;
  readonly salt: string;
  /** Treatment share in percent: users whose bucket is below it get treatment. */
  readonly treatmentPercent: number;
  readonly note: string;
}

export function naiveFlagVersions(world: World): NaiveFlagVersion[] {
  return [
    // The salt is the flag key; each simulated world has its own (so replicate worlds are independent draws).
    { version: 1, phase: 'v1', from: world.calendar.start, salt: `sat_model#${world.seed}`, treatmentPercent: 50, note: 'launch: control 50%, treatment 50%, bucketing by userId, salt pinned to the flag key' },
    {
      version: 2,
      phase: 'v2',
      from: world.calendar.change,
      salt: `sat_model#${world.seed}:flagsvc-2`,
      treatmentPercent: 60,
      note: 'migration to flag service 2 (its release notes: the hash salt now includes the service generation); treatment ramped 50% -> 60%',
    },
  ];
}

/** A plain 32-bit hash with a murmur3 finaliser, mod 100: the bucketing most flag services document. */
export function naiveBucket(salt: string, unit: string): number {
  let h = fnv1a(`${salt}:${unit}`);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) % 100;
}

export interface StackTraffic {
  /** Per session: 1 when the session was served treatment. */
  readonly treated: Uint8Array;
  /** Per session: 1 when the satisfaction event has value 1. */
  readonly outcome: Uint8Array;
  /** Per session: the phase label of the exposure logged at the session start. */
  readonly phase: Uint8Array;
  readonly phases: readonly string[];
}

export interface NaiveRun extends StackTraffic {
  readonly versions: readonly NaiveFlagVersion[];
  /** Per session: the flag version the session's evaluation used (index into versions). */
  readonly version: Uint8Array;
}

/** Serves every session: one evaluation at its start (the session cache), under the flag version in force then. */
export function runNaiveStack(world: World, effect: number): NaiveRun {
  const versions = naiveFlagVersions(world);
  const { sessions } = world;
  const treated = new Uint8Array(sessions.count);
  const outcome = new Uint8Array(sessions.count);
  const version = new Uint8Array(sessions.count);
  for (let s = 0; s < sessions.count; s++) {
    const t = sessions.start[s]!;
    let v = 0;
    while (v + 1 < versions.length && versions[v + 1]!.from <= t) v++;
    const flag = versions[v]!;
    const unit = world.ids[sessions.user[s]!]!;
    const isTreated = naiveBucket(flag.salt, unit) < flag.treatmentPercent;
    treated[s] = isTreated ? 1 : 0;
    version[s] = v;
    outcome[s] = satisfied(world, s, isTreated, effect) ? 1 : 0;
  }
  return { versions, version, treated, outcome, phase: version, phases: versions.map((f) => f.phase) };
}
