// The shape of the script: the events pass groups on integer keys only, with the metric names in
// a small dictionary (from the metric list, or from the events without one).
import { describe, expect, it } from 'vitest';
import { duckdbDialect, postgresDialect } from './dialect.js';
import { exposureRules } from './rules.js';
import { buildScript, TABLES, type ScriptSpec } from './script.js';

const SPEC: ScriptSpec = { experiment: 'exp', exposureRules: exposureRules(false), metrics: ['revenue', "it's"], naive: true, caps: [], interval: null };

const stepSql = (spec: ScriptSpec, name: string): string => buildScript(duckdbDialect, spec).find((s) => s.name === name)?.sql ?? '';

describe('buildScript', () => {
  it('groups the events pass on the uid, the metric number, the cell and (for the naive view) the event time', () => {
    for (const dialect of [duckdbDialect, postgresDialect]) {
      const ue = buildScript(dialect, SPEC).find((s) => s.name === TABLES.ue)?.sql ?? '';
      expect(ue.trimEnd().split('\n').at(-1)).toBe('GROUP BY uk, m, k, xts');
      expect(ue).toContain(`LEFT JOIN ${TABLES.metrics} d ON d.metric = e.metric`);
    }
    expect(stepSql({ ...SPEC, naive: false }, TABLES.ue).trimEnd().split('\n').at(-1)).toBe('GROUP BY uk, m, k');
  });

  it('keeps both conversion flags of the pass in one bit_or (bit 1 after the first exposure, bit 2 before)', () => {
    for (const dialect of [duckdbDialect, postgresDialect]) {
      const ue = buildScript(dialect, SPEC).find((s) => s.name === TABLES.ue)?.sql ?? '';
      expect(ue).toContain('bit_or(f) AS f');
      expect(ue).not.toContain('bool_or');
    }
    expect(stepSql(SPEC, TABLES.pu)).toContain('(f & 1) <> 0 AS cy, (f & 2) <> 0 AS cx');
  });

  it("finds the naive view's variant per event time with ASOF JOIN in DuckDB, with a window in PostgreSQL", () => {
    expect(stepSql(SPEC, TABLES.nv)).toContain('ASOF JOIN');
    const pg = buildScript(postgresDialect, SPEC).find((s) => s.name === TABLES.nv)?.sql ?? '';
    expect(pg).not.toContain('ASOF');
    expect(pg).toContain('row_number() OVER (PARTITION BY r.uk, r.xts ORDER BY x.ts DESC');
  });

  it('numbers the metrics asked for, or every non-blank metric of the events, before the pass', () => {
    const names = buildScript(duckdbDialect, SPEC).map((s) => s.name);
    expect(names.indexOf(TABLES.metrics)).toBeLessThan(names.indexOf(TABLES.ue));
    expect(stepSql(SPEC, TABLES.metrics)).toContain("VALUES ('revenue', 1), ('it''s', 2)");
    expect(stepSql({ ...SPEC, metrics: null }, TABLES.metrics)).toContain("SELECT DISTINCT metric FROM sortition_events_src WHERE NOT (metric IS NULL OR metric = '' OR (metric LIKE ' %' AND trim(metric) = ''))");
    expect(stepSql({ ...SPEC, metrics: [] }, TABLES.metrics)).toContain('WHERE 1 = 0');
  });
});
