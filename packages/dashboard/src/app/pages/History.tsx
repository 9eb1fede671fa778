/** Every config version, newest first, each with its diff from the one before on request. */
import { useState, type ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { DiffList } from '../components/DiffList.js';
import { Loading, Problem } from '../components/Problem.js';
import { query } from '../lib/api.js';
import { useAsync } from '../lib/async.js';
import { useDashboard } from '../lib/context.js';
import { fmtTime } from '../lib/format.js';
import type { ConfigSummary, JsonChange } from '../lib/types.js';

interface DiffAnswer {
  readonly changes: readonly JsonChange[];
  readonly impact: { readonly verdict: string } | null;
}

function VersionDiff({ version }: { readonly version: number }): ReactNode {
  const { session } = useDashboard();
  const state = useAsync(() => session.api.get<DiffAnswer>(`/v1/config/diff?${query({ from: version - 1, to: version })}`), [session, version]);
  if (state.status === 'error') return <Problem error={state.error} title="The diff could not be loaded" />;
  if (state.data === null) return <Loading what="the diff" />;
  return (
    <>
      {state.data.impact === null ? null : (
        <p>
          Planner: <Badge>{state.data.impact.verdict}</Badge>
        </p>
      )}
      <DiffList changes={state.data.changes} />
    </>
  );
}

export function History(): ReactNode {
  const { session, config } = useDashboard();
  const state = useAsync(() => session.api.get<{ versions: ConfigSummary[] }>('/v1/config/versions'), [session, config.version]);
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  const toggle = (v: number): void => setOpen((s) => (s.has(v) ? new Set([...s].filter((x) => x !== v)) : new Set([...s, v])));
  return (
    <>
      <h1 tabIndex={-1}>Config history</h1>
      <p className="muted">Every published version is immutable and in the transparency log; each records who published it, why, and the planner's impact.</p>
      {state.status === 'error' ? <Problem error={state.error} title="The versions could not be loaded" /> : null}
      {state.data === null ? (
        state.status === 'loading' ? <Loading what="the versions" /> : null
      ) : (
        <ol className="history">
          {[...state.data.versions].reverse().map((v) => (
            <li key={v.version} className="card">
              <h2 className="h3">
                Version {v.version} {v.version === config.version ? <Badge tone="good">in force</Badge> : null}
              </h2>
              <p className="muted small">
                {fmtTime(v.createdAt)} by {v.author} · hash <code>{v.hash.slice(0, 12)}</code>
              </p>
              <blockquote>{v.reason}</blockquote>
              {v.version === 1 ? null : (
                <button type="button" className="button-quiet" aria-expanded={open.has(v.version)} onClick={() => toggle(v.version)}>
                  {open.has(v.version) ? 'Hide' : 'Show'} changes from version {v.version - 1}
                </button>
              )}
              {open.has(v.version) ? <VersionDiff version={v.version} /> : null}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
