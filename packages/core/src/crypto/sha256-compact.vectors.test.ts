/**
 * Every spec vector with the compact SHA-256 compression (the one browsers get through the "browser"
 * condition of "#sha256-compress"): the module graph of this file, @sortition/core included, sees the
 * compact one in place of the unrolled one. The browser test runs the same vectors in Chromium.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadVectors } from '../../../../spec/index.js';
import { runVectors } from '../../../../spec/runner.js';
import { compress as compactCompress } from './sha256-compress-compact.js';
import { compress as inUse } from './sha256.js';

vi.mock('#sha256-compress', async () => await import('./sha256-compress-compact.js'));

describe('spec vectors with the compact SHA-256 compression', () => {
  const all = loadVectors().map((v) => v.vector);
  const outcomes = runVectors(all);

  it('runs with the compact compression', () => {
    expect(inUse).toBe(compactCompress);
  });

  it('gives every slot, assignment and change the vectors state', () => {
    let checked = 0;
    for (const [i, vector] of all.entries()) {
      const outcome = outcomes[i]!;
      if (vector.kind === 'slot' && outcome.kind === 'slot') {
        vector.cases.forEach((c, j) => {
          const got = outcome.cases[j]!;
          const where = `${vector.name} case ${j}: ${c.explanation}`;
          if ('error' in c.expected) expect(got.slot, where).toBe(c.expected.error);
          else expect(got, where).toEqual({ slot: c.expected.slot, canonicalUtf8Hex: c.expected.canonicalUtf8Hex });
          checked++;
        });
      } else if (vector.kind === 'assign' && outcome.kind === 'assign') {
        expect(outcome.cases).toHaveLength(vector.cases.length);
        vector.cases.forEach((c, j) => {
          expect(outcome.cases[j], `${vector.name} case ${j}: ${c.explanation}`).toEqual(c.expected);
          checked++;
        });
      } else if (vector.kind === 'change' && outcome.kind === 'change') {
        expect(outcome.result.moved, vector.name).toEqual(vector.expected.moved);
        expect(outcome.result.entered, vector.name).toEqual(vector.expected.entered);
        expect(outcome.result.verdict, vector.name).toBe(vector.expected.verdict);
        expect(outcome.result.movedSlots, vector.name).toBe(vector.expected.movedSlots);
        checked++;
      } else {
        throw new Error(`vector ${vector.name}: outcome of kind ${outcome.kind}`);
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
