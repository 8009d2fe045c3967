/**
 * This node's relays (EdgeRelay), one per stream live on another node that this node's viewers watch: the
 * edge side of cluster mode for the live layer (Broadcasts.watch / viewable ask here).
 *
 * - `openRelay(streamId)`: the stream's relay, opened on first need (concurrent first viewers share one
 *   opening) when the stream's origin lease names another node that is alive; undefined when it is live on
 *   no node (a viewer then waits, as on one machine).
 * - Viewers who joined while the stream was live nowhere (or while its relay could not open) are not
 *   forgotten: while this node has viewers of a stream without a relay, it looks once a second for an origin
 *   and opens the relay when one appears; its `broadcast:producers` then reaches them, as a new broadcast's
 *   does on one machine.
 * - An edge with no viewer of the stream left closes the relay after a short linger (LINGER_MS: a page reload
 *   does not tear the pipe down), telling the origin.
 *
 * Lifetime: from construction to `close()` (shutdown): every relay closed quietly (this node's viewers
 * reconnect to another node; they are not told the broadcast ended), timers stopped.
 */
import type { Broadcast } from '../live/Broadcast.js';
import type { Broadcasts } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { EdgeRelay } from './EdgeRelay.js';
import type { EdgePipes } from './EdgePipes.js';
import type { NodeRegistry } from './NodeRegistry.js';
import type { OriginLeases } from './OriginLeases.js';
import { needingRedis } from './RedisUnavailable.js';

export const LINGER_MS = 5_000;
const LOOK_MS = 1_000;

export interface EdgeRelaysOptions {
  broadcasts: Broadcasts;
  pool: WorkerPool;
  pipes: EdgePipes;
  leases: OriginLeases;
  registry: NodeRegistry;
  /** The relays' grace period (see EdgeRelay). */
  graceMs: number;
  maxWebrtcViewers: number;
  logger: Logger;
  lingerMs?: number;
  /** How often viewers without a relay look for an origin, and relays check theirs. */
  watchMs?: number;
}

export class EdgeRelays {
  readonly #o: EdgeRelaysOptions;
  readonly #log: Logger;
  readonly #relays = new Map<string, EdgeRelay>();
  readonly #opening = new Map<string, Promise<EdgeRelay | undefined>>();
  /** This node's viewers per stream (from Broadcasts). */
  readonly #audience = new Map<string, number>();
  readonly #linger = new Map<string, NodeJS.Timeout>();
  readonly #look: NodeJS.Timeout;
  #closed = false;

  constructor(o: EdgeRelaysOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'relays' });
    this.#look = setInterval(() => this.#lookForOrigins(), o.watchMs ?? LOOK_MS);
    this.#look.unref();
  }

  /** Open relays (stats and tests). */
  get size(): number {
    return this.#relays.size;
  }

  relay(streamId: string): Broadcast | undefined {
    return this.#relays.get(streamId)?.broadcast;
  }

  openRelay(streamId: string): Promise<Broadcast | undefined> {
    const open = this.#relays.get(streamId);
    if (open && !open.broadcast.ended) return Promise.resolve(open.broadcast);
    let opening = this.#opening.get(streamId);
    if (!opening) {
      opening = this.#open(streamId).finally(() => this.#opening.delete(streamId));
      this.#opening.set(streamId, opening);
    }
    return opening.then((r) => r?.broadcast);
  }

  audienceChanged(streamId: string, count: number): void {
    if (count > 0) this.#audience.set(streamId, count);
    else this.#audience.delete(streamId);
    if (count > 0) {
      clearTimeout(this.#linger.get(streamId));
      this.#linger.delete(streamId);
    } else if (this.#relays.has(streamId)) this.#lingerThenClose(streamId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#look);
    for (const t of this.#linger.values()) clearTimeout(t);
    this.#linger.clear();
    await Promise.allSettled([...this.#opening.values()]);
    await Promise.all([...this.#relays.values()].map((r) => r.close('the edge node is shutting down', { quiet: true })));
  }

  async #open(streamId: string): Promise<EdgeRelay | undefined> {
    const { leases, registry } = this.#o;
    if (this.#closed) return undefined;
    const holder = await needingRedis('viewer:join', () => leases.current(streamId));
    if (!holder || holder.nodeId === registry.nodeId) return undefined;
    if (!(await needingRedis('viewer:join', () => registry.node(holder.nodeId)))) return undefined;
    let relay: EdgeRelay;
    try {
      relay = await EdgeRelay.open({
        streamId,
        pool: this.#o.pool,
        graceMs: this.#o.graceMs,
        maxWebrtcViewers: this.#o.maxWebrtcViewers,
        pipes: this.#o.pipes,
        originOf: (id) => leases.current(id),
        isAlive: async (id) => (await registry.node(id)) !== undefined,
        selfId: registry.nodeId,
        adopt: (broadcast, quiet) => this.#o.broadcasts.adoptRelay(broadcast, quiet),
        logger: this.#o.logger,
        ...(this.#o.watchMs ? { watchMs: this.#o.watchMs } : {}),
      });
    } catch (err) {
      this.#log.warn({ streamId, origin: holder.nodeId, err: (err as Error).message }, 'could not open a relay; viewers here wait for the next try');
      return undefined;
    }
    if (this.#closed) {
      await relay.close('the edge node is shutting down', { quiet: true });
      return undefined;
    }
    this.#relays.set(streamId, relay);
    relay.broadcast.once('ended', () => {
      if (this.#relays.get(streamId) === relay) this.#relays.delete(streamId);
    });
    if (!this.#audience.has(streamId)) this.#lingerThenClose(streamId);
    return relay;
  }

  #lingerThenClose(streamId: string): void {
    if (this.#linger.has(streamId)) return;
    const t = setTimeout(() => {
      this.#linger.delete(streamId);
      if (this.#audience.has(streamId)) return;
      void this.#relays.get(streamId)?.close('no viewer left on this node', { quiet: true });
    }, this.#o.lingerMs ?? LINGER_MS);
    t.unref();
    this.#linger.set(streamId, t);
  }

  /** Viewers here without a relay: open one when their stream is live on another node. */
  #lookForOrigins(): void {
    if (this.#closed) return;
    for (const streamId of this.#audience.keys()) {
      if (this.#relays.has(streamId) || this.#opening.has(streamId)) continue;
      const own = this.#o.broadcasts.get(streamId);
      if (own && !own.ended) continue;
      void this.openRelay(streamId).catch(() => undefined);
    }
  }
}
