/**
 * The store: the one interface every persistence driver implements (memory, SQLite, PostgreSQL),
 * and that one conformance suite (conformance.ts) checks for all of them.
 *
 * Semantics every driver must keep:
 *  - assignments are first-write-wins per (unitType, unit, experiment, lineage) and never change;
 *    insertAssignments returns the stored winner for every input, so two racing writers agree;
 *  - a first assignment is only ever stored under the latest config version: insertAssignments and
 *    enroll write nothing and reject with StaleConfigError (errors.ts) when a record's configVersion
 *    is older than the latest appended version. On a store shared by several processes this check
 *    and appendConfig exclude each other: a first assignment under version v commits before version
 *    v + 1 does, or is refused;
 *  - exposures: the first per (unitType, unit, experiment, phase) is stored as it came, later ones
 *    only raise its count and last-seen time;
 *  - config versions are append-only and numbered 1, 2, 3, ... with no gaps; appendConfig succeeds
 *    only for latest + 1, so two concurrent publishers cannot both win;
 *  - log entries are append-only and numbered 0, 1, 2, ... with no gaps (appendLogEntry succeeds
 *    only for index = size), and a config version is logged at most once;
 *  - one current signing key per purpose; rotation retires it and stores its successor atomically;
 *  - layer seeds are stored once per commitment and never change;
 *  - metric events are append-only and never de-duplicated by content (a repeated event is a real
 *    event); only an event carrying a client id that is stored already is skipped (idempotent retries);
 *  - everything a method resolved is durable (committed) when its promise resolves.
 */

/** A stored first assignment: what the unit was given, and under which config. */
export interface StoredAssignment {
  readonly unitType: string;
  /** Canonical (NFC) unit id. */
  readonly unit: string;
  readonly experiment: string;
  /** Id of the phase that opened the unit's current lineage (the last re-randomizing phase, or the first phase). */
  readonly lineage: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly layerEpoch: number;
  readonly configVersion: number;
  /** Milliseconds since the epoch. */
  readonly assignedAt: number;
}

export interface AssignmentKey {
  readonly unitType: string;
  readonly unit: string;
  readonly experiment: string;
}

export interface ExposureInput {
  readonly unitType: string;
  readonly unit: string;
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly configVersion: number;
  readonly at: number;
  /** Where the exposure was observed: "server", "sdk", ... */
  readonly source: string;
  /** How many exposures this event stands for (aggregated repeats); default 1. */
  readonly count?: number;
}

export interface StoredExposure extends ExposureInput {
  /** How many exposures were reported for this (unit, experiment, phase), the first included. */
  readonly count: number;
  readonly lastAt: number;
}

export interface ConfigVersionRecord {
  readonly version: number;
  /** The config document exactly as published (its `version` field equals `version`). */
  readonly doc: unknown;
  /** SHA-256 (hex) of the canonical JSON of `doc`. */
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
  /** The planner's impact report for the change from the previous version (null for version 1). */
  readonly impact: unknown;
}

export type ConfigVersionSummary = Omit<ConfigVersionRecord, 'doc' | 'impact'>;

export type KeyKind = 'admin' | 'sdk' | 'read';

export interface ApiKeyRecord {
  readonly id: string;
  readonly kind: KeyKind;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  readonly hash: string;
  readonly label: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** A first assignment to store, and optionally its first exposure (of whatever variant is stored). */
export interface Enrollment {
  readonly assignment: StoredAssignment;
  /**
   * Recorded for the stored winner: its variant and slot, this assignment's phase and config
   * version; not recorded if the winner was assigned in another phase (records.ts).
   */
  readonly exposure: { readonly at: number; readonly source: string } | null;
}

/** A subscription to config versions appended by other processes (Store.watchConfig). */
export interface ConfigWatch {
  /** Resolves once the first attempt to start listening has finished (whether or not it succeeded). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** What enroll() did with one enrollment. */
export interface EnrollOutcome {
  /** The record stored for the key afterwards: the enrollment's, or the one stored before it. */
  readonly assignment: StoredAssignment;
  /** Whether this call stored the enrollment's record (false: another was stored first, or earlier in the batch). */
  readonly stored: boolean;
}

export interface ExportFilter {
  readonly experiment?: string | undefined;
}

/** One leaf of the transparency log (see proofs/log.ts). Append-only; index 0, 1, 2, ... with no gaps. */
export interface LogEntryRecord {
  readonly index: number;
  /** The leaf bytes, as the UTF-8 text they encode (RFC 8785 canonical JSON); stored verbatim. */
  readonly leaf: string;
  /** hex SHA-256(0x00 || leaf bytes) (RFC 9162 leaf hash). */
  readonly leafHash: string;
  /** The config version this leaf logs (each is logged at most once); null for other event types. */
  readonly configVersion: number | null;
}

export type SigningKeyPurpose = 'checkpoint' | 'receipt';

/** A service signing key. The private key never leaves the store except to sign. */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly purpose: SigningKeyPurpose;
  readonly alg: 'Ed25519';
  /** hex of the 32-byte Ed25519 public key. */
  readonly publicKey: string;
  /** hex of the 32-byte Ed25519 secret key (RFC 8032 seed). Never served. */
  readonly privateKey: string;
  readonly createdAt: number;
  readonly rotatedAt: number | null;
}

/**
 * The secret seed of a committed layer (spec §4.1), sealed at rest (see proofs/sealing.ts). It is
 * read only to derive the layer key and to reveal it; no response, export or log line carries it
 * before the reveal.
 */
export interface LayerSeedRecord {
  /** hex SHA-256("sortition/v1/seed" || 0x00 || seed): the commitment logged at launch. */
  readonly seedCommit: string;
  readonly layer: string;
  readonly epoch: number;
  /** The sealed seed ("aes-256-gcm:..." or "plain:..."; see proofs/sealing.ts). */
  readonly sealed: string;
  readonly createdAt: number;
}

export type LogAppendResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'INDEX_CONFLICT'; readonly size: number };

/** A metric event as SDKs report it (POST /v1/metrics). */
export interface MetricEventInput {
  readonly unitType: string;
  /** Canonical (NFC) unit id, as exposures carry it. */
  readonly unit: string;
  readonly metric: string;
  /** A finite number. */
  readonly value: number;
  /** When it happened: integer milliseconds since the epoch. */
  readonly at: number;
  /**
   * The client's id for the event, for idempotent retries: an event whose id is stored already (or
   * that repeats an id earlier in the same batch) is skipped. null: always stored.
   */
  readonly id: string | null;
  /** When the service received it: milliseconds since the epoch. */
  readonly receivedAt: number;
}

export interface StoredMetricEvent extends MetricEventInput {
  /** Position in the append order: increasing, not necessarily without gaps. */
  readonly seq: number;
}

export interface MetricFilter {
  readonly unitType?: string | undefined;
}

export interface MetricAppendResult {
  /** Events stored by this call. */
  readonly stored: number;
  /** Events skipped because their id was stored already (or repeated within the batch). */
  readonly duplicates: number;
}

/** The stored events of one metric name. */
export interface MetricSummary {
  readonly metric: string;
  readonly events: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

export type AppendResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'VERSION_CONFLICT'; readonly latest: number };

export interface Store {
  readonly driver: 'memory' | 'sqlite' | 'postgres';
  /**
   * True when this process is the only writer of the store (memory; an SQLite file served by one
   * process, which `sortition serve` enforces with a lock file). Only then may a process trust its
   * own knowledge that a unit holds no assignment, because nobody else can have written one since.
   */
  readonly singleWriter: boolean;

  /**
   * Calls `onChange` soon after another process appends a config version, on stores several
   * processes share (PostgreSQL: LISTEN/NOTIFY), and once after each (re)connect. Callers keep
   * polling as well: changes made while the watch is disconnected are announced only by that one
   * call. Single-writer stores have none: every change is made by this process.
   */
  watchConfig?(onChange: () => void, onError: (error: Error) => void): ConfigWatch;

  /** Applies pending schema migrations (idempotent; safe to call from several processes at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Every stored assignment (all lineages) for the given keys. */
  getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]>;
  /**
   * Inserts each record unless one exists for its (unitType, unit, experiment, lineage); returns,
   * in input order, the record that is stored afterwards (the input, or the earlier winner).
   * Rejects with StaleConfigError, writing nothing, if any record's configVersion is older than the
   * latest appended config version.
   */
  insertAssignments(records: readonly StoredAssignment[]): Promise<StoredAssignment[]>;

  /**
   * insertAssignments for the enrollments' assignments, then records each requested exposure for the
   * stored winner. SQLite and PostgreSQL do both in one transaction (one commit).
   * Returns, in input order, the winner and whether this call stored it.
   */
  enroll(enrollments: readonly Enrollment[]): Promise<EnrollOutcome[]>;

  /** Stores first exposures and counts repeats, in one transaction. */
  recordExposures(events: readonly ExposureInput[]): Promise<void>;
  /** Exposed-unit counts per slot (distinct units) for one experiment and lineage's phases. */
  exposedSlotCounts(experiment: string, phases: readonly string[], slots: number): Promise<Uint32Array>;

  exportAssignments(filter: ExportFilter): AsyncIterable<StoredAssignment>;
  exportExposures(filter: ExportFilter): AsyncIterable<StoredExposure>;

  /**
   * Appends metric events in input order, in one transaction. Events are never merged; an event
   * whose id is already stored, or repeats an id earlier in the batch, is skipped and counted.
   */
  appendMetricEvents(events: readonly MetricEventInput[]): Promise<MetricAppendResult>;
  /** Stored metric events in append order (seq), optionally of one unit type. */
  exportMetricEvents(filter: MetricFilter): AsyncIterable<StoredMetricEvent>;
  /** Per metric name (in byte order): how many events are stored and their first and last time. */
  metricSummary(filter: MetricFilter): Promise<MetricSummary[]>;

  latestConfig(): Promise<ConfigVersionRecord | null>;
  getConfig(version: number): Promise<ConfigVersionRecord | null>;
  listConfigs(): Promise<ConfigVersionSummary[]>;
  /** Appends `record` if and only if its version is the latest + 1 (1 for an empty history). */
  appendConfig(record: ConfigVersionRecord): Promise<AppendResult>;

  /**
   * Appends `entry` if and only if its index is the current log size and its config version (if
   * any) is not logged yet; otherwise INDEX_CONFLICT with the current size.
   */
  appendLogEntry(entry: LogEntryRecord): Promise<LogAppendResult>;
  /** Log entries with index >= `from`, in index order. */
  logEntries(from: number): Promise<LogEntryRecord[]>;

  /** Every signing key, current and rotated, oldest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Stores a new current key for its purpose unless one exists (one current key per purpose, so
   * instances starting at once agree); returns whether this record was stored.
   */
  insertSigningKey(record: SigningKeyRecord): Promise<boolean>;
  /**
   * Rotation, atomically: sets rotatedAt = `at` on the current key `retiringKid` and stores `next`
   * (same purpose, rotatedAt null) as the new current key. False (and nothing changed) when
   * `retiringKid` is not the current key of `next.purpose` (someone else rotated first).
   */
  rotateSigningKey(retiringKid: string, at: number, next: SigningKeyRecord): Promise<boolean>;

  /** Stores a committed layer's sealed seed; false when its commitment is already stored. */
  putLayerSeed(record: LayerSeedRecord): Promise<boolean>;
  getLayerSeed(seedCommit: string): Promise<LayerSeedRecord | null>;

  putKey(record: ApiKeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  listKeys(): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at: number): Promise<boolean>;
}
