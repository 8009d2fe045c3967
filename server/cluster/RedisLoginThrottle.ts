/**
 * Failed logins counted by every node together (LoginAttempts in cluster mode): LoginThrottle's rule (after
 * `freeAttempts` failures of a key, each further attempt waits, doubling from 1 s up to 5 min; a success
 * clears the key) on one Redis hash per key, changed only by Lua scripts (atomic: parallel guesses sent to
 * different nodes each count) on Redis's clock.
 *
 * Guards, and why:
 * - The hash expires when its wait is over plus the longest wait: forgotten keys cost nothing.
 * - `retryAfterMs` and `fail` reject with RedisUnavailable while Redis is unreachable: a login then fails
 *   with 503 rather than going unthrottled (guessing must not get easier by cutting a node off Redis).
 *   `succeed` and `forgive` run after the password was checked; a failure there is logged, not thrown (the
 *   user who typed the right password gets in; at worst one failure stays counted).
 */
import crypto from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { LoginAttempts } from '../limits/RateLimit.js';
import type { Redis } from './redisClient.js';
import { needingRedis } from './RedisUnavailable.js';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS[1]. Returns ms still to wait.
const RETRY_AFTER = `${NOW}
local u = tonumber(redis.call('HGET', KEYS[1], 'until'))
if u == nil then return 0 end
return math.max(0, u - now)`;

// KEYS[1]. ARGV: 1 free attempts, 2 base ms, 3 max ms.
const FAIL = `${NOW}
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local over = count - tonumber(ARGV[1])
local delay = 0
if over > 0 then delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ (over - 1)) end
redis.call('HSET', KEYS[1], 'until', string.format('%d', now + delay))
redis.call('PEXPIRE', KEYS[1], string.format('%d', delay + tonumber(ARGV[3])))
return count`;

// KEYS[1]: one failure counted in advance taken back (its wait stays).
const FORGIVE = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count'))
if count == nil then return 0 end
if count <= 1 then redis.call('DEL', KEYS[1]) return 0 end
return redis.call('HINCRBY', KEYS[1], 'count', -1)`;

export interface RedisLoginThrottleOptions {
  redis: Redis;
  /** e.g. "onair:login:user:" */
  keyPrefix: string;
  logger: Logger;
  baseMs?: number;
  maxMs?: number;
  freeAttempts?: number;
}

export class RedisLoginThrottle implements LoginAttempts {
  readonly #o: RedisLoginThrottleOptions;

  constructor(o: RedisLoginThrottleOptions) {
    this.#o = o;
  }

  async retryAfterMs(key: string): Promise<number> {
    return Number(await needingRedis('login', () => this.#o.redis.eval(RETRY_AFTER, 1, this.#key(key))));
  }

  async fail(key: string): Promise<void> {
    const { freeAttempts = 3, baseMs = 1000, maxMs = 5 * 60_000 } = this.#o;
    await needingRedis('login', () => this.#o.redis.eval(FAIL, 1, this.#key(key), freeAttempts, baseMs, maxMs));
  }

  async succeed(key: string): Promise<void> {
    await this.#o.redis.del(this.#key(key)).catch((err: Error) => this.#o.logger.warn({ err: err.message }, 'login throttle not cleared (Redis unreachable)'));
  }

  async forgive(key: string): Promise<void> {
    await this.#o.redis.eval(FORGIVE, 1, this.#key(key)).catch((err: Error) => this.#o.logger.warn({ err: err.message }, 'login failure not forgiven (Redis unreachable)'));
  }

  #key(key: string): string {
    return this.#o.keyPrefix + crypto.createHash('sha256').update(key).digest('hex').slice(0, 32);
  }
}
