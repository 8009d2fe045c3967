/**
 * A token bucket per key shared by every node (RateLimit in cluster mode): the same arithmetic as
 * TokenBucket (`rate` per second, bursts of `burst`), kept in one Redis hash per key and updated by one Lua
 * script, so two nodes taking from one bucket at once never both take its last token (no
 * read-modify-write race). Time is Redis's clock (`TIME`), not the nodes', which may disagree.
 *
 * Guards, and why:
 * - The hash expires once a full bucket would have refilled: an idle key costs nothing.
 * - Keys are hashed (SHA-256) into the Redis key: addresses and ids of any shape make keys of one shape.
 * - Redis unreachable: `take` rejects with RedisUnavailable (503 cluster_unavailable), never waits.
 */
import crypto from 'node:crypto';
import type { RateDecision, RateLimit } from '../limits/RateLimit.js';
import type { Redis } from './redisClient.js';
import { needingRedis } from './RedisUnavailable.js';

// KEYS[1] bucket. ARGV: 1 rate per second, 2 burst. Returns { 1 taken | 0 refused, ms to wait }.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local ok, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return { ok, wait }`;

export interface RedisRateLimitOptions {
  redis: Redis;
  /** Key prefix, e.g. "onair:rate:streams:" (one per limit). */
  keyPrefix: string;
  rate: number;
  burst: number;
  /** What is limited, for the error message ("stream creation"). */
  what: string;
}

export class RedisRateLimit implements RateLimit {
  readonly #o: RedisRateLimitOptions;

  constructor(o: RedisRateLimitOptions) {
    this.#o = o;
  }

  async take(key: string): Promise<RateDecision> {
    const { redis, keyPrefix, rate, burst, what } = this.#o;
    const redisKey = keyPrefix + crypto.createHash('sha256').update(key).digest('hex').slice(0, 32);
    const [ok, waitMs] = (await needingRedis(what, () => redis.eval(TAKE, 1, redisKey, rate, burst))) as [number, number];
    if (ok === 1) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
  }
}
