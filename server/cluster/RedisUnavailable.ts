/**
 * The refusal of a request that needs the cluster's shared state (Redis) while Redis does not answer: 503
 * `not_ready` with reason `cluster_unavailable` and a Retry-After, on HTTP as on the signaling socket. It is
 * an ApiError so that the HTTP error handler answers it as it is; the signaling server answers its reason.
 *
 * Why: without it a request that needs Redis would either hang (a command queued for a server that is gone)
 * or fail as a 500. Media already flowing needs no Redis and is never refused by it.
 */
import { ApiError } from '../http/ApiError.js';

/** Seconds a client is told to wait (ioredis retries the connection at most every 2 s). */
const RETRY_AFTER_SECONDS = 5;

export class RedisUnavailable extends ApiError {
  override name = 'RedisUnavailable';
  constructor(what: string, cause?: unknown) {
    super('not_ready', `${what}: the cluster's shared state (Redis) is unreachable; try again in a few seconds`, {
      reason: 'cluster_unavailable',
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    });
    if (cause !== undefined) this.cause = cause;
  }
}

/** Runs a Redis call; any failure (connection gone, command timeout) becomes RedisUnavailable. */
export async function needingRedis<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new RedisUnavailable(what, err);
  }
}
