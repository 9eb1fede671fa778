/** Loading data in components: the latest request wins, errors are kept for display, and reload() asks again. */
import { useCallback, useEffect, useRef, useState } from 'react';

export type AsyncState<T> =
  | { readonly status: 'loading'; readonly data: T | null; readonly error: null }
  | { readonly status: 'ready'; readonly data: T; readonly error: null }
  | { readonly status: 'error'; readonly data: T | null; readonly error: unknown };

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading', data: null, error: null });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    const id = ++latest.current;
    setState((s) => ({ status: 'loading', data: s.data, error: null }));
    load().then(
      (data) => {
        if (id === latest.current) setState({ status: 'ready', data, error: null });
      },
      (error: unknown) => {
        if (id === latest.current) setState((s) => ({ status: 'error', data: s.data, error }));
      },
    );
    // Callers list the inputs of `load` in deps; `load` itself is a new closure on every render.
  }, [...deps, tick]);
  return { ...state, reload };
}
