/** Sign in with an API key: admin keys may change experiments, read keys see everything read-only. */
import { useState, type FormEvent, type ReactNode } from 'react';
import { signInProblem } from '../lib/session.js';

export function SignIn({ onSignIn, notice }: { readonly onSignIn: (key: string) => Promise<void>; readonly notice: string | null }): ReactNode {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ message: string; fix: string } | null>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (key.trim() === '') {
      setProblem({ message: 'Paste an API key first.', fix: 'Use an admin key (sk_admin_…) to change experiments, or a read key (sk_read_…) to look.' });
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await onSignIn(key);
    } catch (error) {
      setProblem(signInProblem(error));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <div className="sign-in-card">
        <p className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Sortition
        </p>
        <h1>Sign in</h1>
        <p className="muted">Experiments, their slot space and history, health, results and proofs. Changes are planned before they are saved.</p>
        {notice === null ? null : (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-describedby="api-key-help"
            aria-invalid={problem === null ? undefined : true}
            aria-errormessage={problem === null ? undefined : 'sign-in-problem'}
            autoFocus
          />
          <p id="api-key-help" className="help">
            An admin key (<code>sk_admin_…</code>) may change experiments; a read key (<code>sk_read_…</code>) sees everything read-only. The key stays in this tab only and is sent only to this service.
          </p>
          {problem === null ? null : (
            <div id="sign-in-problem" className="problem" role="alert">
              <p>{problem.message}</p>
              <p className="fix">{problem.fix}</p>
            </div>
          )}
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
