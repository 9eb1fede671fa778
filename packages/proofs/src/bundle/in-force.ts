/**
 * "Version v was in force at time t and was not rewritten later": the lower bound is v's own leaf
 * (createdAt <= t), the upper bound is either
 *   - next: the leaf of version v + 1, whose prev points at v's leaf and whose createdAt is after t
 *     (so nothing was slipped in between and v was still in force at t), or
 *   - rest: every leaf after v's in the checkpoint's tree, none a config event: v was the latest
 *     version when the checkpoint was made.
 * Both are included in the bundled checkpoint (step inclusion); consistency with a later
 * checkpoint (step consistency) shows the history was not rewritten afterwards.
 */
import { configLeaf, leafHashOf, leafType } from './leaves.js';
import { iso } from './derive.js';
import type { ConfigEvidence } from './format.js';

/**
 * Checks the upper bound of one config evidence at time `t`; returns what it shows, or throws.
 * `sameMs`: a successor created in the same millisecond as `t` still leaves room for `t` (an
 * assignment made just before a publish in the same millisecond).
 */
export function checkInForce(e: ConfigEvidence, path: string, t: number, checkpointSize: number, what: string, sameMs = false): string {
  const own = configLeaf(e.leaf, `${path}/leaf`);
  if (e.next !== undefined) {
    const next = configLeaf(e.next.leaf, `${path}/next/leaf`);
    if (next.version !== own.version + 1) throw new Error(`${path}/next is config version ${next.version}, not ${own.version + 1}`);
    if (next.prev === null || next.prev.index !== e.leafIndex || next.prev.leafHash !== leafHashOf(e.leaf)) {
      throw new Error(`${path}/next: version ${next.version}'s prev does not point at version ${own.version}'s leaf ${e.leafIndex}`);
    }
    if (e.next.leafIndex <= e.leafIndex) throw new Error(`${path}/next is logged before version ${own.version}`);
    if (next.createdAt < t || (next.createdAt === t && !sameMs)) throw new Error(`${path}: version ${next.version} replaced version ${own.version} at ${iso(next.createdAt)}, before ${what} (${iso(t)})`);
    return `version ${own.version} was in force from ${iso(own.createdAt)} until version ${next.version} at ${iso(next.createdAt)} (leaf ${e.next.leafIndex}, prev -> leaf ${e.leafIndex}), which covers ${what} ${iso(t)}`;
  }
  if (e.rest !== undefined) {
    const expected = checkpointSize - e.leafIndex - 1;
    if (e.rest.length !== expected) throw new Error(`${path}/rest has ${e.rest.length} leaves, but the checkpoint's tree has ${expected} after leaf ${e.leafIndex}`);
    e.rest.forEach((r, i) => {
      if (r.leafIndex !== e.leafIndex + 1 + i) throw new Error(`${path}/rest/${i} is leaf ${r.leafIndex}, not ${e.leafIndex + 1 + i}`);
      if (leafType(r.leaf, `${path}/rest/${i}/leaf`) === 'config') throw new Error(`${path}/rest/${i} (leaf ${r.leafIndex}) is a config version: version ${own.version} was not the latest`);
    });
    return `version ${own.version} (from ${iso(own.createdAt)}) is the latest config version in the checkpoint's tree of ${checkpointSize} leaves (${e.rest.length} later leaves, none a config version)`;
  }
  throw new Error(`${path} carries no upper bound (next or rest): that version ${own.version} was still in force at ${iso(t)} is not shown`);
}
