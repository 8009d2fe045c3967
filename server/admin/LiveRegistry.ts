/**
 * Which streams are live on this node, for the admin console: Broadcasts keeps its broadcasts private and
 * says when one starts and ends ('started', 'ended' events); this keeps the ids in between.
 * Lifetime: subscribed at construction (before any broadcast can start), until close().
 */
import type { Broadcasts } from '../live/Broadcasts.js';

export class LiveRegistry {
  readonly #live = new Map<string, { broadcastId: string; startedAt: string }>();
  readonly #unsubscribe: () => void;

  constructor(broadcasts: Pick<Broadcasts, 'on' | 'off'>) {
    const started = (e: { streamId: string; broadcastId: string }) => this.#live.set(e.streamId, { broadcastId: e.broadcastId, startedAt: new Date().toISOString() });
    const ended = (e: { streamId: string; broadcastId: string }) => {
      if (this.#live.get(e.streamId)?.broadcastId === e.broadcastId) this.#live.delete(e.streamId);
    };
    broadcasts.on('started', started);
    broadcasts.on('ended', ended);
    this.#unsubscribe = () => {
      broadcasts.off('started', started);
      broadcasts.off('ended', ended);
    };
  }

  /** Stream ids live now, oldest broadcast first, with when they went live. */
  entries(): { streamId: string; startedAt: string }[] {
    return [...this.#live].map(([streamId, v]) => ({ streamId, startedAt: v.startedAt }));
  }

  close(): void {
    this.#unsubscribe();
    this.#live.clear();
  }
}
