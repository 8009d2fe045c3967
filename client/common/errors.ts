/** Errors of the browser code carry a machine-readable code, like the server's. */
import type { ErrorCode } from '../../shared/errors.js';

/** The server's codes, plus what only a client can see happen. */
export type ClientErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'bad_response' | 'network' | 'media';

export class OnAirClientError extends Error {
  override name = 'OnAirClientError';
  readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Anything thrown, as an Error. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'unknown error');
}

export function errorCode(err: unknown): ClientErrorCode | undefined {
  return err instanceof OnAirClientError ? err.code : undefined;
}
