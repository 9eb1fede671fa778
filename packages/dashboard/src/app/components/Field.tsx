/** A labelled form control with help text and, when the change cannot be built, the error naming it. */
import { useId, type ReactNode } from 'react';
import { EditError } from '../lib/edit.js';

export function errorFor(error: unknown, field: string): string | null {
  return error instanceof EditError && error.field === field ? error.message : null;
}

export interface FieldProps {
  readonly label: string;
  readonly help?: ReactNode;
  readonly error?: string | null;
  readonly children: (props: { id: string; 'aria-describedby': string | undefined; 'aria-invalid': true | undefined }) => ReactNode;
}

export function Field({ label, help, error, children }: FieldProps): ReactNode {
  const id = useId();
  const describedBy = [help === undefined ? null : `${id}-help`, error === null || error === undefined ? null : `${id}-error`].filter((x) => x !== null).join(' ');
  return (
    <div className={`field${error === null || error === undefined ? '' : ' field-invalid'}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy === '' ? undefined : describedBy, 'aria-invalid': error === null || error === undefined ? undefined : true })}
      {help === undefined ? null : (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      )}
      {error === null || error === undefined ? null : (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
