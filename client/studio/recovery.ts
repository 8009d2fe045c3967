/**
 * What the studio's Broadcaster does when publishing fails: decided on the server's reason first, then on
 * the code (servers before reasons, and what only the client sees), never on the message.
 */
import { errorCode, errorReason, OnAirClientError, toError } from '../common/errors.js';

export type PublishRecovery =
  /** The stream is live from elsewhere (`stream_busy`), or a refusal trying again will not fix: stop, say why. */
  | 'fatal'
  /** `not_publisher`, `broadcast_ended`: this connection holds no broadcast: `broadcast:start` again (bounded). */
  | 'restart'
  /** `connection_closed`, or the socket dropped: publish again on the next connection. */
  | 'reconnect'
  /** Anything else (timeout, rate limited, internal): try again in a moment. */
  | 'retry';

/** Refusals without a reason that trying again will not fix (`conflict`: a server before reasons). */
const FATAL_CODES: ReadonlySet<string | undefined> = new Set(['unauthorized', 'forbidden', 'not_found', 'conflict', 'validation_failed', 'bad_request', 'media']);

export function publishRecovery(err: unknown): PublishRecovery {
  switch (errorReason(err)) {
    case 'stream_busy':
      return 'fatal';
    case 'not_publisher':
    case 'broadcast_ended':
      return 'restart';
    case 'connection_closed':
      return 'reconnect';
    case undefined:
      break;
    default:
      return 'retry';
  }
  const code = errorCode(err);
  if (code === 'disconnected') return 'reconnect';
  return FATAL_CODES.has(code) ? 'fatal' : 'retry';
}

/** The error the user sees for a publish that failed for good. */
export function publishFailure(err: unknown): Error {
  if (errorReason(err) === 'stream_busy') {
    return new OnAirClientError('conflict', 'this stream is live from another window or encoder', { reason: 'stream_busy', cause: err });
  }
  return toError(err);
}
