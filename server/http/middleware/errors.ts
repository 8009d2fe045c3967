/** The last middlewares: JSON 404 under /api, and every thrown error turned into `{ error, message }`. */
import type { NextFunction, Request, Response } from 'express';
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
  res.status(apiError.status).set(apiError.headers).json(apiError.body());
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
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
  if (e?.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ApiError('bad_request', e.message, { status: e.status });
  }
  return new ApiError('internal', 'internal server error');
}
