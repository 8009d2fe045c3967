/**
 * Which node processes ("instances") are alive, for the counts every node keeps in Redis (audiences,
 * sockets per address): an instance is `<node id>:<startedAt>` of an entry the NodeRegistry counts as alive.
 *
 * Why the start time and not the node id alone: a node id is stable across restarts (ClusterSettings), so a
 * node that crashed and came back would otherwise count the viewers and sockets of its previous life
 * forever. Each life writes under its own instance id; the old one stops counting when its registry entry
 * is replaced (at once) or goes stale (5 s).
 *
 * Which instances are alive is decided inside the Lua scripts that read the counts (RedisNodeCounts), from
 * the registry's hash (`nodesKey`) on Redis's clock, with the registry's rule (`aliveMs`).
 *
 * Lifetime: `start()` finds this node's own registry entry (the registry must have started).
 */
import { NODE_ALIVE_MS, type NodeRegistry } from './NodeRegistry.js';

export class RedisInstances {
  readonly #registry: NodeRegistry;
  /** The registry's hash (NodeRegistry writes `<prefix>nodes`). */
  readonly nodesKey: string;
  /** A node is alive while its entry is younger than this (the registry's rule). */
  readonly aliveMs: number;
  #self = '';

  constructor(registry: NodeRegistry, opts: { prefix: string; aliveMs?: number }) {
    this.#registry = registry;
    this.nodesKey = `${opts.prefix}nodes`;
    this.aliveMs = opts.aliveMs ?? NODE_ALIVE_MS;
  }

  async start(): Promise<void> {
    const own = await this.#registry.node(this.#registry.nodeId);
    if (!own) throw new Error(`this node (${this.#registry.nodeId}) is not in the node registry: start the registry first`);
    this.#self = `${own.id}:${own.startedAt}`;
  }

  /** This node's instance id. */
  get self(): string {
    return this.#self;
  }
}
