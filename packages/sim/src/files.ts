/**
 * The files each stack leaves behind, in the formats the analysis engine reads
 * (packages/analysis/README.md, "Input formats"): CSV with a header, one row per exposure or event.
 * Sortition's exposures have the columns of the service's GET /v1/export/exposures; the naive
 * stack's have the flag version as `phase` and `config_version`, and its events carry the flag
 * value they were logged with (`flag_value`, which the engine ignores and the naive analysis uses).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExposureRow } from './backend.js';
import type { NaiveRun, StackTraffic } from './naive-stack.js';
import { NAIVE_EXPERIMENT } from './naive-stack.js';
import type { World } from './world.js';

export const METRIC = 'satisfied';

export interface StackFiles {
  readonly exposures: string;
  readonly events: string;
}

const iso = (t: number): string => new Date(t).toISOString();

async function write(path: string, header: string, rows: Iterable<string>): Promise<void> {
  const lines = [header];
  for (const r of rows) lines.push(r);
  await writeFile(path, `${lines.join('\n')}\n`, 'utf8');
}

function* eventRows(world: World, traffic: StackTraffic, flag: boolean): Iterable<string> {
  const { sessions } = world;
  for (let s = 0; s < sessions.count; s++) {
    const base = `${world.ids[sessions.user[s]!]!},${METRIC},${traffic.outcome[s]!},${iso(sessions.end[s]!)}`;
    yield flag ? `${base},${traffic.treated[s] === 1 ? 'treatment' : 'control'}` : base;
  }
}

export async function writeNaiveFiles(dir: string, world: World, run: NaiveRun): Promise<StackFiles> {
  await mkdir(dir, { recursive: true });
  const files = { exposures: join(dir, 'exposures.csv'), events: join(dir, 'events.csv') };
  const { sessions } = world;
  function* exposures(): Iterable<string> {
    for (let s = 0; s < sessions.count; s++) {
      const flag = run.versions[run.version[s]!]!;
      yield `${world.ids[sessions.user[s]!]!},${NAIVE_EXPERIMENT},${run.treated[s] === 1 ? 'treatment' : 'control'},${iso(sessions.start[s]!)},${flag.phase},${flag.version}`;
    }
  }
  await write(files.exposures, 'unit_id,experiment,variant,timestamp,phase,config_version', exposures());
  await write(files.events, 'unit_id,metric,value,timestamp,flag_value', eventRows(world, run, true));
  return files;
}

export async function writeSortitionFiles(dir: string, world: World, traffic: StackTraffic, exposures: readonly ExposureRow[]): Promise<StackFiles> {
  await mkdir(dir, { recursive: true });
  const files = { exposures: join(dir, 'exposures.csv'), events: join(dir, 'events.csv') };
  // Sorted, so the library's file and the service's export compare byte for byte (config versions aside).
  const sorted = [...exposures].sort((a, b) => a.at - b.at || (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0) || (a.phase < b.phase ? -1 : a.phase > b.phase ? 1 : 0));
  await write(
    files.exposures,
    'unit_type,unit_id,experiment,phase,variant,slot,config_version,timestamp',
    sorted.map((e) => `${e.unitType},${e.unit},${e.experiment},${e.phase},${e.variant},${e.slot},${e.configVersion},${iso(e.at)}`),
  );
  await write(files.events, 'unit_id,metric,value,timestamp', eventRows(world, traffic, false));
  return files;
}
