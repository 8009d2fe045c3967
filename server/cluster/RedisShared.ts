/**
 * Cluster mode's shared live state, on the node's Redis (issue 12): socket.io events across nodes
 * (`@socket.io/redis-adapter`), one audience per stream (RedisAudienceCounts), and the limits every node
 * enforces together (stream creations per user, chat messages per address, failed logins per user and per
 * address, signaling sockets per address). Made only in cluster mode; on one machine none of this exists and
 * OnAir uses its in-memory twins.
 *
 * Connections (ioredis, duplicated from the node's client, so the same URL and reconnect policy):
 * - `commands`: every limit and count; no offline queue and a 2 s command timeout, so that a request that
 *   needs Redis fails at once with RedisUnavailable (503 cluster_unavailable) instead of hanging;
 * - `publisher`: the adapter's publishes. The adapter never awaits them: a publish that fails (Redis down) is
 *   counted and dropped here rather than left as an unhandled rejection; the events it carried are lost (the
 *   redis adapter's documented limit: no connection-state recovery);
 * - `subscriber`: the adapter's channels and the audience channel; ioredis subscribes again by itself after
 *   a reconnect (node-redis would not), which is why this is ioredis. The adapter's unsubscribes at close are
 *   not awaited either: their failures are dropped the same way.
 *
 * Lifetime: `start()` connects (rejects when Redis is unreachable, like ClusterNode.start), finds this node's
 * instance in the registry (which must be started), reads the audiences, and ticks every second: failed
 * writes rewritten, totals refreshed (every 20 s, and at once after a reconnect
 * since Redis may have restarted empty, this node's counts are rewritten, keeping their hashes alive). A tick that fails (Redis down) is skipped; the next one catches up.
 * `close()` stops the tick and disconnects the three connections. Idempotent.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '../log/logger.js';
import { RedisAudienceCounts } from './RedisAudienceCounts.js';
import type { Redis } from './redisClient.js';
import { RedisConnectionLimit } from './RedisConnectionLimit.js';
import { RedisInstances } from './RedisInstances.js';
import { RedisLoginThrottle } from './RedisLoginThrottle.js';
import { RedisRateLimit } from './RedisRateLimit.js';
import type { NodeRegistry } from './NodeRegistry.js';

const TICK_MS = 1_000;
/** Every this many ticks, this node's counts are rewritten (their hashes expire 60 s after a write). */
const REWRITE_EVERY = 20;
const COMMAND_TIMEOUT_MS = 2_000;

export interface SharedLimits {
  /** Stream creations per user. */
  streamCreation: { rate: number; burst: number };
  /** Chat messages per client address. */
  chatPerAddress: { rate: number; burst: number };
  /** Free failed logins per username and per address (LoginThrottle's rule after them). */
  loginFreeAttempts: { byUser: number; byAddress: number };
  /** Signaling sockets per client address. */
  maxSocketsPerAddress: number;
}

export interface RedisSharedOptions {
  /** The node's Redis client (ClusterNode.redis): duplicated, never used itself. */
  redis: Redis;
  /** The node's registry, started. */
  registry: NodeRegistry;
  limits: SharedLimits;
  logger: Logger;
  /** Key prefix (default "onair:"; tests give each file its own). */
  prefix?: string;
  /** The registry's staleness rule, if not the default 5 s (tests). */
  aliveMs?: number;
}

export class RedisShared {
  readonly audience: RedisAudienceCounts;
  readonly streamCreation: RedisRateLimit;
  readonly chatPerAddress: RedisRateLimit;
  readonly login: { byUser: RedisLoginThrottle; byAddress: RedisLoginThrottle };
  readonly sockets: RedisConnectionLimit;
  readonly instances: RedisInstances;
  readonly #commands: Redis;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #logger: Logger;
  readonly #prefix: string;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #ticks = 0;
  /** Set when the command connection (re)connects: Redis may have restarted empty, so rewrite every count. */
  #rewriteAll = false;
  #droppedPublishes = 0;
  #closed = false;

  private constructor(o: RedisSharedOptions, commands: Redis, publisher: Redis, subscriber: Redis) {
    const prefix = o.prefix ?? 'onair:';
    const logger = o.logger.child({ component: 'cluster-shared' });
    this.#logger = logger;
    this.#prefix = prefix;
    this.#commands = commands;
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.instances = new RedisInstances(o.registry, { prefix, ...(o.aliveMs ? { aliveMs: o.aliveMs } : {}) });
    const redis = commands;
    this.audience = new RedisAudienceCounts({ redis, subscriber, instances: this.instances, prefix, logger });
    this.streamCreation = new RedisRateLimit({ redis, keyPrefix: `${prefix}rate:streams:`, ...o.limits.streamCreation, what: 'stream creation' });
    this.chatPerAddress = new RedisRateLimit({ redis, keyPrefix: `${prefix}rate:chat:`, ...o.limits.chatPerAddress, what: 'chat message' });
    this.login = {
      byUser: new RedisLoginThrottle({ redis, keyPrefix: `${prefix}login:user:`, freeAttempts: o.limits.loginFreeAttempts.byUser, logger }),
      byAddress: new RedisLoginThrottle({ redis, keyPrefix: `${prefix}login:address:`, freeAttempts: o.limits.loginFreeAttempts.byAddress, logger }),
    };
    this.sockets = new RedisConnectionLimit({ redis, instances: this.instances, keyPrefix: `${prefix}sockets:`, max: o.limits.maxSocketsPerAddress, logger });
  }

  static async start(o: RedisSharedOptions): Promise<RedisShared> {
    const commands = o.redis.duplicate({ commandTimeout: COMMAND_TIMEOUT_MS });
    const publisher = o.redis.duplicate({ commandTimeout: COMMAND_TIMEOUT_MS });
    const subscriber = o.redis.duplicate();
    const all = [commands, publisher, subscriber];
    for (const c of all) c.on('error', () => undefined);
    try {
      // The node's client is lazy: so are its duplicates.
      await Promise.all(all.map((c) => c.connect()));
      const shared = new RedisShared(o, commands, publisher, subscriber);
      shared.#dropFailedPublishes();
      shared.#quietUnsubscribes();
      await shared.instances.start();
      await shared.audience.start();
      shared.#startTicking();
      return shared;
    } catch (err) {
      for (const c of all) c.disconnect();
      throw err;
    }
  }

  /** The socket.io adapter to give the signaling server (`new Server(…, { adapter })`). */
  adapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.#publisher, this.#subscriber, { key: `${this.#prefix}socket.io` });
  }

  /** Whether Redis answers now (readiness). */
  get ready(): boolean {
    return this.#commands.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /** Adapter publishes dropped while Redis was unreachable, since start. */
  get droppedPublishes(): number {
    return this.#droppedPublishes;
  }

  /** One tick now (tests; the timer runs it every second). */
  tick(): Promise<void> {
    this.#ticking ??= (async () => {
      const rewrite = ++this.#ticks % REWRITE_EVERY === 0 || this.#rewriteAll;
      await this.sockets.flush(rewrite);
      await this.audience.refresh(rewrite);
      // Only once it worked: a tick that failed leaves the rewrite to the next.
      if (rewrite) this.#rewriteAll = false;
    })()
      .catch((err: Error) => this.#logger.debug({ err: err.message }, 'shared state tick skipped (Redis unreachable?)'))
      .finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#ticking;
    this.audience.close();
    for (const c of [this.#commands, this.#publisher, this.#subscriber]) c.disconnect();
  }

  /**
   * The adapter's close unsubscribes without awaiting: while Redis is down (or after this node's close) each
   * call would be an unhandled rejection. A subscription that cannot be undone dies with its connection.
   */
  #quietUnsubscribes(): void {
    const sub = this.#subscriber;
    for (const name of ['unsubscribe', 'punsubscribe'] as const) {
      const call = sub[name].bind(sub) as (...channels: string[]) => Promise<unknown>;
      Object.assign(sub, { [name]: (...channels: string[]) => call(...channels).catch(() => undefined) });
    }
  }

  #startTicking(): void {
    this.#commands.on('ready', () => {
      this.#rewriteAll = true;
      this.#logger.info('Redis is reachable again: rewriting this node\'s shared counts');
    });
    this.#timer = setInterval(() => void this.tick(), TICK_MS);
    this.#timer.unref();
  }

  /**
   * The adapter calls `publish` without awaiting it: while Redis is down each call would be an unhandled
   * rejection. Failed publishes are counted and dropped (the events they carried are lost, see the header).
   */
  #dropFailedPublishes(): void {
    const publisher = this.#publisher;
    const publish = publisher.publish.bind(publisher) as (channel: string | Buffer, message: string | Buffer) => Promise<number>;
    const dropping = (channel: string | Buffer, message: string | Buffer): Promise<number> =>
      publish(channel, message).catch(() => {
        if (this.#droppedPublishes++ % 100 === 0) this.#logger.warn({ dropped: this.#droppedPublishes }, 'socket.io events not sent to other nodes (Redis unreachable)');
        return 0;
      });
    Object.assign(publisher, { publish: dropping });
  }
}
