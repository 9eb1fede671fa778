/**
 * Versioned schema migrations, shared by the SQLite and PostgreSQL drivers.
 *
 * A driver keeps an ordered list of migrations numbered 1, 2, 3, ... and a table
 * schema_migrations(version, name, applied_at). migrate() reads the applied rows (inside the
 * driver's migration lock), asks pendingMigrations() what is left, and applies it in the same
 * transaction. Migrations are append-only: a released migration is never edited or renumbered.
 */

export interface Migration<Body> {
  readonly version: number;
  readonly name: string;
  readonly up: Body;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
}

/** Throws if the list is not numbered 1..n in order or has duplicate names. */
export function checkMigrationList<Body>(migrations: readonly Migration<Body>[]): void {
  const names = new Set<string>();
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is not numbered 1..n: entry ${i} has version ${m.version}`);
    if (names.has(m.name)) throw new Error(`migration name ${JSON.stringify(m.name)} is used twice`);
    names.add(m.name);
  });
}

/**
 * The migrations still to apply, in order. Refuses a database that has a version this build does
 * not know (written by a newer release) or whose recorded name differs (a different history).
 */
export function pendingMigrations<Body>(known: readonly Migration<Body>[], applied: readonly AppliedMigration[]): Migration<Body>[] {
  checkMigrationList(known);
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const done = new Set<number>();
  for (const row of applied) {
    const m = byVersion.get(row.version);
    if (m === undefined) {
      throw new Error(`the database has schema migration ${row.version} (${row.name}), which this build does not know: it was migrated by a newer release`);
    }
    if (m.name !== row.name) {
      throw new Error(`schema migration ${row.version} is recorded as ${JSON.stringify(row.name)} but this build calls it ${JSON.stringify(m.name)}`);
    }
    done.add(row.version);
  }
  const pending = known.filter((m) => !done.has(m.version));
  const firstPending = pending[0];
  if (firstPending !== undefined && [...done].some((v) => v > firstPending.version)) {
    throw new Error(`schema migrations are applied out of order: ${firstPending.version} is missing below ${Math.max(...done)}`);
  }
  return pending;
}
