/**
 * Text rendering of `sortition simulate postmortem` (one world). Only what the simulation returned:
 * no clock, no absolute paths beyond what was passed in, so a run's output is reproducible.
 */
import type { ArmMakeup, EstimateView, PostmortemResult } from '@sortition/sim';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export const count = (n: number): string => n.toLocaleString('en-US');
export const percent = (x: number, digits = 1): string => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : 'n/a');
export const signedPercent = (x: number, digits = 1): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(digits)}%` : 'n/a');
export const signed = (x: number, digits = 3): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : 'n/a');

export function pValue(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  if (p < 0.001) return p.toExponential(1);
  return p.toFixed(3);
}

export function day(t: number): string {
  const d = new Date(t);
  return `${WEEKDAYS[d.getUTCDay()] ?? ''} ${d.toISOString().slice(0, 10)}`;
}

export function minute(t: number): string {
  return `${day(t)} ${new Date(t).toISOString().slice(11, 16)}`;
}

/** Columns padded to the widest cell; the first column left-aligned, the others as given. */
export function table(rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[] = [], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => ((align[i] ?? 'l') === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('   ').trimEnd());
}

function verdictOf(e: EstimateView): string {
  return e.pValue < 0.05 ? `significant: "${e.relative >= 0 ? 'treatment wins' : 'treatment loses'} by ${percent(Math.abs(e.relative))}"` : 'not significant';
}

function estimateRows(naive: EstimateView, sortition: EstimateView, naiveObs: string): string[][] {
  const arm = (x: { n: number; mean: number }, what: string): string => `${x.mean.toFixed(3)} (${count(x.n)} ${what})`;
  return [
    ['', 'naive stack', 'Sortition'],
    ['assignment', 'hash(salt:id) mod 100, per session', 'HMAC slot, sticky store'],
    ['analysis', 'events by their flag value', 'first exposure, by phase'],
    ['satisfied per obs.: control', arm(naive.control, naiveObs), arm(sortition.control, 'users')],
    ['treatment', arm(naive.treatment, naiveObs), arm(sortition.treatment, 'users')],
    ['difference [95% CI]', `${signed(naive.difference)} [${signed(naive.lower)}, ${signed(naive.upper)}]`, `${signed(sortition.difference)} [${signed(sortition.lower)}, ${signed(sortition.upper)}]`],
    ['lift [95% CI]', `${signedPercent(naive.relative)} [${signedPercent(naive.relativeLower)}, ${signedPercent(naive.relativeUpper)}]`, `${signedPercent(sortition.relative)} [${signedPercent(sortition.relativeLower)}, ${signedPercent(sortition.relativeUpper)}]`],
    ['p', pValue(naive.pValue), pValue(sortition.pValue)],
    ['verdict', verdictOf(naive), verdictOf(sortition)],
  ];
}

function makeupRows(naive: { control: ArmMakeup; treatment: ArmMakeup }, sortition: { control: ArmMakeup; treatment: ArmMakeup }): string[][] {
  const both = (pick: (m: ArmMakeup) => string): string[] => [pick(naive.control), pick(naive.treatment), pick(sortition.control), pick(sortition.treatment)];
  return [
    ['', 'naive: control', 'treatment', 'Sortition: control', 'treatment'],
    ['sessions per observation', ...both((m) => m.sessionsPerObservation.toFixed(2))],
    ['sessions of weekday users', ...both((m) => percent(m.weekdaySessionShare))],
    ['sessions after the change', ...both((m) => percent(m.afterChangeShare))],
    ['satisfied per session', ...both((m) => m.satisfiedPerSession.toFixed(3))],
  ];
}

export function renderPostmortem(r: PostmortemResult): string {
  const o = r.options;
  const w = r.world;
  const d = r.diagnostics;
  const s = r.sortition;
  const lines: string[] = [];
  lines.push(
    `sortition simulate postmortem: ${count(o.users)} users over ${o.days} days (${day(w.start)} to ${day(w.end - 1)}), seed ${o.seed}, true effect ${signed(o.effect, 3)}`,
    `  ${count(w.activeUsers)} users came at least once, in ${count(w.sessions)} sessions. ${percent(w.weekdayUsers / o.users, 0)} are weekday users (satisfied in ${percent(w.baseline.weekday, 0)} of sessions),`,
    `  the rest weekend users (${percent(w.baseline.weekend, 0)}). Metric: satisfied sessions per user (a sum), after the user's first exposure.`,
    `  ${minute(w.change)} UTC: the naive stack's flag service migration (salt rotated) and ramp of treatment 50% -> 60%;`,
    `  Sortition ramps to 60% of new users at the same moment (${s.backend === 'service' ? 'served through the service: evaluate, exposures and export over HTTP' : 'served by the library, in memory'}).`,
    '',
    ...table(estimateRows(r.naive.estimate, s.estimate, 'user-variant pairs')),
    `  The truth: the treatment changes satisfaction by ${signed(o.effect, 3)} per session, about ${signed(o.effect * (w.sessions / w.activeUsers))} satisfied sessions per user.`,
    '',
    'Why the naive stack finds a lift',
    `  The migration re-bucketed every returning user with a new salt into a 60% treatment rollout: ${count(d.crossoverUnits)} of ${count(d.units)} users (${percent(d.crossoverShare)})`,
    '  were served both variants. Grouping events by their flag value splits each of them into two partial users, and treatment',
    '  got more of the days after the change (Monday to Friday, when weekday users come), whole histories of users who stayed in',
    '  treatment, and more sessions of weekday users, who are satisfied more often:',
    ...table(makeupRows(r.naive.composition, s.composition), ['l', 'r', 'r', 'r', 'r'], '    '),
    "  (Sortition's arms differ too, because the ramp gave new users 60% treatment; its analysis compares users within a phase.)",
    '',
    "Sortition's config history (each version planned against the stored exposures before it was published)",
    ...table(
      s.configLog.map((c) => [`v${c.version}`, minute(c.simAt), c.verdict, `${c.reason}${c.movedSlots > 0 ? `; exposed users moved: ${c.exposedMoving ?? 'unknown'}` : ''}`]),
      ['l', 'l', 'l', 'l'],
      '  ',
    ),
  );
  if (s.dryRuns.length > 0) {
    lines.push('  Asked at the change, not published:');
    for (const dr of s.dryRuns) lines.push(`    ${dr.label}: ${dr.verdict.toUpperCase()}${dr.reasons[0] === undefined ? '' : `: ${dr.reasons[0].split(';')[0]}`}`);
  }
  lines.push(
    `  Stickiness: ${count(s.evaluations['ASSIGNED'] ?? 0)} first assignments, ${count(s.evaluations['STICKY'] ?? 0)} later evaluations answered from the sticky store; no user changed variant.`,
    `  The ramp moved ${count(s.ramp.movedSlots)} of ${count(s.ramp.emptyAvailable)} never-exposed control slots (${s.ramp.ranges} ranges); new users meet ${percent(s.ramp.treatmentShare)} treatment.`,
    `  By phase of first exposure: ${s.strata.map((x) => `${x.phase} ${percent(x.weight, 0)} of users, ${signed(x.difference)} (p ${pValue(x.pValue)})`).join('; ')}.`,
    `  SRM against the split in force: ${s.srm.map((x) => `${x.phase} ${x.status} (p ${pValue(x.pValue ?? Number.NaN)})`).join(', ')}.`,
    ...(s.pooled === null
      ? []
      : [
          `  Pooled over both phases (the engine's reference view, not the headline) the same files read ${signedPercent(s.pooled.relative)} (p ${pValue(s.pooled.pValue)}):`,
          '  users who arrived after the ramp met 60% treatment and had fewer days left to come back. Stratifying by phase removes that.',
        ]),
    '',
    "Sortition's diagnostics on the naive stack's files",
    `  crossovers: ${count(d.crossoverUnits)} of ${count(d.units)} users (${percent(d.crossoverShare)}) were exposed to both variants (${d.flips.map((f) => `${f.from} -> ${f.to} ${count(f.units)}`).join(', ')}); the engine warns at 1%.`,
    `  first flips on ${d.firstFlipDay === null ? 'no day' : day(Date.parse(d.firstFlipDay))}, under ${d.flipConfigVersions.map((f) => `flag version ${f.configVersion ?? '?'} (${count(f.units)} users): ${f.note}`).join('; ')}.`,
    `  SRM by flag version of first exposure: ${d.srm.map((x) => `${x.phase} ${x.observed.map(count).join('/')} against ${(x.expected ?? []).map((e) => Math.round(e * 100)).join('/')}: ${x.status} (p ${pValue(x.pValue ?? Number.NaN)})`).join('; ')}.`,
    d.srm.every((x) => x.status === 'ok')
      ? '  First exposures were split as configured: the damage came later, from users served both variants.'
      : `  SRM flags ${d.srm.filter((x) => x.status !== 'ok').map((x) => x.phase).join(', ')}: first exposures were not split as configured.`,
    `  First-exposure estimate on the naive stack's own files: ${signed(d.firstExposure.difference)} [${signed(d.firstExposure.lower)}, ${signed(d.firstExposure.upper)}], p ${pValue(d.firstExposure.pValue)}; the event-time estimate ${signed(r.naive.estimate.difference)} ${r.naive.estimate.lower > d.firstExposure.upper || r.naive.estimate.upper < d.firstExposure.lower || d.firstExposure.difference < r.naive.estimate.lower || d.firstExposure.difference > r.naive.estimate.upper ? 'disagrees with it (NAIVE_DISAGREES)' : 'is within its interval'}.`,
    '',
    `Files (the formats sortition analyze reads): ${r.naive.files.exposures}, ${r.naive.files.events}, ${s.files.exposures}, ${s.files.events}`,
  );
  const share = Math.round(s.ramp.treatmentShare * 1000) / 10;
  lines.push(`  e.g. sortition analyze --exposures ${s.files.exposures} --events ${s.files.events} --metric satisfied --split launch=control:50,treatment:50 --split ramp=control:${Math.round((100 - share) * 10) / 10},treatment:${share}`);
  return lines.join('\n');
}
