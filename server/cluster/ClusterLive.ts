/**
 * Cluster mode for the live layer, as the composition root (server/app.ts) starts it: this node's cluster
 * parts (ClusterNode), the origin side (OriginClaims: a new broadcast only under the stream's origin lease,
 * the resume key shared by every node) and the edge side (EdgeRelays: viewers of a stream live on another
 * node watch a relay fed by one pipe), handed to Broadcasts (`useCluster`). Made only when the configuration
 * has cluster settings; on one machine none of this exists.
 *
 * Lifetime: `startClusterLive` connects to Redis and registers the node (throws when Redis is unreachable:
 * the node does not start); `close()` (idempotent), after the node's own broadcasts ended (their edges were
 * told), closes the relays quietly (their viewers reconnect to another node), then the node's parts in their
 * order (pipes, feeds, leases, registry entry, Redis).
 */
import type { Broadcast } from '../live/Broadcast.js';
import type { Broadcasts, LiveCluster, OriginClaimHandle } from '../live/Broadcasts.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { ClusterNode } from './ClusterNode.js';
import type { ClusterSettings } from './ClusterSettings.js';
import { EdgeRelays } from './EdgeRelays.js';
import { NODE_ALIVE_MS } from './NodeRegistry.js';
import { OriginClaims } from './OriginClaims.js';
import { ORIGIN_LEASE_TTL_MS } from './OriginLeases.js';

export interface ClusterLiveOptions {
  settings: ClusterSettings;
  broadcasts: Broadcasts;
  pool: WorkerPool;
  /** The origins' grace period for a dropped publisher (ONAIR_RECONNECT_GRACE_MS). */
  graceMs: number;
  maxWebrtcViewers: number;
  logger: Logger;
  /** Redis key prefix (tests). */
  prefix?: string;
}

export class ClusterLive implements LiveCluster {
  readonly node: ClusterNode;
  readonly claims: OriginClaims;
  readonly relays: EdgeRelays;
  #closing: Promise<void> | undefined;

  private constructor(node: ClusterNode, claims: OriginClaims, relays: EdgeRelays) {
    this.node = node;
    this.claims = claims;
    this.relays = relays;
  }

  static async start(o: ClusterLiveOptions): Promise<ClusterLive> {
    let claims: OriginClaims | undefined;
    const node = await ClusterNode.start({
      settings: o.settings,
      logger: o.logger,
      lookup: (streamId) => claims?.lookup(streamId),
      load: () => ({ streams: o.broadcasts.liveCount, viewers: o.broadcasts.totalViewers, workers: o.pool.aliveCount }),
      ...(o.prefix ? { prefix: o.prefix } : {}),
    });
    claims = new OriginClaims({
      redis: node.redis,
      leases: node.leases,
      registry: node.registry,
      api: node.api,
      client: node.client,
      logger: o.logger,
      ...(o.prefix ? { prefix: o.prefix } : {}),
    });
    const relays = new EdgeRelays({
      broadcasts: o.broadcasts,
      pool: o.pool,
      pipes: node.edgePipes,
      leases: node.leases,
      registry: node.registry,
      // The origin's own grace, plus the time to see a dead origin (its lease and registry entry expire) and
      // for the publisher to reach another node.
      graceMs: o.graceMs + ORIGIN_LEASE_TTL_MS + NODE_ALIVE_MS,
      maxWebrtcViewers: o.maxWebrtcViewers,
      logger: o.logger,
    });
    const live = new ClusterLive(node, claims, relays);
    o.broadcasts.useCluster(live);
    return live;
  }

  /** The internal API's router, to mount at `/internal` where no body parser ran before it. */
  get router() {
    return this.node.api.router;
  }

  claimOrigin(streamId: string, opts: { resumeKey?: string; signal?: AbortSignal }): Promise<OriginClaimHandle> {
    return this.claims.claim(streamId, opts);
  }

  relay(streamId: string): Broadcast | undefined {
    return this.relays.relay(streamId);
  }

  openRelay(streamId: string): Promise<Broadcast | undefined> {
    return this.relays.openRelay(streamId);
  }

  audienceChanged(streamId: string, count: number): void {
    this.relays.audienceChanged(streamId, count);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.relays.close();
      await this.node.close();
    })();
    return this.#closing;
  }
}
