/** The HTTP API from the browser: JSON in and out, errors as OnAirClientError with the server's code and reason. */
import type { ErrorBody } from '../../shared/errors.js';
import { knownErrorCode, knownReason, OnAirClientError } from './errors.js';

export class ApiError extends OnAirClientError {
  override name = 'ApiError';
  readonly status: number;
  constructor(status: number, body: Partial<ErrorBody>, fallback: string) {
    const code = knownErrorCode(body.error) ?? (status === 0 ? 'network' : 'internal');
    super(code, typeof body.message === 'string' ? body.message : fallback, { reason: knownReason(body.reason) });
    this.status = status;
  }
}

export interface ApiRequestOptions {
  token?: string | undefined;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
}

export async function api<T>(method: string, path: string, opts: ApiRequestOptions = {}): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: opts.body === undefined ? null : JSON.stringify(opts.body) });
  } catch {
    throw new ApiError(0, {}, 'cannot reach the server: check your connection');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, (parsed ?? {}) as Partial<ErrorBody>, `${method} ${url.pathname} failed (HTTP ${res.status})`);
  return parsed as T;
}
