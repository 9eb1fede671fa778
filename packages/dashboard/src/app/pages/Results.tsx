/**
 * Results: the service stores exposures but not metric events, so the person uploads their events
 * (CSV or JSON Lines: unit_id, timestamp, metric, value); the service attributes them to each unit's
 * first exposure and estimates the lift per phase of first exposure.
 */
import { useState, type ReactNode } from 'react';
import { Field } from '../components/Field.js';
import { Loading, Problem } from '../components/Problem.js';
import { MetricCard } from '../components/MetricCard.js';
import { Badge } from '../components/Badge.js';
import { compiled } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { metricNames, type EventsFormat } from '../lib/events.js';
import { fmtInt } from '../lib/format.js';
import type { ResultsReport } from '../lib/types.js';

/** The service's limit on uploaded events (POST /v1/insights/results). */
const MAX_BYTES = 32 * 1024 * 1024;

interface Upload {
  readonly name: string;
  readonly format: EventsFormat;
  readonly content: string;
  readonly metrics: readonly string[];
}

export function Results({ experimentKey }: { readonly experimentKey: string }): ReactNode {
  const { session, config } = useDashboard();
  const variants = compiled(config.doc, config.hash).experiments.get(experimentKey)?.variants.map((v) => v.key) ?? [];
  const [upload, setUpload] = useState<Upload | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [kinds, setKinds] = useState<Readonly<Record<string, 'sum' | 'conversion'>>>({});
  const [control, setControl] = useState(variants.includes('control') ? 'control' : (variants[0] ?? ''));
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ResultsReport | null>(null);
  const [error, setError] = useState<unknown>(null);

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
    setKinds(Object.fromEntries(found.metrics.map((m) => [m, kinds[m] ?? 'sum'])));
  };

  const analyse = async (): Promise<void> => {
    if (upload === null) return;
    setBusy(true);
    setError(null);
    try {
      const metrics = upload.metrics.map((name) => ({ name, kind: kinds[name] ?? 'sum' }));
      setReport(await session.api.post<ResultsReport>('/v1/insights/results', { experiment: experimentKey, control, events: { format: upload.format, content: upload.content }, metrics }));
    } catch (e) {
      setReport(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <section className="card" aria-labelledby="events-title">
        <h2 id="events-title">Metric events</h2>
        <p className="muted">
          The service stores exposures, not metric events. Upload your events as CSV (header <code>unit_id,timestamp,metric,value</code>) or JSON Lines with those keys; they are analysed against the stored exposures and not kept.
        </p>
        <Field label="Events file (CSV or JSON Lines, up to 32 MiB)" error={fileError}>
          {(p) => <input {...p} type="file" accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson" onChange={(e) => void choose(e.target.files?.[0])} />}
        </Field>
        {upload === null ? null : (
          <>
            <p>
              <strong>{upload.name}</strong>: {upload.format === 'csv' ? 'CSV' : 'JSON Lines'}, metrics {upload.metrics.join(', ')}.
            </p>
            <fieldset>
              <legend>How to read each metric</legend>
              <div className="weights">
                {upload.metrics.map((m) => (
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
            {fmtInt(report.units.total)} units, control <strong>{report.control}</strong>, strata (phase of first exposure): {report.strata.join(', ')}. {fmtInt(report.inputs.events.rows)} event rows
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
