/** The last middlewares: JSON 404 under /api, and every thrown error turned into `{ error, message }`. */
import type { NextFunction, Request, Response } from 'express';
import type { ErrorCode } from '../../../shared/errors.js';
import { StoreError } from '../../store/sql/errors.js';
import { ApiError } from '../ApiError.js';

export function apiNotFound(req: Request, _res: Response, next: NextFunction): void {
  next(new ApiError('not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  expose?: boolean;
}

export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const apiError = toApiError(err);
  if (apiError.status >= 500) req.log.error({ err }, 'request failed');
  if (res.headersSent) {
    res.end();
    return;
  }
  // A file send that failed (a precondition, a range) may have described the file already.
  for (const h of ['Content-Type', 'Content-Length', 'ETag', 'Last-Modified']) res.removeHeader(h);
  res.status(apiError.status).set(apiError.headers).json(apiError.body());
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // The catalogue (server/store/sql): PostgreSQL unreachable is the server not being ready, not a bug; a
  // username taken in a race between the route's check and its insert is the conflict the check answers.
  if (err instanceof StoreError && err.reason === 'unavailable') return new ApiError('not_ready', 'the database is unavailable: try again shortly', { headers: { 'Retry-After': '5' } });
  if (err instanceof StoreError && err.reason === 'username_taken') return new ApiError('conflict', 'this username is taken');
  const e = err as BodyParserError;
  // body-parser's errors carry a `type`.
  switch (e?.type) {
    case 'entity.too.large':
      return new ApiError('payload_too_large', 'request body is too large');
    case 'entity.parse.failed':
      return new ApiError('bad_request', 'request body is not valid JSON');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError('unsupported_media_type', e.message);
    default:
      break;
  }
  // Other client errors of express and its middlewares (a malformed %-escape in a path parameter, a static
  // file that is not there) carry a 4xx `status`; only `expose`d messages are meant for the client.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const message = err instanceof URIError ? 'the URL has a malformed %-escape' : e.expose ? e.message.slice(0, 200) : 'bad request';
    return new ApiError(CODE_BY_STATUS[e.status] ?? 'bad_request', message, { status: e.status });
  }
  return new ApiError('internal', 'internal server error');
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};
