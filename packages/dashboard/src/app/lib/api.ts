/**
 * The service's HTTP API as seen from the dashboard (same origin): JSON in and out, the key as a
 * bearer token, every error turned into an ApiError carrying the service's code, field and fix.
 */

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string; readonly fix?: string; readonly details?: unknown };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly fix: string | undefined;
  readonly details: unknown;

  constructor(status: number, body: ErrorBody['error']) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.fix = body.fix;
    this.details = body.details;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { message?: unknown }).message === 'string';
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** The service's clock (from the Date header of its last answer), in epoch milliseconds. */
  serverNow(): number;
}

export interface ApiOptions {
  readonly key: string;
  /** Called when the service says the key is unknown or revoked. */
  readonly onUnauthenticated?: (error: ApiError) => void;
  readonly baseUrl?: string;
}

export function createApi(options: ApiOptions): Api {
  let offset = 0;
  const base = options.baseUrl ?? '';
  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.key}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        cache: 'no-store',
      });
    } catch (error) {
      throw new ApiError(0, { code: 'NETWORK', message: `cannot reach the service (${error instanceof Error ? error.message : String(error)})`, fix: 'check that the service is running and reachable, then retry' });
    }
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) offset = date - Date.now();
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw new ApiError(response.status, { code: 'NOT_JSON', message: `the service answered ${method} ${path} with ${response.status} and a body that is not JSON`, fix: 'check that this page is served by the Sortition service' });
      }
    }
    if (!response.ok) {
      const error = new ApiError(response.status, isErrorBody(parsed) ? parsed.error : { code: `HTTP_${response.status}`, message: `${method} ${path} failed with ${response.status}` });
      if (response.status === 401) options.onUnauthenticated?.(error);
      throw error;
    }
    return parsed as T;
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    serverNow: () => Date.now() + offset,
  };
}

export const query = (params: Readonly<Record<string, string | number | undefined>>): string =>
  Object.entries(params)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
