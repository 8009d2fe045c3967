/**
 * The limits OnAir enforces per key (a user id, a client address), as interfaces with two implementations:
 * in memory for one machine (KeyedRateLimiter, LoginThrottle, KeyedConcurrencyLimit: today's behaviour,
 * synchronous) and in Redis for a cluster (server/cluster/Redis*.ts: one limit shared by every node,
 * asynchronous, and refusing with RedisUnavailable while Redis is unreachable). Callers `await` every call,
 * which costs nothing on the synchronous ones.
 */
import type { RateDecision } from './KeyedRateLimiter.js';

export type { RateDecision };

/**
 * `take` one request of `key`: allowed, or refused with the seconds to wait. `now` is the in-memory
 * implementation's clock (tests pass it); the Redis one uses Redis's clock.
 */
export interface RateLimit {
  take(key: string, now?: number): RateDecision | Promise<RateDecision>;
}

/**
 * Failed logins per key (see LoginThrottle): `fail` is counted before the password is checked, `succeed` or
 * `forgive` after, `retryAfterMs` says how long the key must still wait.
 */
export interface LoginAttempts {
  retryAfterMs(key: string): number | Promise<number>;
  fail(key: string): void | Promise<void>;
  succeed(key: string): void | Promise<void>;
  forgive(key: string): void | Promise<void>;
}

/**
 * At most `max` places per key across every node (signaling sockets per client address). `acquire`
 * resolves false when the key holds `max` already; each place it gave is given back once with `release`.
 */
export interface SharedConcurrencyLimit {
  readonly max: number;
  acquire(key: string): Promise<boolean>;
  release(key: string): void;
}
