/**
 * The state of committed layers (spec §4.1), read from the transparency log: every layer-launch,
 * layer-beacon and seed-reveal leaf, in log order. The log is the source of truth; the only other
 * thing stored is each launch's sealed seed (table layer_seeds). Leaves (RFC 8785 JSON):
 *
 *   layer-launch  {type, layer, epoch, slots, unit, seedCommit, beacon: {chain, round}, plan,
 *                  prev: {index, leafHash} | null, reason: string | null, createdAt, author}
 *   layer-beacon  {type, layer, epoch, launch: {index, leafHash}, source: "drand", round, signature, randomness, createdAt, author}
 *               | {type, layer, epoch, launch: {index, leafHash}, source: "operator", value, randomness, createdAt, author}
 *   seed-reveal   {type, layer, epoch, launch: {index, leafHash}, seed, createdAt, author}
 */
import type { LogEntryRecord } from '../store/types.js';

export interface LaunchState {
  readonly index: number;
  readonly leafHash: string;
  readonly layer: string;
  readonly epoch: number;
  readonly slots: number;
  readonly unit: string;
  readonly seedCommit: string;
  readonly round: number;
  readonly reason: string | null;
  readonly prev: { readonly index: number; readonly leafHash: string } | null;
  readonly createdAt: number;
  beacon: { readonly index: number; readonly source: 'drand' | 'operator'; readonly randomness: string; readonly round: number | null; readonly value: string | null } | null;
  reveal: { readonly index: number; readonly seed: string } | null;
  /** hex of the derived layer key, once the beacon is known and the seed unsealed. */
  key: string | null;
  /** Why the key cannot be derived (seed missing or unsealable). */
  keyError: string | null;
}

type Json = Record<string, unknown>;

function parse(leaf: string): Json | null {
  try {
    const v = JSON.parse(leaf) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export class CommittedState {
  private scanned = 0;
  /** Bumped on every change, so derived caches know when to rebuild. */
  version = 0;
  readonly byCommit = new Map<string, LaunchState>();
  readonly byIndex = new Map<number, LaunchState>();
  /** The latest launch of each layer. */
  readonly latest = new Map<string, LaunchState>();

  /** Reads leaves not seen yet (`entries` are the log's from index 0). */
  scan(entries: readonly LogEntryRecord[]): void {
    for (; this.scanned < entries.length; this.scanned++) {
      const entry = entries[this.scanned]!;
      if (entry.configVersion !== null) continue;
      const e = parse(entry.leaf);
      if (e === null) continue;
      if (e['type'] === 'layer-launch') {
        const beacon = (e['beacon'] ?? {}) as Json;
        const state: LaunchState = {
          index: entry.index,
          leafHash: entry.leafHash,
          layer: text(e['layer']),
          epoch: num(e['epoch']),
          slots: num(e['slots']),
          unit: text(e['unit']),
          seedCommit: text(e['seedCommit']),
          round: num(beacon['round']),
          reason: typeof e['reason'] === 'string' ? e['reason'] : null,
          prev: (e['prev'] as LaunchState['prev']) ?? null,
          createdAt: num(e['createdAt']),
          beacon: null,
          reveal: null,
          key: null,
          keyError: null,
        };
        this.byCommit.set(state.seedCommit, state);
        this.byIndex.set(state.index, state);
        this.latest.set(state.layer, state);
        this.version++;
      } else if (e['type'] === 'layer-beacon' || e['type'] === 'seed-reveal') {
        const launch = this.byIndex.get(num((e['launch'] as Json | undefined)?.['index']));
        if (launch === undefined) continue;
        if (e['type'] === 'layer-beacon' && launch.beacon === null) {
          const source = e['source'] === 'operator' ? 'operator' : 'drand';
          launch.beacon = { index: entry.index, source, randomness: text(e['randomness']), round: source === 'drand' ? num(e['round']) : null, value: source === 'operator' ? text(e['value']) : null };
        } else if (e['type'] === 'seed-reveal' && launch.reveal === null) launch.reveal = { index: entry.index, seed: text(e['seed']) };
        this.version++;
      }
    }
  }

  /** Launches whose beacon is known but whose key is not derived yet. */
  pendingKeys(): LaunchState[] {
    return [...this.byCommit.values()].filter((l) => l.beacon !== null && l.key === null && l.keyError === null);
  }
}
