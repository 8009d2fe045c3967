/** A signaling request that failed: the server's `{ ok: false, error, message }`, a timeout, or a dropped socket. */
import type { RequestName } from '../../shared/signaling.js';
import { OnAirClientError, type ClientErrorCode } from '../common/errors.js';

export class SignalingRequestError extends OnAirClientError {
  override name = 'SignalingRequestError';
  readonly request: RequestName;
  constructor(request: RequestName, code: ClientErrorCode, message: string) {
    super(code, message);
    this.request = request;
  }
}
