/** Creating an experiment: key, layer, variants and weights, traffic share, start, targeting; previewed, then saved. */
import { compileConfig, type ConfigDocument } from '@sortition/core';
import { useMemo, useState, type ReactNode } from 'react';
import { Field, errorFor } from '../components/Field.js';
import { PublishPanel } from '../components/PublishPanel.js';
import { Legend, SlotBar } from '../components/SlotBar.js';
import { phaseSegments } from '../lib/config.js';
import { useDashboard } from '../lib/context.js';
import { EditError, proposeExperiment, unavailableSlots } from '../lib/edit.js';
import { fmtInt, fmtPct } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { experimentPath } from '../lib/routes.js';
import { usePlan } from '../lib/usePlan.js';

interface VariantRow {
  readonly key: string;
  readonly weight: string;
}

const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function freeSlots(doc: ConfigDocument, layer: string): number {
  const slots = doc.layers.find((l) => l.id === layer)?.slots ?? 0;
  return slots - unavailableSlots(doc, layer, null, []).reduce((n, [a, b]) => n + b - a, 0);
}

export function NewExperiment(): ReactNode {
  const { config, session, now } = useDashboard();
  const layers = config.doc.layers;
  const [key, setKey] = useState('');
  const [layer, setLayer] = useState(layers.find((l) => freeSlots(config.doc, l.id) > 0)?.id ?? layers[0]?.id ?? '');
  const [description, setDescription] = useState('');
  const [variants, setVariants] = useState<readonly VariantRow[]>([
    { key: 'control', weight: '50' },
    { key: 'treatment', weight: '50' },
  ]);
  const [traffic, setTraffic] = useState('10');
  const [startsAt, setStartsAt] = useState(() => isoSeconds(now()));
  const [targeting, setTargeting] = useState('');

  const layerDoc = layers.find((l) => l.id === layer);
  const slots = layerDoc?.slots ?? 0;
  const free = layerDoc === undefined ? 0 : freeSlots(config.doc, layer);

  const proposal = useMemo((): { doc: ConfigDocument | null; error: unknown } => {
    if (key.trim() === '') return { doc: null, error: null };
    try {
      const share = Number(traffic);
      if (traffic.trim() === '' || !Number.isFinite(share)) throw new EditError('coverage', 'the traffic share must be a number (percent of the layer)');
      let parsedTargeting: unknown;
      if (targeting.trim() !== '') {
        try {
          parsedTargeting = JSON.parse(targeting) as unknown;
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw new EditError('targeting', `targeting is not valid JSON (${error.message}); write a condition such as {"attr": "country", "op": "in", "value": ["DE", "FR"]}, or leave it empty`);
        }
      }
      const rows = variants.map((v, i) => {
        const weight = Number(v.weight);
        if (v.weight.trim() === '' || !Number.isFinite(weight)) throw new EditError(`weight-${i}`, `the weight of ${v.key || `variant ${i + 1}`} must be a number`);
        return { key: v.key.trim(), weight };
      });
      const { doc } = proposeExperiment(config.doc, { key: key.trim(), layer, description, variants: rows, coverage: Math.round((share / 100) * slots), startsAt: startsAt.trim(), targeting: parsedTargeting });
      return { doc, error: null };
    } catch (error) {
      if (error instanceof EditError || error instanceof RangeError) return { doc: null, error };
      throw error;
    }
  }, [key, layer, description, variants, traffic, startsAt, targeting, config, slots]);

  const plan = usePlan(session.api, proposal.doc);
  const placed = useMemo(() => {
    if (proposal.doc === null) return null;
    const result = compileConfig(proposal.doc);
    const exp = result.ok ? result.config.experiments.get(key.trim()) : undefined;
    if (!result.ok || exp === undefined) return null;
    return { segments: phaseSegments(result.config, exp, exp.phases[0]!), variants: exp.variants.map((v) => v.key), slots: exp.layer.slots };
  }, [proposal.doc]);
  const setRow = (i: number, patch: Partial<VariantRow>): void => setVariants((rows) => rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  if (!session.who.canWrite) {
    return (
      <>
        <h1 tabIndex={-1}>New experiment</h1>
        <p className="notice">This key is read-only: sign in with an admin key to create experiments.</p>
      </>
    );
  }
  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Experiments</Link> / new
      </p>
      <h1 tabIndex={-1}>New experiment</h1>
      <section className="card" aria-labelledby="new-title">
        <h2 id="new-title">Define it</h2>
        <div className="row">
          <Field label="Key" error={errorFor(proposal.error, 'key')} help="Lower-case letters, digits, _ . - ; fixed for the experiment's life.">
            {(p) => <input {...p} type="text" value={key} spellCheck={false} onChange={(e) => setKey(e.target.value)} />}
          </Field>
          <Field label="Layer" error={errorFor(proposal.error, 'layer')} help={layerDoc === undefined ? undefined : `${fmtInt(free)} of ${fmtInt(slots)} slots free (${fmtPct(free / Math.max(slots, 1), 2)}), bucketing by ${layerDoc.unit}`}>
            {(p) => (
              <select {...p} value={layer} onChange={(e) => setLayer(e.target.value)}>
                {layers.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.id} ({fmtPct(freeSlots(config.doc, l.id) / l.slots, 1)} free)
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Description (optional)">{(p) => <input {...p} type="text" value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
        <fieldset>
          <legend>Variants and weights (any scale)</legend>
          {variants.map((v, i) => (
            <div className="row variant-row" key={i}>
              <Field label={`Variant ${i + 1} key`} error={errorFor(proposal.error, `variant-${i}`)}>
                {(p) => <input {...p} type="text" value={v.key} spellCheck={false} onChange={(e) => setRow(i, { key: e.target.value })} />}
              </Field>
              <Field label={`Variant ${i + 1} weight`} error={errorFor(proposal.error, `weight-${i}`)}>
                {(p) => <input {...p} type="number" inputMode="decimal" min={0} step="any" value={v.weight} onChange={(e) => setRow(i, { weight: e.target.value })} />}
              </Field>
              <button type="button" className="button-quiet" onClick={() => setVariants((rows) => rows.filter((_, j) => j !== i))} disabled={variants.length <= 1} aria-label={`Remove variant ${i + 1}`}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" className="button" onClick={() => setVariants((rows) => [...rows, { key: `variant_${rows.length + 1}`, weight: '50' }])}>
            Add a variant
          </button>
        </fieldset>
        <div className="row">
          <Field label="Traffic: share of the layer (%)" error={errorFor(proposal.error, 'coverage')} help="Start small and ramp later: ramping into unallocated slots moves nobody.">
            {(p) => <input {...p} type="number" inputMode="decimal" min={0.01} max={Number(((free / Math.max(slots, 1)) * 100).toFixed(2))} step={0.01} value={traffic} onChange={(e) => setTraffic(e.target.value)} />}
          </Field>
          <Field label="Starts at (UTC)" error={errorFor(proposal.error, 'starts-at')} help="A new experiment serves from its publication at the earliest.">
            {(p) => <input {...p} type="text" value={startsAt} spellCheck={false} onChange={(e) => setStartsAt(e.target.value)} />}
          </Field>
        </div>
        <Field label="Targeting (optional, JSON condition)" error={errorFor(proposal.error, 'targeting')} help='For example {"attr": "country", "op": "in", "value": ["DE", "FR"]}. Empty: everyone.'>
          {(p) => <textarea {...p} rows={3} value={targeting} spellCheck={false} onChange={(e) => setTargeting(e.target.value)} className="mono" />}
        </Field>
        {placed === null ? null : (
          <figure className="phase">
            <figcaption>
              <span>
                <strong>Placed in layer {layer}:</strong> the slots nobody else holds
              </span>
            </figcaption>
            <SlotBar segments={placed.segments} slots={placed.slots} label={`${key.trim()} in layer ${layer}`} />
            <Legend
              items={[
                ...placed.variants.map((v, i) => ({ key: v, label: v, swatch: 'variant' as const, index: i })),
                ...(
                  [
                    { key: 'other', label: 'other experiments', swatch: 'other' },
                    { key: 'holdout', label: 'holdout', swatch: 'holdout' },
                    { key: 'free', label: 'unallocated', swatch: 'free' },
                  ] as const
                ).filter((item) => placed.segments.some((s) => s.kind === item.swatch)),
              ]}
            />
          </figure>
        )}
      </section>
      <PublishPanel doc={proposal.doc} plan={plan} focus={key.trim()} onPublished={() => navigate(experimentPath(key.trim()))} />
    </>
  );
}
