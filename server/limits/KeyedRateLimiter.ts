/**
 * A token bucket per key (a client address, a user id), for requests that cost the server real work. The
 * map is bounded: the least recently seen keys are forgotten first.
 */
import { TokenBucket } from './TokenBucket.js';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  /** `rate` requests per second on average per key, bursts of `burst`. */
  constructor(opts: { rate: number; burst: number; maxKeys?: number }) {
    this.#rate = opts.rate;
    this.#burst = opts.burst;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

  take(key: string, now = Date.now()): RateDecision {
    let bucket = this.#buckets.get(key);
    if (bucket) this.#buckets.delete(key);
    bucket ??= new TokenBucket(this.#rate, this.#burst, now);
    // Re-inserted: the map's order is least recently seen first.
    this.#buckets.set(key, bucket);
    // Forget the least recently seen key (it may lose its limit: the price of bounded memory).
    if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (bucket.take(now)) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(bucket.waitMs(now) / 1000)) };
  }

  get size(): number {
    return this.#buckets.size;
  }
}
