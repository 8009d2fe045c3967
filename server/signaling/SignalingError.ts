/** An error answered to a signaling request as `{ ok: false, error, message }`. */
import type { ErrorCode } from '../../shared/errors.js';

export class SignalingError extends Error {
  override name = 'SignalingError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
