/**
 * A signaling request that failed: the server's `{ ok: false, error, reason?, message }`, a timeout, or a
 * dropped socket. `reason` is the server's (shared/errors.ts ERROR_REASONS), when it gave one.
 */
import type { ErrorReason } from '../../shared/errors.js';
import type { RequestName } from '../../shared/signaling.js';
import { OnAirClientError, type ClientErrorCode } from '../common/errors.js';

export class SignalingRequestError extends OnAirClientError {
  override name = 'SignalingRequestError';
  readonly request: RequestName;
  constructor(request: RequestName, code: ClientErrorCode, message: string, reason?: ErrorReason) {
    super(code, message, { reason });
    this.request = request;
  }
}
