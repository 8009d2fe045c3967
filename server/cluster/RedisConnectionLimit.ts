/**
 * Signaling sockets per client address across every node (SharedConcurrencyLimit in cluster mode): each node
 * counts its own sockets of an address in Redis (RedisNodeCounts, one field per node instance) and a new
 * socket is admitted only while the sum over alive nodes is below `max` (one Lua script: check and count
 * together, so two nodes admitting at once cannot both take the last place).
 *
 * Guards, and why:
 * - A dead node's sockets stop counting within the registry's staleness (5 s): its clients reconnect to the
 *   other nodes and must find their places free.
 * - `release` never throws: a release that could not reach Redis is rewritten (this node's absolute count)
 *   by the next flush once Redis is back, so an outage leaks no places.
 * - `acquire` rejects with RedisUnavailable while Redis is unreachable: a new socket is refused with
 *   `cluster_unavailable` (connected sockets are not touched).
 */
import type { SharedConcurrencyLimit } from '../limits/RateLimit.js';
import type { Logger } from '../log/logger.js';
import type { Redis } from './redisClient.js';
import type { RedisInstances } from './RedisInstances.js';
import { RedisNodeCounts } from './RedisNodeCounts.js';
import { needingRedis } from './RedisUnavailable.js';

export class RedisConnectionLimit implements SharedConcurrencyLimit {
  readonly max: number;
  readonly #counts: RedisNodeCounts;
  readonly #logger: Logger;

  constructor(o: { redis: Redis; instances: RedisInstances; keyPrefix: string; max: number; logger: Logger }) {
    this.max = o.max;
    this.#logger = o.logger;
    this.#counts = new RedisNodeCounts({ redis: o.redis, instances: o.instances, keyPrefix: o.keyPrefix });
  }

  acquire(key: string): Promise<boolean> {
    return needingRedis('connect', () => this.#counts.add(key, 1, this.max));
  }

  release(key: string): void {
    this.#counts.add(key, -1).catch((err: Error) => this.#logger.warn({ err: err.message }, 'socket place not given back yet (Redis unreachable); it will be when Redis is back'));
  }

  /** This node's sockets of `key` (tests, leak checks). */
  held(key: string): number {
    return this.#counts.own(key);
  }

  /** Rewrites what failed (`all`: every count, keeping their hashes from expiring). */
  flush(all = false): Promise<void> {
    return this.#counts.flush(all);
  }
}
