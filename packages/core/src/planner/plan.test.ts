import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConfigDocument, ExperimentDocument, PhaseDocument } from '../config/schema.js';
import { createSlotFunction } from '../crypto/derivation.js';
import { fromHex } from '../encoding/hex.js';
import { reallocate, type Allocation } from './allocate.js';
import { NONE, plan, type ExperimentPlan, type ExposedUnits, type PlanReport, type Transition } from './plan.js';

const N = 10_000;
const T0 = '2026-04-01T00:00:00Z';
const T1 = '2026-04-08T00:00:00Z';
const NOW_TEXT = '2026-04-15T00:00:00Z';
const NOW = Date.parse(NOW_TEXT);
const BEFORE_NOW = '2026-04-10T00:00:00Z';
const LATER = '2026-05-01T00:00:00Z';
const KEY_MAIN = '1a'.repeat(32);
const KEY_NEW = '2b'.repeat(32);
const KEY_GLOBAL = '3c'.repeat(32);
/** Slots of the main layer that no experiment "exp" may use: experiment "other" and holdout "long". */
const UNAVAILABLE = [[9000, 10_000]] as const;

/**
 * A running experiment "exp" (50/50 over 40% of the layer since T0), a second running experiment
 * "other" in the same layer, a layer holdout and a global holdout in its own layer.
 */
function base(): ConfigDocument {
  return {
    schema: 'sortition/config/v1',
    version: 1,
    layers: [
      { id: 'main', algorithm: 'v1', slots: N, key: KEY_MAIN, unit: 'userId', normalization: 'nfc' },
      { id: 'gh', algorithm: 'v1', slots: N, key: KEY_GLOBAL, unit: 'userId', normalization: 'nfc' },
    ],
    holdouts: [
      { id: 'long', layer: 'main', scope: 'layer', ranges: [[9500, 10_000]] },
      { id: 'everything', layer: 'gh', scope: 'global', ranges: [[0, 200]] },
    ],
    experiments: [
      {
        key: 'exp',
        layer: 'main',
        variants: [
          { key: 'control', value: { flow: 'old' } },
          { key: 'treatment', value: { flow: 'new' } },
        ],
        phases: [{ id: 'p1', startsAt: T0, allocation: { control: [[0, 2000]], treatment: [[2000, 4000]] } }],
      },
      { key: 'other', layer: 'main', variants: [{ key: 'on' }], phases: [{ id: 'o1', startsAt: T0, allocation: { on: [[9000, 9500]] } }] },
    ],
  };
}

/** A proposal: a deep copy of `doc` with the version raised, edited by `edit`. */
function propose(doc: ConfigDocument, edit: (next: ConfigDocument) => void): ConfigDocument {
  const next = structuredClone(doc);
  next.version = doc.version + 1;
  edit(next);
  return next;
}

function exp(doc: ConfigDocument, key = 'exp'): ExperimentDocument {
  const e = doc.experiments.find((x) => x.key === key);
  if (e === undefined) throw new Error(`no experiment ${key}`);
  return e;
}

function phase(doc: ConfigDocument, id: string, key = 'exp'): PhaseDocument {
  const p = exp(doc, key).phases.find((x) => x.id === id);
  if (p === undefined) throw new Error(`no phase ${id}`);
  return p;
}

function mainLayer(doc: ConfigDocument): ConfigDocument['layers'][number] {
  return doc.layers.find((l) => l.id === 'main')!;
}

/** Adds a re-randomizing phase starting at publish with the running phase's allocation. */
function rerandomizeAtPublish(doc: ConfigDocument, key: string, from: string, id = 'rr'): void {
  exp(doc, key).phases.push({ id, startsAt: NOW_TEXT, reason: 'layer re-keyed', carryover: 'rerandomize', allocation: structuredClone(phase(doc, from, key).allocation) });
}

function run(current: unknown, proposed: unknown, exposed?: ReadonlyMap<string, ExposedUnits>): PlanReport {
  return plan(current, proposed, { now: NOW, ...(exposed === undefined ? {} : { exposed }) });
}

function experimentPlan(report: PlanReport, key = 'exp'): ExperimentPlan {
  const e = report.experiments.find((x) => x.experiment === key);
  if (e === undefined) throw new Error(`no plan for ${key}: ${JSON.stringify(report)}`);
  return e;
}

function publishOf(report: PlanReport, key = 'exp'): Transition {
  const t = experimentPlan(report, key).transitions.find((x) => x.trigger === 'publish');
  if (t === undefined) throw new Error(`no publish transition for ${key}`);
  return t;
}

function cell(t: Transition, from: string, to: string): number {
  return t.matrix.find((c) => c.from === from && c.to === to)?.slots ?? 0;
}

/** An allocation from reallocate, as a config document's (mutable) allocation. */
const mutable = (allocation: Allocation): PhaseDocument['allocation'] => structuredClone(allocation) as PhaseDocument['allocation'];

/** The 50/50 -> 40/60 reweight of exp's p1 by minimal moves: control releases [1600, 2000). */
const REWEIGHTED: Allocation = reallocate({
  slots: N,
  variants: ['control', 'treatment'],
  current: { control: [[0, 2000]], treatment: [[2000, 4000]] },
  target: { control: 1600, treatment: 2400 },
  unavailable: UNAVAILABLE,
}).allocation;

/** slot → variant key (or NONE) a fresh unit gets in the layer: allocation minus the layer holdout. */
function effective(allocation: Allocation, holdout: readonly [number, number] = [9500, N], slots = N): string[] {
  const out = new Array<string>(slots).fill(NONE);
  for (const [variant, ranges] of Object.entries(allocation)) for (const [from, to] of ranges) out.fill(variant, from, to);
  out.fill(NONE, holdout[0], holdout[1]);
  return out;
}

function slotFunction(key: string, slots = N): (id: string) => number {
  const f = createSlotFunction('v1', { layerId: 'main', key: fromHex(key)!, slots });
  return (id) => {
    const s = f(id);
    if (typeof s !== 'number') throw new Error(s.message);
    return s;
  };
}

describe('plan: verdicts', () => {
  it('an identical config is unchanged', () => {
    const report = run(base(), propose(base(), () => {}));
    expect(report.verdict).toBe('unchanged');
    expect(report.allowed).toBe(true);
    expect(experimentPlan(report).transitions).toEqual([]);
  });

  it('an invalid proposal is reported with its issues, never thrown', () => {
    const report = run(base(), propose(base(), (d) => (phase(d, 'p1').allocation = { control: [[0, 2000]], treatment: [[1000, 4000]] })));
    expect(report.verdict).toBe('invalid');
    expect(report.allowed).toBe(false);
    expect(report.issues.length).toBeGreaterThan(0);
  });

  it('a ramp into unallocated slots in the running phase is safe and moves nobody', () => {
    const ramped = reallocate({ slots: N, variants: ['control', 'treatment'], current: phase(base(), 'p1').allocation, target: { control: 3000, treatment: 3000 }, unavailable: UNAVAILABLE });
    expect(ramped.allocation).toEqual({ control: [[0, 2000], [4000, 5000]], treatment: [[2000, 4000], [5000, 6000]] });
    const report = run(base(), propose(base(), (d) => (phase(d, 'p1').allocation = mutable(ramped.allocation))));
    expect(report.verdict).toBe('safe');
    expect(report.allowed).toBe(true);
    const t = publishOf(report);
    expect(t).toMatchObject({ fromPhase: 'p1', toPhase: 'p1', reshuffle: false, movedSlots: 0, movedShare: 0, enteringSlots: 2000, exposedMoving: 0, declared: false });
    expect(cell(t, 'control', 'control')).toBe(2000);
    expect(cell(t, 'treatment', 'treatment')).toBe(2000);
    expect(cell(t, NONE, 'control')).toBe(1000);
    expect(cell(t, NONE, 'treatment')).toBe(1000);
    expect(cell(t, NONE, NONE)).toBe(4000);
    expect(t.matrix).toHaveLength(5);
    expect(t.matrix.find((c) => c.from === NONE && c.to === 'control')?.share).toBe(0.1);
    expect(experimentPlan(report).changes).toEqual(['allocation']);
  });

  it('a weight change inside the running phase is refused, with the minimum moved and the fix named', () => {
    const report = run(base(), propose(base(), (d) => (phase(d, 'p1').allocation = mutable(REWEIGHTED))));
    expect(report.verdict).toBe('refused');
    expect(report.allowed).toBe(false);
    const t = publishOf(report);
    expect(t.movedSlots).toBe(400); // control 2000 -> 1600: |delta| of the shrinking variant, nothing more
    expect(t.movedShare).toBe(0.04);
    // Growing treatment takes never-allocated slots first (§8.2): control's excess goes to none.
    expect(cell(t, 'control', NONE)).toBe(400);
    expect(cell(t, NONE, 'treatment')).toBe(400);
    expect(t.exposedMoving).toBeNull(); // unknown exposure: every slot of a running experiment may hold exposed units
    const reasons = experimentPlan(report).reasons.join('\n');
    expect(reasons).toMatch(/400 slots/);
    expect(reasons).toMatch(/new phase with carryover: rerandomize/);
  });

  it('the same reweight as a new re-randomizing phase at publish is declared and allowed', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        exp(d).phases.push({ id: 'p2', startsAt: NOW_TEXT, reason: 'more treatment traffic', carryover: 'rerandomize', allocation: mutable(REWEIGHTED) });
      }),
    );
    expect(report.verdict).toBe('declared');
    expect(report.allowed).toBe(true);
    const t = publishOf(report);
    expect(t).toMatchObject({ fromPhase: 'p1', toPhase: 'p2', declared: true, declaredBy: 'rerandomize', movedSlots: 400 });
    expect(experimentPlan(report).reasons).toEqual([]);
  });

  it('the same reweight as a new sticky phase is refused', () => {
    const report = run(base(), propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: NOW_TEXT, reason: 'more treatment traffic', allocation: mutable(REWEIGHTED) })));
    expect(report.verdict).toBe('refused');
    expect(publishOf(report)).toMatchObject({ toPhase: 'p2', declared: false, movedSlots: 400 });
  });

  it('reordering variants (and allocation keys) moves nobody and is not a variant change', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        exp(d).variants.reverse();
        phase(d, 'p1').allocation = { treatment: [[2000, 4000]], control: [[0, 2000]] };
      }),
    );
    expect(report.allowed).toBe(true);
    expect(report.verdict).toBe('safe');
    const e = experimentPlan(report);
    expect(e.changes).toEqual(['variant-order']);
    const t = publishOf(report);
    expect(t.movedSlots).toBe(0);
    expect(t.enteringSlots).toBe(0);
    expect(cell(t, 'control', 'control')).toBe(2000);
    expect(cell(t, 'treatment', 'treatment')).toBe(2000);

    // Allocation key order alone is not a change at all.
    expect(run(base(), propose(base(), (d) => (phase(d, 'p1').allocation = { treatment: [[2000, 4000]], control: [[0, 2000]] }))).verdict).toBe('unchanged');
  });
});

describe('plan: layer changes that reshuffle every unit', () => {
  it('a key change (epoch raised) under running experiments is refused', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        mainLayer(d).epoch = 2;
      }),
    );
    expect(report.verdict).toBe('refused');
    const layer = report.layers.find((l) => l.layer === 'main')!;
    expect(layer).toMatchObject({ reshuffle: true, verdict: 'refused' });
    expect(layer.reasons.join()).toMatch(/exp, other/);
    const t = publishOf(report);
    expect(t.reshuffle).toBe(true);
    // Independent draws: 20% control and 20% treatment before and after.
    expect(t.movedSlots).toBeCloseTo(2 * 0.2 * 0.8 * N, 6);
    expect(cell(t, 'control', 'control')).toBeCloseTo(0.2 * 0.2 * N, 6);
    expect(experimentPlan(report).reasons.join()).toMatch(/reshuffled/);
  });

  it('a key change with a re-randomizing phase at publish in every running experiment is allowed', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        mainLayer(d).epoch = 2;
        rerandomizeAtPublish(d, 'exp', 'p1');
        rerandomizeAtPublish(d, 'other', 'o1');
      }),
    );
    expect(report.verdict).toBe('declared');
    expect(report.allowed).toBe(true);
    expect(publishOf(report)).toMatchObject({ reshuffle: true, declared: true, declaredBy: 'rerandomize', toPhase: 'rr' });
    expect(report.layers.find((l) => l.layer === 'main')).toMatchObject({ reshuffle: true, verdict: 'safe' });
  });

  it('a key change is refused while any running experiment in the layer lacks the re-randomizing phase', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        mainLayer(d).epoch = 2;
        rerandomizeAtPublish(d, 'exp', 'p1');
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).verdict).toBe('declared');
    expect(experimentPlan(report, 'other').verdict).toBe('refused');
    const layer = report.layers.find((l) => l.layer === 'main')!;
    expect(layer.reasons.join()).toMatch(/experiments other must/);
  });

  it('a key change without raising the epoch is refused even when declared', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        rerandomizeAtPublish(d, 'exp', 'p1');
        rerandomizeAtPublish(d, 'other', 'o1');
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(report.layers.find((l) => l.layer === 'main')!.reasons.join()).toMatch(/raise epoch to 2/);
  });

  it('a key change with known exposures is still refused, and counts exactly the exposed units that change variant', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `user_${i}`);
    const before = effective(phase(base(), 'p1').allocation);
    const after = before; // same allocation, new key
    const oldSlot = slotFunction(KEY_MAIN);
    const newSlot = slotFunction(KEY_NEW);
    const expected = ids.filter((id) => before[oldSlot(id)] !== NONE && after[newSlot(id)] !== before[oldSlot(id)]).length;
    expect(expected).toBeGreaterThan(0);
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        mainLayer(d).epoch = 2;
      }),
      new Map([['exp', { units: ids }]]),
    );
    expect(report.verdict).toBe('refused');
    expect(publishOf(report).exposedMoving).toBe(expected);
  });

  it('a key change with exposure as slot counts uses expected moves, counting only units that hold a variant', () => {
    const counts = new Float64Array(N);
    counts[100] = 10; // control
    counts[5000] = 7; // unallocated: these units have no variant to lose
    const report = run(
      base(),
      propose(base(), (d) => {
        mainLayer(d).key = KEY_NEW;
        mainLayer(d).epoch = 2;
      }),
      new Map([['exp', { slotCounts: counts }]]),
    );
    expect(report.verdict).toBe('refused');
    const t = publishOf(report);
    expect(t.exposedMoving).toBeCloseTo(10 * 0.8, 6); // a control unit stays control with probability 0.2
    expect(t.matrix.find((c) => c.from === NONE && c.to === NONE)?.exposedUnits).toBeCloseTo(7 * 0.6, 6);
  });

  it('slot count and unit changes are refused unless every running experiment re-randomizes at publish', () => {
    const edits: ((d: ConfigDocument) => void)[] = [(d) => (mainLayer(d).slots = 100_000), (d) => (mainLayer(d).unit = 'deviceId')];
    for (const edit of edits) {
      const refused = run(base(), propose(base(), edit));
      expect(refused.verdict).toBe('refused');
      expect(publishOf(refused).reshuffle).toBe(true);
      const declared = run(
        base(),
        propose(base(), (d) => {
          edit(d);
          rerandomizeAtPublish(d, 'exp', 'p1');
          rerandomizeAtPublish(d, 'other', 'o1');
        }),
      );
      expect(declared.allowed).toBe(true);
      expect(declared.verdict).toBe('declared');
      expect(publishOf(declared)).toMatchObject({ reshuffle: true, declared: true });
    }
  });

  it('normalization and algorithm cannot change: the schema allows only "nfc" and "v1"', () => {
    // With one allowed value each, a change is an invalid config, never a plan; the reshuffle rule
    // for them is exercised through key, slots and unit above.
    for (const edit of [(d: ConfigDocument) => ((mainLayer(d) as { normalization: string }).normalization = 'nfkc'), (d: ConfigDocument) => ((mainLayer(d) as { algorithm: string }).algorithm = 'v2')]) {
      expect(run(base(), propose(base(), edit)).verdict).toBe('invalid');
    }
  });

  it('moving a running experiment to another layer is a reshuffle', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        d.layers.push({ id: 'other-layer', algorithm: 'v1', slots: N, key: KEY_NEW, unit: 'userId', normalization: 'nfc' });
        exp(d).layer = 'other-layer';
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(publishOf(report).reshuffle).toBe(true);
    expect(experimentPlan(report).changes).toContain('layer');
  });
});

describe('plan: phases and history', () => {
  /** exp with a 10% canary (p1, T0) followed by a partitioned ramp (p2, T1) that excludes it. */
  function withCanary(): ConfigDocument {
    return propose(base(), (d) => {
      d.version = 1;
      exp(d).phases = [
        { id: 'p1', startsAt: T0, allocation: { control: [[0, 500]], treatment: [[500, 1000]] } },
        { id: 'p2', startsAt: T1, reason: 'canary reviewed', exclude: ['p1'], allocation: { control: [[1000, 3000]], treatment: [[3000, 5000]] } },
      ];
    });
  }

  it('a partitioned ramp whose moved slots are all excluded is allowed (declared by the exclusion)', () => {
    const current = propose(base(), (d) => (phase(d, 'p1').allocation = { control: [[0, 500]], treatment: [[500, 1000]] }));
    const report = run(
      current,
      propose(current, (d) => {
        exp(d).phases.push({ id: 'p2', startsAt: NOW_TEXT, reason: 'canary reviewed', exclude: ['p1'], allocation: { control: [[1000, 3000]], treatment: [[3000, 5000]] } });
      }),
    );
    expect(report.allowed).toBe(true);
    expect(report.verdict).toBe('declared');
    const t = publishOf(report);
    expect(t).toMatchObject({ declared: true, declaredBy: 'exclude', movedSlots: 1000, enteringSlots: 4000 });
    expect(cell(t, 'control', NONE)).toBe(500);
    expect(cell(t, 'treatment', NONE)).toBe(500);
  });

  it('an exclusion does not declare moves outside the excluded slots', () => {
    const report = run(
      withCanary(),
      propose(withCanary(), (d) => {
        exp(d).phases.push({ id: 'p3', startsAt: NOW_TEXT, reason: 'reweight', exclude: ['p1'], allocation: { control: [[1000, 2600]], treatment: [[2600, 5000]] } });
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(publishOf(report)).toMatchObject({ declared: false, declaredBy: null, movedSlots: 400 });
  });

  it('editing an ended phase is refused', () => {
    const report = run(withCanary(), propose(withCanary(), (d) => (phase(d, 'p1').allocation = { control: [[0, 400]], treatment: [[500, 1000]] })));
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).reasons.join()).toMatch(/phase "p1" has ended and is history/);
  });

  it('editing the running phase other than its allocation is refused', () => {
    const report = run(withCanary(), propose(withCanary(), (d) => (phase(d, 'p2').reason = 'rewritten')));
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).reasons.join()).toMatch(/phase "p2" is running; only its allocation may change/);
  });

  it('removing a started phase is refused', () => {
    const report = run(
      withCanary(),
      propose(withCanary(), (d) => {
        exp(d).phases.shift();
        delete phase(d, 'p2').exclude;
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).reasons.join()).toMatch(/phase "p1" has started and cannot be removed/);
  });

  it('a new phase cannot be backdated', () => {
    const report = run(base(), propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: BEFORE_NOW, reason: 'r', allocation: { control: [[0, 2000]], treatment: [[2000, 4000]] } })));
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).reasons.join()).toMatch(/starts before the publish time/);
  });

  it('a scheduled phase cannot be moved into the past either', () => {
    const current = propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: LATER, reason: 'ramp', allocation: { control: [[0, 3000]], treatment: [[3000, 6000]] } }));
    const report = run(current, propose(current, (d) => (phase(d, 'p2').startsAt = BEFORE_NOW)));
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).reasons.join()).toMatch(/starts before the publish time/);
  });

  it('removing a running experiment is refused; ending it with endsAt is allowed', () => {
    const removed = run(base(), propose(base(), (d) => (d.experiments = d.experiments.filter((e) => e.key !== 'exp'))));
    expect(removed.verdict).toBe('refused');
    expect(experimentPlan(removed).reasons.join()).toMatch(/Set endsAt/);

    const ended = run(base(), propose(base(), (d) => (exp(d).endsAt = NOW_TEXT)));
    expect(ended.allowed).toBe(true);
    expect(ended.verdict).toBe('safe');
    const t = publishOf(ended);
    expect(t.toPhase).toBeNull();
    expect(cell(t, 'control', NONE)).toBe(2000);

    // Once ended, it may be removed.
    const endedDoc = propose(base(), (d) => (exp(d).endsAt = BEFORE_NOW));
    expect(run(endedDoc, propose(endedDoc, (d) => (d.experiments = d.experiments.filter((e) => e.key !== 'exp')))).verdict).toBe('safe');
  });

  it('removing or adding an experiment that has not started is safe', () => {
    const scheduled = propose(base(), (d) => d.experiments.push({ key: 'soon', layer: 'gh', variants: [{ key: 'a' }, { key: 'b' }], phases: [{ id: 's1', startsAt: LATER, allocation: { a: [[1000, 2000]], b: [[2000, 3000]] } }] }));
    const added = run(base(), scheduled);
    expect(added.verdict).toBe('safe');
    expect(experimentPlan(added, 'soon').change).toBe('added');
    expect(run(scheduled, base()).verdict).toBe('safe');
  });

  it('a targeting, variant value or holdout change mid-phase is refused; with a new phase at publish it is allowed', () => {
    const edits: [string, (d: ConfigDocument) => void][] = [
      ['targeting', (d) => (exp(d).targeting = { attr: 'country', op: 'eq', value: 'DE' })],
      ['variants', (d) => (exp(d).variants[1]!.value = { flow: 'newer' })],
      ['holdouts', (d) => (d.holdouts![0]!.ranges = [[9600, 10_000]])],
    ];
    for (const [what, edit] of edits) {
      const refused = run(base(), propose(base(), edit));
      expect(refused.verdict, what).toBe('refused');
      expect(experimentPlan(refused).reasons.join(), what).toMatch(new RegExp(`${what} changed while phase "p1" is running`));
      const allowed = run(
        base(),
        propose(base(), (d) => {
          edit(d);
          exp(d).phases.push({ id: 'p2', startsAt: NOW_TEXT, reason: `${what} changed`, allocation: structuredClone(phase(d, 'p1').allocation) });
        }),
      );
      expect(experimentPlan(allowed).verdict, what).toBe('safe');
    }
  });

  it('a variant added mid-phase with no slots in the running phase waits for a scheduled phase; giving it running slots is refused', () => {
    const withChallenger = (d: ConfigDocument): void => {
      exp(d).variants.push({ key: 'challenger', value: { flow: 'newest' } });
    };
    // Added, unallocated now, allocated unused slots in a phase that starts later: nobody moves.
    const scheduled = run(
      base(),
      propose(base(), (d) => {
        withChallenger(d);
        exp(d).phases.push({ id: 'p2', startsAt: LATER, reason: 'third arm', allocation: { ...structuredClone(phase(d, 'p1').allocation), challenger: [[4000, 6000]] } });
      }),
    );
    expect(experimentPlan(scheduled).reasons).toEqual([]);
    expect(experimentPlan(scheduled).verdict).toBe('safe');
    expect(experimentPlan(scheduled).changes).toContain('variants');
    // Slots for the new variant in the running phase change what that phase serves.
    const running = run(
      base(),
      propose(base(), (d) => {
        withChallenger(d);
        phase(d, 'p1').allocation['challenger'] = [[4000, 5000]];
      }),
    );
    expect(experimentPlan(running).verdict).toBe('refused');
    expect(experimentPlan(running).reasons.join()).toMatch(/variants changed while phase "p1" is running/);
    // Changing an existing value alongside an addition is still refused.
    const changedValue = run(base(), propose(base(), (d) => {
      withChallenger(d);
      exp(d).variants[1]!.value = { flow: 'newer' };
    }));
    expect(experimentPlan(changedValue).verdict).toBe('refused');
  });

  it('warns when slots enter a running experiment in a different ratio than its split, not when every arm grows in proportion', () => {
    const treatmentOnly = run(base(), propose(base(), (d) => (phase(d, 'p1').allocation['treatment'] = [[2000, 5000]])));
    expect(experimentPlan(treatmentOnly).verdict).toBe('safe');
    expect(experimentPlan(treatmentOnly).warnings).toHaveLength(1);
    expect(experimentPlan(treatmentOnly).warnings[0]).toMatch(/1000 slots join the experiment on publish split control 0\.0%, treatment 100\.0%, while the phase's split is control 40\.0%, treatment 60\.0%/);
    const proportional = run(
      base(),
      propose(base(), (d) => {
        phase(d, 'p1').allocation['control'] = [[0, 2000], [4000, 5000]];
        phase(d, 'p1').allocation['treatment'] = [[2000, 4000], [5000, 6000]];
      }),
    );
    expect(experimentPlan(proportional).verdict).toBe('safe');
    expect(experimentPlan(proportional).warnings).toEqual([]);
    // Before the experiment starts there is nobody to enter unevenly.
    const notRunning = run(base(), propose(base(), (d) => d.experiments.push({ key: 'later', layer: 'main', variants: [{ key: 'a' }, { key: 'b' }], phases: [{ id: 'l1', startsAt: LATER, allocation: { a: [[6000, 7000]] } }] })));
    expect(experimentPlan(notRunning, 'later').warnings).toEqual([]);
  });

  it('description edits move nobody and are allowed mid-phase', () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        exp(d).description = 'new words';
        exp(d).variants[0]!.description = 'the old flow';
        d.holdouts![0]!.description = 'long-term holdout';
      }),
    );
    expect(report.allowed).toBe(true);
    expect(experimentPlan(report)).toMatchObject({ verdict: 'safe', changes: ['description'] });
    expect(publishOf(report).movedSlots).toBe(0);
  });

  it("re-keying a global holdout's layer changes who is held out and counts as a holdout change", () => {
    const report = run(
      base(),
      propose(base(), (d) => {
        d.layers[1]!.key = KEY_NEW;
        d.layers[1]!.epoch = 2;
      }),
    );
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).changes).toContain('holdouts');
    expect(experimentPlan(report).reasons.join()).toMatch(/holdouts changed/);
  });

  it('a newly scheduled phase is checked against its predecessor', () => {
    const sticky = run(base(), propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: LATER, reason: 'reweight', allocation: mutable(REWEIGHTED) })));
    expect(sticky.verdict).toBe('refused');
    const scheduled = experimentPlan(sticky).transitions.find((t) => t.trigger === 'phase-start' && t.toPhase === 'p2')!;
    expect(scheduled).toMatchObject({ fromPhase: 'p1', toPhase: 'p2', movedSlots: 400, exposedMoving: null, declared: false });
    expect(publishOf(sticky).movedSlots).toBe(0);

    const declared = run(base(), propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: LATER, reason: 'reweight', carryover: 'rerandomize', allocation: mutable(REWEIGHTED) })));
    expect(declared.verdict).toBe('declared');
  });

  it('a scheduled reweight in a new experiment is refused: its first phase will have exposed units by then', () => {
    const report = run(
      base(),
      propose(base(), (d) =>
        d.experiments.push({
          key: 'fresh',
          layer: 'gh',
          variants: [{ key: 'a' }, { key: 'b' }],
          phases: [
            { id: 'f1', startsAt: NOW_TEXT, allocation: { a: [[1000, 2000]], b: [[2000, 3000]] } },
            { id: 'f2', startsAt: LATER, reason: 'reweight', allocation: { a: [[1000, 1500]], b: [[1500, 3000]] } },
          ],
        }),
      ),
    );
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report, 'fresh').transitions.find((t) => t.trigger === 'phase-start' && t.toPhase === 'f2')).toMatchObject({ movedSlots: 500, exposedMoving: null });
  });

  it('editing an already scheduled phase so that it moves units is refused', () => {
    const current = propose(base(), (d) => exp(d).phases.push({ id: 'p2', startsAt: LATER, reason: 'ramp', allocation: { control: [[0, 2000], [4000, 5000]], treatment: [[2000, 4000], [5000, 6000]] } }));
    expect(run(base(), current).verdict).toBe('safe');
    const report = run(current, propose(current, (d) => (phase(d, 'p2').allocation = mutable(REWEIGHTED))));
    expect(report.verdict).toBe('refused');
    expect(experimentPlan(report).transitions.find((t) => t.trigger === 'phase-start' && t.toPhase === 'p2')?.movedSlots).toBe(400);
    // An untouched scheduled phase is not re-planned.
    expect(experimentPlan(run(current, propose(current, (d) => (exp(d).description = 'x')))).transitions.map((t) => t.trigger)).toEqual(['publish']);
  });
});

describe('plan: exposed units', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `user_${i}`);
  const slotOf = slotFunction(KEY_MAIN);
  const before = effective(phase(base(), 'p1').allocation);
  const after = effective(REWEIGHTED);
  const moves = (id: string): boolean => before[slotOf(id)] !== NONE && after[slotOf(id)] !== before[slotOf(id)];
  const reweight = propose(base(), (d) => (phase(d, 'p1').allocation = mutable(REWEIGHTED)));
  const inExperiment = ids.filter((id) => before[slotOf(id)] !== NONE);

  it('a weight change is allowed (safe) when no exposed unit sits in a moving slot', () => {
    const exposed = inExperiment.filter((id) => !moves(id));
    expect(exposed.length).toBeGreaterThan(1000);
    const report = run(base(), reweight, new Map([['exp', { units: exposed }]]));
    expect(report.verdict).toBe('safe');
    const t = publishOf(report);
    expect(t.movedSlots).toBe(400);
    expect(t.exposedMoving).toBe(0);
    expect(experimentPlan(report).exposedUnits).toBe(exposed.length);
  });

  it('exposedMoving counts exactly the exposed units whose slot moves, once per unit', () => {
    const expected = inExperiment.filter(moves).length;
    expect(expected).toBeGreaterThan(0);
    // Exposure logs repeat units; the planner counts units, not exposures.
    const exposed = [...inExperiment, ...inExperiment.slice(0, 300)];
    const report = run(base(), reweight, new Map([['exp', { units: exposed }]]));
    expect(report.verdict).toBe('refused');
    const t = publishOf(report);
    expect(t.exposedMoving).toBe(expected);
    expect(experimentPlan(report).exposedUnits).toBe(inExperiment.length);
    expect(t.matrix.find((c) => c.from === 'control' && c.to === NONE)?.exposedUnits).toBe(expected);
    expect(t.matrix.reduce((sum, c) => sum + (c.exposedUnits ?? 0), 0)).toBe(inExperiment.length);
    expect(experimentPlan(report).reasons.join()).toMatch(new RegExp(`${expected} exposed units would change variant`));
  });

  it('counts a unit written in two Unicode forms once', () => {
    const composed = 'Jos\u00e9';
    const decomposed = 'Jose\u0301';
    const report = run(base(), reweight, new Map([['exp', { units: [composed, decomposed, composed] }]]));
    expect(experimentPlan(report).exposedUnits).toBe(1);
  });

  it('exposure given as slot counts gives the same numbers as exposure given as ids', () => {
    const counts = new Float64Array(N);
    for (const id of inExperiment) counts[slotOf(id)]! += 1;
    const byIds = run(base(), reweight, new Map([['exp', { units: inExperiment }]]));
    const byCounts = run(base(), reweight, new Map([['exp', { slotCounts: counts }]]));
    expect(byCounts).toEqual(byIds);
    expect(() => run(base(), reweight, new Map([['exp', { slotCounts: new Float64Array(10) }]]))).toThrow(RangeError);
  });
});

describe('plan: properties', () => {
  const variants = ['a', 'b', 'c'];
  const targetsArb = fc.tuple(fc.nat(3000), fc.nat(3000), fc.nat(3000)).map(([a, b, c]) => ({ a, b, c }));

  it('the publish transition moves exactly the slots whose effective variant changes, and the matrix covers the layer', () => {
    fc.assert(
      fc.property(targetsArb, targetsArb, fc.boolean(), (ta, tb, reorder) => {
        const a = reallocate({ slots: N, variants, current: {}, target: ta, unavailable: UNAVAILABLE }).allocation;
        const b = reallocate({ slots: N, variants, current: a, target: tb, unavailable: UNAVAILABLE });
        const current = propose(base(), (d) => {
          exp(d).variants = variants.map((key) => ({ key }));
          phase(d, 'p1').allocation = mutable(a);
        });
        const proposed = propose(current, (d) => {
          if (reorder) exp(d).variants.reverse();
          phase(d, 'p1').allocation = mutable(b.allocation);
        });
        const report = run(current, proposed);
        const from = effective(a);
        const to = effective(b.allocation);
        let moved = 0;
        const pairs = new Map<string, number>();
        for (let s = 0; s < N; s++) {
          if (from[s] !== NONE && to[s] !== from[s]) moved++;
          const key = `${from[s]}>${to[s]}`;
          pairs.set(key, (pairs.get(key) ?? 0) + 1);
        }
        expect(moved).toBe(b.moved);
        if (report.verdict === 'unchanged') {
          expect(moved).toBe(0);
          return;
        }
        const t = publishOf(report);
        expect(t.movedSlots).toBe(moved);
        expect(t.movedShare).toBeCloseTo(moved / N, 9);
        expect(report.verdict).toBe(moved > 0 ? 'refused' : 'safe');
        expect(t.matrix.reduce((sum, c) => sum + c.slots, 0)).toBe(N);
        expect(t.matrix.reduce((sum, c) => sum + c.share, 0)).toBeCloseTo(1, 9);
        expect(new Map(t.matrix.map((c) => [`${c.from}>${c.to}`, c.slots]))).toEqual(pairs);
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});

describe('plan: the examples', () => {
  const load = (name: string): unknown => parse(readFileSync(new URL(`../../../../examples/${name}`, import.meta.url), 'utf8'));
  const current = load('checkout.yaml');

  it('checkout-ramp.yaml is safe', () => {
    const report = run(current, load('checkout-ramp.yaml'));
    expect(report.verdict).toBe('safe');
    expect(publishOf(report, 'price_anchor')).toMatchObject({ movedSlots: 0, enteringSlots: 10_000 });
    expect(experimentPlan(report, 'checkout_v2').verdict).toBe('unchanged');
  });

  it('checkout-reweight.yaml is refused: [20000, 25000) would switch variant', () => {
    const report = run(current, load('checkout-reweight.yaml'));
    expect(report.verdict).toBe('refused');
    const t = publishOf(report, 'price_anchor');
    expect(t).toMatchObject({ movedSlots: 5000, movedShare: 0.05, declared: false });
    expect(cell(t, 'monthly_first', 'annual_first')).toBe(5000);
  });

  it('checkout-rerandomize.yaml is declared', () => {
    const report = run(current, load('checkout-rerandomize.yaml'));
    expect(report.verdict).toBe('declared');
    expect(report.allowed).toBe(true);
    expect(publishOf(report, 'price_anchor')).toMatchObject({ movedSlots: 5000, declared: true, fromPhase: 'main', toPhase: 'reweighted' });
  });
});
