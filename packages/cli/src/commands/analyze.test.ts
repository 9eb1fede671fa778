// `sortition analyze` on small generated CSV/JSONL files: a salt-rotation-like crossover case, JSON,
// text and HTML output, escaping, bad rows, split options and the config history.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CliError } from '../config-file.js';
import { parseMetric, parseSplit, registerAnalyze, renderAnalyze, runAnalyze, type AnalyzeReport } from './analyze.js';

let dir: string;
const path = (name: string): string => join(dir, name);

/** Deterministic uniform numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const day = (d: number, hour = 12): string => `2026-03-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

/**
 * Phase p1 (days 1-3): units u0..u399, 50/50. Then a salt rotation starts phase p2 (day 4): units
 * u400..u599 arrive 50/50, and u0..u119 are re-exposed in the other variant. Revenue: control ~10,
 * treatment ~12 per unit; after a flip to treatment a unit spends 40 (so the naive event-time view,
 * which credits those events to treatment, disagrees with the first-exposure estimate). Another
 * experiment in the same file makes --experiment necessary.
 */
async function writeCrossoverCase(): Promise<void> {
  const rnd = lcg(7);
  const exposures = ['unit_id,experiment,variant,timestamp,phase,config_version'];
  const events: string[] = [];
  for (let i = 0; i < 600; i++) {
    const unit = `u${i}`;
    const variant = i % 2 === 0 ? 'control' : 'treatment';
    const first = i < 400 ? 1 + (i % 3) : 4 + (i % 3);
    exposures.push(`${unit},checkout,${variant},${day(first, 9)},${i < 400 ? 'p1' : 'p2'},${i < 400 ? 1 : 2}`);
    events.push(JSON.stringify({ unit_id: unit, metric: 'revenue', value: (variant === 'control' ? 10 : 12) + (rnd() - 0.5) * 4, timestamp: day(first, 10) }));
    events.push(JSON.stringify({ unit_id: unit, metric: 'purchase', value: rnd() < (variant === 'control' ? 0.3 : 0.4) ? 1 : 0, timestamp: day(first, 11) }));
    if (i < 120) {
      const other = variant === 'control' ? 'treatment' : 'control';
      exposures.push(`${unit},checkout,${other},${day(4 + (i % 2), 9)},p2,2`);
      if (other === 'treatment') events.push(JSON.stringify({ unit_id: unit, metric: 'revenue', value: 40, timestamp: day(4 + (i % 2), 10) }));
    }
    exposures.push(`${unit},pricing,a,${day(1, 8)},,1`);
  }
  await writeFile(path('exposures.csv'), `${exposures.join('\n')}\n`);
  await writeFile(path('events.jsonl'), `${events.join('\n')}\n`);
}

let report: AnalyzeReport;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sortition-cli-analyze-'));
  await writeCrossoverCase();
  report = await runAnalyze({
    exposures: path('exposures.csv'),
    events: path('events.jsonl'),
    experiment: 'checkout',
    metrics: ['revenue', 'purchase:conversion'],
    splits: ['p1=control:50,treatment:50', 'p2=control:50,treatment:50'],
  });
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('option parsing', () => {
  it('parses metrics and splits, and rejects malformed ones with the fix', () => {
    expect(parseMetric('revenue')).toEqual({ name: 'revenue', kind: 'sum' });
    expect(parseMetric('purchase:conversion')).toEqual({ name: 'purchase', kind: 'conversion' });
    expect(parseMetric('a:b')).toEqual({ name: 'a:b', kind: 'sum' });
    expect(parseSplit('ramp=control:90,treatment:10')).toEqual({ phase: 'ramp', split: { control: 90, treatment: 10 } });
    expect(parseSplit('control:1,treatment:1')).toEqual({ phase: null, split: { control: 1, treatment: 1 } });
    expect(() => parseSplit('ramp=control:x')).toThrow(/variant:weight/);
    expect(() => parseSplit('ramp=control:0,treatment:0')).toThrow(/every weight is 0/);
  });
});

describe('analyze on a salt-rotation-like crossover case', () => {
  it('returns the engine result: strata, crossovers, flips, SRM per phase and the split source', () => {
    expect(report.experiment).toBe('checkout');
    expect(report.strata).toEqual(['p1', 'p2']);
    expect(report.units.total).toBe(600);
    expect(report.drift.crossoverUnits).toBe(120);
    expect(report.drift.firstFlipDay).toBe('2026-03-04');
    expect(report.drift.flipMatrix).toEqual([
      { from: 'control', to: 'treatment', units: 60 },
      { from: 'treatment', to: 'control', units: 60 },
    ]);
    expect(report.srm.map((s) => [s.phase, s.status])).toEqual([
      ['p1', 'ok'],
      ['p2', 'ok'],
    ]);
    expect(report.expectedSplit.sources).toEqual({ p1: 'split-option', p2: 'split-option' });
    const codes = report.warnings.map((w) => w.code);
    expect(codes).toEqual(expect.arrayContaining(['CROSSOVER', 'POOLED_NOT_HEADLINE', 'NAIVE_DISAGREES']));
    const revenue = report.metrics.find((m) => m.metric === 'revenue')?.comparisons[0];
    expect(revenue?.primary?.strata.map((s) => s.stratum)).toEqual(['p1', 'p2']);
    // intent to treat: the 40 spent after a flip to treatment stays with the control arm
    expect(revenue?.primary?.difference.estimate).toBeLessThan(0);
    expect(revenue?.naiveEventTime?.difference.estimate).toBeGreaterThan(revenue?.primary?.difference.upper ?? 0);
    expect(revenue?.pooled?.biasedIfStrataDiffer).toBe(true);
    expect(revenue?.naiveEventTime?.disagreesWithPrimary).toBe(true);
  });

  it('computes the cumulative lift by day; its last point is the primary estimate', () => {
    const revenue = report.metrics.find((m) => m.metric === 'revenue')?.comparisons[0];
    const points = revenue?.cumulative?.points ?? [];
    expect(revenue?.cumulative?.interval).toBe('day');
    expect(points.map((p) => p.end.slice(0, 10))).toEqual(['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07']);
    expect(points.at(-1)?.difference.estimate).toBeCloseTo(revenue?.primary?.difference.estimate ?? Number.NaN, 9);
    expect(points.at(-1)?.difference.upper).toBeCloseTo(revenue?.primary?.difference.upper ?? Number.NaN, 9);
    expect(points[0]?.control.n).toBe(67); // units u0, u3, ... first exposed on day 1, control (even ids)
  });

  it('JSON output has the documented fields and null for undefined numbers', () => {
    const parsed = JSON.parse(renderAnalyze(report, 'json')) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(expect.arrayContaining(['experiment', 'control', 'variants', 'strata', 'inputs', 'units', 'metrics', 'srm', 'drift', 'warnings', 'expectedSplit']));
    expect((parsed['drift'] as { crossoverUnits: number }).crossoverUnits).toBe(120);
  });

  it('the text summary leads with the warnings and shows primary, pooled, sensitivity, SRM and drift', () => {
    const text = renderAnalyze(report, 'text');
    const warningsAt = text.indexOf('WARNINGS');
    expect(warningsAt).toBeGreaterThan(0);
    expect(warningsAt).toBeLessThan(text.indexOf('Metric revenue'));
    expect(text).toContain('CROSSOVER');
    expect(text).toContain('NAIVE_DISAGREES');
    expect(text).toContain('PRIMARY (by phase)');
    expect(text).toContain('pooled (NOT headline)');
    expect(text).toContain('DISAGREES with the primary');
    expect(text).toMatch(/OK\s+phase p1/);
    expect(text).toContain('control -> treatment: 60');
    expect(text).toContain('first flip day: 2026-03-04');
    expect(text).toContain('config version at first flip: v2 (120 units)');
    expect(text).toMatch(/cumulative by day \(as of the end of each day, 95% CI\):\n\s+before 2026-03-02 /);
  });

  it('the HTML report is self-contained, accessible and has the charts', () => {
    const html = renderAnalyze(report, 'html');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html.match(/<svg /g)?.length).toBe(2 + 2 + 2); // two cumulative lift charts, two forest plots, crossover, allocation
    expect(html).toContain('Cumulative lift of revenue, treatment minus control, by day, with 95% intervals');
    expect(html).toMatch(/<polygon points="[\d., ]+" fill="#1f5fa8" fill-opacity="0.15"/); // the interval band
    expect(html).toContain('role="img"');
    expect(html).toContain('<title id="chart1-t">');
    expect(html).toContain('<th scope="col">Status</th>');
    expect(html).toContain('<span class="badge ok">ok</span>');
    expect(html).toContain('Crossover share over time');
    expect(html).toContain('Allocation by phase');
  });

  it('the command writes the HTML file with --out and needs --out for html', async () => {
    const outputs: { stdout: string; exitCode: number }[] = [];
    const program = new Command('sortition').exitOverride();
    registerAnalyze(program, (o) => outputs.push(o));
    const out = path('report.html');
    await program.parseAsync(['analyze', '--exposures', path('exposures.csv'), '--events', path('events.jsonl'), '--experiment', 'checkout', '--split', 'control:50,treatment:50', '--format', 'html', '--out', out], { from: 'user' });
    expect(outputs[0]?.exitCode).toBe(0);
    expect(outputs[0]?.stdout).toContain(out);
    expect(await readFile(out, 'utf8')).toContain('<svg ');
    await expect(program.parseAsync(['analyze', '--exposures', path('exposures.csv'), '--events', path('events.jsonl'), '--format', 'html'], { from: 'user' })).rejects.toThrow(/needs --out/);
  });

  it('asks for --experiment when the exposures hold several', async () => {
    await expect(runAnalyze({ exposures: path('exposures.csv'), events: path('events.jsonl') })).rejects.toThrow(/several experiments \(checkout, pricing\): pass --experiment/);
  });
});

describe('escaping, bad rows and the config history', () => {
  it('escapes a variant named <script> in the HTML and detects the only experiment', async () => {
    const exposures = ['unit_id,experiment,variant,timestamp'];
    const events = ['unit_id,metric,value,timestamp'];
    for (let i = 0; i < 40; i++) {
      exposures.push(`v${i},x,${i % 2 === 0 ? 'control' : '"<script>alert(1)</script>"'},${day(1)}`);
      events.push(`v${i},clicks,${i % 5},${day(2)}`);
    }
    await writeFile(path('x-exposures.csv'), exposures.join('\n'));
    await writeFile(path('x-events.csv'), events.join('\n'));
    const r = await runAnalyze({ exposures: path('x-exposures.csv'), events: path('x-events.csv') });
    expect(r.experiment).toBe('x');
    expect(r.variants).toContain('<script>alert(1)</script>');
    const html = renderAnalyze(r, 'html');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(renderAnalyze(r, 'text')).toContain('SRM_SPLIT_UNKNOWN');
  });

  it('bad rows: exit code 1 with counts and examples, or excluded with --allow-bad-rows', async () => {
    const exposures = ['unit_id,experiment,variant,timestamp'];
    for (let i = 0; i < 30; i++) exposures.push(`b${i},x,${i % 2 === 0 ? 'control' : 'treatment'},${day(1)}`);
    exposures.push(',x,control,2026-03-01T00:00:00Z', 'b99,x,control,yesterday', 'b98,x,control,not-a-time');
    await writeFile(path('bad-exposures.csv'), exposures.join('\n'));
    await writeFile(path('bad-events.jsonl'), `${JSON.stringify({ unit_id: 'b1', metric: 'm', value: 'NaN?', timestamp: day(2) })}\n${JSON.stringify({ unit_id: 'b2', metric: 'm', value: 3, timestamp: day(2) })}\n`);
    const options = { exposures: path('bad-exposures.csv'), events: path('bad-events.jsonl'), experiment: 'x' };
    const error = await runAnalyze(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    const e = error as CliError;
    expect(e.exitCode).toBe(1);
    expect(e.code).toBe('BAD_ROWS');
    expect(e.message).toContain('3 of 33 rows are invalid');
    expect(e.message).toContain('unit_id_empty: 1 row');
    expect(e.message).toContain('timestamp_invalid: 2 rows');
    expect(e.message).toContain('value_invalid: 1 row');
    expect(e.message).toMatch(/row \d+: \{/);
    expect(e.message).toContain('--allow-bad-rows');
    const r = await runAnalyze({ ...options, allowBadRows: true });
    expect(r.inputs.excludedBadRows).toEqual({ exposures: 3, events: 1 });
    expect(renderAnalyze(r, 'text')).toContain('BAD_ROWS_EXCLUDED');
  });

  it('derives each phase\'s split from the config history (slot counts of its allocation)', async () => {
    const examples = fileURLToPath(new URL('../../../../examples/', import.meta.url));
    const doc = parseYaml(await readFile(join(examples, 'checkout.yaml'), 'utf8')) as { experiments: { key: string; phases: { id: string }[] }[] };
    const phases = doc.experiments.find((x) => x.key === 'checkout_v2')?.phases.map((p) => p.id) ?? [];
    await writeFile(path('history.json'), JSON.stringify([doc]));
    const exposures = ['unit_id,experiment,variant,timestamp,phase'];
    const events = ['unit_id,metric,value,timestamp'];
    for (let i = 0; i < 200; i++) {
      const phase = phases[i % phases.length] ?? 'x';
      exposures.push(`c${i},checkout_v2,${i % 2 === 0 ? 'control' : 'treatment'},${day(1)},${phase}`);
      events.push(`c${i},orders,1,${day(2)}`);
    }
    await writeFile(path('c-exposures.csv'), exposures.join('\n'));
    await writeFile(path('c-events.csv'), events.join('\n'));
    const r = await runAnalyze({ exposures: path('c-exposures.csv'), events: path('c-events.csv'), configHistory: path('history.json') });
    expect(r.expectedSplit.configVersions).toEqual([7]);
    for (const p of phases) {
      expect(r.expectedSplit.sources[p]).toBe('config-history');
      const split = r.expectedSplit.phases[p] ?? {};
      expect(Object.keys(split).sort()).toEqual(['control', 'treatment']);
    }
    expect(r.expectedSplit.phases).toEqual({ canary: { control: 500, treatment: 500 }, full: { control: 4250, treatment: 4250 } });
    expect(r.srm.every((s) => s.expectedShares !== null)).toBe(true);
  });
});
