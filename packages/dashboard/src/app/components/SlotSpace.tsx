/** One experiment's slot space: a bar per phase over its whole layer, with the ranges spelled out. */
import type { CompiledConfig, CompiledExperiment, SlotRange } from '@sortition/core';
import type { ReactNode } from 'react';
import { phaseSegments, rangesText, statusOf, variantColor, type Segment } from '../lib/config.js';
import { fmtInt, fmtPct, fmtTime } from '../lib/format.js';
import { Badge } from './Badge.js';
import { Legend, SlotBar, type LegendItem } from './SlotBar.js';

function summary(segments: readonly Segment[], kind: Segment['kind']): Map<string, SlotRange[]> {
  const out = new Map<string, SlotRange[]>();
  for (const s of segments) if (s.kind === kind) out.set(s.label, [...(out.get(s.label) ?? []), [s.from, s.to]]);
  return out;
}

const count = (ranges: readonly SlotRange[]): number => ranges.reduce((n, [a, b]) => n + b - a, 0);

function phaseState(experiment: CompiledExperiment, index: number, now: number): string {
  const phase = experiment.phases[index]!;
  const next = experiment.phases[index + 1];
  const status = statusOf(experiment, now);
  if (phase.startsAt > now) return 'scheduled';
  if ((next !== undefined && next.startsAt <= now) || status.state === 'ended') return 'ended';
  return 'running';
}

export function SlotSpace({ config, experiment, now }: { readonly config: CompiledConfig; readonly experiment: CompiledExperiment; readonly now: number }): ReactNode {
  const layer = experiment.layer;
  const phases = experiment.phases.map((phase) => ({ phase, segments: phaseSegments(config, experiment, phase) }));
  const present = new Set(phases.flatMap((p) => p.segments.map((s) => s.kind)));
  const legend: LegendItem[] = [
    ...experiment.variants.map((v, i) => ({ key: `v-${v.key}`, label: v.key, swatch: 'variant' as const, index: i })),
    ...(
      [
        { key: 'holdout', label: 'holdout', swatch: 'holdout' },
        { key: 'excluded', label: 'excluded earlier phase', swatch: 'excluded' },
        { key: 'other', label: 'other experiment', swatch: 'other' },
        { key: 'free', label: 'unallocated', swatch: 'free' },
      ] as const
    ).filter((item) => present.has(item.swatch)),
  ];
  return (
    <section aria-labelledby="slot-space-title" className="card">
      <h2 id="slot-space-title">Slot space</h2>
      <p className="muted">
        Layer <code>{layer.id}</code>: {fmtInt(layer.slots)} slots, bucketing by <code>{layer.unit}</code>. A unit's slot is fixed by the layer key; each phase maps slots to variants.
      </p>
      {experiment.globalHoldouts.length === 0 ? null : (
        <p className="muted">
          Evaluated first, in their own layers:{' '}
          {experiment.globalHoldouts.map((g) => (
            <span key={g.holdout.id}>
              global holdout <code>{g.holdout.id}</code> ({fmtPct(count(g.holdout.ranges as SlotRange[]) / g.layer.slots, 2)} of <code>{g.layer.id}</code>){' '}
            </span>
          ))}
        </p>
      )}
      <Legend items={legend} />
      {phases.map(({ phase, segments }, index) => {
        const state = phaseState(experiment, index, now);
        const free = count(summary(segments, 'free').get('') ?? []);
        const holdouts = summary(segments, 'holdout');
        const excluded = summary(segments, 'excluded');
        const others = summary(segments, 'other');
        return (
          <figure key={phase.id} className="phase">
            <figcaption>
              <strong>Phase {phase.id}</strong> <Badge>{state}</Badge> <span className="muted">from {fmtTime(phase.startsAt)}</span>
              {phase.carryover === 'rerandomize' ? <Badge tone="info">re-randomizes</Badge> : null}
              {phase.excludedPhases.size > 0 ? <span className="muted"> · excludes {[...phase.excludedPhases].join(', ')}</span> : null}
              {phase.doc.reason === undefined ? null : <span className="reason">“{phase.doc.reason}”</span>}
            </figcaption>
            <SlotBar segments={segments} slots={layer.slots} label={`Phase ${phase.id} of ${experiment.key} over the ${layer.slots} slots of layer ${layer.id}`} />
            <div className="axis" aria-hidden="true">
              <span>0</span>
              <span>{fmtInt(layer.slots / 2)}</span>
              <span>{fmtInt(layer.slots)}</span>
            </div>
            <div className="table-wrap">
            <table className="ranges">
              <caption className="visually-hidden">Slot ranges of phase {phase.id}</caption>
              <thead>
                <tr>
                  <th scope="col">Holder</th>
                  <th scope="col">Ranges</th>
                  <th scope="col" className="num">Slots</th>
                  <th scope="col" className="num hide-narrow">Share of layer</th>
                </tr>
              </thead>
              <tbody>
                {experiment.variants.map((v, i) => {
                  const ranges = (phase.doc.allocation[v.key] ?? []) as SlotRange[];
                  return (
                    <tr key={v.key}>
                      <th scope="row">
                        <span className="swatch swatch-variant" style={{ background: variantColor(i) }} aria-hidden="true" /> {v.key}
                      </th>
                      <td>{rangesText(ranges)}</td>
                      <td className="num">{fmtInt(count(ranges))}</td>
                      <td className="num hide-narrow">{fmtPct(count(ranges) / layer.slots, 2)}</td>
                    </tr>
                  );
                })}
                {[...holdouts].map(([id, r]) => (
                  <tr key={`h-${id}`}>
                    <th scope="row">holdout {id}</th>
                    <td>{rangesText(r)}</td>
                    <td className="num">{fmtInt(count(r))}</td>
                    <td className="num hide-narrow">{fmtPct(count(r) / layer.slots, 2)}</td>
                  </tr>
                ))}
                {[...excluded].map(([id, r]) => (
                  <tr key={`x-${id}`}>
                    <th scope="row">excluded (phase {id})</th>
                    <td>{rangesText(r)}</td>
                    <td className="num">{fmtInt(count(r))}</td>
                    <td className="num hide-narrow">{fmtPct(count(r) / layer.slots, 2)}</td>
                  </tr>
                ))}
                {[...others].map(([key, r]) => (
                  <tr key={`o-${key}`}>
                    <th scope="row">experiment {key}</th>
                    <td>{rangesText(r)}</td>
                    <td className="num">{fmtInt(count(r))}</td>
                    <td className="num hide-narrow">{fmtPct(count(r) / layer.slots, 2)}</td>
                  </tr>
                ))}
                <tr>
                  <th scope="row">unallocated</th>
                  <td>{rangesText(summary(segments, 'free').get('') ?? [])}</td>
                  <td className="num">{fmtInt(free)}</td>
                  <td className="num hide-narrow">{fmtPct(free / layer.slots, 2)}</td>
                </tr>
              </tbody>
            </table>
            </div>
          </figure>
        );
      })}
    </section>
  );
}
