/**
 * What the player does when a request of its WebRTC delivery fails: decided on the server's reason first,
 * then on the code (servers before reasons, and what only the client sees), never on the message.
 */
import { errorCode, errorReason } from '../common/errors.js';
import { SignalingRequestError } from '../signaling/SignalingRequestError.js';

export type ViewerRecovery =
  /** `stale_session`: the request named an earlier session of the broadcast: a new transport, consume again. */
  | 'renew'
  /** `not_live`, `broadcast_ended`: nobody broadcasts (yet): wait for the next `broadcast:producers`. */
  | 'wait'
  /** `viewers_full`: the stream has all the WebRTC viewers it takes: play HLS. */
  | 'hls'
  /** The socket is gone (`connection_closed`, or dropped): the next 'connect' joins again. */
  | 'reconnect'
  /** No reason, `conflict` / `not_found`: the broadcast changed under us; the next `broadcast:producers` says how. */
  | 'stale'
  /** Anything else (timeout, rate limited, internal): try again in a moment. */
  | 'retry';

export function viewerRecovery(err: unknown): ViewerRecovery {
  switch (errorReason(err)) {
    case 'stale_session':
      return 'renew';
    case 'not_live':
    case 'broadcast_ended':
      return 'wait';
    case 'viewers_full':
      return 'hls';
    case 'connection_closed':
      return 'reconnect';
    case undefined:
      break;
    default:
      return 'retry';
  }
  switch (errorCode(err)) {
    case 'disconnected':
      return 'reconnect';
    case 'conflict':
    case 'not_found':
      return 'stale';
    case 'too_many_requests':
      // A server without reasons said "full" this way (and only from transport:create).
      return err instanceof SignalingRequestError && err.request === 'transport:create' ? 'hls' : 'retry';
    default:
      return 'retry';
  }
}

/** Of several failures (one per producer consumed), the one to act on: the first in this order. */
const PRECEDENCE: readonly ViewerRecovery[] = ['reconnect', 'wait', 'hls', 'renew', 'retry', 'stale'];

export function mostUrgent(errors: readonly unknown[]): { recovery: ViewerRecovery; error: unknown } | undefined {
  let best: { recovery: ViewerRecovery; error: unknown } | undefined;
  for (const error of errors) {
    const recovery = viewerRecovery(error);
    if (!best || PRECEDENCE.indexOf(recovery) < PRECEDENCE.indexOf(best.recovery)) best = { recovery, error };
  }
  return best;
}
