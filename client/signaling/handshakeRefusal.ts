/**
 * The server refused the socket's handshake (bad token, too many connections from this address): socket.io
 * hands the middleware's error to the client as a 'connect_error' whose `data` is the server's
 * `{ error, reason?, message }`. Other connect errors (network, server down) have no such data: socket.io
 * retries those by itself, while after a refusal it stops.
 */
import { knownErrorCode, knownReason, OnAirClientError } from '../common/errors.js';

/** The refusal as a typed error, or undefined when `err` is not a refusal by OnAir's middleware. */
export function handshakeRefusal(err: Error & { data?: unknown }): OnAirClientError | undefined {
  const data = err.data;
  if (data && typeof data === 'object') {
    const { error, reason, message } = data as Record<string, unknown>;
    const code = knownErrorCode(error);
    if (code) return new OnAirClientError(code, typeof message === 'string' ? message : err.message, { reason: knownReason(reason) });
  }
  // Before `err.data` the server sent "<code>: <message>" as the error's message. Remove this fallback once
  // no server of that kind is left (issue 11 changed the server to send `data`).
  const m = /^(unauthorized|bad_request|forbidden|too_many_requests): (.*)$/.exec(err.message);
  return m ? new OnAirClientError(knownErrorCode(m[1])!, m[2]!) : undefined;
}
