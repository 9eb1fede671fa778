import type { ExposureEvent } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { ExposureBatcher, ExposureRejectedError, type VisibilitySource, type WireExposure } from './exposures.js';
import { ManualScheduler, settle } from './test-support/fakes.js';

function exposure(unit: string, experiment = 'exp', phase = 'main'): ExposureEvent {
  return { unit, unitType: 'userId', experiment, layer: 'l', phase, variant: 'control', slot: 1, configVersion: 1, at: 5, first: true };
}

describe('ExposureBatcher', () => {
  it('sends each (unit, experiment, phase) once, in batches, in the wire format', async () => {
    const scheduler = new ManualScheduler();
    const batches: WireExposure[][] = [];
    const b = new ExposureBatcher({ send: async (e) => void batches.push([...e]), scheduler, batchSize: 2, flushIntervalMs: 1000 });
    expect(b.track(exposure('u1'))).toBe(true);
    expect(b.track(exposure('u1'))).toBe(false);
    expect(b.track({ ...exposure('u1'), first: false, at: 99 })).toBe(false);
    expect(b.track(exposure('u1', 'exp', 'second'))).toBe(true); // a new phase is a new exposure
    await settle();
    expect(batches).toEqual([[{ unitType: 'userId', unit: 'u1', experiment: 'exp', phase: 'main', variant: 'control', slot: 1, configVersion: 1, at: 5 }, expect.objectContaining({ phase: 'second' })]]);
    b.track(exposure('u2'));
    await settle();
    expect(batches).toHaveLength(1);
    await scheduler.advance(1000);
    expect(batches).toHaveLength(2);
    expect(b.sent).toBe(3);
  });

  it('retries failures with backoff and never sends an event twice', async () => {
    const scheduler = new ManualScheduler();
    let fail = 3;
    const delivered: string[] = [];
    const b = new ExposureBatcher({
      send: async (events) => {
        if (fail-- > 0) throw new Error('offline');
        delivered.push(...events.map((e) => e.unit));
      },
      scheduler,
      random: () => 1,
      backoff: { baseMs: 100, maxMs: 10_000 },
      flushIntervalMs: 10,
    });
    b.track(exposure('u1'));
    b.track(exposure('u2'));
    await scheduler.advance(10);
    b.track(exposure('u3'));
    b.track(exposure('u1'));
    await scheduler.advance(100_000);
    expect(delivered).toEqual(['u1', 'u2', 'u3']);
    expect(scheduler.delays).toEqual([10, 100, 200, 400]);
  });

  it('is bounded: drops the oldest beyond maxQueue and counts them', async () => {
    const scheduler = new ManualScheduler();
    const b = new ExposureBatcher({ send: () => Promise.reject(new Error('down')), scheduler, maxQueue: 3, batchSize: 100 });
    for (let i = 0; i < 10; i++) b.track(exposure(`u${i}`));
    expect(b.pending).toBe(3);
    expect(b.dropped).toBe(7);
    // A dropped event was never sent, so it may be queued again.
    expect(b.track(exposure('u0'))).toBe(true);
    await scheduler.advance(1_000_000);
    expect(b.pending).toBeLessThanOrEqual(3);
  });

  it('drops batches the service refuses for good', async () => {
    const scheduler = new ManualScheduler();
    const errors: string[] = [];
    const b = new ExposureBatcher({ send: () => Promise.reject(new ExposureRejectedError('400')), scheduler, onError: (e) => errors.push(e.code) });
    b.track(exposure('u1'));
    await b.flush();
    expect(b.rejected).toBe(1);
    expect(b.pending).toBe(0);
    expect(errors).toEqual(['EXPOSURE_REJECTED']);
  });

  it('flushes everything with keepalive when the page becomes hidden', async () => {
    const scheduler = new ManualScheduler();
    const listeners: (() => void)[] = [];
    const doc: VisibilitySource & { visibilityState: string } = {
      visibilityState: 'visible',
      addEventListener: (_t, l) => void listeners.push(l),
      removeEventListener: (_t, l) => void listeners.splice(listeners.indexOf(l), 1),
    };
    const sends: { n: number; keepalive: boolean }[] = [];
    const b = new ExposureBatcher({ send: async (e, o) => void sends.push({ n: e.length, keepalive: o.keepalive }), scheduler, document: doc, batchSize: 2, flushIntervalMs: 60_000 });
    b.track(exposure('u1'));
    doc.visibilityState = 'visible';
    listeners.forEach((l) => l());
    expect(sends).toEqual([]);
    b.track(exposure('u2'));
    await settle();
    b.track(exposure('u3'));
    doc.visibilityState = 'hidden';
    listeners.forEach((l) => l());
    await settle();
    expect(sends.at(-1)).toEqual({ n: 1, keepalive: true });
    expect(b.pending).toBe(0);
    await b.close();
    expect(listeners).toHaveLength(0);
  });
});
