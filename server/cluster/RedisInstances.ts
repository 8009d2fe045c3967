/**
 * Which node processes ("instances") are alive, for the counts every node keeps in Redis (audiences,
 * sockets per address): an instance is `<node id>:<startedAt>` of an entry the NodeRegistry counts as alive.
 *
 * Why the start time and not the node id alone: a node id is stable across restarts (ClusterSettings), so a
 * node that crashed and came back would otherwise count the viewers and sockets of its previous life
 * forever. Each life writes under its own instance id; the old one stops counting when its registry entry
 * is replaced (at once) or goes stale (5 s).
 *
 * Lifetime: `start()` finds this node's own registry entry (the registry must have started); `refresh()` is
 * called by RedisShared's tick (every second), so `alive()` is at most a tick old. A refresh that fails
 * (Redis down) keeps the last list.
 */
import type { NodeRegistry } from './NodeRegistry.js';

export class RedisInstances {
  readonly #registry: NodeRegistry;
  #self = '';
  #alive: string[] = [];

  constructor(registry: NodeRegistry) {
    this.#registry = registry;
  }

  async start(): Promise<void> {
    const own = await this.#registry.node(this.#registry.nodeId);
    if (!own) throw new Error(`this node (${this.#registry.nodeId}) is not in the node registry: start the registry first`);
    this.#self = `${own.id}:${own.startedAt}`;
    await this.refresh();
  }

  /** This node's instance id. */
  get self(): string {
    return this.#self;
  }

  /** The alive instances as of the last refresh, this one always included. */
  alive(): string[] {
    return this.#alive.includes(this.#self) ? this.#alive : [this.#self, ...this.#alive];
  }

  async refresh(): Promise<void> {
    this.#alive = (await this.#registry.aliveNodes()).map((n) => `${n.id}:${n.startedAt}`);
  }
}
