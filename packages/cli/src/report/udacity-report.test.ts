// The Udacity landing-page data (../shared/data/ab_data.csv beside the checkout, uncleaned: 1,895
// users logged in both groups) converted to exposures/events CSV in a temp dir and rendered as the
// HTML report. SORTITION_REPORT_OUT=/tmp/udacity-report.html keeps a copy to look at. Fails, never
// skips, when the file is missing.
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAnalyze, runAnalyze } from '../commands/analyze.js';

const AB_DATA = fileURLToPath(new URL('../shared/data/ab_data.csv', new URL('../../../../', import.meta.url)));
let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the Udacity data through sortition analyze', () => {
  it('renders a self-contained HTML report with the crossover users', async () => {
    if (!existsSync(AB_DATA)) throw new Error(`${AB_DATA} is missing: put the Udacity ab_data.csv in ../shared/data/ beside the checkout`);
    dir = await mkdtemp(join(tmpdir(), 'sortition-udacity-report-'));
    const lines = (await readFile(AB_DATA, 'utf8')).split('\n').slice(1).filter((l) => l !== '');
    const exposures = ['unit_id,experiment,variant,timestamp'];
    const events = ['unit_id,metric,value,timestamp'];
    for (const line of lines) {
      const [user, timestamp, group, , converted] = line.split(',');
      exposures.push(`${user},landing_page,${group},${timestamp}`);
      if (converted === '1') events.push(`${user},converted,1,${timestamp}`);
    }
    await writeFile(join(dir, 'exposures.csv'), exposures.join('\n'));
    await writeFile(join(dir, 'events.csv'), events.join('\n'));
    const report = await runAnalyze({ exposures: join(dir, 'exposures.csv'), events: join(dir, 'events.csv'), metrics: ['converted:conversion'], splits: ['control:50,treatment:50'] });
    expect(report.experiment).toBe('landing_page');
    expect(report.units.total).toBe(290_584);
    expect(report.drift.crossoverUnits).toBe(1_895);
    const html = renderAnalyze(report, 'html');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('<svg ');
    const out = join(dir, 'udacity-report.html');
    await writeFile(out, html);
    const keep = process.env['SORTITION_REPORT_OUT'];
    if (keep !== undefined && keep !== '') await copyFile(out, keep);
    expect(renderAnalyze(report, 'text')).toContain('crossover units: 1,895 of 290,584');
  });
});
