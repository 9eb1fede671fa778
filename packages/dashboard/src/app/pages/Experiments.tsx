/** Every experiment with its status, and every layer with what holds its slots. */
import type { ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { Legend, SlotBar } from '../components/SlotBar.js';
import { compiled, editablePhase, layerSegments, slotCounts, statusOf, totalSlots, type ExperimentStatus } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { fmtInt, fmtPct, fmtTime } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { experimentPath } from '../lib/routes.js';

function StatusCell({ status }: { readonly status: ExperimentStatus }): ReactNode {
  switch (status.state) {
    case 'running':
      return (
        <>
          <Badge>running</Badge> <span className="muted">phase {status.phase}</span>
        </>
      );
    case 'scheduled':
      return (
        <>
          <Badge>scheduled</Badge> <span className="muted">{fmtTime(status.startsAt)}</span>
        </>
      );
    default:
      return (
        <>
          <Badge>ended</Badge> <span className="muted">{fmtTime(status.endedAt)}</span>
        </>
      );
  }
}

export function Experiments(): ReactNode {
  const { config, session, now } = useDashboard();
  const c = compiled(config.doc, config.hash);
  const at = now();
  const experiments = [...c.experiments.values()];
  const keys = experiments.map((e) => e.key);
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Experiments</h1>
        {session.who.canWrite ? (
          <Link to="/new-experiment" className="button button-primary">
            New experiment
          </Link>
        ) : null}
      </div>
      <p className="muted">
        Config version {config.version}, published {fmtTime(config.createdAt)} by {config.author}: “{config.reason}”
      </p>
      <section className="card" aria-labelledby="experiments-title">
        <h2 id="experiments-title">Experiments</h2>
        <div className="table-wrap">
          <table className="experiments">
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Layer</th>
                <th scope="col">Status</th>
                <th scope="col" className="hide-narrow">Variants</th>
                <th scope="col" className="num">Traffic</th>
                <th scope="col" className="num hide-narrow">Phases</th>
              </tr>
            </thead>
            <tbody>
              {experiments.map((e) => {
                const phase = editablePhase(e, at);
                const traffic = totalSlots(slotCounts(e, phase)) / e.layer.slots;
                return (
                  <tr key={e.key}>
                    <th scope="row">
                      <Link to={experimentPath(e.key)}>{e.key}</Link>
                      {e.doc.description === undefined ? null : <div className="muted small description">{e.doc.description}</div>}
                    </th>
                    <td>{e.layer.id}</td>
                    <td>
                      <StatusCell status={statusOf(e, at)} />
                    </td>
                    <td className="hide-narrow">{e.variants.map((v) => v.key).join(', ')}</td>
                    <td className="num">{fmtPct(traffic, 1)}</td>
                    <td className="num hide-narrow">{e.phases.length}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card" aria-labelledby="layers-title">
        <h2 id="layers-title">Layers</h2>
        <p className="muted">Experiments in one layer are mutually exclusive; layers are independent of each other.</p>
        {[...c.layers.values()].map((layer) => {
          const segments = layerSegments(c, layer.id, at);
          const share = (kind: string): number => segments.filter((s) => s.kind === kind).reduce((n, s) => n + s.to - s.from, 0) / layer.slots;
          const holders = [...new Set(segments.filter((s) => s.kind === 'variant').map((s) => s.label))];
          return (
            <figure key={layer.id} className="phase">
              <figcaption>
                <strong>{layer.id}</strong> <span className="muted">
                  {fmtInt(layer.slots)} slots by {layer.unit}, epoch {layer.epoch}
                  {layer.doc.description === undefined ? '' : ` — ${layer.doc.description}`}
                </span>
              </figcaption>
              <SlotBar segments={segments} slots={layer.slots} label={`Layer ${layer.id}: ${fmtPct(share('variant'))} serving experiments, ${fmtPct(share('other'))} reserved by their other phases, ${fmtPct(share('holdout'))} held out, ${fmtPct(share('free'))} free`} />
              <Legend
                items={[
                  ...holders.map((key) => ({ key, label: key, swatch: 'variant' as const, index: keys.indexOf(key) })),
                  ...(share('other') > 0 ? [{ key: 'other', label: `reserved by other phases ${fmtPct(share('other'))}`, swatch: 'other' as const }] : []),
                  ...(share('holdout') > 0 ? [{ key: 'holdout', label: `holdout ${fmtPct(share('holdout'))}`, swatch: 'holdout' as const }] : []),
                  { key: 'free', label: `unallocated ${fmtPct(share('free'))}`, swatch: 'free' as const },
                ]}
              />
            </figure>
          );
        })}
      </section>
    </>
  );
}
