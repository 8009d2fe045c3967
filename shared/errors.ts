/**
 * Machine-readable errors, shared by the HTTP API and the signaling socket.
 * Every error OnAir returns is `{ error: ErrorCode, message: string, reason?: ErrorReason }`.
 *
 * `error` is the broad class (it maps to an HTTP status); `reason`, where present, says which of the
 * situations of that class happened, for clients to act on (LiveKit's reason enums are the model). A client
 * decides on the reason first and falls back to the code; it never parses `message`, which is for people.
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

/**
 * Why a request was refused, where the code alone does not say what to do:
 * - `stream_busy` (conflict): another connection broadcasts this stream now. Studio: stop, tell the user;
 *   WHIP: 409, an encoder may retry later.
 * - `not_publisher` (conflict): this connection does not hold the stream's publisher lease (it lost it, or
 *   never started): call `broadcast:start` again.
 * - `broadcast_ended` (conflict): the broadcast ended while this request ran (resume after the end, stream
 *   deleted): start a new broadcast; a viewer waits for the next one.
 * - `stale_session` (conflict): the request names media of an earlier session of the broadcast (it moved to
 *   a new router): create a new transport and consume again.
 * - `not_live` (conflict): the stream is not live, or sends nothing yet: a viewer waits.
 * - `viewers_full` (too_many_requests / 503): the stream has its maximum of WebRTC viewers: watch over HLS.
 * - `connection_closed` (conflict): the requester's connection or session closed while the request ran;
 *   whatever it created was closed. Nobody is left to read it but the logs.
 * - `rate_limited` (too_many_requests): slow down.
 * - `too_many_connections` (too_many_requests): too many sockets from this address.
 * - `cluster_unavailable` (not_ready, 503): cluster mode, and the shared state (Redis) this request needs is
 *   unreachable right now; media already flowing is not affected. Retry in a few seconds.
 */
export const ERROR_REASONS = [
  'stream_busy',
  'not_publisher',
  'broadcast_ended',
  'stale_session',
  'not_live',
  'viewers_full',
  'connection_closed',
  'rate_limited',
  'too_many_connections',
  'cluster_unavailable',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

/** The code each reason is answered with: one place, so a reason never travels with two codes. */
export const REASON_CODE: Record<ErrorReason, ErrorCode> = {
  stream_busy: 'conflict',
  not_publisher: 'conflict',
  broadcast_ended: 'conflict',
  stale_session: 'conflict',
  not_live: 'conflict',
  viewers_full: 'too_many_requests',
  connection_closed: 'conflict',
  rate_limited: 'too_many_requests',
  too_many_connections: 'too_many_requests',
  cluster_unavailable: 'not_ready',
};

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  /** Which situation of the code's class, where clients act on it (see ERROR_REASONS). */
  reason?: ErrorReason;
  /** Field-level problems, for validation errors. */
  issues?: { path: string; message: string }[];
}
