// Runs the independent Python reference implementation (spec/reference/python/) against every
// test vector in spec/vectors/, and proves that its runner does report a wrong vector.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runner = join('spec', 'reference', 'python', 'run_vectors.py');

function runVectors(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync('python3', [runner, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
}

function summary(output: string): { passed: number; failed: number } {
  const lines = output.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const match = /^(\d+) passed, (\d+) failed$/.exec(last);
  if (match === null) throw new Error(`runner output does not end with "N passed, M failed":\n${output}`);
  return { passed: Number(match[1]), failed: Number(match[2]) };
}

function explain(result: SpawnSyncReturns<string>): string {
  return `exit ${String(result.status)}${result.error ? ` (${result.error.message})` : ''}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

interface SlotCase {
  expected: { slot?: number; error?: string };
}

describe('Python reference implementation (spec/reference/python)', () => {
  it('passes every vector in spec/vectors', () => {
    const result = runVectors();
    expect(result.error, explain(result)).toBeUndefined();
    expect(result.status, explain(result)).toBe(0);
    const { passed, failed } = summary(result.stdout);
    expect(failed, explain(result)).toBe(0);
    expect(passed, explain(result)).toBeGreaterThan(100);
  });

  it('reports a wrong expected slot as exactly one failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sortition-python-vectors-'));
    try {
      const source = join(repoRoot, 'spec', 'vectors', 'slot-ascii.json');
      const vector = JSON.parse(readFileSync(source, 'utf8')) as { cases: SlotCase[] };
      const first = vector.cases.find((c) => typeof c.expected.slot === 'number');
      if (first?.expected.slot === undefined) throw new Error('slot-ascii.json has no slot case');
      first.expected.slot += 1;
      writeFileSync(join(dir, 'slot-ascii-tampered.json'), JSON.stringify(vector, null, 2));

      const result = runVectors(dir);
      expect(result.error, explain(result)).toBeUndefined();
      expect(result.status, explain(result)).not.toBe(0);
      const { passed, failed } = summary(result.stdout);
      expect(failed, explain(result)).toBe(1);
      expect(passed, explain(result)).toBe(vector.cases.length - 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
