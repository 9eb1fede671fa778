/** One experiment's config history: who changed what and why, with the diff and the planner's verdict. */
import type { ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { DiffList } from '../components/DiffList.js';
import { Loading, Problem } from '../components/Problem.js';
import { query } from '../lib/api.js';
import { useAsync } from '../lib/async.js';
import { useDashboard } from '../lib/context.js';
import { fmtInt, fmtTime, plural } from '../lib/format.js';
import type { ExperimentVersion } from '../lib/types.js';

export function ExperimentHistory({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { session, config } = useDashboard();
  const state = useAsync(() => session.api.get<{ versions: ExperimentVersion[] }>(`/v1/insights/history?${query({ experiment: experimentKey })}`), [session, experimentKey, config.version]);
  if (state.status === 'error') return <Problem error={state.error} title="The history could not be loaded" />;
  if (state.data === null) return <Loading what="the history" />;
  return (
    <ol className="history" aria-label={`Versions that changed ${experimentKey}, newest first`}>
      {state.data.versions.map((v) => (
        <li key={v.version} className="card">
          <h3>
            Version {v.version} <Badge tone={v.change === 'added' ? 'info' : 'neutral'}>{v.change}</Badge> {v.verdict === null ? null : <Badge>{v.verdict}</Badge>}
          </h3>
          <p className="muted small">
            {fmtTime(v.createdAt)} by {v.author} · hash <code>{v.hash.slice(0, 12)}</code>
          </p>
          <blockquote>{v.reason}</blockquote>
          {v.transitions.length === 0 ? null : (
            <ul className="small">
              {v.transitions.map((t) => (
                <li key={`${t.trigger}-${t.toPhase ?? ''}`}>
                  {t.trigger === 'publish' ? 'On publish' : `When ${t.toPhase ?? '?'} started`}: {plural(t.movedSlots, 'slot')} changed variant, {fmtInt(t.enteringSlots)} started serving
                  {t.exposedMoving === null ? '' : `, ${plural(Math.round(t.exposedMoving), 'exposed unit')} moved`}
                  {t.declaredBy === null ? '' : ` (declared by ${t.declaredBy})`}
                </li>
              ))}
            </ul>
          )}
          <DiffList changes={v.changes} strip={`/experiments/${experimentKey}`} />
        </li>
      ))}
    </ol>
  );
}
