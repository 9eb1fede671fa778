/**
 * Changing an experiment's allocation: traffic share (ramp), weights, new variants, optionally as a
 * new phase. Every edit is turned into a proposed config (minimal-move reallocation) and previewed
 * by the service's planner before it can be saved.
 */
import { compileConfig, type ConfigDocument } from '@sortition/core';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Field, errorFor } from '../components/Field.js';
import { PhaseFields, type PhaseDraft } from '../components/PhaseFields.js';
import { PublishPanel } from '../components/PublishPanel.js';
import { SlotBar } from '../components/SlotBar.js';
import { compiled, editablePhase, phaseSegments, slotCounts, statusOf, totalSlots } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { EditError, maxCoverage, proposeAllocation, startTime, type AllocationChange } from '../lib/edit.js';
import { fmtInt, fmtPct } from '../lib/format.js';
import type { PublishAnswer } from '../lib/types.js';
import { usePlan } from '../lib/usePlan.js';

interface Form {
  readonly coverage: string;
  readonly weights: Readonly<Record<string, string>>;
  readonly added: readonly { readonly key: string; readonly weight: string }[];
  readonly newVariant: string;
  readonly phase: PhaseDraft | null;
  readonly reason: string;
}

const pct = (share: number): string => String(Number((share * 100).toFixed(2)));

function parseNumber(text: string, field: string, what: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) throw new EditError(field, `${what} must be a number`);
  return n;
}

export function ChangeAllocation({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { config } = useDashboard();
  const [published, setPublished] = useState<PublishAnswer | null>(null);
  return (
    <>
      {published === null ? null : (
        <p className="success" role="status">
          Saved as config version {published.version}. The service serves it now{published.impact === null ? '' : ` (planner: ${published.impact.verdict})`}.
        </p>
      )}
      {/* A new config version (ours or someone else's) starts the form again from what is in force. */}
      <ChangeForm key={config.version} experimentKey={experimentKey} onPublished={setPublished} />
    </>
  );
}

function ChangeForm({ experimentKey, onPublished }: { readonly experimentKey: string; readonly onPublished: (answer: PublishAnswer) => void }): ReactNode {
  const { config, session, now } = useDashboard();
  const [at] = useState(now);
  const c = compiled(config.doc, config.hash);
  const exp = c.experiments.get(experimentKey)!;
  const phase = editablePhase(exp, at);
  const counts = slotCounts(exp, phase);
  const total = totalSlots(counts);
  const slots = exp.layer.slots;
  const initial: Form = useMemo(
    () => ({ coverage: pct(total / slots), weights: Object.fromEntries(exp.variants.map((v) => [v.key, pct(total === 0 ? 1 / exp.variants.length : (counts[v.key] ?? 0) / total)])), added: [], newVariant: '', phase: null, reason: '' }),
    // The form is keyed by config version, so these are fixed for its lifetime.
    [],
  );
  const [form, setForm] = useState<Form>(initial);
  const update = (patch: Partial<Form>): void => setForm((f) => ({ ...f, ...patch }));
  // Declaring a phase from the refusal moves focus to what is still missing: the reason.
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const [focusReason, setFocusReason] = useState(0);
  useEffect(() => {
    if (focusReason > 0) reasonRef.current?.focus();
  }, [focusReason]);

  const excluded = form.phase === null ? (phase.doc.exclude ?? []) : form.phase.exclude;
  const available = maxCoverage(config.doc, exp.key, excluded);

  const proposal = useMemo((): { doc: ConfigDocument | null; error: unknown; target: Record<string, number> } => {
    const weightsTouched = form.added.length > 0 || exp.variants.some((v) => form.weights[v.key] !== initial.weights[v.key]);
    const unchanged = !weightsTouched && form.coverage === initial.coverage && form.phase === null;
    if (unchanged) return { doc: null, error: null, target: counts };
    try {
      const coverage = form.coverage === initial.coverage ? total : Math.round((parseNumber(form.coverage, 'coverage', 'the traffic share') / 100) * slots);
      const weights: Record<string, number> = weightsTouched
        ? Object.fromEntries([...exp.variants.map((v) => [v.key, parseNumber(form.weights[v.key] ?? '', `weight-${v.key}`, `the weight of ${v.key}`)]), ...form.added.map((a) => [a.key, parseNumber(a.weight, `weight-${a.key}`, `the weight of ${a.key}`)])])
        : { ...counts };
      const change: AllocationChange = {
        experiment: exp.key,
        coverage,
        weights,
        newVariants: form.added.map((a) => ({ key: a.key })),
        newPhase: form.phase === null ? null : { ...form.phase, reason: form.reason },
      };
      const { doc } = proposeAllocation(config.doc, change, at);
      const p = doc.experiments.find((e) => e.key === exp.key)!;
      const edited = form.phase === null ? p.phases.find((x) => x.id === phase.id)! : p.phases[p.phases.length - 1]!;
      const target = Object.fromEntries(Object.entries(edited.allocation).map(([v, r]) => [v, r.reduce((n, [a, b]) => n + b - a, 0)]));
      return { doc, error: null, target };
    } catch (error) {
      if (error instanceof EditError || error instanceof RangeError) return { doc: null, error, target: counts };
      throw error;
    }
  }, [form, config, at]);

  const plan = usePlan(session.api, proposal.doc);
  const after = useMemo(() => {
    if (proposal.doc === null) return null;
    const result = compileConfig(proposal.doc);
    if (!result.ok) return null;
    const e = result.config.experiments.get(exp.key)!;
    const p = form.phase === null ? e.phases[e.phaseIndex.get(phase.id)!]! : e.phases[e.phases.length - 1]!;
    return { segments: phaseSegments(result.config, e, p), id: p.id };
  }, [proposal.doc]);

  const running = statusOf(exp, at).state === 'running';
  if (statusOf(exp, at).state === 'ended') return <p className="notice">This experiment has ended; its allocation can no longer change.</p>;

  const declare = (): void => update({ phase: { id: exp.phases.some((p) => p.id === 'rerandomized') ? `rerandomized-${exp.phases.length + 1}` : 'rerandomized', startsAt: startTime(now(), 60_000), carryover: 'rerandomize', exclude: [] } });
  const addVariant = (): void => {
    const key = form.newVariant.trim();
    if (key === '') return;
    update({ added: [...form.added, { key, weight: pct(1 / (exp.variants.length + form.added.length + 1)) }], newVariant: '' });
  };

  return (
    <>
      <section className="card" aria-labelledby="change-title">
        <h2 id="change-title">Change the allocation</h2>
        <p className="muted">
          Phase <strong>{phase.id}</strong> holds {fmtInt(total)} of {fmtInt(slots)} slots ({fmtPct(total / slots, 2)}). Ramping into unallocated slots moves nobody; changing weights moves exposed units and needs a re-randomizing phase.
        </p>
        <div className="row">
          <Field label="Traffic: share of the layer (%)" error={errorFor(proposal.error, 'coverage')} help={`At most ${fmtPct(available / slots, 2)} (${fmtInt(available)} slots) is available: other experiments, holdouts and excluded phases hold the rest.`}>
            {(p) => <input {...p} type="number" inputMode="decimal" min={0.01} max={Number(((available / slots) * 100).toFixed(2))} step={0.01} value={form.coverage} onChange={(e) => update({ coverage: e.target.value })} />}
          </Field>
        </div>
        <fieldset>
          <legend>Split between variants (weights, any scale)</legend>
          <div className="weights">
            {[...exp.variants.map((v) => ({ key: v.key, value: form.weights[v.key] ?? '', added: false })), ...form.added.map((a) => ({ key: a.key, value: a.weight, added: true }))].map((row) => (
              <Field key={row.key} label={`Weight of ${row.key}${row.added ? ' (new)' : ''}`} error={errorFor(proposal.error, `weight-${row.key}`)} help={`${fmtInt(proposal.target[row.key] ?? 0)} slots after the change`}>
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    inputMode="decimal"
                    min={0}
                    step="any"
                    value={row.value}
                    onChange={(e) =>
                      row.added ? update({ added: form.added.map((a) => (a.key === row.key ? { ...a, weight: e.target.value } : a)) }) : update({ weights: { ...form.weights, [row.key]: e.target.value } })
                    }
                  />
                )}
              </Field>
            ))}
          </div>
          <div className="row add-variant">
            <Field label="New variant key" error={errorFor(proposal.error, 'new-variant')} help={
                running
                  ? 'On a running experiment a new variant gets slots only in a new phase: tick "Make this a new phase" below and schedule it. The phase in force keeps serving exactly what it serves now. Experiments that have not started take new variants freely.'
                  : 'The experiment has not started: new variants are taken as they are.'
              }>
              {(p) => <input {...p} type="text" value={form.newVariant} spellCheck={false} onChange={(e) => update({ newVariant: e.target.value })} onKeyDown={(e) => (e.key === 'Enter' ? (e.preventDefault(), addVariant()) : undefined)} />}
            </Field>
            <button type="button" className="button" onClick={addVariant} disabled={form.newVariant.trim() === ''}>
              Add variant
            </button>
            {form.added.length === 0 ? null : (
              <button type="button" className="button-quiet" onClick={() => update({ added: [] })}>
                Remove new variants
              </button>
            )}
          </div>
        </fieldset>
        <fieldset>
          <legend>Phase</legend>
          <label className="choice">
            <input type="checkbox" checked={form.phase !== null} onChange={(e) => (e.target.checked ? declare() : update({ phase: null }))} />
            <span>
              Make this a <strong>new phase</strong> (required to re-randomize, change who is eligible, or add variants to a running experiment)
            </span>
          </label>
          {form.phase === null ? null : (
            <>
              <PhaseFields draft={form.phase} phases={exp.phases.map((p) => p.id)} error={proposal.error} onChange={(draft) => update({ phase: draft })} />
              <Field label="Reason for the new phase (also recorded with the version)" error={errorFor(proposal.error, 'reason')}>
                {(p) => <textarea {...p} ref={reasonRef} rows={2} value={form.reason} onChange={(e) => update({ reason: e.target.value })} />}
              </Field>
            </>
          )}
        </fieldset>
        {proposal.error === null || proposal.error instanceof EditError ? null : (
          <p className="field-error" role="alert">
            {proposal.error instanceof Error ? proposal.error.message : String(proposal.error)}
          </p>
        )}
        <figure className="phase">
          <figcaption>
            <span>
              <strong>Now:</strong> phase {phase.id}
            </span>
          </figcaption>
          <SlotBar segments={phaseSegments(c, exp, phase)} slots={slots} label={`Phase ${phase.id} now`} />
        </figure>
        {after === null ? null : (
          <figure className="phase">
            <figcaption>
              <span>
                <strong>Proposed:</strong> phase {after.id}
                {form.phase === null ? '' : ` (new, from ${form.phase.startsAt})`}
              </span>
            </figcaption>
            <SlotBar segments={after.segments} slots={slots} label={`Phase ${after.id} as proposed`} />
          </figure>
        )}
      </section>
      <PublishPanel
        doc={proposal.doc}
        plan={plan}
        focus={exp.key}
        {...(form.phase === null ? {} : { reason: form.reason })}
        onPublished={onPublished}
        {...(form.phase === null
          ? {
              onDeclare: () => {
                declare();
                setFocusReason((n) => n + 1);
              },
            }
          : {})}
      />
    </>
  );
}
