/**
 * Results: the metric events the service stores (SDKs send them with client.track(), i.e. POST
 * /v1/metrics) are analysed by default; a file (CSV or JSON Lines: unit_id, timestamp, metric,
 * value) can be uploaded instead. The service attributes the events to each unit's first exposure
 * and estimates the lift per phase of first exposure.
 */
import { useState, type ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { Field } from '../components/Field.js';
import { MetricCard } from '../components/MetricCard.js';
import { Loading, Problem } from '../components/Problem.js';
import { query } from '../lib/api.js';
import { useAsync } from '../lib/async.js';
import { compiled } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { metricNames, type EventsFormat } from '../lib/events.js';
import { fmtInt, fmtTime, plural } from '../lib/format.js';
import type { ResultsReport, StoredMetrics } from '../lib/types.js';

/** The service's limit on uploaded events (POST /v1/insights/results). */
const MAX_BYTES = 32 * 1024 * 1024;

type Source = 'store' | 'upload';

interface Upload {
  readonly name: string;
  readonly format: EventsFormat;
  readonly content: string;
  readonly metrics: readonly string[];
}

function StoredTable({ stored }: { readonly stored: StoredMetrics }): ReactNode {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Stored metric events</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">Events</th>
            <th scope="col">First</th>
            <th scope="col">Last</th>
          </tr>
        </thead>
        <tbody>
          {stored.metrics.map((m) => (
            <tr key={m.metric}>
              <th scope="row">{m.metric}</th>
              <td className="num">{fmtInt(m.events)}</td>
              <td>{fmtTime(m.firstAt)}</td>
              <td>{fmtTime(m.lastAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Results({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { session, config } = useDashboard();
  const variants = compiled(config.doc, config.hash).experiments.get(experimentKey)?.variants.map((v) => v.key) ?? [];
  const stored = useAsync(() => session.api.get<StoredMetrics>(`/v1/insights/metrics?${query({ experiment: experimentKey })}`), [experimentKey]);
  const storedMetrics = stored.data?.metrics ?? [];
  const [chosen, setChosen] = useState<Source | null>(null);
  // Stored events by default, once the service says there are some.
  const source: Source = chosen ?? (storedMetrics.length > 0 ? 'store' : 'upload');
  const [upload, setUpload] = useState<Upload | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [kinds, setKinds] = useState<Readonly<Record<string, 'sum' | 'conversion'>>>({});
  const [control, setControl] = useState(variants.includes('control') ? 'control' : (variants[0] ?? ''));
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ResultsReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const metrics = source === 'store' ? storedMetrics.map((m) => m.metric) : (upload?.metrics ?? []);

  const choose = async (file: File | undefined): Promise<void> => {
    setFileError(null);
    setUpload(null);
    setReport(null);
    if (file === undefined) return;
    if (file.size > MAX_BYTES) {
      setFileError(`${file.name} is ${fmtInt(file.size / 1024 / 1024)} MiB; the service analyses uploads of up to 32 MiB. For more, export the exposures and run \`sortition analyze\`.`);
      return;
    }
    const format: EventsFormat = /\.(jsonl|ndjson|json)$/i.test(file.name) ? 'jsonl' : 'csv';
    const content = await file.text();
    const found = metricNames(content, format);
    if (!found.ok) {
      setFileError(found.error);
      return;
    }
    setUpload({ name: file.name, format, content, metrics: found.metrics });
  };

  const switchTo = (next: Source): void => {
    setChosen(next);
    setReport(null);
    setError(null);
  };

  const analyse = async (): Promise<void> => {
    if (metrics.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      const body = {
        experiment: experimentKey,
        control,
        metrics: metrics.map((name) => ({ name, kind: kinds[name] ?? 'sum' })),
        ...(source === 'upload' && upload !== null ? { events: { format: upload.format, content: upload.content } } : {}),
      };
      setReport(await session.api.post<ResultsReport>('/v1/insights/results', body));
    } catch (e) {
      setReport(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const total = storedMetrics.reduce((n, m) => n + m.events, 0);
  return (
    <>
      <section className="card" aria-labelledby="events-title">
        <h2 id="events-title">Metric events</h2>
        {stored.status === 'loading' && stored.data === null ? <Loading what="stored metric events" /> : null}
        {stored.error === null ? null : <Problem error={stored.error} title="The stored metric events could not be listed" />}
        <fieldset>
          <legend>Events to analyse</legend>
          <label className="choice">
            <input type="radio" name="events-source" value="store" checked={source === 'store'} disabled={storedMetrics.length === 0} onChange={() => switchTo('store')} />
            <span>
              <strong>Stored by the service</strong>:{' '}
              {storedMetrics.length === 0
                ? `none yet for ${stored.data?.unitType ?? 'this'} units. SDKs send them with client.track() (POST /v1/metrics).`
                : `${plural(total, 'event')} of ${plural(storedMetrics.length, 'metric')} for ${stored.data?.unitType ?? ''} units, sent with client.track() (POST /v1/metrics).`}
            </span>
          </label>
          <label className="choice">
            <input type="radio" name="events-source" value="upload" checked={source === 'upload'} onChange={() => switchTo('upload')} />
            <span>
              <strong>A file</strong> exported from your warehouse: CSV (header <code>unit_id,timestamp,metric,value</code>) or JSON Lines with those keys; analysed against the stored exposures and not kept.
            </span>
          </label>
        </fieldset>
        {source === 'store' && stored.data !== null && storedMetrics.length > 0 ? <StoredTable stored={stored.data} /> : null}
        {source === 'upload' ? (
          <>
            <Field label="Events file (CSV or JSON Lines, up to 32 MiB)" error={fileError}>
              {(p) => <input {...p} type="file" accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson" onChange={(e) => void choose(e.target.files?.[0])} />}
            </Field>
            {upload === null ? null : (
              <p>
                <strong>{upload.name}</strong>: {upload.format === 'csv' ? 'CSV' : 'JSON Lines'}, metrics {upload.metrics.join(', ')}.
              </p>
            )}
          </>
        ) : null}
        {metrics.length === 0 ? null : (
          <>
            <fieldset>
              <legend>How to read each metric</legend>
              <div className="weights">
                {metrics.map((m) => (
                  <Field key={m} label={m}>
                    {(p) => (
                      <select {...p} value={kinds[m] ?? 'sum'} onChange={(e) => setKinds({ ...kinds, [m]: e.target.value === 'conversion' ? 'conversion' : 'sum' })}>
                        <option value="sum">sum per unit</option>
                        <option value="conversion">conversion (value &gt; 0)</option>
                      </select>
                    )}
                  </Field>
                ))}
                <Field label="Control variant">
                  {(p) => (
                    <select {...p} value={control} onChange={(e) => setControl(e.target.value)}>
                      {variants.map((v) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
              </div>
            </fieldset>
            <button type="button" className="button-primary" onClick={() => void analyse()} disabled={busy}>
              {busy ? 'Analysing…' : 'Analyse'}
            </button>
          </>
        )}
      </section>
      {busy ? <Loading what="results (DuckDB on the service)" /> : null}
      {error === null ? null : <Problem error={error} title="The analysis did not run" />}
      {report === null ? null : (
        <>
          <p className="muted" role="status">
            {fmtInt(report.units.total)} units, control <strong>{report.control}</strong>, strata (phase of first exposure): {report.strata.join(', ')}. {fmtInt(report.inputs.events.rows)} event rows{' '}
            {report.inputs.events.source === 'store' ? 'stored by the service' : 'uploaded'}
            {report.inputs.events.badRows > 0 ? `, ${fmtInt(report.inputs.events.badRows)} bad` : ''}. Intervals are {Math.round(report.confidence * 100)}%.
          </p>
          {report.warnings.length === 0 ? null : (
            <ul className="warnings" aria-label="Warnings">
              {report.warnings.map((w) => (
                <li key={w.message}>
                  <Badge tone={w.code === 'NAIVE_DISAGREES' || w.code === 'SRM_ALERT' ? 'bad' : 'warn'}>{w.code}</Badge> {w.message}
                </li>
              ))}
            </ul>
          )}
          {report.metrics.map((m) => (
            <MetricCard key={m.metric} metric={m} variants={variants} confidence={report.confidence} />
          ))}
        </>
      )}
    </>
  );
}
