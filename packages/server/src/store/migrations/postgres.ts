/**
 * PostgreSQL schema migrations, in order. Append new entries; never edit a released one.
 *
 * `up` receives the already quoted schema identifier and returns the SQL to run; every name is
 * schema-qualified so the result does not depend on the connection's search_path.
 *
 * Text columns use the database's default collation; keyset pagination only needs the ORDER BY and
 * the row comparison to use the same (deterministic) collation, which they do.
 * Timestamps are BIGINT milliseconds. The config document and the impact report are TEXT holding
 * JSON.stringify output: JSONB would reorder keys and normalize the text, and the document's hash
 * is published, so it is kept byte for byte.
 */
import type { Migration } from './plan.js';

export type PostgresMigrationBody = (schema: string) => string;

export const POSTGRES_MIGRATIONS: readonly Migration<PostgresMigrationBody>[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    up: (s: string) => `
      CREATE TABLE ${s}.assignments (
        unit_type      text    NOT NULL,
        unit           text    NOT NULL,
        experiment     text    NOT NULL,
        lineage        text    NOT NULL,
        phase          text    NOT NULL,
        variant        text    NOT NULL,
        slot           integer NOT NULL,
        layer_epoch    integer NOT NULL,
        config_version integer NOT NULL,
        assigned_at    bigint  NOT NULL,
        PRIMARY KEY (unit_type, unit, experiment, lineage)
      );
      -- Export of one experiment, in keyset order.
      CREATE INDEX assignments_by_experiment ON ${s}.assignments (experiment, unit_type, unit, lineage);

      CREATE TABLE ${s}.exposures (
        unit_type      text    NOT NULL,
        unit           text    NOT NULL,
        experiment     text    NOT NULL,
        phase          text    NOT NULL,
        variant        text    NOT NULL,
        slot           integer NOT NULL,
        config_version integer NOT NULL,
        first_at       bigint  NOT NULL,
        source         text    NOT NULL,
        count          bigint  NOT NULL CHECK (count >= 1),
        last_at        bigint  NOT NULL,
        PRIMARY KEY (unit_type, unit, experiment, phase)
      );
      -- exposedSlotCounts (index-only: slot is included) and export of one experiment in keyset order.
      CREATE INDEX exposures_by_experiment_phase ON ${s}.exposures (experiment, phase, unit_type, unit) INCLUDE (slot);

      CREATE TABLE ${s}.config_versions (
        version    integer PRIMARY KEY CHECK (version >= 1),
        doc        text    NOT NULL,
        hash       text    NOT NULL,
        author     text    NOT NULL,
        reason     text    NOT NULL,
        created_at bigint  NOT NULL,
        impact     text    NOT NULL
      );

      CREATE TABLE ${s}.api_keys (
        id         text    PRIMARY KEY,
        kind       text    NOT NULL CHECK (kind IN ('admin', 'sdk', 'read')),
        hash       text    NOT NULL,
        label      text    NOT NULL,
        created_at bigint  NOT NULL,
        revoked_at bigint
      );
      CREATE UNIQUE INDEX api_keys_hash ON ${s}.api_keys (hash);
    `,
  },
  {
    version: 2,
    name: 'transparency log and signing keys',
    up: (s: string) => `
      -- The transparency log of config history: leaf bytes stored verbatim (canonical JSON text).
      CREATE TABLE ${s}.log_entries (
        idx            bigint  PRIMARY KEY CHECK (idx >= 0),
        leaf           text    NOT NULL,
        leaf_hash      text    NOT NULL,
        config_version integer UNIQUE
      );

      -- Service signing keys (checkpoints, receipts). private_key is never served.
      CREATE TABLE ${s}.signing_keys (
        kid         text    PRIMARY KEY,
        purpose     text    NOT NULL CHECK (purpose IN ('checkpoint', 'receipt')),
        alg         text    NOT NULL CHECK (alg = 'Ed25519'),
        public_key  text    NOT NULL,
        private_key text    NOT NULL,
        created_at  bigint  NOT NULL,
        rotated_at  bigint
      );
      -- One current key per purpose.
      CREATE UNIQUE INDEX signing_keys_current ON ${s}.signing_keys (purpose) WHERE rotated_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'committed layer seeds',
    up: (s: string) => `
      -- Secret seeds of committed layers (spec 4.1), sealed; keyed by their logged commitment.
      CREATE TABLE ${s}.layer_seeds (
        seed_commit text    PRIMARY KEY,
        layer       text    NOT NULL,
        epoch       integer NOT NULL CHECK (epoch >= 1),
        sealed      text    NOT NULL,
        created_at  bigint  NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'metric events',
    up: (s: string) => `
      -- Metric events reported by SDKs (POST /v1/metrics): append-only, in arrival order (seq).
      -- event_id is the client's optional id for idempotent retries: unique when present.
      CREATE TABLE ${s}.metric_events (
        seq         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        unit_type   text    NOT NULL,
        unit        text    NOT NULL,
        metric      text    NOT NULL,
        -- Finite only ('NaN' sorts above 'Infinity' in PostgreSQL, so this excludes it too).
        value       double precision NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
        at          bigint  NOT NULL,
        event_id    text,
        received_at bigint  NOT NULL
      );
      -- Export and summary of one unit type, in seq order.
      CREATE INDEX metric_events_by_unit_type ON ${s}.metric_events (unit_type, seq);
      CREATE UNIQUE INDEX metric_events_event_id ON ${s}.metric_events (event_id) WHERE event_id IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'config head',
    up: (s: string) => `
      -- The latest config version, in one row. appendConfig advances it in the statement that adds
      -- the version; a first assignment's insert holds a share lock on it and is refused unless it
      -- was made under this version. The two exclude each other, so an assignment under version v
      -- commits before version v + 1 does, or is not stored (store/postgres-sql.ts).
      CREATE TABLE ${s}.config_head (
        id      smallint PRIMARY KEY CHECK (id = 1),
        version integer  NOT NULL CHECK (version >= 0)
      );
      INSERT INTO ${s}.config_head (id, version) SELECT 1, coalesce(max(version), 0) FROM ${s}.config_versions;
    `,
  },
]);
