/**
 * One node's cluster parts, made and closed together: its Redis connection, its registry entry (heartbeat),
 * the origin leases it takes, the internal API (to be mounted by the app at `/internal`, outside `/api`),
 * the signing client, the pipe port pool, and both sides of the media pipes. Made only in cluster mode
 * (parseClusterSettings returned settings); on one machine none of this exists.
 *
 * Lifetime: `ClusterNode.start` connects to Redis (failing at start when it is unreachable) and writes the
 * first heartbeat; `close()` closes the edges' pipes (telling their origins), the origin feeds (telling their
 * edges), releases the leases, removes the registry entry and disconnects, in that order, so the other nodes
 * learn at once rather than after the 5 s of a missed heartbeat. Idempotent.
 */
import type { Logger } from '../log/logger.js';
import type { ClusterSettings } from './ClusterSettings.js';
import { EdgePipes } from './EdgePipes.js';
import { InternalApi } from './InternalApi.js';
import { InternalClient } from './InternalClient.js';
import { NodeRegistry, type NodeLoad } from './NodeRegistry.js';
import { OriginLeases } from './OriginLeases.js';
import { OriginPipes, type OriginLookup } from './OriginPipes.js';
import { PipeTransports } from './PipeTransports.js';
import { connectRedis, type Redis } from './redisClient.js';

export interface ClusterNodeOptions {
  settings: ClusterSettings;
  logger: Logger;
  /** The stream's broadcast on this node and its origin lease (see OriginPipes). */
  lookup: OriginLookup;
  /** This node's load, for the registry (read each heartbeat). */
  load: () => NodeLoad;
  /** Redis key prefix (default "onair:"; tests give each file its own). */
  prefix?: string;
}

export class ClusterNode {
  readonly settings: ClusterSettings;
  readonly redis: Redis;
  readonly registry: NodeRegistry;
  readonly leases: OriginLeases;
  readonly api: InternalApi;
  readonly client: InternalClient;
  readonly transports: PipeTransports;
  readonly originPipes: OriginPipes;
  readonly edgePipes: EdgePipes;
  #closing: Promise<void> | undefined;

  private constructor(o: ClusterNodeOptions, redis: Redis) {
    const { settings, prefix } = o;
    const logger = o.logger.child({ component: 'cluster', node: settings.nodeId });
    this.settings = settings;
    this.redis = redis;
    this.registry = new NodeRegistry({
      redis,
      self: { id: settings.nodeId, url: settings.nodeUrl, address: settings.pipe.announcedIp, pipePorts: { min: settings.pipe.portMin, max: settings.pipe.portMax } },
      load: o.load,
      logger,
      ...(prefix ? { prefix } : {}),
    });
    this.leases = new OriginLeases({ redis, nodeId: settings.nodeId, logger, ...(prefix ? { prefix } : {}) });
    this.api = new InternalApi({ secret: settings.secret, redis, logger, ...(prefix ? { prefix } : {}) });
    this.client = new InternalClient({ secret: settings.secret, nodeId: settings.nodeId });
    this.transports = new PipeTransports(settings.pipe);
    const parts = { api: this.api, registry: this.registry, transports: this.transports, client: this.client, logger };
    this.originPipes = new OriginPipes({ ...parts, lookup: o.lookup });
    this.edgePipes = new EdgePipes({ ...parts, originOf: (streamId) => this.leases.current(streamId) });
  }

  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    const redis = await connectRedis(o.settings.redisUrl);
    const node = new ClusterNode(o, redis);
    try {
      await node.registry.start();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return node;
  }

  get nodeId(): string {
    return this.settings.nodeId;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.edgePipes.close();
      await this.originPipes.close();
      await this.leases.close();
      await this.registry.stop();
      this.redis.disconnect();
    })();
    return this.#closing;
  }
}
