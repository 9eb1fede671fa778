/**
 * The signed-in key. It is kept in sessionStorage (this tab only, gone when the tab closes), never in
 * localStorage or a cookie, and sent only to this origin as a bearer token.
 */
import { ApiError, createApi, type Api } from './api.js';
import type { WhoAmI } from './types.js';

const STORAGE_KEY = 'sortition.dashboard.key';

export interface Session {
  readonly key: string;
  readonly who: WhoAmI;
  readonly api: Api;
}

export function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch (error) {
    // Storage can be disabled (privacy settings); the user then signs in on every load.
    if (error instanceof DOMException) return null;
    throw error;
  }
}

function remember(key: string | null): void {
  try {
    if (key === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, key);
  } catch (error) {
    if (!(error instanceof DOMException)) throw error;
  }
}

/** Explains a refused sign-in in the user's terms. */
export function signInProblem(error: unknown): { message: string; fix: string } {
  if (error instanceof ApiError) {
    if (error.status === 401) return { message: 'The service does not know this key, or it was revoked.', fix: 'Paste a current admin or read key (sk_admin_… or sk_read_…). `sortition serve` prints the first admin key when it creates the database.' };
    if (error.status === 403) return { message: 'This is an SDK key: it may only evaluate units, not read or change experiments.', fix: 'Sign in with an admin key, or a read key for read-only views. Admins can create one with POST /v1/keys.' };
    return { message: error.message, fix: error.fix ?? 'Retry in a moment.' };
  }
  return { message: error instanceof Error ? error.message : String(error), fix: 'Retry in a moment.' };
}

export async function signIn(key: string, onUnauthenticated: () => void): Promise<Session> {
  const trimmed = key.trim();
  const api = createApi({ key: trimmed, onUnauthenticated });
  const who = await api.get<WhoAmI>('/v1/whoami');
  remember(trimmed);
  return { key: trimmed, who, api };
}

export function signOut(): void {
  remember(null);
}
