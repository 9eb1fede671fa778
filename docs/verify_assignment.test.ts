import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./verify_assignment.py', import.meta.url));
const vectors = fileURLToPath(new URL('../spec/vectors/', import.meta.url));

describe('docs/verify_assignment.py (the auditor\'s stand-alone verifier)', () => {
  it('re-derives every slot and every fresh-unit assignment in spec/vectors', () => {
    const r = spawnSync('python3', [script, '--vectors', vectors], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    expect(m?.[2]).toBe('0');
    expect(Number(m?.[1])).toBeGreaterThan(200);
  });

  it('fails when a vector is altered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const v = JSON.parse(readFileSync(join(vectors, 'assign-two-variants.json'), 'utf8')) as { cases: { expected: { slot: number } }[] };
    v.cases[0]!.expected.slot += 1;
    writeFileSync(join(dir, 'assign-two-variants.json'), JSON.stringify(v));
    const r = spawnSync('python3', [script, '--vectors', dir], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^\d+ passed, 1 failed$/m);
  });
});
