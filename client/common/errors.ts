/**
 * Errors of the browser code carry a machine-readable code, like the server's, and the server's reason
 * where it gave one (shared/errors.ts). Code that recovers from an error decides on the reason first, then
 * on the code; it never reads the message, which is for people.
 */
import { ERROR_CODES, ERROR_REASONS, type ErrorCode, type ErrorReason } from '../../shared/errors.js';

/** The server's codes, plus what only a client can see happen. */
export type ClientErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'bad_response' | 'network' | 'media';

export interface ClientErrorOptions extends ErrorOptions {
  /** Which situation of the code's class, as the server said. */
  reason?: ErrorReason | undefined;
}

export class OnAirClientError extends Error {
  override name = 'OnAirClientError';
  readonly code: ClientErrorCode;
  readonly reason: ErrorReason | undefined;
  constructor(code: ClientErrorCode, message: string, options?: ClientErrorOptions) {
    super(message, options);
    this.code = code;
    this.reason = options?.reason;
  }
}

/** Anything thrown, as an Error. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'unknown error');
}

export function errorCode(err: unknown): ClientErrorCode | undefined {
  return err instanceof OnAirClientError ? err.code : undefined;
}

export function errorReason(err: unknown): ErrorReason | undefined {
  return err instanceof OnAirClientError ? err.reason : undefined;
}

/** A code the server may send, or undefined for anything else (a newer server's code, garbage). */
export function knownErrorCode(value: unknown): ErrorCode | undefined {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value) ? (value as ErrorCode) : undefined;
}

/** A reason this client knows, or undefined: an unknown reason is acted on by its code alone. */
export function knownReason(value: unknown): ErrorReason | undefined {
  return typeof value === 'string' && (ERROR_REASONS as readonly string[]).includes(value) ? (value as ErrorReason) : undefined;
}
