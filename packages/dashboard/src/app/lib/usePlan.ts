/**
 * The planner's verdict on a proposed config, asked of the service (POST /v1/config/plan, a dry run
 * against the config in force and the exposures stored right now), debounced while the form changes.
 */
import type { ConfigDocument } from '@sortition/core';
import { useEffect, useRef, useState } from 'react';
import type { Api } from './api.js';
import type { PlanAnswer } from './types.js';

export interface PlanState {
  /** The document the plan below was made for (compare with the current proposal to detect staleness). */
  readonly doc: ConfigDocument | null;
  readonly plan: PlanAnswer | null;
  readonly error: unknown;
  readonly loading: boolean;
}

export function usePlan(api: Api, doc: ConfigDocument | null, delayMs = 250): PlanState & { replan: () => void } {
  const [state, setState] = useState<PlanState>({ doc: null, plan: null, error: null, loading: false });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const id = ++latest.current;
    if (doc === null) {
      setState({ doc: null, plan: null, error: null, loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const timer = window.setTimeout(() => {
      api.post<PlanAnswer>('/v1/config/plan', { config: doc }).then(
        (plan) => {
          if (id === latest.current) setState({ doc, plan, error: null, loading: false });
        },
        (error: unknown) => {
          if (id === latest.current) setState({ doc, plan: null, error, loading: false });
        },
      );
    }, delayMs);
    return () => window.clearTimeout(timer);
  }, [api, doc, delayMs, tick]);
  return { ...state, replan: () => setTick((t) => t + 1) };
}
