/**
 * Verify: a unit id and an experiment in; the assignment, its proof bundle and the verifier's
 * verdict out. The verifier (@sortition/proofs) runs in this browser on the bundle as received.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { Badge } from '../components/Badge.js';
import { Field, errorFor } from '../components/Field.js';
import { Problem } from '../components/Problem.js';
import { compiled } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { EditError } from '../lib/edit.js';
import { fmtTime } from '../lib/format.js';
import { proveAndVerify, type ProofOutcome, type ProofRequest } from '../lib/proof.js';
import { searchParam, useLocation } from '../lib/router.js';

const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

const VERDICT_TONE = { PASS: 'good', WARN: 'warn', FAIL: 'bad', 'N/A': 'neutral' } as const;

function Download({ bundle, name }: { readonly bundle: unknown; readonly name: string }): ReactNode {
  const save = (): void => {
    const url = URL.createObjectURL(new Blob([`${JSON.stringify(bundle, null, 2)}\n`], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <button type="button" className="button" onClick={save}>
      Download the bundle
    </button>
  );
}

function Outcome({ outcome }: { readonly outcome: ProofOutcome }): ReactNode {
  const { verification, bundle } = outcome;
  const s = verification.statement;
  const a = bundle['assignment'] as { variant: string; phase: string; slot: number; configVersion: number; assignedAt: number; lineage: string } | null;
  return (
    <>
      <section className={`card plan ${verification.ok ? 'plan-safe' : 'plan-refused'}`} aria-labelledby="verdict-title" aria-live="polite">
        <h2 id="verdict-title" className="verdict">
          {verification.ok ? 'Verified' : 'Not verified'} <Badge tone={verification.ok ? 'good' : 'bad'}>{verification.ok ? 'PASS' : 'FAIL'}</Badge>
        </h2>
        <p>
          {verification.ok
            ? 'Every step passed in this browser, on the bundle as received: the config is in the signed transparency log, and re-deriving the assignment from it gives the answer below.'
            : 'A step failed: the bundle does not prove the statement. The failing step says why.'}
        </p>
        {s === null ? null : (
          <dl className="facts">
            <dt>Unit</dt>
            <dd>
              <code>{s.unit}</code> in <code>{s.experiment}</code> at {fmtTime(s.at)}
            </dd>
            <dt>Answer</dt>
            <dd>
              {s.variant === null ? <strong>no variant</strong> : <strong>{s.variant}</strong>} <span className="muted">({s.reason})</span>
            </dd>
            <dt>Slot, phase</dt>
            <dd>
              slot {s.slot ?? '–'}, phase {s.phase ?? '–'}, config version {s.configVersion}
            </dd>
          </dl>
        )}
      </section>
      <section className="card" aria-labelledby="assignment-title">
        <h2 id="assignment-title">Stored assignment</h2>
        {a === null ? (
          <p>The service holds no assignment for this unit in the lineage current at that time; the answer is re-derived without one.</p>
        ) : (
          <p>
            <strong>{a.variant}</strong> since {fmtTime(a.assignedAt)}: phase {a.phase} (lineage {a.lineage}), slot {a.slot}, config version {a.configVersion}.
          </p>
        )}
      </section>
      <section className="card" aria-labelledby="steps-title">
        <h2 id="steps-title">Verifier steps</h2>
        <ol className="steps">
          {verification.steps.map((step) => (
            <li key={step.step}>
              <Badge tone={VERDICT_TONE[step.verdict]}>{step.verdict}</Badge>
              <strong>{step.name}</strong>
              <span>{step.message}</span>
            </li>
          ))}
        </ol>
      </section>
      <section className="card" aria-labelledby="bundle-title">
        <h2 id="bundle-title">Proof bundle</h2>
        <p className="muted">
          Anyone can check this file offline with <code>sortition verify bundle.json</code> (see docs/AUDIT.md), without trusting this page or the service.
        </p>
        <Download bundle={bundle} name={`proof-${String(bundle['experiment'])}-${String(bundle['unit']).replace(/[^A-Za-z0-9_.-]/g, '_')}.json`} />
        <details>
          <summary>Show the bundle (JSON)</summary>
          <pre className="json">{JSON.stringify(bundle, null, 2)}</pre>
        </details>
      </section>
    </>
  );
}

export function Verify(): ReactNode {
  const { session, config, now } = useDashboard();
  const location = useLocation();
  const experiments = [...compiled(config.doc, config.hash).experiments.keys()];
  const [form, setForm] = useState<ProofRequest>(() => ({
    unit: searchParam(location, 'unit') ?? '',
    experiment: searchParam(location, 'experiment') ?? experiments[0] ?? '',
    at: isoSeconds(now()),
    unitType: '',
    receipt: '',
    attributes: '',
    checkPublishedKeys: true,
  }));
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ProofOutcome | null>(null);
  const [error, setError] = useState<unknown>(null);
  const update = (patch: Partial<ProofRequest>): void => setForm((f) => ({ ...f, ...patch }));

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      setOutcome(await proveAndVerify(session.api, form));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Verify an assignment</h1>
      <p className="lede">Which variant did a unit have, and can it be proven? The service builds a proof bundle; this browser checks it, step by step.</p>
      <form className="card" onSubmit={(e) => void submit(e)} noValidate>
        <div className="row">
          <Field label="Unit id" error={errorFor(error, 'unit')}>
            {(p) => <input {...p} type="text" value={form.unit} spellCheck={false} onChange={(e) => update({ unit: e.target.value })} />}
          </Field>
          <Field label="Experiment">
            {(p) => (
              <select {...p} value={form.experiment} onChange={(e) => update({ experiment: e.target.value })}>
                {experiments.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="At (UTC)" error={errorFor(error, 'at')} help="The moment the question is about.">
            {(p) => <input {...p} type="text" value={form.at} spellCheck={false} onChange={(e) => update({ at: e.target.value })} />}
          </Field>
        </div>
        <details>
          <summary>More: unit type, attributes, receipt</summary>
          <div className="row">
            <Field label="Unit type (optional)" help="Default: the unit type of the experiment's layer.">
              {(p) => <input {...p} type="text" value={form.unitType} spellCheck={false} onChange={(e) => update({ unitType: e.target.value })} />}
            </Field>
            <Field label="Targeting attributes (optional, JSON)" error={errorFor(error, 'attributes')} help="Lets the verifier re-check targeting; only the attributes the targeting reads are attached.">
              {(p) => <textarea {...p} rows={2} className="mono" value={form.attributes} spellCheck={false} onChange={(e) => update({ attributes: e.target.value })} />}
            </Field>
          </div>
          <Field label="Receipt (optional, compact JWS)" error={errorFor(error, 'receipt')} help='Returned with a first assignment when the evaluate request asked for "receipt": true.'>
            {(p) => <textarea {...p} rows={2} className="mono" value={form.receipt} spellCheck={false} onChange={(e) => update({ receipt: e.target.value })} />}
          </Field>
        </details>
        <label className="choice">
          <input type="checkbox" checked={form.checkPublishedKeys} onChange={(e) => update({ checkPublishedKeys: e.target.checked })} />
          <span>Check the bundle's keys against the published key set (/.well-known/sortition-keys.json)</span>
        </label>
        <div className="actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Proving…' : 'Prove and verify'}
          </button>
        </div>
      </form>
      {error === null || error instanceof EditError ? null : <Problem error={error} title="No bundle" />}
      {outcome === null ? null : <Outcome outcome={outcome} />}
    </>
  );
}
