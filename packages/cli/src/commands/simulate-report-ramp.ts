/**
 * Text rendering of `sortition simulate postmortem --replicates` (calibration and power) and of
 * `sortition simulate partitioned-ramp`.
 */
import type { CalibrationResult, PartitionedRampResult, RejectionSummary } from '@sortition/sim';
import { count, day, minute, percent, signed, signedPercent, table } from './simulate-report.js';

export function renderCalibration(r: CalibrationResult): string {
  const o = r.options;
  const isNull = o.effect === 0;
  const what = isNull ? 'false-positive rate' : 'power';
  const row = (name: string, s: RejectionSummary): string[] => [
    name,
    `${count(s.rejections.successes)} of ${count(s.rejections.trials)}`,
    percent(s.rejections.rate),
    `[${percent(s.rejections.lower)}, ${percent(s.rejections.upper)}]`,
    signedPercent(s.meanRelative),
    signed(s.meanDifference),
    s.sdDifference.toFixed(3),
  ];
  const lines = [
    `sortition simulate postmortem --replicates ${o.replicates}: ${count(o.replicates)} independent worlds of ${count(o.users)} users over ${o.days} days (seeds derived from ${o.seed}), true effect ${signed(o.effect, 3)}`,
    `  Each world: its own population, sessions and layer key; both stacks served; each analysis recomputed from sufficient statistics.`,
    '',
    ...table(
      [
        ['', `p < ${r.alpha}`, what, '95% Wilson interval', 'mean lift', 'mean difference', 'sd of difference'],
        row('naive stack (events by flag value)', r.naive),
        row('Sortition (first exposure, by phase)', r.sortition),
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
  ];
  if (isNull) {
    lines.push(
      r.sortition.consistentWithAlpha
        ? `  Sortition's false-positive rate is consistent with ${percent(r.alpha, 0)}: the interval contains it.`
        : `  Sortition's false-positive rate is NOT consistent with ${percent(r.alpha, 0)}: the interval excludes it.`,
      `  The naive stack reports a significant lift in ${percent(r.naive.rejections.rate)} of worlds where the treatment does nothing.`,
    );
  } else {
    lines.push(
      `  With a true effect of ${signed(o.effect, 3)} per session (${signed(r.truthDifference)} satisfied sessions per user), Sortition detects it in ${percent(r.sortition.rejections.rate)} of worlds`,
      `  and estimates ${signed(r.sortition.meanDifference)} on average; the naive stack's ${signed(r.naive.meanDifference)} adds its phantom lift to the effect.`,
    );
  }
  for (const [name, s] of [['naive', r.naive], ['Sortition', r.sortition]] as const) if (s.missing > 0) lines.push(`  ${name}: ${s.missing} worlds had too few users in an arm for an estimate.`);
  return lines.join('\n');
}

export function renderPartitionedRamp(r: PartitionedRampResult): string {
  const o = r.options;
  const partitioned = r.ways.find((w) => w.way === 'partitioned');
  const straight = r.ways.find((w) => w.way === 'straight');
  const lines = [
    `sortition simulate partitioned-ramp: ${count(o.users)} users over ${o.days} days (${day(r.start)} to ${day(r.end - 1)}), seed ${o.seed}, ${o.replicates} world${o.replicates === 1 ? '' : 's'}`,
    `  A 10% canary (5% control, 5% treatment) from ${day(r.start)}, then the full ramp from ${minute(r.change)} UTC, done three ways.`,
    `  Mechanism (novelty): the new model lifts a user's satisfaction by ${signed(o.settled + o.novelty, 2)} per session during the user's first ${o.noveltyDays} days`,
    `  with it, then by ${signed(o.settled, 2)}. When the full ramp starts, canary users who had the treatment are past their novelty: wherever`,
    "  they spill into the full ramp's treatment arm, they pull its estimate below what a fresh launch does to the same users.",
    `  Estimand (world 1, exact from the model): a fresh launch adds ${signed(r.estimand)} satisfied sessions per user over the full ramp.`,
    '',
    ...table(
      [
        ['', 'planner', 'canary users in the full ramp', 'in its treatment arm', 'canary-treated now in control', "canary users' share of the full ramp"],
        ...r.ways.map((w) => [w.way, w.verdict, percent(w.spillover), percent(w.spilloverTreatment), count(w.treatedToControl), percent(w.canaryShareOfFull)]),
      ],
      ['l', 'l', 'r', 'r', 'r', 'r'],
    ),
    '',
    ...table(
      [
        ['', 'estimate [95% CI], world 1', 'bias from spillover (model)', `check: estimate - estimand, ${o.replicates} world${o.replicates === 1 ? '' : 's'}`, 'interval covered the estimand'],
        ...r.ways.map((w) => [
          w.way,
          `${signed(w.estimate)} [${signed(w.lower)}, ${signed(w.upper)}]`,
          signedPercent(w.spilloverRelativeBias),
          `${signedPercent(w.relativeBias)} +- ${percent(w.biasStandardError / Math.abs(r.estimand))}`,
          `${count(w.coverage.successes)} of ${count(w.coverage.trials)}`,
        ]),
      ],
      ['l', 'r', 'r', 'r', 'r'],
    ),
    '',
    ...r.ways.map((w) => `  ${w.way}: ${w.description}.`),
    '  Bias from spillover: over the treatment arm, the lift its users received minus the lift a fresh launch gives them, relative',
    '  to the estimand (exact from the model, no outcome noise). The check: the mean of (estimate - estimand) / estimand over the',
    '  worlds, with its Monte Carlo standard error; it carries every world\'s sampling noise, so it needs many worlds to show a',
    '  bias of a few percent (the default is 20 worlds of 20,000 users).',
  ];
  if (partitioned !== undefined && straight !== undefined) {
    lines.push(`  The partitioned ramp gives up the canary's slots (${percent(1 - partitioned.fullUnits / straight.fullUnits)} of the full ramp's users) and leaves no spillover.`);
  }
  return lines.join('\n');
}
