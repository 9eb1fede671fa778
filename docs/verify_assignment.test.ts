import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('checks the committed-layer vectors (spec/vectors/committed) and fails when one is altered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-committed-'));
    mkdirSync(join(dir, 'committed'));
    const file = 'committed/committed-layer-keys.json';
    const v = JSON.parse(readFileSync(join(vectors, file), 'utf8')) as { cases: { expected: { layerKey: string } }[] };
    writeFileSync(join(dir, file), JSON.stringify(v));
    expect(spawnSync('python3', [script, '--vectors', dir], { encoding: 'utf8' }).stdout).toMatch(/^37 passed, 0 failed$/m);
    v.cases[1]!.expected.layerKey = '00'.repeat(32);
    writeFileSync(join(dir, file), JSON.stringify(v));
    const r = spawnSync('python3', [script, '--vectors', dir], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/layer key of checkout \(operator\)/);
  });

  it('re-keys a committed layer from a revealed seed and beacon before re-deriving', () => {
    const v = JSON.parse(readFileSync(join(vectors, 'committed/committed-layer-keys.json'), 'utf8')) as { seed: string; expected: { seedCommit: string }; cases: { layer: string; source: string; beaconRandomness: string; expected: { slots: Record<string, number> } }[] };
    const c = v.cases[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'audit-rekey-'));
    const config = {
      schema: 'sortition/config/v1',
      version: 1,
      layers: [{ id: c.layer, algorithm: 'v1', slots: 10000, key: v.expected.seedCommit, unit: 'userId', normalization: 'nfc', epoch: 1 }],
      experiments: [{ key: 'exp', layer: c.layer, variants: [{ key: 'a' }, { key: 'b' }], phases: [{ id: 'p', startsAt: '2023-09-15T12:00:00Z', allocation: { a: [[0, 5000]], b: [[5000, 10000]] } }] }],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const args = [script, '--config', join(dir, 'config.json'), '--experiment', 'exp', '--unit', 'user_8821', '--at', '2023-09-16T00:00:00Z'];
    const r = spawnSync('python3', [...args, '--seed', v.seed, '--beacon-randomness', c.beaconRandomness], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ slot: c.expected.slots['user_8821'], reason: 'ASSIGNED' });
    const wrong = spawnSync('python3', [...args, '--seed', '11'.repeat(32), '--beacon-randomness', c.beaconRandomness], { encoding: 'utf8' });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain('no layer of the config names the commitment');
  });
});
