/**
 * Which node is each stream's origin: a lease in Redis (`SET <stream> <node>|<token> NX PX ttl`), taken by the
 * node a broadcaster lands on, renewed by that node while it holds the broadcast, released when it ends. A
 * node that dies stops renewing, and after `ttlMs` another node may take the stream (the broadcaster
 * reconnecting through the load balancer lands there).
 *
 * Fencing: each acquisition gets a token from one counter (INCR), so a later holder always has a larger token
 * than every earlier one. An origin that was paused or cut off from Redis may wake up still believing it holds
 * the stream; every origin action therefore asks `assertCurrent()` first (its own value still in Redis, and
 * the lease not past its local deadline), and carries the token to the other nodes, which refuse tokens older
 * than the newest they saw (see EdgePipe). Renewing and releasing compare before they extend or delete (Lua),
 * so a stale origin can neither prolong nor drop its successor's lease.
 *
 * Lifetime of an OriginLease: from `acquire` to `release()` (idempotent) or its loss (`lost` event, once:
 * another node holds the stream, or it vanished while Redis was unreachable). `OriginLeases.close()` releases
 * every lease still held. In between it may be `unsure` (see OriginLease).
 *
 * Guards, and why:
 * - The local deadline (last successful renewal + ttl, on this process's monotonic clock) makes a node that
 *   cannot reach Redis stop taking origin decisions by itself once its lease may have expired, without
 *   Redis; media already flowing is not stopped by it (an outage of Redis must not stop live streams).
 * - One Lua script takes the token and sets the key, so no token is ever handed out for a lease not set.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import type { Redis } from './redisClient.js';

export const ORIGIN_LEASE_TTL_MS = 5_000;

// KEYS[1] lease, KEYS[2] fence counter; ARGV[1] node id, ARGV[2] ttl, ARGV[3] the holder value it may replace
// ('' none). → {1, token} or {0, holder value}. One script: the check and the set are one step. A missing
// counter (a new Redis, or one restarted without persistence) starts at Redis's clock in ms, so tokens stay
// larger than those handed out before (which advanced by one per acquisition, far slower than the clock).
const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[3] then return {0, held} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {1, token}`;

// KEYS[1] lease; ARGV[1] expected value, ARGV[2] ttl. → 1 extended, 0 not ours.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// KEYS[1] lease; ARGV[1] expected value. → 1 deleted, 0 not ours.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface OriginHolder {
  nodeId: string;
  token: number;
}

/** An origin action attempted by a node whose lease is no longer current. */
export class StaleOriginError extends Error {
  override name = 'StaleOriginError';
  readonly streamId: string;
  constructor(streamId: string, what: string) {
    super(`${what}: this node is no longer the origin of stream ${streamId}`);
    this.streamId = streamId;
  }
}

export interface OriginLeasesOptions {
  redis: Redis;
  nodeId: string;
  logger: Logger;
  prefix?: string;
  ttlMs?: number;
  /** How often a held lease is renewed (default ttl / 3). */
  renewMs?: number;
}

export type AcquireResult = { ok: true; lease: OriginLease } | { ok: false; holder: OriginHolder };

export class OriginLeases {
  readonly #opts: OriginLeasesOptions;
  readonly #prefix: string;
  readonly #held = new Set<OriginLease>();

  constructor(opts: OriginLeasesOptions) {
    this.#opts = opts;
    this.#prefix = opts.prefix ?? 'onair:';
  }

  get ttlMs(): number {
    return this.#opts.ttlMs ?? ORIGIN_LEASE_TTL_MS;
  }

  #key(streamId: string): string {
    return `${this.#prefix}origin:${streamId}`;
  }

  /**
   * Takes the stream for this node, unless another node (or this one, by an earlier lease) holds it. With
   * `replacing`, the lease of that holder is taken over (compare-and-set, under a new, larger token): the
   * caller has established that the holder is gone (its node is no longer alive in the registry, or it is
   * this node's own lease from before a restart). Any other holder still refuses.
   */
  async acquire(streamId: string, { replacing }: { replacing?: OriginHolder } = {}): Promise<AcquireResult> {
    const started = performance.now();
    const expected = replacing ? `${replacing.nodeId}|${replacing.token}` : '';
    const [ok, value] = (await this.#opts.redis.eval(ACQUIRE, 2, this.#key(streamId), `${this.#prefix}origin-fence`, this.#opts.nodeId, this.ttlMs, expected)) as [
      number,
      string | number,
    ];
    if (ok !== 1) {
      const holder = parseHolder(String(value));
      if (!holder) throw new Error(`origin lease of ${streamId} holds an unreadable value`);
      return { ok: false, holder };
    }
    const lease = new OriginLease({
      redis: this.#opts.redis,
      key: this.#key(streamId),
      streamId,
      nodeId: this.#opts.nodeId,
      token: Number(value),
      ttlMs: this.ttlMs,
      renewMs: this.#opts.renewMs ?? Math.floor(this.ttlMs / 3),
      // The lease may have been set at any moment of the round trip: count from its start.
      acquiredAt: started,
      logger: this.#opts.logger,
    });
    this.#held.add(lease);
    lease.once('gone', () => this.#held.delete(lease));
    return { ok: true, lease };
  }

  /** The stream's origin now, if any (edges look it up, and check an origin's token against it). */
  async current(streamId: string): Promise<OriginHolder | undefined> {
    const value = await this.#opts.redis.get(this.#key(streamId));
    return value === null ? undefined : parseHolder(value);
  }

  /** Releases every lease this node holds (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.#held].map((l) => l.release()));
  }
}

function parseHolder(value: string): OriginHolder | undefined {
  const m = /^(.+)\|(\d+)$/.exec(value);
  return m ? { nodeId: m[1]!, token: Number(m[2]) } : undefined;
}

export interface OriginLeaseEvents {
  /**
   * The lease is over for good (once): `taken`, another node holds the stream; `expired`, it vanished from
   * Redis while this node could not renew it (after an outage longer than the ttl). Either way this node is
   * no longer the origin under this token (it may try `acquire` again, for a new token).
   */
  lost: [{ reason: 'taken' | 'expired' }];
  /** Renewals failed past the deadline (Redis unreachable): `held` is false until one succeeds again. */
  unsure: [];
  /** A renewal succeeded again after `unsure`. */
  regained: [];
  /** Released or lost: the lease is over (internal bookkeeping). */
  gone: [];
}

interface LeaseInit {
  redis: Redis;
  key: string;
  streamId: string;
  nodeId: string;
  token: number;
  ttlMs: number;
  renewMs: number;
  acquiredAt: number;
  logger: Logger;
}

/**
 * States: held (renewed in time) → unsure (Redis unreachable past the deadline; renewals go on) → held again
 * (a renewal found the lease still this node's) or lost (it found another holder, or none). Released or
 * lost is final.
 *
 * While unsure, `held` is false: nothing that needs certainty is done as origin (`assertCurrent` fails). What
 * already runs may go on (media to the edges needs no Redis: live streams keep playing through an outage);
 * that is safe because no node can take the stream while Redis is down for everyone, and a node cut off
 * alone learns it lost the stream (`lost: taken`) at its first renewal once it reaches Redis again. Until
 * then its broadcaster, if it moved to the new origin, has left this node, whose broadcast ends after its
 * grace period.
 */
export class OriginLease extends EventEmitter<OriginLeaseEvents> {
  readonly streamId: string;
  readonly nodeId: string;
  /** Larger than every earlier holder's token for any stream. */
  readonly token: number;
  readonly #i: LeaseInit;
  readonly #value: string;
  #deadline: number;
  #timer: NodeJS.Timeout | undefined;
  #over = false;
  #unsure = false;
  #released: Promise<void> | undefined;

  constructor(init: LeaseInit) {
    super();
    this.#i = init;
    this.streamId = init.streamId;
    this.nodeId = init.nodeId;
    this.token = init.token;
    this.#value = `${init.nodeId}|${init.token}`;
    this.#deadline = init.acquiredAt + init.ttlMs;
    this.#timer = setInterval(() => void this.renew(), init.renewMs);
    this.#timer.unref();
  }

  /** Whether this node may act as the stream's origin now, without asking Redis (false while unsure). */
  get held(): boolean {
    if (this.#over) return false;
    if (!this.#unsure && performance.now() >= this.#deadline) {
      this.#unsure = true;
      this.#i.logger.warn({ streamId: this.streamId, token: this.token }, 'origin lease not renewed in time (Redis unreachable?): unsure');
      this.emit('unsure');
    }
    return !this.#unsure;
  }

  /** Released or lost: final. */
  get lost(): boolean {
    return this.#over;
  }

  /** Extends the lease if it is still this node's; false when it is not (or Redis did not answer). */
  async renew(): Promise<boolean> {
    if (this.#over) return false;
    const started = performance.now();
    try {
      const r = await this.#i.redis.eval(RENEW, 1, this.#i.key, this.#value, this.#i.ttlMs);
      if (this.#over) return false;
      if (r !== 1) {
        const holder = await this.#i.redis.get(this.#i.key).catch(() => null);
        this.#lose(holder === null ? 'expired' : 'taken');
        return false;
      }
      this.#deadline = started + this.#i.ttlMs;
      if (this.#unsure) {
        this.#unsure = false;
        this.#i.logger.info({ streamId: this.streamId, token: this.token }, 'origin lease renewed again');
        this.emit('regained');
      }
      return true;
    } catch (err) {
      this.#i.logger.warn({ streamId: this.streamId, err: (err as Error).message }, 'origin lease renewal failed');
      return this.held;
    }
  }

  /** Whether the lease is still this node's, asking Redis (false while Redis cannot say). */
  async check(): Promise<boolean> {
    if (!this.held) return false;
    let value: string | null;
    try {
      value = await this.#i.redis.get(this.#i.key);
    } catch {
      return false;
    }
    if (value !== this.#value) {
      this.#lose(value === null ? 'expired' : 'taken');
      return false;
    }
    return this.held;
  }

  /** Throws StaleOriginError unless the lease is certainly still this node's: call before every origin action. */
  async assertCurrent(what: string): Promise<void> {
    if (!(await this.check())) throw new StaleOriginError(this.streamId, what);
  }

  /** Gives the stream up (compare-and-delete: a successor's lease is left alone). Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      const wasOurs = !this.#over;
      this.#end();
      if (!wasOurs) return;
      await this.#i.redis.eval(RELEASE, 1, this.#i.key, this.#value).catch((err: Error) => {
        // Redis unreachable: the lease expires by itself within ttl.
        this.#i.logger.warn({ streamId: this.streamId, err: err.message }, 'origin lease release failed; it will expire');
      });
    })();
    return this.#released;
  }

  #lose(reason: 'taken' | 'expired'): void {
    if (this.#over) return;
    this.#end();
    this.#i.logger.warn({ streamId: this.streamId, token: this.token, reason }, 'origin lease lost');
    this.emit('lost', { reason });
  }

  #end(): void {
    if (this.#over) return;
    this.#over = true;
    clearInterval(this.#timer);
    this.emit('gone');
  }
}
