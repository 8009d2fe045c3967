/** An error the API returns as `{ error, message }` with an HTTP status. */
import type { ZodError } from 'zod';
import type { ErrorBody, ErrorCode, ErrorReason } from '../../shared/errors.js';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  not_ready: 503,
  internal: 500,
};

export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: ErrorBody['issues'];
  readonly headers: Record<string, string>;
  readonly reason: ErrorReason | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; issues?: ErrorBody['issues']; headers?: Record<string, string>; reason?: ErrorReason } = {},
  ) {
    super(message);
    this.code = code;
    this.reason = opts.reason;
    this.status = opts.status ?? STATUS[code];
    this.issues = opts.issues;
    this.headers = opts.headers ?? {};
  }

  static fromZod(err: ZodError, where: string): ApiError {
    const issues = err.issues.slice(0, 20).map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    const first = issues[0];
    return new ApiError('validation_failed', `invalid ${where}: ${first ? `${first.path}: ${first.message}` : 'malformed'}`, { issues });
  }

  body(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.reason ? { reason: this.reason } : {}), ...(this.issues ? { issues: this.issues } : {}) };
  }
}
