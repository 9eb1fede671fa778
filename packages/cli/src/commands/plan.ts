import { readFile } from 'node:fs/promises';
import { plan, type ExposedUnits, type PlanReport } from '@sortition/core';
import { CliError, parseNow, readConfigDocument } from '../config-file.js';

export interface PlanOptions {
  readonly current: string;
  readonly proposed: string;
  readonly now?: string | undefined;
  readonly exposed?: string | undefined;
  readonly clock: () => number;
}

/** Reads exposed units from JSON Lines: one {"experiment": "...", "unit_id": "..."} per line. */
export async function readExposed(file: string): Promise<Map<string, ExposedUnits>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('EXPOSED_UNREADABLE', `${file}: cannot read exposures (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  const byExperiment = new Map<string, string[]>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new CliError('EXPOSED_INVALID', `${file}:${index + 1}: not JSON; each line must be {"experiment": "...", "unit_id": "..."}`, { cause: error });
    }
    const r = row as { experiment?: unknown; unit_id?: unknown };
    if (typeof r.experiment !== 'string' || typeof r.unit_id !== 'string') {
      throw new CliError('EXPOSED_INVALID', `${file}:${index + 1}: "experiment" and "unit_id" must both be strings`);
    }
    const list = byExperiment.get(r.experiment);
    if (list === undefined) byExperiment.set(r.experiment, [r.unit_id]);
    else list.push(r.unit_id);
  });
  return new Map([...byExperiment].map(([k, units]) => [k, { units }]));
}

export async function runPlan(options: PlanOptions): Promise<PlanReport> {
  const [current, proposed] = await Promise.all([readConfigDocument(options.current), readConfigDocument(options.proposed)]);
  const exposed = options.exposed === undefined ? undefined : await readExposed(options.exposed);
  return plan(current, proposed, { now: parseNow(options.now, options.clock), ...(exposed === undefined ? {} : { exposed }) });
}

const pct = (share: number): string => `${(share * 100).toFixed(2)}%`;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

/** A human-readable rendering of a plan report. */
export function formatPlan(report: PlanReport): string {
  const lines: string[] = [];
  if (report.verdict === 'invalid') {
    lines.push('The proposed config is invalid:');
    for (const i of report.issues) lines.push(`  ${i.path || '/'}: ${i.message}\n    fix: ${i.fix}`);
    return lines.join('\n');
  }
  lines.push(`Plan: config version ${String(report.fromVersion)} -> ${String(report.toVersion)}: ${report.verdict.toUpperCase()}`);
  for (const l of report.layers) {
    if (l.verdict === 'unchanged') continue;
    lines.push('', `Layer ${l.layer}: ${l.changed.join(', ')}${l.reshuffle ? ' (reshuffles every unit)' : ''} -> ${l.verdict}`);
    for (const r of l.reasons) lines.push(`  ! ${r}`);
  }
  for (const e of report.experiments) {
    if (e.verdict === 'unchanged') continue;
    lines.push('', `Experiment ${e.experiment} (layer ${e.layer}): ${e.change} [${e.changes.join(', ')}] -> ${e.verdict}`);
    if (e.exposedUnits !== null) lines.push(`  exposed units known: ${e.exposedUnits}`);
    for (const t of e.transitions) {
      const when = t.trigger === 'publish' ? 'on publish' : `when phase ${String(t.toPhase)} starts`;
      lines.push(`  ${when}: phase ${String(t.fromPhase)} -> ${String(t.toPhase)}${t.reshuffle ? ', reshuffled' : ''}${t.declaredBy === 'rerandomize' ? ', declared re-randomization' : t.declaredBy === 'exclude' ? ', declared exclusion' : ''}`);
      const rows: string[][] = [['from', 'to', 'slots', 'traffic', 'exposed']];
      for (const c of t.matrix) rows.push([c.from, c.to, String(c.slots), pct(c.share), c.exposedUnits === null ? '?' : String(c.exposedUnits)]);
      lines.push(...table(rows).split('\n').map((r) => `    ${r}`));
      lines.push(`    moved: ${t.movedSlots} slots (${pct(t.movedShare)} of traffic); entering: ${t.enteringSlots} slots; exposed units moving: ${t.exposedMoving === null ? 'unknown (assumed > 0)' : String(t.exposedMoving)}`);
    }
    for (const r of e.reasons) lines.push(`  ! ${r}`);
    for (const w of e.warnings) lines.push(`  ~ warning: ${w}`);
  }
  return lines.join('\n');
}
