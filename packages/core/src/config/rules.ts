/**
 * The cross-field rules of a config (spec/ALGORITHM.md §5.5) that a JSON Schema cannot state. They
 * assume the document has the schema's shape. No TypeBox here: the browser path uses these rules
 * without the schema validator (see trusted.ts).
 */
import type { ConfigIssue } from '../errors.js';
import { conditionValueProblem } from '../targeting.js';
import { firstOverlap, rangeListProblem, unionRanges, type SlotRange } from './ranges.js';
import type { ConditionDocument, ConfigDocument, ExperimentDocument, LayerDocument } from './schema.js';

export const MAX_ISSUES = 50;

/** Milliseconds since the epoch for a timestamp that matched the schema's pattern, or NaN. */
export function parseTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Reject dates that Date.UTC would roll over (2026-02-30, 24:00:00, ...).
  const d = new Date(t);
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    return Number.NaN;
  }
  return t;
}

class IssueList {
  readonly issues: ConfigIssue[] = [];
  add(path: string, message: string, fix: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message, fix });
  }
}

function checkUnique(list: IssueList, items: readonly { readonly [k: string]: unknown }[], field: string, base: string, what: string): void {
  const seen = new Map<unknown, number>();
  items.forEach((item, index) => {
    const value = item[field];
    const first = seen.get(value);
    if (first !== undefined) {
      list.add(`${base}/${index}/${field}`, `duplicate ${what} "${String(value)}" (first at ${base}/${first})`, `give each ${what} a unique ${field}`);
    } else seen.set(value, index);
  });
}

function checkRanges(list: IssueList, path: string, ranges: readonly SlotRange[], slots: number): boolean {
  const problem = rangeListProblem(ranges, slots);
  if (problem === null) return true;
  list.add(`${path}/${problem.index}`, problem.message, problem.fix);
  return false;
}

function checkCondition(list: IssueList, path: string, condition: ConditionDocument): void {
  if ('all' in condition) condition.all.forEach((c, i) => checkCondition(list, `${path}/all/${i}`, c));
  else if ('any' in condition) condition.any.forEach((c, i) => checkCondition(list, `${path}/any/${i}`, c));
  else if ('not' in condition) checkCondition(list, `${path}/not`, condition.not);
  else {
    const problem = conditionValueProblem(condition.op, condition.value);
    if (problem !== null) list.add(`${path}/value`, problem.message, problem.fix);
  }
}

function checkExperiment(list: IssueList, base: string, experiment: ExperimentDocument, layer: LayerDocument | undefined): void {
  checkUnique(list, experiment.variants, 'key', `${base}/variants`, 'variant');
  checkUnique(list, experiment.phases, 'id', `${base}/phases`, 'phase');
  if (experiment.targeting !== undefined) checkCondition(list, `${base}/targeting`, experiment.targeting);
  const variantKeys = new Set(experiment.variants.map((v) => v.key));
  let previousStart = Number.NEGATIVE_INFINITY;
  const earlierPhases = new Set<string>();
  experiment.phases.forEach((phase, p) => {
    const path = `${base}/phases/${p}`;
    const start = parseTimestamp(phase.startsAt);
    if (Number.isNaN(start)) list.add(`${path}/startsAt`, `"${phase.startsAt}" is not a calendar date and time`, 'use a real UTC date and time');
    else if (start <= previousStart) {
      list.add(`${path}/startsAt`, 'phase starts no later than the phase before it', 'give phases strictly increasing startsAt times');
    }
    if (!Number.isNaN(start)) previousStart = start;
    if (p === 0) {
      if (phase.carryover === 'rerandomize') list.add(`${path}/carryover`, 'the first phase has nothing to re-randomize', 'remove carryover from the first phase');
      if (phase.exclude !== undefined && phase.exclude.length > 0) list.add(`${path}/exclude`, 'the first phase has no earlier phase to exclude', 'remove exclude from the first phase');
    } else if (phase.reason === undefined || phase.reason.trim() === '') {
      list.add(`${path}/reason`, 'a phase after the first must say why it was started', 'add a reason, e.g. "ramp to 50% after canary review"');
    }
    (phase.exclude ?? []).forEach((id, i) => {
      if (!earlierPhases.has(id)) list.add(`${path}/exclude/${i}`, `"${id}" is not an earlier phase of this experiment`, 'exclude only phases listed before this one');
    });
    earlierPhases.add(phase.id);
    const owned: { key: string; ranges: readonly SlotRange[] }[] = [];
    for (const [variantKey, ranges] of Object.entries(phase.allocation)) {
      const rpath = `${path}/allocation/${variantKey}`;
      if (!variantKeys.has(variantKey)) {
        list.add(rpath, `allocation names variant "${variantKey}" which the experiment does not declare`, `declare it under variants or use one of: ${[...variantKeys].join(', ')}`);
        continue;
      }
      if (layer !== undefined && checkRanges(list, rpath, ranges, layer.slots)) owned.push({ key: variantKey, ranges });
    }
    for (let i = 0; i < owned.length; i++) {
      for (let j = i + 1; j < owned.length; j++) {
        const overlap = firstOverlap(owned[i]!.ranges, owned[j]!.ranges);
        if (overlap !== null) {
          list.add(`${path}/allocation/${owned[j]!.key}`, `slots [${overlap[0]}, ${overlap[1]}) are allocated to both "${owned[i]!.key}" and "${owned[j]!.key}"`, 'give each slot to at most one variant');
        }
      }
    }
  });
  if (experiment.endsAt !== undefined) {
    const end = parseTimestamp(experiment.endsAt);
    const first = experiment.phases[0] === undefined ? Number.NaN : parseTimestamp(experiment.phases[0].startsAt);
    if (Number.isNaN(end)) list.add(`${base}/endsAt`, `"${experiment.endsAt}" is not a calendar date and time`, 'use a real UTC date and time');
    else if (!Number.isNaN(first) && end <= first) list.add(`${base}/endsAt`, 'the experiment ends before its first phase starts', 'set endsAt after the first phase startsAt');
  }
}

/** Slot owners within one layer (experiments and holdouts) must be pairwise disjoint. */
function checkLayerDisjoint(list: IssueList, config: ConfigDocument): void {
  const slotsOf = new Map(config.layers.map((l) => [l.id, l.slots]));
  const owners = new Map<string, { path: string; name: string; ranges: SlotRange[] }[]>();
  const add = (layer: string, path: string, name: string, lists: readonly (readonly SlotRange[])[]): void => {
    const slots = slotsOf.get(layer);
    if (slots === undefined) return;
    if (lists.some((l) => rangeListProblem(l, slots) !== null)) return;
    const entry = { path, name, ranges: unionRanges(lists) };
    const existing = owners.get(layer);
    if (existing === undefined) owners.set(layer, [entry]);
    else existing.push(entry);
  };
  config.experiments.forEach((e, i) =>
    add(e.layer, `/experiments/${i}`, `experiment "${e.key}"`, e.phases.flatMap((p) => Object.values(p.allocation))),
  );
  (config.holdouts ?? []).forEach((h, i) => add(h.layer, `/holdouts/${i}`, `holdout "${h.id}"`, [h.ranges]));
  for (const [layer, list_] of owners) {
    for (let i = 0; i < list_.length; i++) {
      for (let j = i + 1; j < list_.length; j++) {
        const a = list_[i]!;
        const b = list_[j]!;
        const overlap = firstOverlap(a.ranges, b.ranges);
        if (overlap !== null) {
          list.add(b.path, `${b.name} and ${a.name} both hold slots [${overlap[0]}, ${overlap[1]}) of layer "${layer}"`, 'give each slot of a layer to one experiment or holdout, or move one of them to another layer');
        }
      }
    }
  }
}

/** Issues with the cross-field rules of a structurally valid config (empty when there are none). */
export function crossFieldIssues(config: ConfigDocument): readonly ConfigIssue[] {
  const list = new IssueList();
  checkUnique(list, config.layers, 'id', '/layers', 'layer');
  checkUnique(list, config.experiments, 'key', '/experiments', 'experiment');
  checkUnique(list, config.holdouts ?? [], 'id', '/holdouts', 'holdout');
  const layers = new Map(config.layers.map((l) => [l.id, l]));
  const layerIds = [...layers.keys()].join(', ') || '(none declared)';
  (config.holdouts ?? []).forEach((holdout, i) => {
    const layer = layers.get(holdout.layer);
    if (layer === undefined) list.add(`/holdouts/${i}/layer`, `layer "${holdout.layer}" is not declared`, `declare it under layers or use one of: ${layerIds}`);
    else checkRanges(list, `/holdouts/${i}/ranges`, holdout.ranges, layer.slots);
  });
  config.experiments.forEach((experiment, i) => {
    const layer = layers.get(experiment.layer);
    if (layer === undefined) list.add(`/experiments/${i}/layer`, `layer "${experiment.layer}" is not declared`, `declare it under layers or use one of: ${layerIds}`);
    checkExperiment(list, `/experiments/${i}`, experiment, layer);
  });
  checkLayerDisjoint(list, config);
  return list.issues;
}
