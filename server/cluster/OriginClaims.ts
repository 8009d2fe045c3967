/**
 * The origin side of cluster mode for the live layer: a node makes a new broadcast of a stream only under the
 * stream's origin lease (OriginLeases), and the lease lives exactly as long as that broadcast.
 *
 * `claim(streamId, { resumeKey })` (called by Broadcasts.start before it makes the router) takes the lease:
 * - free → taken;
 * - held by a node that is no longer alive in the registry (it died), or by this node from before a restart
 *   (node ids survive restarts) → taken over, compare-and-set under a new, larger fencing token;
 * - held by an alive node → refused with LiveError('stream_busy'), unless the publisher presents the stream's
 *   resume key: then this node asks the origin to hand the stream over (`POST /internal/streams/handover`:
 *   the origin checks the key, releases the lease, ends its broadcast without ending the stream); if the
 *   origin cannot answer it has probably just died (the publisher's connection dropped and it came back
 *   through the load balancer to this node) but is not yet seen as dead (up to 5 s, NODE_ALIVE_MS), so the
 *   claim waits for that, bounded (below the client's 10 s request timeout), and refuses after.
 * `bind(broadcast)` then ties the lease to the broadcast: the resume key (its SHA-256) is published in Redis
 * for every node, the lease is released (and the key removed) when the broadcast ends, and the broadcast ends
 * when another node takes the lease over (this one is a stale origin). A lease that merely expired (Redis
 * lost it: an outage longer than its ttl, a restart without persistence) is taken again under a new token
 * while nobody else holds the stream: a Redis outage never ends a live stream by itself.
 *
 * Lifetime of a claim: from `claim` to `bind` (or `abandon` when the broadcast could not be made), then the
 * broadcast's. `lookup(streamId)` gives the internal API (OriginPipes) the stream's broadcast and lease.
 *
 * Guards, and why:
 * - The resume key is kept as a hash: a key read out of Redis would let anyone take the stream over.
 * - A holder is taken over only when the registry says its node is gone; a busy node with a slow heartbeat
 *   is not alive for at most 5 s after its last write (LiveKit's rule), which the lease ttl matches.
 * - Redis unreachable: a claim fails with RedisUnavailable (a new broadcast needs the lease); broadcasts
 *   already live are not touched.
 */
import crypto from 'node:crypto';
import { LiveError, ownerGone } from '../live/LiveError.js';
import type { Broadcast } from '../live/Broadcast.js';
import type { Logger } from '../log/logger.js';
import { NODE_ALIVE_MS, type NodeRegistry } from './NodeRegistry.js';
import type { OriginHolder, OriginLease, OriginLeases } from './OriginLeases.js';
import type { Redis } from './redisClient.js';
import { needingRedis } from './RedisUnavailable.js';
import { ApiError } from '../http/ApiError.js';
import type { InternalApi } from './InternalApi.js';
import type { InternalClient } from './InternalClient.js';
import { handoverRequestSchema, okSchema } from './pipeSchemas.js';

/**
 * How long a claim with the right resume key waits for an alive-looking origin to be seen dead: below the
 * studio's 10 s request timeout (ACK_TIMEOUT_MS), with room for the answer on a loaded node.
 */
export const TAKEOVER_WAIT_MS = NODE_ALIVE_MS + 3_500;
const POLL_MS = 250;
/** While Redis does not answer, an expired lease of a live broadcast is asked for again this often. */
const RETAKE_RETRY_MS = 1_000;
/** A resume key outlives its broadcast at most this long when its node died (nobody removed it). */
const RESUME_KEY_TTL_MS = 24 * 3600_000;

export interface OriginClaimsOptions {
  redis: Redis;
  leases: OriginLeases;
  registry: NodeRegistry;
  logger: Logger;
  prefix?: string;
  /** Default TAKEOVER_WAIT_MS. */
  takeoverWaitMs?: number;
  /** The internal API and its client: handovers between alive nodes (without them, a claim only waits). */
  api?: InternalApi;
  client?: InternalClient;
}

interface Bound {
  broadcast: Broadcast;
  lease: OriginLease;
  handOver(): Promise<void>;
}

export interface OriginClaim {
  readonly lease: OriginLease;
  /**
   * The stream continues a broadcast whose origin node died (the publisher presented the resume key of the
   * stream's broadcast, which is removed when a broadcast ends).
   */
  readonly takenOver: boolean;
  /** Ties the lease to the broadcast made under it (see the header). */
  bind(broadcast: Broadcast): void;
  /** The broadcast could not be made: the lease is released. */
  abandon(): void;
  /** False once another node took the stream over (this node's broadcast of it is stale). */
  readonly current: boolean;
}

const hash = (key: string): string => crypto.createHash('sha256').update(key).digest('hex');

// KEYS[1] resume key record; ARGV[1] expected hash. Compare-and-delete: a successor's key is left alone.
const FORGET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class OriginClaims {
  readonly #o: OriginClaimsOptions;
  readonly #prefix: string;
  readonly #bound = new Map<string, Bound>();

  constructor(o: OriginClaimsOptions) {
    this.#o = o;
    this.#prefix = o.prefix ?? 'onair:';
    // The origin's side of a handover: another node's publisher presents this broadcast's resume key.
    o.api?.post('/streams/handover', handoverRequestSchema, async (req) => {
      const entry = this.#bound.get(req.streamId);
      if (!entry || entry.broadcast.ended) throw new ApiError('not_found', `this node is not the origin of stream ${req.streamId}`);
      if (!crypto.timingSafeEqual(Buffer.from(hash(entry.broadcast.resumeKey), 'hex'), Buffer.from(req.resumeKeyHash, 'hex'))) {
        throw new ApiError('forbidden', 'not the resume key of this broadcast');
      }
      await entry.handOver();
      return { ok: true };
    });
  }

  /** The stream's broadcast on this node and the lease it runs under (for OriginPipes). */
  lookup(streamId: string): { broadcast: Broadcast; lease: OriginLease } | undefined {
    return this.#bound.get(streamId);
  }

  async claim(streamId: string, { resumeKey, signal }: { resumeKey?: string; signal?: AbortSignal } = {}): Promise<OriginClaim> {
    const { leases, registry } = this.#o;
    const deadline = performance.now() + (this.#o.takeoverWaitMs ?? TAKEOVER_WAIT_MS);
    let keyMatches: boolean | undefined;
    let askedHandover = false;
    for (;;) {
      if (signal?.aborted) throw ownerGone('broadcast:start');
      const holder = await this.#ask(() => leases.current(streamId));
      let replacing: OriginHolder | undefined;
      if (holder) {
        const gone = holder.nodeId === registry.nodeId || !(await this.#ask(() => registry.node(holder.nodeId)));
        if (gone) replacing = holder;
        else {
          keyMatches ??= resumeKey !== undefined && (await this.#resumeKeyMatches(streamId, resumeKey));
          // The publisher came back through another node while its origin is alive: ask that origin to hand
          // the stream over (it checks the key), once; if it cannot answer, it may be dying: wait below.
          if (keyMatches && resumeKey !== undefined && !askedHandover) {
            askedHandover = true;
            if (await this.#askHandover(streamId, holder.nodeId, resumeKey)) continue;
          }
          if (!keyMatches || performance.now() >= deadline) {
            throw new LiveError('stream_busy', `this stream is being broadcast through another node (${holder.nodeId})`);
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
          continue;
        }
      }
      const r = await this.#ask(() => leases.acquire(streamId, replacing ? { replacing } : {}));
      if (!r.ok) {
        // Another node took it meanwhile: look again (it may be alive now, or gone as well).
        if (performance.now() >= deadline) throw new LiveError('stream_busy', `this stream is being broadcast through another node (${r.holder.nodeId})`);
        continue;
      }
      if (replacing) this.#o.logger.warn({ streamId, from: replacing.nodeId, token: r.lease.token }, 'took the stream over from a node that is gone');
      keyMatches ??= resumeKey !== undefined && (await this.#resumeKeyMatches(streamId, resumeKey).catch(() => false));
      // The resume key of the stream's broadcast (removed when a broadcast ends): this start continues a
      // broadcast whose origin is gone, whether its lease was taken over or had expired meanwhile.
      return this.#claimOf(streamId, r.lease, keyMatches);
    }
  }

  #claimOf(streamId: string, first: OriginLease, takenOver: boolean): OriginClaim {
    const key = `${this.#prefix}resume:${streamId}`;
    const log = this.#o.logger;
    let movedAway = false;
    return {
      lease: first,
      takenOver,
      get current() {
        return !movedAway;
      },
      abandon: () => void first.release(),
      bind: (broadcast) => {
        const entry: Bound = {
          broadcast,
          lease: first,
          // The stream leaves for another node: the lease is released first, so that the edges' feeds close
          // as not ended (they pipe again from the new origin), then the broadcast ends without ending the
          // stream (its status stays live). Answered once the lease is free; the end finishes meanwhile.
          handOver: async () => {
            movedAway = true;
            await entry.lease.release();
            void broadcast.end('the stream moved to another node');
          },
        };
        this.#bound.set(streamId, entry);
        const digest = hash(broadcast.resumeKey);
        const publish = () =>
          this.#o.redis.set(key, digest, 'PX', RESUME_KEY_TTL_MS).catch((err: Error) => {
            log.warn({ streamId, err: err.message }, 'could not publish the resume key: a takeover by another node will need a new start');
          });
        void publish();
        const watch = (lease: OriginLease) =>
          lease.once('lost', ({ reason }) => {
            if (broadcast.ended) return;
            if (reason === 'taken') {
              movedAway = true;
              return void broadcast.end('the stream moved to another node');
            }
            // Expired: Redis lost the lease while this node could not renew it (an outage longer than its ttl,
            // a Redis restart without persistence) and nobody holds the stream: take it again, under a new
            // token (the edges, whose feeds closed with the old lease, pipe again). The broadcast goes on.
            void this.#retake(streamId, broadcast).then((lease) => {
              if (!lease) {
                movedAway = !broadcast.ended;
                return void broadcast.end('the stream moved to another node');
              }
              entry.lease = lease;
              watch(lease);
              void publish();
            });
          });
        watch(first);
        broadcast.once('ended', () => {
          if (this.#bound.get(streamId) === entry) this.#bound.delete(streamId);
          if (entry.lease.lost) return;
          void this.#o.redis.eval(FORGET, 1, key, digest).catch(() => undefined);
          void entry.lease.release();
        });
      },
    };
  }

  /**
   * The lease of a live broadcast of this node, taken again after it expired; retried while Redis does not
   * answer. Undefined when another node holds the stream by then; a lease taken after the broadcast ended is
   * given back.
   */
  async #retake(streamId: string, broadcast: Broadcast): Promise<OriginLease | undefined> {
    for (;;) {
      if (broadcast.ended) return undefined;
      try {
        const r = await this.#o.leases.acquire(streamId);
        if (!r.ok) return undefined;
        if (broadcast.ended) {
          await r.lease.release();
          return undefined;
        }
        this.#o.logger.warn({ streamId, token: r.lease.token }, 'origin lease had expired (Redis outage): taken again under a new token');
        return r.lease;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RETAKE_RETRY_MS).unref());
      }
    }
  }

  /** Asks node `nodeId` to hand stream `streamId` over; false when it did not (refused, unreachable). */
  async #askHandover(streamId: string, nodeId: string, resumeKey: string): Promise<boolean> {
    const { api, client, registry } = this.#o;
    if (!api || !client) return false;
    try {
      const node = await registry.node(nodeId);
      if (!node) return false;
      await client.request(node.url, 'POST', '/internal/streams/handover', { streamId, resumeKeyHash: hash(resumeKey) }, okSchema);
      this.#o.logger.info({ streamId, from: nodeId }, 'the origin handed the stream over');
      return true;
    } catch (err) {
      this.#o.logger.warn({ streamId, from: nodeId, err: (err as Error).message }, 'the origin did not hand the stream over');
      return false;
    }
  }

  async #resumeKeyMatches(streamId: string, resumeKey: string): Promise<boolean> {
    const stored = await this.#ask(() => this.#o.redis.get(`${this.#prefix}resume:${streamId}`));
    // A malformed record (another version, a hand edit) matches nothing.
    return stored !== null && /^[0-9a-f]{64}$/.test(stored) && crypto.timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(hash(resumeKey), 'hex'));
  }

  /** A Redis call of a claim: unreachable → RedisUnavailable (503 cluster_unavailable: no lease, no broadcast). */
  #ask<T>(fn: () => Promise<T>): Promise<T> {
    return needingRedis('broadcast:start', fn);
  }
}
