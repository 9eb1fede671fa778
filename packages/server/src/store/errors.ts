/**
 * Typed errors of the store layer that callers act on (other failures are plain errors naming the
 * driver and the operation).
 */

/**
 * A first assignment was made under a config version that is no longer the latest: a newer version
 * was published (possibly by another instance) after this process loaded its config. Nothing of the
 * batch was written. The caller reloads the config and evaluates again; that is what keeps every
 * first assignment made under the version in force, and lets an instance trust what it read under
 * that version (assignments/evaluator.ts).
 */
export class StaleConfigError extends Error {
  readonly code = 'STALE_CONFIG';
  constructor(
    /** The oldest config version among the batch's records. */
    readonly configVersion: number,
    /** The latest version the store holds. */
    readonly latest: number,
  ) {
    super(`config version ${configVersion} is no longer the latest (${latest} is): reload the config and evaluate again`);
    this.name = 'StaleConfigError';
  }
}

/** The oldest config version of a batch of records (Infinity for none). */
export function oldestVersion(records: readonly { readonly configVersion: number }[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const r of records) if (r.configVersion < min) min = r.configVersion;
  return min;
}
