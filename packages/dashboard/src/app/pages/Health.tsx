/** Health: units per arm against the split in force and SRM per phase; crossovers per day with their cause. */
import type { ChartConfiguration } from 'chart.js';
import { useMemo, type ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { ChartCanvas } from '../components/Chart.js';
import { Loading, Problem } from '../components/Problem.js';
import { useAsync } from '../lib/async.js';
import { query } from '../lib/api.js';
import { compiled, variantColor } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { fmtInt, fmtNum, fmtP, fmtPct, fmtTime } from '../lib/format.js';
import type { HealthReport, PhaseHealth } from '../lib/types.js';

const SRM_TEXT: Readonly<Record<string, string>> = {
  ok: 'No sample ratio mismatch: the arms are the sizes the split predicts.',
  warn: 'Possible sample ratio mismatch (p < 0.01): check for units lost or duplicated in one arm.',
  alert: 'Sample ratio mismatch (p < 0.001): the arms are not the sizes the split predicts; results are not trustworthy until the cause is found.',
  'insufficient-data': 'Not enough units yet: every arm needs at least 8 expected units.',
  'expected-split-unknown': 'The split in force for this phase is unknown.',
};

function splitText(phase: PhaseHealth): string {
  if (phase.split === null || phase.split.segments.length === 0) return 'unknown';
  return phase.split.segments
    .map((s) => {
      const total = Object.values(s.slots).reduce((a, b) => a + b, 0);
      const shares = Object.entries(s.slots)
        .map(([v, n]) => `${v} ${fmtPct(total === 0 ? 0 : n / total)}`)
        .join(' / ');
      const versions = s.configVersions.length === 1 ? `v${s.configVersions[0]}` : `v${s.configVersions[0]}–v${s.configVersions[s.configVersions.length - 1]}`;
      return `${shares} (${versions}, ${fmtInt(s.units)} units)`;
    })
    .join('; then ');
}

function PhaseCard({ phase, variants }: { readonly phase: PhaseHealth; readonly variants: readonly string[] }): ReactNode {
  const chart = useMemo<ChartConfiguration<'bar'>>(
    () => ({
      type: 'bar',
      data: {
        labels: phase.arms.map((a) => a.variant),
        datasets: [
          { label: 'Observed units', data: phase.arms.map((a) => a.units), backgroundColor: phase.arms.map((a) => variantColor(variants.indexOf(a.variant))) },
          { label: 'Expected from the split', data: phase.arms.map((a) => a.expectedUnits ?? 0), backgroundColor: '#d1d5db', borderColor: '#6b7280', borderWidth: 1 },
        ],
      },
      options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true, title: { display: true, text: 'units (first exposure)' } } } },
    }),
    [phase, variants],
  );
  const { srm } = phase;
  return (
    <section className="card" aria-labelledby={`phase-${phase.phase}`}>
      <h3 id={`phase-${phase.phase}`}>
        Phase {phase.phase} <span className="muted normal">{fmtInt(phase.units)} units first exposed here</span> <Badge>{srm.status}</Badge>
      </h3>
      <p>{SRM_TEXT[srm.status] ?? srm.status}</p>
      <p className="muted small">
        χ² = {fmtNum(srm.chiSquare)}, p = {fmtP(srm.pValue)}; always-valid (sequential) p = {fmtP(srm.sequential?.pValue)}. Split in force: {splitText(phase)}.
      </p>
      <div className="two-col">
        <ChartCanvas config={chart} label={`Phase ${phase.phase}: observed against expected units per arm`} height={220} />
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Units per arm in phase {phase.phase}</caption>
            <thead>
              <tr>
                <th scope="col">Arm</th>
                <th scope="col" className="num">Units</th>
                <th scope="col" className="num">Share</th>
                <th scope="col" className="num">Split</th>
                <th scope="col" className="num">Expected</th>
                <th scope="col" className="num">Exposures</th>
              </tr>
            </thead>
            <tbody>
              {phase.arms.map((a) => (
                <tr key={a.variant}>
                  <th scope="row">{a.variant}</th>
                  <td className="num">{fmtInt(a.units)}</td>
                  <td className="num">{fmtPct(a.observedShare)}</td>
                  <td className="num">{fmtPct(a.expectedShare)}</td>
                  <td className="num">{a.expectedUnits === null ? '–' : fmtNum(a.expectedUnits, { digits: 5 })}</td>
                  <td className="num">{fmtInt(a.exposures)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

function Crossovers({ report }: { readonly report: HealthReport }): ReactNode {
  const c = report.crossovers;
  const chart = useMemo<ChartConfiguration<'line'>>(
    () => ({
      type: 'line',
      data: {
        labels: c.days.map((d) => d.day),
        datasets: [
          { label: 'Exposed in another arm that day', data: c.days.map((d) => d.share * 100), borderColor: '#D55E00', backgroundColor: '#D55E00', pointRadius: 3 },
          { label: 'Crossover units so far', data: c.days.map((d) => d.cumulativeShare * 100), borderColor: '#0072B2', backgroundColor: '#0072B2', borderDash: [6, 4], pointRadius: 2 },
        ],
      },
      options: { plugins: { legend: { position: 'bottom', labels: { usePointStyle: true, pointStyle: 'line' } } }, scales: { y: { beginAtZero: true, title: { display: true, text: '% of units' } } } },
    }),
    [c],
  );
  return (
    <section className="card" aria-labelledby="crossover-title">
      <h2 id="crossover-title">
        Crossovers <Badge tone={c.warning ? 'warn' : 'good'}>{fmtPct(c.crossoverShare, 2)}</Badge>
      </h2>
      <p>
        {fmtInt(c.crossoverUnits)} of {fmtInt(c.units)} units were exposed to more than one variant{c.firstFlipDay === null ? '' : `, first on ${c.firstFlipDay}`}. They stay in the arm of their first exposure in the results.
      </p>
      {c.crossoverUnits === 0 ? null : <ChartCanvas config={chart} label={`Crossover share per day for ${report.experiment}: ${c.days.map((d) => `${d.day} ${fmtPct(d.share)}`).join(', ')}`} height={220} />}
      {c.causes.length === 0 ? (
        <p className="muted">No unit has been served two variants.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>Causes</caption>
            <thead>
              <tr>
                <th scope="col">Phase</th>
                <th scope="col" className="num">Units</th>
                <th scope="col">Cause</th>
                <th scope="col">Explanation</th>
              </tr>
            </thead>
            <tbody>
              {c.causes.map((cause) => (
                <tr key={`${cause.phase}-${cause.rerandomizedBy ?? ''}`}>
                  <th scope="row">{cause.phase}</th>
                  <td className="num">{fmtInt(cause.units)}</td>
                  <td>
                    <Badge>{cause.kind}</Badge>
                  </td>
                  <td>
                    {cause.explanation}
                    {cause.version === null ? null : <div className="muted small">by {cause.version.author}, {fmtTime(cause.version.createdAt)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function Health({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { session, config } = useDashboard();
  const state = useAsync(() => session.api.get<HealthReport>(`/v1/insights/health?${query({ experiment: experimentKey })}`), [session, experimentKey, config.version]);
  const variants = compiled(config.doc, config.hash).experiments.get(experimentKey)?.variants.map((v) => v.key) ?? [];
  const report = state.data;
  return (
    <>
      <div className="toolbar">
        <button type="button" className="button" onClick={state.reload} disabled={state.status === 'loading'}>
          {state.status === 'loading' ? 'Refreshing…' : 'Refresh'}
        </button>
        {report === null ? null : <span className="muted">Computed {fmtTime(report.generatedAt)} from {fmtInt(report.exposureRows)} stored exposures.</span>}
      </div>
      {state.status === 'error' ? <Problem error={state.error} title="Health could not be computed" /> : null}
      {report === null ? (
        state.status === 'loading' ? <Loading what="health" /> : null
      ) : report.units === 0 ? (
        <p className="notice">No unit has been exposed to {experimentKey} yet: health appears once units are evaluated or exposures are reported.</p>
      ) : (
        <>
          {report.warnings.length === 0 ? null : (
            <ul className="warnings" aria-label="Warnings">
              {report.warnings.map((w) => (
                <li key={w.message}>
                  <Badge tone={w.code === 'SRM_ALERT' ? 'bad' : 'warn'}>{w.code}</Badge> {w.message}
                </li>
              ))}
            </ul>
          )}
          <h2>Exposures against the split in force</h2>
          {report.phases.map((p) => (
            <PhaseCard key={p.phase} phase={p} variants={variants} />
          ))}
          <Crossovers report={report} />
        </>
      )}
    </>
  );
}
