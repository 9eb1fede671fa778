import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { vectorTime, vectorsOfKind } from '../../../spec/index.js';
import { parseAttributes, runAssign } from './commands/assign.js';

/** Temporary directories of this file, removed when it is done. */
const temporary: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sortition CLI (the built binary)', () => {
  it('assign prints JSON with variant, slot, reason, phase and config version', async () => {
    const r = await cli('assign', '--config', `${examples}checkout.yaml`, '--experiment', 'checkout_v2', '--unit', '8821', '--attr', 'country=DE', '--attr', 'appVersion=4.3.1', '--now', '2026-04-15T00:00:00Z');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['variant', 'slot', 'reason', 'phase', 'configVersion']));
    expect(out['configVersion']).toBe(7);
    expect(out['phase']).toBe('full');
  });

  it('plan exits 0 for a safe ramp, 1 for a refused reweight, 0 for a declared re-randomization', async () => {
    const now = ['--now', '2026-04-15T00:00:00Z'];
    const ramp = await cli('plan', `${examples}checkout.yaml`, `${examples}checkout-ramp.yaml`, ...now);
    expect(ramp.code, ramp.stdout + ramp.stderr).toBe(0);
    expect(ramp.stdout).toContain('SAFE');
    const reweight = await cli('plan', `${examples}checkout.yaml`, `${examples}checkout-reweight.yaml`, ...now);
    expect(reweight.code).toBe(1);
    expect(reweight.stdout).toContain('REFUSED');
    expect(reweight.stdout).toMatch(/monthly_first\s+annual_first\s+5000\s+5\.00%/);
    const declared = await cli('plan', `${examples}checkout.yaml`, `${examples}checkout-rerandomize.yaml`, ...now, '--json');
    expect(declared.code).toBe(0);
    expect((JSON.parse(declared.stdout) as { verdict: string }).verdict).toBe('declared');
  });

  it('names the file, the field and the fix for an invalid config, and exits 2', async () => {
    const dir = tempDir('sortition-cli-');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'schema: sortition/config/v1\nversion: 1\nlayers:\n  - { id: checkout, algorithm: v1, slots: 1000, key: "00", unit: userId, normalization: nfc }\nexperiments: []\n');
    const r = await cli('assign', '--config', file, '--experiment', 'x', '--unit', 'u');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:/layers/0/slots`);
    expect(r.stderr).toContain('fix: use 10000');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const v = await cli('validate', file);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('/layers/0/key');
  });

  it('refuses attribute syntax it cannot read unambiguously', () => {
    expect(parseAttributes(['age:=30', 'name=30', 'ok:=true'])).toEqual({ age: 30, name: '30', ok: true });
    expect(() => parseAttributes(['age:={"x":1}'])).toThrow(/strings, numbers, booleans or null/);
    expect(() => parseAttributes(['novalue'])).toThrow(/key=value/);
  });

  it('analyze reads exposure and event files and prints the first-exposure result as JSON', async () => {
    const dir = tempDir('sortition-analyze-');
    const exposures = ['unit_id,experiment,variant,timestamp,phase'];
    const events = ['unit_id,metric,value,timestamp'];
    for (let i = 0; i < 400; i++) {
      const variant = i % 2 === 0 ? 'control' : 'treatment';
      exposures.push(`u${i},exp,${variant},2026-03-0${1 + (i % 5)}T10:00:00Z,main`);
      if (i % 3 === 0) events.push(`u${i},purchase,${10 + (i % 7)},2026-03-09T10:00:00Z`);
    }
    writeFileSync(join(dir, 'exposures.csv'), `${exposures.join('\n')}\n`);
    writeFileSync(join(dir, 'events.csv'), `${events.join('\n')}\n`);
    const r = await cli('analyze', '--exposures', join(dir, 'exposures.csv'), '--events', join(dir, 'events.csv'), '--split', 'control:50,treatment:50', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(JSON.stringify(report)).toContain('purchase');
    expect(JSON.stringify(report)).toContain('"control"');
  });

  it('keygen prints 64 lower-case hex characters, fresh each time', async () => {
    const [a, b] = await Promise.all([cli('keygen'), cli('keygen')]);
    expect(a.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(a.stdout).not.toBe(b.stdout);
  });
});

describe('the CLI runs the spec assign vectors', () => {
  const dir = tempDir('sortition-vectors-');
  for (const vector of vectorsOfKind('assign')) {
    it(vector.name, async () => {
      const file = join(dir, `${vector.name}.json`);
      writeFileSync(file, JSON.stringify(vector.config));
      let checked = 0;
      for (const c of vector.cases) {
        const unit = Object.values(c.input.units)[0];
        // The CLI takes one string unit and no stored record; other cases are the core's to check.
        if (c.input.sticky !== undefined || typeof unit !== 'string' || c.expected.error === 'UNIT_MISSING' || Object.keys(c.input.units).length !== 1) continue;
        const attrs = Object.entries(c.input.attributes ?? {}).map(([k, v]) => (typeof v === 'string' ? `${k}=${v}` : `${k}:=${JSON.stringify(v)}`));
        const r = await runAssign({ config: file, experiment: c.input.experiment, unit, attrs, now: String(vectorTime(c.input.now)), clock: () => 0 });
        expect({ variant: r.variant, reason: r.reason, slot: r.slot, phase: r.phase, holdout: r.holdout }, c.explanation).toEqual({
          variant: c.expected.variant,
          reason: c.expected.reason,
          slot: c.expected.slot,
          phase: c.expected.phase,
          holdout: c.expected.holdout,
        });
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
