/**
 * Saving a planned change: a reason (recorded with the version), then POST /v1/config/versions.
 * Saving is only offered when the preview is current and the planner allows the change; if the
 * service still refuses (exposures arrived since the preview: 409 CHANGE_REFUSED), its answer and
 * the impact it computed are shown in full.
 */
import type { ConfigDocument, PlanReport } from '@sortition/core';
import { useEffect, useId, useState, type ReactNode } from 'react';
import { ApiError } from '../lib/api.js';
import { useDashboard } from '../lib/context.js';
import type { PublishAnswer } from '../lib/types.js';
import type { PlanState } from '../lib/usePlan.js';
import { PlanPreview } from './PlanPreview.js';
import { Problem } from './Problem.js';

export interface PublishPanelProps {
  readonly doc: ConfigDocument | null;
  readonly plan: PlanState & { readonly replan: () => void };
  readonly focus: string;
  /** The reason, when the form already asks for one (a new phase's reason); otherwise the panel asks. */
  readonly reason?: string;
  readonly onPublished: (answer: PublishAnswer) => void;
  /** Offered when the planner refuses: turn the change into a declared, re-randomizing phase. */
  readonly onDeclare?: () => void;
}

function blocker(props: PublishPanelProps, reason: string): string | null {
  const { doc, plan } = props;
  if (doc === null) return 'Make a change above to see its impact.';
  if (plan.loading || plan.doc !== doc) return 'Waiting for the planner’s preview of this exact change…';
  if (plan.error !== null) return 'The preview failed; saving waits for a preview.';
  const verdict = plan.plan?.verdict;
  if (verdict === 'refused') return 'The planner refuses this change, so it cannot be saved.';
  if (verdict === 'invalid') return 'The proposed config is invalid; fix the issues listed above.';
  if (verdict === 'unchanged') return 'Nothing would change.';
  if (reason.trim() === '') return 'Say why: a reason is recorded with every config version.';
  return null;
}

export function PublishPanel(props: PublishPanelProps): ReactNode {
  const { session, config, reloadConfig } = useDashboard();
  const [ownReason, setOwnReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const id = useId();
  const reason = props.reason ?? ownReason;
  // A refusal is about the change that was submitted; a new change starts clean.
  useEffect(() => setRefusal(null), [props.doc]);
  const why = blocker(props, reason);

  const publish = async (): Promise<void> => {
    if (props.doc === null || why !== null) return;
    setBusy(true);
    setRefusal(null);
    try {
      const answer = await session.api.post<PublishAnswer>('/v1/config/versions', { config: props.doc, baseVersion: config.version, reason: reason.trim() });
      await reloadConfig();
      setOwnReason('');
      props.onPublished(answer);
    } catch (error) {
      const problem = error instanceof ApiError ? error : new ApiError(0, { code: 'UNEXPECTED', message: String(error) });
      setRefusal(problem);
      // The preview was made before the exposures that made the service refuse: ask again.
      if (problem.code === 'CHANGE_REFUSED') props.plan.replan();
    } finally {
      setBusy(false);
    }
  };

  const impact = refusal?.code === 'CHANGE_REFUSED' ? ((refusal.details as { impact?: PlanReport } | undefined)?.impact ?? null) : null;
  return (
    <section className="card publish" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Preview and save</h2>
      {props.plan.plan !== null && props.plan.doc === props.doc ? <PlanPreview plan={props.plan.plan} focus={props.focus} /> : null}
      {props.plan.error === null ? null : <Problem error={props.plan.error} title="The planner could not preview this change" />}
      {props.plan.plan?.verdict === 'refused' && props.plan.doc === props.doc && props.onDeclare !== undefined ? (
        <div className="callout">
          <p>
            To move exposed units on purpose, declare it: start a <strong>new phase that re-randomizes</strong>, with a reason. Units are then assigned afresh from their slots, and the analysis keeps the phases apart.
          </p>
          <button type="button" className="button" onClick={props.onDeclare}>
            Declare a re-randomizing phase
          </button>
        </div>
      ) : null}
      {props.reason === undefined ? (
        <>
          <label htmlFor={`${id}-reason`}>Reason for this version</label>
          <textarea id={`${id}-reason`} rows={2} value={ownReason} onChange={(e) => setOwnReason(e.target.value)} aria-describedby={`${id}-reason-help`} />
          <p id={`${id}-reason-help`} className="help">
            Recorded with the version, its author (your key’s label) and the planner’s impact report.
          </p>
        </>
      ) : null}
      <div className="actions">
        <button type="button" className="button-primary" onClick={() => void publish()} disabled={why !== null || busy} aria-describedby={`${id}-why`}>
          {busy ? 'Saving…' : `Save as version ${config.version + 1}`}
        </button>
        <span id={`${id}-why`} className="muted" role="status">
          {why ?? 'The service plans again against fresh exposures when it saves.'}
        </span>
      </div>
      {refusal === null ? null : (
        <Problem
          error={refusal}
          title={
            refusal.code === 'CHANGE_REFUSED'
              ? 'The service refused to save this change (409): it would move exposed units without declaring it'
              : refusal.code === 'BASE_VERSION_MISMATCH'
                ? 'Someone else saved a version meanwhile (409)'
                : 'The service did not save this change'
          }
        >
          {impact === null ? null : (
            <>
              <p>Units were exposed after the preview was made; the preview above has been made again with them.</p>
              <details>
                <summary>The impact the service computed when it refused</summary>
                <PlanPreview plan={impact} focus={props.focus} />
              </details>
            </>
          )}
          {refusal.code === 'BASE_VERSION_MISMATCH' ? (
            <button type="button" className="button" onClick={() => void reloadConfig()}>
              Load the latest version
            </button>
          ) : null}
        </Problem>
      )}
    </section>
  );
}
