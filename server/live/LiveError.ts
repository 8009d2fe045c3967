/**
 * Why the live layer refused or abandoned a request, as a machine-readable reason (shared/errors.ts). The
 * signaling server and the HTTP routes answer it as `{ error: REASON_CODE[reason], reason, message }`: the
 * live layer never decides how a transport reports it.
 */
import { REASON_CODE, type ErrorCode, type ErrorReason } from '../../shared/errors.js';

export class LiveError extends Error {
  override name = 'LiveError';
  readonly reason: ErrorReason;
  constructor(reason: ErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
  get code(): ErrorCode {
    return REASON_CODE[this.reason];
  }
}

/** The requester (socket, WHIP/WHEP session) closed while its request ran; what the request made is closed. */
export const ownerGone = (what: string): LiveError => new LiveError('connection_closed', `${what}: the connection closed while this request ran`);
