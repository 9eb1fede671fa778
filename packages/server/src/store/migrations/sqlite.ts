/**
 * SQLite schema migrations, in order. Append new entries; never edit a released one.
 *
 * Tables are STRICT (a value of the wrong type is an error instead of being stored as-is) and the
 * two hot tables are WITHOUT ROWID: their primary key is the natural composite key, so a lookup is
 * one B-tree search and the table is stored once (a rowid table would keep the row plus a separate
 * copy of the key in the primary-key index). Exports page through the primary key or the
 * by-experiment index (keyset pagination), so no rowid is needed.
 */
import type { Migration } from './plan.js';

export const SQLITE_MIGRATIONS: readonly Migration<string>[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    up: `
      CREATE TABLE assignments (
        unit_type      TEXT    NOT NULL,
        unit           TEXT    NOT NULL,
        experiment     TEXT    NOT NULL,
        lineage        TEXT    NOT NULL,
        phase          TEXT    NOT NULL,
        variant        TEXT    NOT NULL,
        slot           INTEGER NOT NULL,
        layer_epoch    INTEGER NOT NULL,
        config_version INTEGER NOT NULL,
        assigned_at    INTEGER NOT NULL,
        PRIMARY KEY (unit_type, unit, experiment, lineage)
      ) STRICT, WITHOUT ROWID;
      -- Export of one experiment, in keyset order.
      CREATE INDEX assignments_by_experiment ON assignments (experiment, unit_type, unit, lineage);

      CREATE TABLE exposures (
        unit_type      TEXT    NOT NULL,
        unit           TEXT    NOT NULL,
        experiment     TEXT    NOT NULL,
        phase          TEXT    NOT NULL,
        variant        TEXT    NOT NULL,
        slot           INTEGER NOT NULL,
        config_version INTEGER NOT NULL,
        first_at       INTEGER NOT NULL,
        source         TEXT    NOT NULL,
        count          INTEGER NOT NULL CHECK (count >= 1),
        last_at        INTEGER NOT NULL,
        PRIMARY KEY (unit_type, unit, experiment, phase)
      ) STRICT, WITHOUT ROWID;
      -- exposedSlotCounts (covering: slot is in the index) and export of one experiment in keyset order.
      CREATE INDEX exposures_by_experiment_phase ON exposures (experiment, phase, unit_type, unit, slot);

      CREATE TABLE config_versions (
        version    INTEGER PRIMARY KEY CHECK (version >= 1),
        doc        TEXT    NOT NULL,
        hash       TEXT    NOT NULL,
        author     TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        impact     TEXT    NOT NULL
      ) STRICT;

      CREATE TABLE api_keys (
        id         TEXT    PRIMARY KEY NOT NULL,
        kind       TEXT    NOT NULL CHECK (kind IN ('admin', 'sdk', 'read')),
        hash       TEXT    NOT NULL,
        label      TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
    `,
  },
  {
    version: 2,
    name: 'transparency log and signing keys',
    up: `
      -- The transparency log of config history: leaf bytes stored verbatim (canonical JSON text).
      CREATE TABLE log_entries (
        idx            INTEGER PRIMARY KEY CHECK (idx >= 0),
        leaf           TEXT    NOT NULL,
        leaf_hash      TEXT    NOT NULL,
        config_version INTEGER UNIQUE
      ) STRICT;

      -- Service signing keys (checkpoints, receipts). private_key is never served.
      CREATE TABLE signing_keys (
        kid         TEXT    PRIMARY KEY NOT NULL,
        purpose     TEXT    NOT NULL CHECK (purpose IN ('checkpoint', 'receipt')),
        alg         TEXT    NOT NULL CHECK (alg = 'Ed25519'),
        public_key  TEXT    NOT NULL,
        private_key TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        rotated_at  INTEGER
      ) STRICT;
      -- One current key per purpose.
      CREATE UNIQUE INDEX signing_keys_current ON signing_keys (purpose) WHERE rotated_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'committed layer seeds',
    up: `
      -- Secret seeds of committed layers (spec 4.1), sealed; keyed by their logged commitment.
      CREATE TABLE layer_seeds (
        seed_commit TEXT    PRIMARY KEY NOT NULL,
        layer       TEXT    NOT NULL,
        epoch       INTEGER NOT NULL CHECK (epoch >= 1),
        sealed      TEXT    NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'metric events',
    up: `
      -- Metric events reported by SDKs (POST /v1/metrics): append-only, in arrival order (seq, the
      -- rowid). event_id is the client's optional id for idempotent retries: unique when present.
      CREATE TABLE metric_events (
        seq         INTEGER PRIMARY KEY,
        unit_type   TEXT    NOT NULL,
        unit        TEXT    NOT NULL,
        metric      TEXT    NOT NULL,
        -- Finite only (NaN cannot be stored: it reads as NULL).
        value       REAL    NOT NULL CHECK (abs(value) <= 1.7976931348623157e308),
        at          INTEGER NOT NULL,
        event_id    TEXT,
        received_at INTEGER NOT NULL
      ) STRICT;
      -- Export and summary of one unit type, in seq order (the rowid is the index's last column).
      CREATE INDEX metric_events_by_unit_type ON metric_events (unit_type);
      CREATE UNIQUE INDEX metric_events_event_id ON metric_events (event_id) WHERE event_id IS NOT NULL;
    `,
  },
]);
