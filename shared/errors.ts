/**
 * Machine-readable error codes, shared by the HTTP API and the signaling socket.
 * Every error OnAir returns is `{ error: ErrorCode, message: string }`.
 */
export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'not_acceptable',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'not_ready',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  /** Field-level problems, for validation errors. */
  issues?: { path: string; message: string }[];
}
