/** An error from the service (or the form) with its code, the field it names and the fix. */
import type { ReactNode } from 'react';
import { ApiError } from '../lib/api.js';
import { EditError } from '../lib/edit.js';

export function Problem({ error, title, children }: { readonly error: unknown; readonly title?: string; readonly children?: ReactNode }): ReactNode {
  const api = error instanceof ApiError ? error : null;
  const edit = error instanceof EditError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="problem" role="alert">
      <p className="problem-title">
        <strong>{title ?? 'Something went wrong'}</strong>
        {api !== null && api.status > 0 ? <span className="code"> {api.status} {api.code}</span> : null}
      </p>
      <p>{message}</p>
      {api?.field === undefined ? null : (
        <p>
          Field: <code>{api.field}</code>
        </p>
      )}
      {edit === null ? null : (
        <p>
          Field: <code>{edit.field}</code>
        </p>
      )}
      {api?.fix === undefined ? null : <p className="fix">Fix: {api.fix}</p>}
      {children}
    </div>
  );
}

export function Loading({ what }: { readonly what: string }): ReactNode {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}
