/**
 * One JSON request to a running Sortition service with an API key; the service's JSON errors become
 * CliErrors that keep its code, message and field.
 */
import { CliError } from '../config-file.js';

export async function serviceJson(f: typeof fetch, method: 'GET' | 'POST', url: string, key: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await f(url, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new CliError('NETWORK', `cannot reach ${url}: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError('BAD_RESPONSE', `${url} answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; field?: string } }).error;
    throw new CliError(e?.code ?? 'HTTP_ERROR', `${url} answered ${response.status}: ${e?.message ?? text}${e?.field === undefined ? '' : ` (field ${e.field})`}`, { exitCode: 1 });
  }
  return parsed;
}
