/** A structural diff (JSON pointers with their old and new values), readable at a glance. */
import type { ReactNode } from 'react';
import type { JsonChange } from '../lib/types.js';

const OP: Readonly<Record<JsonChange['op'], { sign: string; text: string }>> = {
  add: { sign: '+', text: 'added' },
  remove: { sign: '−', text: 'removed' },
  replace: { sign: '~', text: 'changed' },
};

function Value({ value }: { readonly value: unknown }): ReactNode {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  if (text.length <= 80 && !text.includes('\n')) return <code>{text}</code>;
  const compact = JSON.stringify(value) ?? '';
  if (compact.length <= 100) return <code>{compact}</code>;
  return (
    <details>
      <summary>
        <code>{compact.slice(0, 60)}…</code>
      </summary>
      <pre className="json">{text}</pre>
    </details>
  );
}

/** `/experiments/x/phases/full/allocation/control` → `phases › full › allocation › control` under `strip`. */
function label(path: string, strip: string): string {
  const rest = path.startsWith(strip) ? path.slice(strip.length) : path;
  const parts = rest.split('/').filter((p) => p !== '').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.length === 0 ? (strip === '' ? 'the config' : 'the whole experiment') : parts.join(' › ');
}

export function DiffList({ changes, strip = '' }: { readonly changes: readonly JsonChange[]; readonly strip?: string }): ReactNode {
  if (changes.length === 0) return <p className="muted">No structural change.</p>;
  return (
    <ul className="diff">
      {changes.map((c) => (
        <li key={`${c.op}-${c.path}`} className={`diff-${c.op}`}>
          <span className="diff-op" aria-label={OP[c.op].text} title={OP[c.op].text}>
            {OP[c.op].sign}
          </span>{' '}
          <span className="diff-path">{label(c.path, strip)}</span>
          {c.op === 'add' ? (
            <>
              : <Value value={c.to} />
            </>
          ) : null}
          {c.op === 'remove' ? (
            <>
              : <Value value={c.from} />
            </>
          ) : null}
          {c.op === 'replace' ? (
            <>
              : <Value value={c.from} /> → <Value value={c.to} />
            </>
          ) : null}
        </li>
      ))}
    </ul>
  );
}
