/**
 * How many viewers (socket and WHEP) each stream has, behind one small interface so that Broadcasts counts
 * the same way on one machine and in a cluster:
 * - `LocalAudienceCounts` (one machine, the default): the total is this node's count, and a change is
 *   reported at once, synchronously (exactly OnAir's behaviour before cluster mode).
 * - `RedisAudienceCounts` (server/cluster, cluster mode): each node writes its own count to Redis, the total
 *   sums the nodes alive in the registry, and every node hears every change.
 *
 * Broadcasts keeps who watches on this node (a set per stream) and tells the counter the new size; it
 * reads totals back from the counter (GET /api/streams, viewer:join) and re-emits its changes as `viewers`.
 */
export interface AudienceChange {
  streamId: string;
  /** The stream's viewers on every node. */
  total: number;
}

export interface AudienceCounts {
  /** This node now has `count` viewers of the stream. */
  setLocal(streamId: string, count: number): void;
  /** The stream's viewers on every node, as last known here (0 when none or unknown). */
  total(streamId: string): number;
  /** Every change of a stream's total; returns the unsubscribe. */
  onChange(listener: (change: AudienceChange) => void): () => void;
}

export class LocalAudienceCounts implements AudienceCounts {
  readonly #counts = new Map<string, number>();
  readonly #listeners = new Set<(change: AudienceChange) => void>();

  setLocal(streamId: string, count: number): void {
    if ((this.#counts.get(streamId) ?? 0) === count) return;
    if (count > 0) this.#counts.set(streamId, count);
    else this.#counts.delete(streamId);
    for (const l of this.#listeners) l({ streamId, total: count });
  }

  total(streamId: string): number {
    return this.#counts.get(streamId) ?? 0;
  }

  onChange(listener: (change: AudienceChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
