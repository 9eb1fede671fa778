/** One experiment: its header and tabs (overview, change, health, results, history). */
import { lazy, Suspense, type ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { Loading } from '../components/Problem.js';
import { SlotSpace } from '../components/SlotSpace.js';
import { compiled, statusOf } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { fmtTime } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { experimentPath, type Tab } from '../lib/routes.js';
import { describeCondition } from '../lib/targeting.js';
import { ChangeAllocation } from './ChangeAllocation.js';
import { ExperimentHistory } from './ExperimentHistory.js';

// Charts (chart.js) are loaded with the pages that draw them.
const Health = lazy(async () => ({ default: (await import('./Health.js')).Health }));
const Results = lazy(async () => ({ default: (await import('./Results.js')).Results }));

const TAB_LABEL: Readonly<Record<Tab, string>> = { overview: 'Overview', change: 'Change allocation', health: 'Health', results: 'Results', history: 'History' };

function Overview({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { config, now } = useDashboard();
  const c = compiled(config.doc, config.hash);
  const exp = c.experiments.get(experimentKey)!;
  return (
    <>
      <section className="card" aria-labelledby="variants-title">
        <h2 id="variants-title">Variants and targeting</h2>
        <dl className="facts">
          <dt>Variants</dt>
          <dd>
            {exp.variants.map((v) => (
              <div key={v.key}>
                <code>{v.key}</code>
                {v.value === undefined ? null : <span className="muted"> serves {JSON.stringify(v.value)}</span>}
              </div>
            ))}
          </dd>
          <dt>Targeting</dt>
          <dd>
            {exp.targeting === undefined ? (
              'everyone'
            ) : (
              <>
                {describeCondition(exp.targeting)}
                <details>
                  <summary className="small">as JSON</summary>
                  <pre className="json">{JSON.stringify(exp.targeting, null, 2)}</pre>
                </details>
              </>
            )}
          </dd>
          <dt>Ends</dt>
          <dd>{exp.doc.endsAt === undefined ? 'not set' : fmtTime(exp.doc.endsAt)}</dd>
        </dl>
      </section>
      <SlotSpace config={c} experiment={exp} now={now()} />
    </>
  );
}

export function ExperimentPage({ experimentKey, tab }: { readonly experimentKey: string; readonly tab: Tab }): ReactNode {
  const { config, session, now } = useDashboard();
  const exp = compiled(config.doc, config.hash).experiments.get(experimentKey);
  if (exp === undefined) {
    return (
      <>
        <h1 tabIndex={-1}>Experiment {experimentKey}</h1>
        <p className="problem" role="alert">
          Config version {config.version} has no experiment <code>{experimentKey}</code>. <Link to="/">Back to the experiments</Link>.
        </p>
      </>
    );
  }
  const status = statusOf(exp, now());
  const tabs = (['overview', 'change', 'health', 'results', 'history'] as const).filter((t) => t !== 'change' || session.who.canWrite);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Experiments</Link> / {exp.key}
      </p>
      <div className="page-head">
        <h1 tabIndex={-1}>{exp.key}</h1>
        <Badge>{status.state}</Badge>
        {status.state === 'running' ? <span className="muted">phase {status.phase}, layer {exp.layer.id}</span> : <span className="muted">layer {exp.layer.id}</span>}
      </div>
      {exp.doc.description === undefined ? null : <p className="lede">{exp.doc.description}</p>}
      <nav className="tabs" aria-label={`${exp.key} sections`}>
        {tabs.map((t) => (
          <Link key={t} to={experimentPath(exp.key, t)} className="tab" aria-current={t === tab ? 'page' : undefined}>
            {TAB_LABEL[t]}
          </Link>
        ))}
      </nav>
      {tab === 'overview' ? <Overview experimentKey={exp.key} /> : null}
      {tab === 'change' ? (
        session.who.canWrite ? (
          <ChangeAllocation experimentKey={exp.key} />
        ) : (
          <p className="notice">This key is read-only: sign in with an admin key to change allocations.</p>
        )
      ) : null}
      <Suspense fallback={<Loading what={tab} />}>
        {tab === 'health' ? <Health experimentKey={exp.key} /> : null}
        {tab === 'results' ? <Results experimentKey={exp.key} /> : null}
      </Suspense>
      {tab === 'history' ? <ExperimentHistory experimentKey={exp.key} /> : null}
    </>
  );
}
