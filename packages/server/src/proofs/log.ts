/**
 * The transparency log of config history (RFC 9162 Merkle tree, C2SP signed checkpoints).
 *
 * Besides config versions the log holds other events, appended with appendEvent(): committed-layer
 * launches, beacons and seed reveals (committed.ts) and signing-key rotations (service.ts).
 *
 * Every published config version becomes one leaf, appended in version order:
 *
 *   leaf bytes = UTF-8 of the RFC 8785 canonical JSON of
 *                {type: "config", version, hash, prev: {index, leafHash} | null, createdAt, author, reason}
 *   leafHash   = SHA-256(0x00 || leaf bytes)                         (hex in JSON responses)
 *
 * `hash` is the config's content hash (SHA-256 of its canonical JSON, as in the config history) and
 * `prev` points at the leaf of the previous config version, so no version can be slipped in between
 * two others. Leaves are stored verbatim (table log_entries) and never re-serialised.
 *
 * After each append the log is checkpointed: a C2SP signed note whose text is
 * `origin \n size \n base64(root) \n`, signed with the service's Ed25519 checkpoint key (key name =
 * origin), the checkpoint key in force by the clock (keys rotate). Ed25519 is deterministic, so
 * the checkpoint of a given size and key is always the same bytes; it is cached, not stored.
 *
 * Catch-up: config versions that have no leaf (published before this log existed, or by an
 * instance that stopped between publishing and logging) are logged, in version order, by sync(),
 * which runs at start-up, after every publish, in the background poll, and before a receipt cites
 * a version the log does not hold yet. Several instances may sync at once: the store accepts an
 * append only at index = size and logs a version once, and a loser re-reads and continues.
 */
import { canonicalJson, toHex } from '@sortition/core';
import { consistencyProof, inclusionProof, leafHash, rootFromLeafHashes, signCheckpoint } from '@sortition/proofs';
import type { ConfigVersionSummary, LogEntryRecord, Store } from '../store/types.js';
import type { ServiceKeys } from './keys.js';

export interface LeafPointer {
  readonly index: number;
  readonly leafHash: string;
}

/** The leaf text of a config version (its UTF-8 bytes are the leaf). */
export function configLeaf(record: ConfigVersionSummary, prev: LeafPointer | null): string {
  return canonicalJson({ type: 'config', version: record.version, hash: record.hash, prev, createdAt: record.createdAt, author: record.author, reason: record.reason });
}

export function leafHashHex(leaf: string): string {
  return toHex(leafHash(new TextEncoder().encode(leaf)));
}

export interface SignedCheckpoint {
  readonly size: number;
  /** hex of the root hash. */
  readonly rootHash: string;
  /** The signed note (C2SP tlog-checkpoint in c2sp.org/signed-note). */
  readonly note: string;
}

const MAX_SYNC_ROUNDS = 20;

export class TransparencyLog {
  private readonly entries: LogEntryRecord[] = [];
  private readonly hashes: Uint8Array[] = [];
  private lastConfig: LeafPointer & { readonly version: number } = { index: -1, leafHash: '', version: 0 };
  private signed: (SignedCheckpoint & { readonly kid: string }) | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly keys: ServiceKeys,
    private readonly clock: () => number,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** The highest config version with a leaf (0 when none). */
  get loggedVersion(): number {
    return this.lastConfig.version;
  }

  /** Reads entries other writers appended since the last read, checking each leaf hash. */
  async refresh(): Promise<void> {
    const more = await this.store.logEntries(this.entries.length);
    for (const entry of more) this.add(entry);
  }

  private add(entry: LogEntryRecord): void {
    if (entry.index !== this.entries.length) throw new Error(`transparency log: entry ${entry.index} read where ${this.entries.length} was expected`);
    const hash = leafHash(new TextEncoder().encode(entry.leaf));
    if (toHex(hash) !== entry.leafHash) throw new Error(`transparency log: the stored leaf hash of entry ${entry.index} does not match its leaf bytes`);
    this.entries.push(entry);
    this.hashes.push(hash);
    if (entry.configVersion !== null && entry.configVersion > this.lastConfig.version) {
      this.lastConfig = { index: entry.index, leafHash: entry.leafHash, version: entry.configVersion };
    }
  }

  /** Logs every config version that has no leaf yet, in version order. Calls are serialised. */
  sync(): Promise<void> {
    const next = this.running.then(() => this.syncOnce());
    this.running = next.catch(() => undefined);
    return next;
  }

  private async syncOnce(): Promise<void> {
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      await this.refresh();
      const pending = (await this.store.listConfigs()).filter((c) => c.version > this.lastConfig.version).sort((a, b) => a.version - b.version);
      let conflict = false;
      for (const config of pending) {
        const prev = this.lastConfig.version === 0 ? null : { index: this.lastConfig.index, leafHash: this.lastConfig.leafHash };
        const leaf = configLeaf(config, prev);
        const entry: LogEntryRecord = { index: this.entries.length, leaf, leafHash: leafHashHex(leaf), configVersion: config.version };
        const appended = await this.store.appendLogEntry(entry);
        if (!appended.ok) {
          conflict = true; // another instance appended: read what it wrote and continue from there
          break;
        }
        this.add(entry);
      }
      if (!conflict) return;
    }
    throw new Error(`transparency log: could not append after ${MAX_SYNC_ROUNDS} conflicting rounds`);
  }

  /** Makes sure config `version` has a leaf (syncing if needed). */
  async ensureVersion(version: number): Promise<void> {
    if (this.lastConfig.version >= version) return;
    await this.sync();
    if (this.lastConfig.version < version) throw new Error(`transparency log: config version ${version} is not in the log after syncing`);
  }

  rootHash(size: number): Uint8Array {
    return rootFromLeafHashes(this.hashes.slice(0, size));
  }

  /** The signed checkpoint of the whole log as loaded, signed by the checkpoint key in force now. */
  checkpoint(): SignedCheckpoint {
    const size = this.entries.length;
    const now = this.clock();
    if (this.signed?.size !== size || this.signed.kid !== this.keys.checkpointKid(now)) {
      const signer = this.keys.checkpointSigner(now);
      const root = this.rootHash(size);
      this.signed = { size, rootHash: toHex(root), note: signCheckpoint({ origin: this.keys.origin, size, rootHash: root }, [signer]), kid: signer.kid };
    }
    return this.signed;
  }

  /**
   * Appends one non-config event (launch, beacon, reveal, key rotation): `build` makes the leaf text
   * from the log as it stands (it may read entries, e.g. for a back-pointer) and is called again
   * if another writer appended first. Serialised with sync(). Returns the stored entry.
   */
  appendEvent(build: () => string): Promise<LogEntryRecord> {
    const next = this.running.then(async () => {
      for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
        await this.refresh();
        const leaf = build();
        const entry: LogEntryRecord = { index: this.entries.length, leaf, leafHash: leafHashHex(leaf), configVersion: null };
        if ((await this.store.appendLogEntry(entry)).ok) {
          this.add(entry);
          return entry;
        }
      }
      throw new Error(`transparency log: could not append an event after ${MAX_SYNC_ROUNDS} conflicting rounds`);
    });
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** The entries with index >= `from`, as loaded. */
  entriesFrom(from: number): readonly LogEntryRecord[] {
    return this.entries.slice(from);
  }

  entry(index: number): LogEntryRecord | undefined {
    return this.entries[index];
  }

  entryForConfig(version: number): LogEntryRecord | undefined {
    return this.entries.find((e) => e.configVersion === version);
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of the first `size` leaves (0 <= index < size <= log size). */
  inclusion(index: number, size: number): { leafHash: string; rootHash: string; proof: string[] } {
    const hashes = this.hashes.slice(0, size);
    return { leafHash: toHex(this.hashes[index]!), rootHash: toHex(rootFromLeafHashes(hashes)), proof: inclusionProof(hashes, index).map(toHex) };
  }

  /** RFC 9162 consistency proof between the trees of `from` and `to` leaves (1 <= from <= to <= log size). */
  consistency(from: number, to: number): { fromRoot: string; toRoot: string; proof: string[] } {
    const hashes = this.hashes.slice(0, to);
    return { fromRoot: toHex(rootFromLeafHashes(hashes.slice(0, from))), toRoot: toHex(rootFromLeafHashes(hashes)), proof: consistencyProof(hashes, from).map(toHex) };
  }
}
