import { describe, expect, it } from 'vitest';
import { calendar, DAY, HOUR, isWeekend, weekday } from './calendar.js';
import { generateWorld } from './world.js';

describe('calendar', () => {
  it('puts the change on the Sunday night halfway through the run', () => {
    for (const days of [4, 10, 14, 21]) {
      const c = calendar(days);
      expect(weekday(c.change)).toBe(0);
      expect(new Date(c.change).getUTCHours()).toBe(23);
      expect(c.end - c.start).toBe(days * DAY);
      expect(Math.abs(c.change + HOUR - (c.start + Math.floor(days / 2) * DAY))).toBe(0);
    }
    expect(() => calendar(1)).toThrow(RangeError);
  });
});

describe('generateWorld', () => {
  const world = generateWorld({ users: 3000, days: 10, seed: 5 });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = generateWorld({ users: 3000, days: 10, seed: 5 });
    expect(again.sessions.start).toEqual(world.sessions.start);
    expect(again.sessions.user).toEqual(world.sessions.user);
    expect(again.sessions.draw).toEqual(world.sessions.draw);
    expect(again.baseline).toEqual(world.baseline);
    const other = generateWorld({ users: 3000, days: 10, seed: 6 });
    expect(other.sessions.start).not.toEqual(world.sessions.start);
  });

  it('orders sessions by start, keeps them inside the run and never overlaps a user with itself', () => {
    const { sessions, calendar: cal } = world;
    const lastEnd = new Map<number, number>();
    const problems: string[] = [];
    for (let s = 0; s < sessions.count; s++) {
      const u = sessions.user[s]!;
      if (s > 0 && sessions.start[s]! < sessions.start[s - 1]!) problems.push(`${s}: out of order`);
      if (sessions.start[s]! < cal.start || sessions.end[s]! >= cal.end) problems.push(`${s}: outside the run`);
      if (sessions.end[s]! <= sessions.start[s]!) problems.push(`${s}: ends before it starts`);
      if (sessions.start[s]! <= (lastEnd.get(u) ?? -Infinity)) problems.push(`${s}: overlaps the previous session of user ${u}`);
      lastEnd.set(u, sessions.end[s]!);
    }
    expect(problems).toEqual([]);
    expect(sessions.count).toBeGreaterThan(5000);
  });

  it('gives weekday users mostly weekday sessions and weekend users mostly weekend sessions', () => {
    const counts = [
      [0, 0],
      [0, 0],
    ];
    const { sessions } = world;
    for (let s = 0; s < sessions.count; s++) counts[world.segment[sessions.user[s]!]!]![isWeekend(sessions.start[s]!) ? 1 : 0]!++;
    const [weekdayUsers, weekendUsers] = counts as [number[], number[]];
    // Visit probabilities: weekday users 0.45 on weekdays, 0.06 at weekends; weekend users the reverse (0.06 / 0.6).
    // 10 days from a Wednesday hold 8 weekdays and 2 weekend days.
    expect(weekdayUsers[0]! / (weekdayUsers[0]! + weekdayUsers[1]!)).toBeGreaterThan(0.9);
    expect(weekendUsers[1]! / (weekendUsers[0]! + weekendUsers[1]!)).toBeGreaterThan(0.6);
  });

  it('draws baselines around each segment\'s mean', () => {
    const mean = [0, 0];
    const n = [0, 0];
    world.baseline.forEach((b, u) => {
      mean[world.segment[u]!]! += b;
      n[world.segment[u]!]!++;
    });
    // Segment means 0.42 and 0.30 with spread 0.06 over ~1500 users each: standard error 0.0016; 0.01 is 6 of them.
    expect(Math.abs(mean[0]! / n[0]! - 0.42)).toBeLessThan(0.01);
    expect(Math.abs(mean[1]! / n[1]! - 0.3)).toBeLessThan(0.01);
  });
});
