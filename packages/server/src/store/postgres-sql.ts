/**
 * All SQL of the PostgreSQL store (postgres.ts). Every table is named schema-qualified; the quoted
 * schema name is filled in once, when the store is created.
 */

const ASSIGNMENT_COLUMNS = 'unit_type, unit, experiment, lineage, phase, variant, slot, layer_epoch, config_version, assigned_at';
const EXPOSURE_COLUMNS = 'unit_type, unit, experiment, phase, variant, slot, config_version, first_at, source, count, last_at';
const CONFIG_SUMMARY_COLUMNS = 'version, hash, author, reason, created_at';
const KEY_COLUMNS = 'id, kind, hash, label, created_at, revoked_at';

/** The LISTEN/NOTIFY channel on which appendConfig announces a new version (payload: the schema name). */
export const CONFIG_CHANNEL = 'sortition_config';

/** All SQL of the store, with the quoted schema name filled in once. */
export function statements(s: string) {
  // The first-assignment insert of insertAssignments and enroll. Guard: nothing is inserted unless
  // $11 (the batch's oldest config version) is at least the head. FOR SHARE makes a concurrent
  // appendConfig (which updates the head row) wait for this insert to commit, and makes this insert
  // wait for an appendConfig in flight and then re-read the head it committed (READ COMMITTED
  // re-checks a locked row's newest version), so no first assignment under version v can commit
  // after version v + 1 has. RETURNING lists only the rows this statement inserted; the others
  // lost to an earlier row.
  const head = `head AS (SELECT version FROM ${s}.config_head WHERE id = 1 FOR SHARE)`;
  const guardedInsert = (returning: string): string => `INSERT INTO ${s}.assignments (${ASSIGNMENT_COLUMNS})
      SELECT ${ASSIGNMENT_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::integer[], $8::integer[], $9::integer[], $10::bigint[])
        WITH ORDINALITY AS t(${ASSIGNMENT_COLUMNS}, ord)
      WHERE NOT EXISTS (SELECT 1 FROM head WHERE head.version > $11::integer)
      ORDER BY ord
      ON CONFLICT (unit_type, unit, experiment, lineage) DO NOTHING
      RETURNING ${returning}`;
  return {
    getAssignments: `SELECT ${ASSIGNMENT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(unit_type, unit, experiment, ord)
      JOIN ${s}.assignments a ON a.unit_type = k.unit_type AND a.unit = k.unit AND a.experiment = k.experiment
      ORDER BY k.ord, a.lineage`,
    insertAssignments: `WITH ${head} ${guardedInsert('unit_type, unit, experiment, lineage')}`,
    configHead: `SELECT version FROM ${s}.config_head WHERE id = 1`,
    // insertAssignments (same guard), and in the same statement the exposure of each row it
    // inserted whose enrollment asked for one ($12: at, null for none; $13: source), in key order.
    // Inserted rows are distinct keys, so no exposure row is touched twice.
    enroll: `WITH ${head},
      ins AS (${guardedInsert('unit_type, unit, experiment, lineage, phase, variant, slot, config_version')}),
      exposed AS (
        INSERT INTO ${s}.exposures AS e (${EXPOSURE_COLUMNS})
        SELECT i.unit_type, i.unit, i.experiment, i.phase, i.variant, i.slot, i.config_version, w.at, w.source, 1, w.at
        FROM ins i
        JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[], $12::bigint[], $13::text[]) AS w(unit_type, unit, experiment, lineage, at, source)
          ON w.unit_type = i.unit_type AND w.unit = i.unit AND w.experiment = i.experiment AND w.lineage = i.lineage
        WHERE w.at IS NOT NULL
        ORDER BY i.unit_type, i.unit, i.experiment, i.phase
        ON CONFLICT (unit_type, unit, experiment, phase) DO UPDATE
          SET count = e.count + EXCLUDED.count, last_at = greatest(e.last_at, EXCLUDED.last_at))
      SELECT unit_type, unit, experiment, lineage FROM ins`,
    assignmentsByFullKey: `SELECT ${ASSIGNMENT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(unit_type, unit, experiment, lineage)
      JOIN ${s}.assignments a USING (unit_type, unit, experiment, lineage)`,
    recordExposures: `INSERT INTO ${s}.exposures AS e (${EXPOSURE_COLUMNS})
      SELECT ${EXPOSURE_COLUMNS}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[],
                  $7::integer[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[])
        WITH ORDINALITY AS t(${EXPOSURE_COLUMNS}, ord)
      ORDER BY ord
      ON CONFLICT (unit_type, unit, experiment, phase) DO UPDATE
        SET count = e.count + EXCLUDED.count, last_at = greatest(e.last_at, EXCLUDED.last_at)`,
    // A unit counts once, in its lowest in-range slot (a unit has one slot per lineage, so the min
    // only matters for inconsistent data).
    exposedSlotCounts: `SELECT slot, count(*) AS n FROM (
        SELECT min(slot) AS slot FROM ${s}.exposures
        WHERE experiment = $1 AND phase = ANY($2::text[]) AND slot >= 0 AND slot < $3
        GROUP BY unit_type, unit
      ) u GROUP BY slot`,
    assignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      ORDER BY unit_type, unit, experiment, lineage LIMIT $1`,
    assignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE (unit_type, unit, experiment, lineage) > ($2, $3, $4, $5)
      ORDER BY unit_type, unit, experiment, lineage LIMIT $1`,
    experimentAssignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE experiment = $2 ORDER BY unit_type, unit, lineage LIMIT $1`,
    experimentAssignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE experiment = $2 AND (unit_type, unit, lineage) > ($3, $4, $5)
      ORDER BY unit_type, unit, lineage LIMIT $1`,
    exposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      ORDER BY unit_type, unit, experiment, phase LIMIT $1`,
    exposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE (unit_type, unit, experiment, phase) > ($2, $3, $4, $5)
      ORDER BY unit_type, unit, experiment, phase LIMIT $1`,
    experimentExposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE experiment = $2 ORDER BY phase, unit_type, unit LIMIT $1`,
    experimentExposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE experiment = $2 AND (phase, unit_type, unit) > ($3, $4, $5)
      ORDER BY phase, unit_type, unit LIMIT $1`,
    latestVersion: `SELECT coalesce(max(version), 0) AS latest FROM ${s}.config_versions`,
    latestConfig: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM ${s}.config_versions ORDER BY version DESC LIMIT 1`,
    configByVersion: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM ${s}.config_versions WHERE version = $1`,
    listConfigs: `SELECT ${CONFIG_SUMMARY_COLUMNS} FROM ${s}.config_versions ORDER BY version`,
    // One statement, so one transaction, and no explicit lock: the head row (config_head) is the
    // lock. It moves from $1 - 1 to $1 in the statement that inserts version $1:
    // - No gap: the update (and so the insert) happens only if the head is $1 - 1 and so is
    //   max(version) (they move together; versions are never deleted).
    // - No duplicate: a racing publisher of the same version waits on the head row; once the first
    //   commits, READ COMMITTED re-checks the row, finds it moved, and updates (inserts) nothing: 0
    //   rows, VERSION_CONFLICT. If the first rolls back, the second proceeds.
    // - First assignments: the update waits for inserts holding the head row (FOR SHARE) to commit;
    //   see insertAssignments.
    // Under REPEATABLE READ or SERIALIZABLE (if a DBA made that the default) the loser gets a
    // serialization failure instead, which appendConfig also reports as VERSION_CONFLICT.
    appendConfig: `WITH head AS (
        UPDATE ${s}.config_head SET version = $1::integer
        WHERE id = 1 AND version = $1::integer - 1 AND (SELECT coalesce(max(version), 0) FROM ${s}.config_versions) = $1::integer - 1
        RETURNING version)
      , added AS (
        INSERT INTO ${s}.config_versions (version, doc, hash, author, reason, created_at, impact)
        SELECT $1::integer, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::text FROM head
        ON CONFLICT (version) DO NOTHING
        RETURNING version)
      -- Listening instances (watchConfig) hear of it when this commits; the payload is the schema.
      SELECT version, pg_notify('${CONFIG_CHANNEL}', $8::text) FROM added`,
    // As appendConfig: one statement, inserted only if the snapshot's size equals the index; the
    // primary key and the unique config_version turn a racing duplicate into 0 rows.
    appendLogEntry: `WITH size AS (SELECT coalesce(max(idx) + 1, 0) AS n FROM ${s}.log_entries)
      INSERT INTO ${s}.log_entries (idx, leaf, leaf_hash, config_version)
      SELECT $1::bigint, $2::text, $3::text, $4::integer FROM size WHERE size.n = $1::bigint
      ON CONFLICT DO NOTHING
      RETURNING idx`,
    logSize: `SELECT coalesce(max(idx) + 1, 0) AS size FROM ${s}.log_entries`,
    logEntries: `SELECT idx, leaf, leaf_hash, config_version FROM ${s}.log_entries WHERE idx >= $1 ORDER BY idx`,
    listSigningKeys: `SELECT kid, purpose, alg, public_key, private_key, created_at, rotated_at FROM ${s}.signing_keys ORDER BY created_at, kid`,
    insertSigningKey: `INSERT INTO ${s}.signing_keys (kid, purpose, alg, public_key, private_key, created_at, rotated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING kid`,
    // One statement: the insert runs only if the update retired the current key of that purpose.
    rotateSigningKey: `WITH retired AS (
        UPDATE ${s}.signing_keys SET rotated_at = $2 WHERE kid = $1 AND purpose = $4 AND rotated_at IS NULL RETURNING kid)
      INSERT INTO ${s}.signing_keys (kid, purpose, alg, public_key, private_key, created_at, rotated_at)
      SELECT $3, $4, $5, $6, $7, $8, NULL FROM retired RETURNING kid`,
    insertLayerSeed: `INSERT INTO ${s}.layer_seeds (seed_commit, layer, epoch, sealed, created_at) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT DO NOTHING RETURNING seed_commit`,
    layerSeed: `SELECT seed_commit, layer, epoch, sealed, created_at FROM ${s}.layer_seeds WHERE seed_commit = $1`,
    putKey: `INSERT INTO ${s}.api_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, hash = EXCLUDED.hash, label = EXCLUDED.label,
        created_at = EXCLUDED.created_at, revoked_at = EXCLUDED.revoked_at`,
    keyByHash: `SELECT ${KEY_COLUMNS} FROM ${s}.api_keys WHERE hash = $1`,
    listKeys: `SELECT ${KEY_COLUMNS} FROM ${s}.api_keys ORDER BY created_at, id`,
    revokeKey: `UPDATE ${s}.api_keys SET revoked_at = $2 WHERE id = $1`,
    createMigrationsTable: `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
        version    integer PRIMARY KEY,
        name       text    NOT NULL,
        applied_at bigint  NOT NULL
      )`,
    appliedMigrations: `SELECT version, name FROM ${s}.schema_migrations ORDER BY version`,
    recordMigration: `INSERT INTO ${s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
  } as const;
}

export type Statements = ReturnType<typeof statements>;
