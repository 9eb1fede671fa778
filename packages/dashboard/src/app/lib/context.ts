/** What every page needs: the signed-in session, the config in force, and the service's clock. */
import { createContext, useContext } from 'react';
import type { Session } from './session.js';
import type { ConfigRecord } from './types.js';

export interface Dashboard {
  readonly session: Session;
  readonly config: ConfigRecord;
  /** Loads the config in force again (after a publish, or to pick up someone else's). */
  readonly reloadConfig: () => Promise<ConfigRecord>;
  /** The service's clock in epoch milliseconds (estimated from its Date header). */
  readonly now: () => number;
}

export const DashboardContext = createContext<Dashboard | null>(null);

export function useDashboard(): Dashboard {
  const value = useContext(DashboardContext);
  if (value === null) throw new Error('useDashboard() outside the signed-in dashboard');
  return value;
}
