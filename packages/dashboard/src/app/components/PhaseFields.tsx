/** The fields of a new phase: id, start, carryover, exclusions and reason. */
import type { ReactNode } from 'react';
import type { NewPhaseInput } from '../lib/edit.js';
import { Field, errorFor } from './Field.js';

export interface PhaseDraft {
  readonly id: string;
  readonly startsAt: string;
  readonly carryover: NewPhaseInput['carryover'];
  readonly exclude: readonly string[];
}

export function PhaseFields({ draft, phases, error, onChange }: { readonly draft: PhaseDraft; readonly phases: readonly string[]; readonly error: unknown; readonly onChange: (draft: PhaseDraft) => void }): ReactNode {
  const toggle = (id: string, on: boolean): void => onChange({ ...draft, exclude: on ? [...draft.exclude, id] : draft.exclude.filter((x) => x !== id) });
  return (
    <div className="phase-fields">
      <div className="row">
        <Field label="Phase id" error={errorFor(error, 'phase-id')} help="Lower-case letters, digits, _ . -">
          {(p) => <input {...p} type="text" value={draft.id} onChange={(e) => onChange({ ...draft, id: e.target.value })} spellCheck={false} />}
        </Field>
        <Field label="Starts at (UTC)" error={errorFor(error, 'phase-start')} help="After the publish time; until then the phase in force keeps serving.">
          {(p) => <input {...p} type="text" value={draft.startsAt} onChange={(e) => onChange({ ...draft, startsAt: e.target.value })} spellCheck={false} inputMode="text" />}
        </Field>
      </div>
      <fieldset>
        <legend>Units already assigned</legend>
        <label className="choice">
          <input type="radio" name="carryover" value="rerandomize" checked={draft.carryover === 'rerandomize'} onChange={() => onChange({ ...draft, carryover: 'rerandomize' })} />
          <span>
            <strong>Re-randomize</strong>: everyone is assigned afresh from their slot (declares that exposed units may change variant)
          </span>
        </label>
        <label className="choice">
          <input type="radio" name="carryover" value="sticky" checked={draft.carryover === 'sticky'} onChange={() => onChange({ ...draft, carryover: 'sticky' })} />
          <span>
            <strong>Keep</strong>: units keep the variant they already have (only new units follow the new split)
          </span>
        </label>
      </fieldset>
      {phases.length === 0 ? null : (
        <fieldset>
          <legend>Exclude the units of earlier phases (partitioned ramp)</legend>
          {phases.map((id) => (
            <label key={id} className="choice">
              <input type="checkbox" checked={draft.exclude.includes(id)} onChange={(e) => toggle(id, e.target.checked)} />
              <span>phase {id}</span>
            </label>
          ))}
          {errorFor(error, 'phase-exclude') === null ? null : <p className="field-error">{errorFor(error, 'phase-exclude')}</p>}
        </fieldset>
      )}
    </div>
  );
}
