import { describe, expect, it } from 'vitest';
import { GenerationalCache } from './cache.js';

describe('GenerationalCache', () => {
  it('holds at most its capacity and keeps what is used', () => {
    const cache = new GenerationalCache<number, string>(10);
    for (let i = 0; i < 1000; i++) {
      cache.set(i, `v${i}`);
      // Key 0 is read after every insertion, so it is never dropped.
      expect(cache.get(0)).toBe('v0');
      expect(cache.size).toBeLessThanOrEqual(10);
    }
    expect(cache.get(999)).toBe('v999');
    expect(cache.get(1)).toBeUndefined();
  });

  it('keeps an entry used once per half capacity of insertions, drops one that is not', () => {
    const cache = new GenerationalCache<string, number>(100);
    cache.set('hot', 1);
    cache.set('cold', 2);
    for (let i = 0; i < 500; i++) {
      cache.set(`k${i}`, i);
      if (i % 50 === 0) expect(cache.get('hot')).toBe(1);
    }
    expect(cache.get('hot')).toBe(1);
    expect(cache.get('cold')).toBeUndefined();
  });

  it('replaces, deletes, and refuses a capacity below 2', () => {
    const cache = new GenerationalCache<string, number>(4);
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.get('a')).toBe(2);
    expect(cache.size).toBe(1);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    expect(() => new GenerationalCache(1)).toThrow(RangeError);
  });
});
