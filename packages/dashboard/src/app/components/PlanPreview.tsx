/**
 * The planner's impact report for a proposed config (POST /v1/config/plan, or the impact inside a
 * 409): the verdict, and per experiment and transition how many slots and exposed units change
 * variant, per variant, and why a refused change is refused.
 */
import { NONE, type ExperimentPlan, type PlanReport, type Transition } from '@sortition/core';
import type { ReactNode } from 'react';
import { fmtInt, fmtPct, plural } from '../lib/format.js';
import type { PlanAnswer } from '../lib/types.js';
import { Badge } from './Badge.js';

export interface VariantFlow {
  readonly variant: string;
  readonly before: number;
  readonly after: number;
  readonly leaving: number;
  readonly exposedLeaving: number | null;
  readonly joining: number;
}

/** Per variant: slots before and after, slots (and exposed units) leaving it, slots joining it. */
export function variantFlows(transition: Transition): VariantFlow[] {
  const names = [...new Set(transition.matrix.flatMap((c) => [c.from, c.to]))].filter((v) => v !== NONE);
  return names.map((variant) => {
    const out = transition.matrix.filter((c) => c.from === variant);
    const moving = out.filter((c) => c.to !== variant);
    const exposed = moving.map((c) => c.exposedUnits);
    return {
      variant,
      before: out.reduce((n, c) => n + c.slots, 0),
      after: transition.matrix.filter((c) => c.to === variant).reduce((n, c) => n + c.slots, 0),
      leaving: moving.reduce((n, c) => n + c.slots, 0),
      exposedLeaving: exposed.some((e) => e === null) ? null : exposed.reduce<number>((n, e) => n + (e ?? 0), 0),
      joining: transition.matrix.filter((c) => c.to === variant && c.from !== variant).reduce((n, c) => n + c.slots, 0),
    };
  });
}

function when(t: Transition): string {
  return t.trigger === 'publish' ? 'On publish' : `When phase ${t.toPhase ?? '?'} starts`;
}

function exposedText(t: Transition): string {
  if (t.exposedMoving === null) return t.movedSlots === 0 ? 'none' : 'unknown (every moved slot is assumed to hold exposed units)';
  return plural(Math.round(t.exposedMoving), 'exposed unit');
}

function TransitionView({ t }: { readonly t: Transition }): ReactNode {
  const flows = variantFlows(t);
  if (t.movedSlots === 0 && t.enteringSlots === 0) {
    return (
      <p className="transition">
        <strong>{when(t)}</strong>: phase {t.fromPhase ?? '(none)'} → {t.toPhase ?? '(none)'}; no slot changes variant.
      </p>
    );
  }
  return (
    <div className="transition">
      <p>
        <strong>{when(t)}</strong>: phase {t.fromPhase ?? '(none)'} → {t.toPhase ?? '(none)'}. {fmtInt(t.movedSlots)} slots change variant ({fmtPct(t.movedShare, 2)} of traffic), {fmtInt(t.enteringSlots)} slots start serving.{' '}
        Exposed units that would change variant: <strong className={t.exposedMoving !== null && t.exposedMoving > 0 && !t.declared ? 'danger' : undefined}>{exposedText(t)}</strong>
        {t.declared ? (
          <>
            {' '}
            <Badge tone="info">{`declared by ${t.declaredBy ?? ''}`}</Badge>
          </>
        ) : null}
        {t.reshuffle ? <Badge tone="warn">layer reshuffled</Badge> : null}
      </p>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Slots per variant, {when(t).toLowerCase()}</caption>
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col" className="num">Slots before</th>
              <th scope="col" className="num">Slots after</th>
              <th scope="col" className="num">Slots leaving</th>
              <th scope="col" className="num">Exposed units leaving</th>
              <th scope="col" className="num">Slots joining</th>
            </tr>
          </thead>
          <tbody>
            {flows.map((f) => (
              <tr key={f.variant}>
                <th scope="row">{f.variant}</th>
                <td className="num">{fmtInt(f.before)}</td>
                <td className="num">{fmtInt(f.after)}</td>
                <td className="num">{fmtInt(f.leaving)}</td>
                <td className={`num${f.exposedLeaving !== null && f.exposedLeaving > 0 && !t.declared ? ' danger' : ''}`}>{f.exposedLeaving === null ? (f.leaving === 0 ? '0' : 'unknown') : fmtInt(Math.round(f.exposedLeaving))}</td>
                <td className="num">{fmtInt(f.joining)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ExperimentImpact({ plan }: { readonly plan: ExperimentPlan }): ReactNode {
  return (
    <div className="impact" data-experiment={plan.experiment}>
      <h4>
        {plan.experiment} <Badge>{plan.verdict}</Badge> <span className="muted">{plan.change === 'modified' && plan.changes.length > 0 ? `modified: ${plan.changes.join(', ')}` : plan.change}</span>
      </h4>
      {plan.reasons.length === 0 ? null : (
        <ul className="reasons">
          {plan.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {plan.transitions.map((t) => (
        <TransitionView key={`${t.trigger}-${t.toPhase ?? ''}`} t={t} />
      ))}
    </div>
  );
}

const HEADLINE: Readonly<Record<string, string>> = {
  safe: 'Safe: no exposed unit changes variant.',
  declared: 'Declared: units change variant, and the change says so (a re-randomizing phase or an exclusion).',
  refused: 'Refused: this change would move exposed units (or rewrite history) without declaring it. It cannot be saved as it is.',
  unchanged: 'No change: the proposal is the config in force.',
  invalid: 'Invalid: the proposed config does not validate.',
};

export function PlanPreview({ plan, focus }: { readonly plan: PlanAnswer; readonly focus?: string }): ReactNode {
  const issues = plan.verdict === 'invalid' ? plan.issues : [];
  const experiments = 'experiments' in plan ? (plan as PlanReport).experiments.filter((e) => e.change !== 'unchanged' || e.experiment === focus) : [];
  const layers = 'layers' in plan ? (plan as PlanReport).layers.filter((l) => l.verdict === 'refused') : [];
  return (
    <section className={`plan plan-${plan.verdict}`} aria-live="polite" aria-labelledby="plan-title">
      <h3 id="plan-title">
        Planner: <Badge>{plan.verdict}</Badge>
      </h3>
      <p className="headline">{HEADLINE[plan.verdict] ?? plan.verdict}</p>
      {issues.length === 0 ? null : (
        <ul className="reasons">
          {issues.map((i) => (
            <li key={`${i.path}-${i.message}`}>
              <code>{i.path}</code>: {i.message}
              <span className="fix"> Fix: {i.fix}</span>
            </li>
          ))}
        </ul>
      )}
      {layers.map((l) => (
        <ul key={l.layer} className="reasons">
          {l.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ))}
      {experiments.map((e) => (
        <ExperimentImpact key={e.experiment} plan={e} />
      ))}
    </section>
  );
}
