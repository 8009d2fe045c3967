/**
 * Every live broadcast and every stream's audience, by stream id. The catalogue's view of live state
 * (LiveState) and the one place that moves a stream's status between idle/live/ended in the store.
 * Events are re-emitted with the stream id, for the signaling server to fan out.
 */
import { EventEmitter } from 'node:events';
import type { BroadcastState, ProducerInfo } from '../../shared/signaling.js';
import type { LiveState } from '../http/Services.js';
import type { Logger } from '../log/logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { StreamStore } from '../store/StreamStore.js';
import { Broadcast } from './Broadcast.js';
import type { LostReceiver } from './ViewerRouters.js';

export interface BroadcastsEvents {
  producers: [{ streamId: string; session: string; state: BroadcastState; producers: ProducerInfo[] }];
  reconnecting: [{ streamId: string; graceMs: number }];
  ended: [{ streamId: string; reason: string }];
  receiverslost: [{ streamId: string; receivers: LostReceiver[] }];
  viewers: [{ streamId: string; count: number }];
  updated: [{ streamId: string }];
  started: [{ streamId: string; broadcast: Broadcast }];
}

export class BroadcastConflictError extends Error {
  override name = 'BroadcastConflictError';
}

export class Broadcasts extends EventEmitter<BroadcastsEvents> implements LiveState {
  readonly #live = new Map<string, Broadcast>();
  readonly #starting = new Map<string, Promise<Broadcast>>();
  readonly #audience = new Map<string, Set<string>>();
  readonly #pool: WorkerPool;
  readonly #streams: StreamStore;
  readonly #logger: Logger;
  readonly #graceMs: number;

  constructor(opts: { pool: WorkerPool; streams: StreamStore; logger: Logger; graceMs: number }) {
    super();
    this.#pool = opts.pool;
    this.#streams = opts.streams;
    this.#logger = opts.logger.child({ component: 'broadcasts' });
    this.#graceMs = opts.graceMs;
  }

  get(streamId: string): Broadcast | undefined {
    return this.#live.get(streamId);
  }

  get liveCount(): number {
    return this.#live.size;
  }

  /**
   * Starts a broadcast, or resumes one that waits for its publisher. A broadcast another publisher is
   * sending right now is refused with BroadcastConflictError, unless the caller presents its resume key
   * (the same publisher reconnecting before its old connection was noticed as gone).
   */
  async start(streamId: string, publisher: string, resumeKey?: string): Promise<{ broadcast: Broadcast; resumed: boolean }> {
    const pending = this.#starting.get(streamId);
    if (pending) await pending.catch(() => undefined);
    const existing = this.#live.get(streamId);
    if (existing) {
      if (existing.publisher && existing.publisher !== publisher && resumeKey !== existing.resumeKey) {
        throw new BroadcastConflictError('this stream is already being broadcast from another connection');
      }
      await existing.resume(publisher);
      this.#logger.info({ streamId, publisher }, 'broadcast resumed');
      return { broadcast: existing, resumed: true };
    }
    const creating = Broadcast.create(streamId, publisher, this.#pool, this.#graceMs);
    this.#starting.set(streamId, creating);
    try {
      const broadcast = await creating;
      this.#attach(broadcast);
      this.#streams.setStatus(streamId, 'live');
      this.#logger.info({ streamId, publisher }, 'broadcast started');
      this.emit('started', { streamId, broadcast });
      return { broadcast, resumed: false };
    } finally {
      this.#starting.delete(streamId);
    }
  }

  async endBroadcast(streamId: string, reason: string): Promise<void> {
    await this.#live.get(streamId)?.end(reason);
  }

  metadataChanged(streamId: string): void {
    this.emit('updated', { streamId });
  }

  viewerCount(streamId: string): number {
    return this.#audience.get(streamId)?.size ?? 0;
  }

  get totalViewers(): number {
    let n = 0;
    for (const a of this.#audience.values()) n += a.size;
    return n;
  }

  addViewer(streamId: string, viewer: string): void {
    let a = this.#audience.get(streamId);
    if (!a) this.#audience.set(streamId, (a = new Set()));
    if (a.has(viewer)) return;
    a.add(viewer);
    this.emit('viewers', { streamId, count: a.size });
  }

  removeViewer(streamId: string, viewer: string): void {
    const a = this.#audience.get(streamId);
    if (!a?.delete(viewer)) return;
    if (a.size === 0) this.#audience.delete(streamId);
    this.emit('viewers', { streamId, count: a.size });
  }

  /** Ends every broadcast (shutdown). */
  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.#live.values()].map((b) => b.end(reason)));
  }

  #attach(b: Broadcast): void {
    const streamId = b.streamId;
    this.#live.set(streamId, b);
    b.on('producers', (producers) => this.emit('producers', { streamId, session: b.session, state: b.state, producers }));
    b.on('reconnecting', ({ graceMs }) => {
      this.#logger.warn({ streamId, graceMs }, 'broadcaster dropped; waiting for them to come back');
      this.emit('reconnecting', { streamId, graceMs });
    });
    b.on('receiverslost', (receivers) => {
      this.#logger.warn({ streamId, viewers: receivers.length }, 'a worker carrying viewers died; telling them to reconnect');
      this.emit('receiverslost', { streamId, receivers });
    });
    b.once('ended', ({ reason }) => {
      this.#live.delete(streamId);
      // The stream may have been deleted: setStatus on a missing row does nothing.
      this.#streams.setStatus(streamId, 'ended');
      this.#logger.info({ streamId, reason }, 'broadcast ended');
      this.emit('ended', { streamId, reason });
    });
  }
}
