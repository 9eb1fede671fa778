import { describe, expect, it, vi } from 'vitest';
import { startProgress } from './progress.js';

describe('progress indicator', () => {
  it('writes nothing when stderr is not a TTY', () => {
    const writes: string[] = [];
    const p = startProgress({ isTTY: false, write: (s) => writes.push(s) > 0 });
    p.stage('x');
    p.stop();
    expect(writes).toEqual([]);
  });

  it('on a TTY, redraws the stage and elapsed time after the delay and clears the line on stop', () => {
    vi.useFakeTimers();
    try {
      let t = 0;
      const writes: string[] = [];
      const p = startProgress({ isTTY: true, write: (s) => writes.push(s) > 0 }, { now: () => t, delayMs: 500, intervalMs: 200 });
      p.stage('analysing (DuckDB)');
      t = 200;
      vi.advanceTimersByTime(200);
      expect(writes).toEqual([]);
      t = 2_400;
      vi.advanceTimersByTime(200);
      expect(writes.at(-1)).toContain('analysing (DuckDB) (2s)');
      p.stop();
      expect(writes.at(-1)).toBe('\r\x1b[2K');
    } finally {
      vi.useRealTimers();
    }
  });
});
