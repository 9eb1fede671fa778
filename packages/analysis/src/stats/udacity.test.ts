// The Udacity landing-page test (ab_data.csv, 294,478 rows) through the two-proportion z-test, with
// the standard cleaning: drop rows whose group and landing_page disagree, then keep each user's
// first remaining row. The file lives outside the repository, in ../shared/data/ beside the
// checkout; without it this test fails (it never skips).
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectClose, reference } from '../test-support/reference.js';
import { twoProportionZTest } from './proportion-test.js';
import { sequentialSrm } from './sequential-srm.js';
import { srmChiSquare } from './srm.js';

const REPO_ROOT = new URL('../../../../', import.meta.url);
const AB_DATA = fileURLToPath(new URL('../shared/data/ab_data.csv', REPO_ROOT));
const HEADER = 'user_id,timestamp,group,landing_page,converted';

type Group = 'control' | 'treatment';
interface Tally {
  n: number;
  conversions: number;
}

interface Cleaned {
  rows: number;
  users: number;
  usersWithSeveralRows: number;
  mismatchedRows: number;
  usersWithMismatchedRows: number;
  crossoverUsers: Set<string>;
  duplicateRows: number;
  kept: Map<string, { group: Group; converted: number }>;
}

/** Streams the CSV line by line (no quoting in this file: every field is a plain token). */
async function readAbData(path: string): Promise<Cleaned> {
  const rowsPerUser = new Map<string, number>();
  const groupsPerUser = new Map<string, Set<Group>>();
  const mismatchedUsers = new Set<string>();
  const kept = new Map<string, { group: Group; converted: number }>();
  let rows = 0;
  let mismatchedRows = 0;
  let duplicateRows = 0;
  let header: string | undefined;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (header === undefined) {
      header = line;
      if (header !== HEADER) throw new Error(`${path}: expected header "${HEADER}", got "${header}"`);
      continue;
    }
    if (line === '') continue;
    const [user, , group, page, converted] = line.split(',');
    if (user === undefined || (group !== 'control' && group !== 'treatment') || (converted !== '0' && converted !== '1')) {
      throw new Error(`${path}: malformed row ${rows + 1}: ${line}`);
    }
    rows++;
    rowsPerUser.set(user, (rowsPerUser.get(user) ?? 0) + 1);
    const groups = groupsPerUser.get(user) ?? new Set<Group>();
    groups.add(group);
    groupsPerUser.set(user, groups);
    if ((group === 'treatment') !== (page === 'new_page')) {
      mismatchedRows++;
      mismatchedUsers.add(user);
      continue;
    }
    if (kept.has(user)) {
      duplicateRows++;
      continue;
    }
    kept.set(user, { group, converted: Number(converted) });
  }
  return {
    rows,
    users: groupsPerUser.size,
    usersWithSeveralRows: [...rowsPerUser.values()].filter((k) => k > 1).length,
    mismatchedRows,
    usersWithMismatchedRows: mismatchedUsers.size,
    crossoverUsers: new Set([...groupsPerUser].filter(([, g]) => g.size > 1).map(([u]) => u)),
    duplicateRows,
    kept,
  };
}

function tally(kept: Cleaned['kept'], include: (user: string) => boolean): Record<Group, Tally> {
  const out: Record<Group, Tally> = { control: { n: 0, conversions: 0 }, treatment: { n: 0, conversions: 0 } };
  for (const [user, row] of kept) {
    if (!include(user)) continue;
    out[row.group].n++;
    out[row.group].conversions += row.converted;
  }
  return out;
}

let loading: Promise<Cleaned> | undefined;

/** Reads the file once per run; every test awaits it, so a missing file fails each of them. */
function load(): Promise<Cleaned> {
  if (!existsSync(AB_DATA)) {
    throw new Error(
      `The Udacity check needs ${AB_DATA} (../shared/data/ab_data.csv relative to the repository root), and it is missing. ` +
        'Put the shared data directory beside the checkout; this test fails rather than skips without it.',
    );
  }
  loading ??= readAbData(AB_DATA);
  return loading;
}

describe('Udacity landing-page test (../shared/data/ab_data.csv)', () => {
  const ref = reference.udacity;

  it('counts the raw rows, the mismatched rows and the crossover units', async () => {
    const data = await load();
    expect(data.rows).toBe(294_478);
    expect(data.users).toBe(290_584);
    expect(data.usersWithSeveralRows).toBe(3_894);
    expect(data.mismatchedRows).toBe(3_893);
    expect(data.usersWithMismatchedRows).toBe(3_893);
    expect(data.crossoverUsers.size).toBe(1_895);
    expect(data.duplicateRows).toBe(1);
    expect(data.kept.size).toBe(290_584);
    const crossoverKept = tally(data.kept, (u) => data.crossoverUsers.has(u));
    expect({ control: crossoverKept.control.n, treatment: crossoverKept.treatment.n }).toEqual({ control: 974, treatment: 921 });
    // The same counts from the Python reference script.
    expect({
      rows: data.rows,
      users: data.users,
      usersWithSeveralRows: data.usersWithSeveralRows,
      mismatchedRows: data.mismatchedRows,
      usersWithMismatchedRows: data.usersWithMismatchedRows,
      crossoverUsers: data.crossoverUsers.size,
      crossoverUsersKept: { control: crossoverKept.control.n, treatment: crossoverKept.treatment.n },
      duplicateRowsAfterMismatchDrop: data.duplicateRows,
      cleanRows: data.kept.size,
    }).toEqual({
      rows: ref.rows,
      users: ref.users,
      usersWithSeveralRows: ref.usersWithSeveralRows,
      mismatchedRows: ref.mismatchedRows,
      usersWithMismatchedRows: ref.usersWithMismatchedRows,
      crossoverUsers: ref.crossoverUsers,
      crossoverUsersKept: ref.crossoverUsersKept,
      duplicateRowsAfterMismatchDrop: ref.duplicateRowsAfterMismatchDrop,
      cleanRows: ref.cleanRows,
    });
  });

  it('reproduces 17,489/145,274 vs 17,264/145,310, z = -1.3109, p = 0.1899', async () => {
    const data = await load();
    const arms = tally(data.kept, () => true);
    expect(arms.control).toEqual({ n: 145_274, conversions: 17_489 });
    expect(arms.treatment).toEqual({ n: 145_310, conversions: 17_264 });
    expect(arms).toEqual({ control: ref.control, treatment: ref.treatment });

    const r = twoProportionZTest(arms.control, arms.treatment);
    expect(r.control.proportion.toFixed(7)).toBe('0.1203863');
    expect(r.treatment.proportion.toFixed(7)).toBe('0.1188081');
    expect(r.z.toFixed(4)).toBe('-1.3109');
    expect(r.pValue.toFixed(4)).toBe('0.1899');
    expectClose('twoProportionZTest', 'udacity z', r.z, ref.expected.z);
    expectClose('twoProportionZTest', 'udacity pValue', r.pValue, ref.expected.pValue);
    expectClose('twoProportionZTest', 'udacity difference.lower', r.difference.lower, ref.expected.difference.lower);
    expectClose('twoProportionZTest', 'udacity difference.upper', r.difference.upper, ref.expected.difference.upper);
    expectClose('relativeLift', 'udacity relative', r.relative?.estimate ?? Number.NaN, ref.expected.relative?.estimate ?? Number.NaN);
  });

  it('shows no sample ratio mismatch against the 50/50 split', async () => {
    const data = await load();
    const arms = tally(data.kept, () => true);
    const srm = srmChiSquare([arms.control.n, arms.treatment.n], [1, 1]);
    expectClose('srmChiSquare', 'udacity pValue', srm.pValue, ref.srm.pValue);
    expect(srm.status).toBe('ok');
    const sequential = sequentialSrm([arms.control.n, arms.treatment.n], [1, 1]);
    expectClose('sequentialSrm', 'udacity logBayesFactor', sequential.logBayesFactor, ref.sequentialSrm.logBayesFactor);
    expect(sequential.status).toBe('ok');
  });

  it('gives the same conclusion without the crossover units', async () => {
    const data = await load();
    const arms = tally(data.kept, (u) => !data.crossoverUsers.has(u));
    expect(arms).toEqual({ control: ref.withoutCrossover.control, treatment: ref.withoutCrossover.treatment });
    const r = twoProportionZTest(arms.control, arms.treatment);
    expectClose('twoProportionZTest', 'udacity without crossover z', r.z, ref.withoutCrossover.expected.z);
    expectClose('twoProportionZTest', 'udacity without crossover pValue', r.pValue, ref.withoutCrossover.expected.pValue);
    expect(r.pValue).toBeGreaterThan(0.05);
  });
});
