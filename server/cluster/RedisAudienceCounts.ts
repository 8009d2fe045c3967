/**
 * One audience across the cluster (AudienceCounts for cluster mode): each node writes its own viewer count
 * of a stream (socket and WHEP viewers) to `onair:audience:<stream>` (RedisNodeCounts: one field per node
 * instance), and the total is the sum over the nodes alive in the registry.
 *
 * How every node learns the totals: the script that writes a count also publishes the new total on
 * `onair:audience` (same script, so totals arrive in the order Redis computed them); every node, the writer
 * included, takes totals from that channel into its cache, which answers `total()` synchronously
 * (GET /api/streams, viewer:join) and reports each change (Broadcasts re-emits it as `viewers`, the
 * signaling server pushes it to this node's sockets). The tick (`refresh`, every second from RedisShared)
 * recomputes the totals of every stream known here, which is how a dead node's viewers stop counting (its
 * registry entry goes stale within 5 s) and how a node that missed messages (Redis down) catches up.
 *
 * Guards, and why:
 * - A write that fails (Redis unreachable) does not change the totals known here; RedisNodeCounts rewrites
 *   this node's count when Redis is back, and the next refresh settles the totals.
 * - Messages from the channel are validated (stream id pattern, integer total): anything else is ignored.
 * - `total()` of a stream this node knows nothing about answers 0 and asks for it in the next refresh (a
 *   node that started after the stream did learns its audience within a tick); at start every audience
 *   hash is read once (SCAN).
 * - A failing listener is logged and never stops the others.
 */
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import type { AudienceChange, AudienceCounts } from '../live/AudienceCounts.js';
import { ID_PATTERN } from '../../shared/api.js';
import type { Redis } from './redisClient.js';
import type { RedisInstances } from './RedisInstances.js';
import { RedisNodeCounts } from './RedisNodeCounts.js';

const messageSchema = z.object({ streamId: z.string().regex(ID_PATTERN), total: z.number().int().min(0) });

export interface RedisAudienceCountsOptions {
  /** For commands (writes, sums). */
  redis: Redis;
  /** A connection in subscriber mode, for the channel (RedisShared's). */
  subscriber: Redis;
  instances: RedisInstances;
  prefix: string;
  logger: Logger;
}

export class RedisAudienceCounts implements AudienceCounts {
  readonly #o: RedisAudienceCountsOptions;
  readonly #counts: RedisNodeCounts;
  readonly #channel: string;
  /** Totals as last heard, non-zero only. */
  readonly #totals = new Map<string, number>();
  /** Streams asked about and not known: read at the next refresh. */
  readonly #asked = new Set<string>();
  readonly #listeners = new Set<(change: AudienceChange) => void>();
  readonly #onMessage = (channel: string, message: string) => {
    if (channel === this.#channel) this.#heard(message);
  };

  constructor(o: RedisAudienceCountsOptions) {
    this.#o = o;
    this.#channel = `${o.prefix}audience`;
    this.#counts = new RedisNodeCounts({ redis: o.redis, instances: o.instances, keyPrefix: `${o.prefix}audience:`, channel: this.#channel });
  }

  /** Subscribes to the totals' channel and reads every audience there is. */
  async start(): Promise<void> {
    this.#o.subscriber.on('message', this.#onMessage);
    await this.#o.subscriber.subscribe(this.#channel);
    // Streams with an audience somewhere: their hashes, read once (keys are hashed, so the stream ids
    // come from a set kept beside them).
    const ids = await this.#o.redis.smembers(`${this.#o.prefix}audience-streams`);
    for (const id of ids) this.#asked.add(id);
    await this.refresh();
  }

  close(): void {
    this.#o.subscriber.off('message', this.#onMessage);
    this.#listeners.clear();
  }

  setLocal(streamId: string, count: number): void {
    // Named for nodes that start later, when this node's first viewer of it comes (a failed add is made
    // again by the rewrite after Redis is back).
    if (count > 0 && this.#counts.own(streamId) === 0) void this.#o.redis.sadd(`${this.#o.prefix}audience-streams`, streamId).catch(() => undefined);
    this.#counts.set(streamId, count).catch((err: Error) => {
      this.#o.logger.warn({ streamId, count, err: err.message }, 'viewer count not shared (Redis unreachable); it will be when Redis is back');
    });
  }

  total(streamId: string): number {
    const t = this.#totals.get(streamId);
    if (t === undefined) this.#asked.add(streamId);
    return t ?? 0;
  }

  onChange(listener: (change: AudienceChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Rewrites what failed, re-reads every total known or asked for, reports those that changed. */
  async refresh(rewriteAll = false): Promise<void> {
    await this.#counts.flush(rewriteAll);
    const own = this.#counts.ownKeys();
    if (rewriteAll && own.length > 0) await this.#o.redis.sadd(`${this.#o.prefix}audience-streams`, ...own);
    const ids = [...new Set([...this.#totals.keys(), ...this.#asked])];
    this.#asked.clear();
    const sums = await this.#counts.sums(ids);
    ids.forEach((id, i) => this.#set(id, sums[i] ?? 0));
    // Streams nobody watches any more leave the set of audiences to read at start.
    const gone = ids.filter((id, i) => sums[i] === 0 && this.#counts.own(id) === 0);
    if (gone.length > 0) await this.#o.redis.srem(`${this.#o.prefix}audience-streams`, ...gone);
  }

  #heard(message: string): void {
    // `<stream id>|<total>|<instance>`
    const [streamId, total] = message.split('|');
    const m = messageSchema.safeParse({ streamId, total: Number(total) });
    if (!m.success) return;
    this.#set(m.data.streamId, m.data.total);
  }

  #set(streamId: string, total: number): void {
    if ((this.#totals.get(streamId) ?? 0) === total) return;
    if (total > 0) this.#totals.set(streamId, total);
    else this.#totals.delete(streamId);
    for (const l of this.#listeners) {
      try {
        l({ streamId, total });
      } catch (err) {
        this.#o.logger.error({ err, streamId }, 'viewer count listener failed');
      }
    }
  }
}
