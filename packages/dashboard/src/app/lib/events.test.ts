import { describe, expect, it } from 'vitest';
import { csvCells, metricNames } from './events.js';

describe('metricNames', () => {
  it('lists the distinct metrics of CSV and JSON Lines files', () => {
    expect(metricNames('unit_id,timestamp,metric,value\nu1,2026-01-01T00:00:00Z,revenue,3\nu2,2026-01-01T00:00:00Z,"purchase",1\n', 'csv')).toEqual({ ok: true, metrics: ['purchase', 'revenue'] });
    expect(metricNames('{"unit_id":"u","timestamp":1,"metric":"clicks","value":1}\n\n{"unit_id":"v","timestamp":1,"metric":"clicks","value":2}', 'jsonl')).toEqual({ ok: true, metrics: ['clicks'] });
  });

  it('names what is missing', () => {
    expect(metricNames('unit_id,metric\nu,revenue\n', 'csv')).toMatchObject({ ok: false, error: expect.stringContaining('lacks timestamp, value') as unknown });
    expect(metricNames('{"metric": "x"}\nnot json\n', 'jsonl')).toMatchObject({ ok: false, error: expect.stringContaining('line 2') as unknown });
    expect(metricNames('unit_id,timestamp,metric,value\n', 'csv')).toMatchObject({ ok: false });
  });

  it('splits quoted CSV cells', () => {
    expect(csvCells('a,"b,c","d ""e"""')).toEqual(['a', 'b,c', 'd "e"']);
  });
});
