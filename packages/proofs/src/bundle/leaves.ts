/**
 * Log leaf events as the verifier reads them. Every leaf is the RFC 8785 canonical JSON of one
 * event; the verifier refuses a leaf that is not canonical or has fields it does not know.
 *
 *   config         {type, version, hash, prev: {index, leafHash} | null, createdAt, author, reason}
 *   layer-launch   {type, layer, epoch, slots, unit, seedCommit, beacon: {chain, round}, plan,
 *                   prev: {index, leafHash} | null, reason, createdAt, author}
 *   layer-beacon   {type, layer, epoch, launch: {index, leafHash}, source: "drand" | "operator",
 *                   round, signature, randomness, value, createdAt, author}
 *   seed-reveal    {type, layer, epoch, launch: {index, leafHash}, seed, createdAt, author}
 *   key-rotation   {type, purpose, retired, kid, createdAt, author, reason}
 */
import { canonicalJson } from '@sortition/core';
import { leafHash } from '../merkle.js';
import { utf8Encode } from '../bytes.js';
import { toHex } from '@sortition/core';
import { fields, int, isObject, str } from './format.js';

export const LEAF_TYPES = ['config', 'layer-launch', 'layer-beacon', 'seed-reveal', 'key-rotation'] as const;
export type LeafType = (typeof LEAF_TYPES)[number];

export interface LeafPointer {
  readonly index: number;
  readonly leafHash: string;
}

/** hex leaf hash of a leaf's text. */
export function leafHashOf(leaf: string): string {
  return toHex(leafHash(utf8Encode(leaf)));
}

/** The JSON object of a leaf, which must be canonical JSON; throws Error naming `path`. */
export function leafObject(leaf: string, path: string): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(leaf);
  } catch (error) {
    throw new Error(`${path} is not JSON`, { cause: error });
  }
  if (canonicalJson(event) !== leaf) throw new Error(`${path} is not RFC 8785 canonical JSON`);
  if (!isObject(event)) throw new Error(`${path} is not a JSON object`);
  return event;
}

/** The event type of a leaf ("unknown" for a leaf this verifier does not recognise). */
export function leafType(leaf: string, path: string): LeafType | 'unknown' {
  const t = leafObject(leaf, path)['type'];
  return (LEAF_TYPES as readonly unknown[]).includes(t) ? (t as LeafType) : 'unknown';
}

export function pointer(v: unknown, path: string): LeafPointer | null {
  if (v === null) return null;
  const o = fields(v, path, ['index', 'leafHash']);
  const h = str(o['leafHash'], `${path}/leafHash`);
  if (!/^[0-9a-f]{64}$/.test(h)) throw new Error(`${path}/leafHash is not 64 lower-case hex digits`);
  return { index: int(o['index'], `${path}/index`), leafHash: h };
}

export interface ConfigLeaf {
  readonly version: number;
  readonly hash: string;
  readonly prev: LeafPointer | null;
  readonly createdAt: number;
  readonly author: string;
  readonly reason: string;
}

/** A config event leaf. */
export function configLeaf(leaf: string, path: string): ConfigLeaf {
  const o = fields(leafObject(leaf, path), path, ['type', 'version', 'hash', 'prev', 'createdAt', 'author', 'reason']);
  if (o['type'] !== 'config') throw new Error(`${path} is not a config event`);
  return {
    version: int(o['version'], `${path} version`),
    hash: str(o['hash'], `${path} hash`),
    prev: pointer(o['prev'], `${path} prev`),
    createdAt: int(o['createdAt'], `${path} createdAt`),
    author: str(o['author'], `${path} author`),
    reason: str(o['reason'], `${path} reason`),
  };
}
