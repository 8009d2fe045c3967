/**
 * The origin's end of a pipe to one edge node for one stream: a BroadcastOutput, so the broadcast owns its
 * edges as it owns its HLS bridge. It holds a PipeTransport on the broadcast's router, connected to the
 * edge's, and one pipe consumer per producer of the broadcast; every change of the broadcast's media
 * (`update`) is piped and told to the edge through `notify` (the caller's: an internal request to the edge).
 *
 * Lifetime: from `EdgeFeed.create` (transport made and connected; the caller hands it to the broadcast with
 * `addOutput` and answers the edge with `initial()`) to `close(reason)`, idempotent, which closes the
 * transport (and every pipe consumer on it) and tells the edge, so that the edge's producers close too. It
 * closes itself when:
 * - the broadcast moved to a new router (a worker died): the edge opens a new pipe to the new router;
 * - the origin lease is no longer this node's (fencing: a stale origin stops feeding at once);
 * - the edge cannot be told (unreachable, or it no longer knows the pipe): it is gone.
 *
 * Guards, and why:
 * - All work (piping, notifying) runs in one chain, so the edge hears of changes in the order they happened,
 *   and `initial()` is a step of that chain: changes before it are in the answer, changes after it are told.
 * - Every notification carries the lease token and is sent only while the lease is not lost; the edge
 *   refuses tokens that are not its pipe's. A lease merely unsure (Redis unreachable) keeps the feed going:
 *   media between nodes needs no Redis.
 */
import type { types } from 'mediasoup';
import type { Logger } from '../log/logger.js';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { PipedProducer, PipeState, PipeTuple, PipeUpdate } from './pipeSchemas.js';
import { tupleOf, type PipeTransports } from './PipeTransports.js';

/** The lease the feed acts under (OriginLease satisfies it). */
export interface Fence {
  readonly token: number;
  /** Over for good: another node took the stream, or the lease vanished. */
  readonly lost: boolean;
}

export interface EdgeFeedOptions {
  streamId: string;
  pipeId: string;
  edgeNodeId: string;
  router: types.Router;
  /** The edge's pipe transport (its address was checked against the registry by the caller). */
  edge: PipeTuple;
  transports: PipeTransports;
  fence: Fence;
  /** Tells the edge; rejects when it could not. */
  notify: (update: PipeUpdate) => Promise<void>;
  logger: Logger;
}

/** The first video and audio producers: what BroadcastMedia carries. */
const producersOf = (media: BroadcastMedia): types.Producer[] => [media.video, media.audio].filter((p): p is types.Producer => !!p && !p.closed);

export class EdgeFeed implements BroadcastOutput {
  readonly name: string;
  readonly #o: EdgeFeedOptions;
  readonly #transport: types.PipeTransport;
  readonly #piped = new Map<string, { consumer: types.Consumer; producer: types.Producer }>();
  #chain: Promise<void> = Promise.resolve();
  /** The broadcast's state as last piped (told to the edge when it changes). */
  #state: PipeState = 'live';
  #answered = false;
  #closing: Promise<void> | undefined;
  #onClose: (() => void)[] = [];

  private constructor(o: EdgeFeedOptions, transport: types.PipeTransport) {
    this.#o = o;
    this.#transport = transport;
    this.name = `edge:${o.edgeNodeId}:${o.pipeId}`;
    // The router closed under the feed (its worker died; an end closes the outputs before the router): the
    // broadcast goes on on a new router, which the edge pipes from again.
    transport.observer.once('close', () => void this.close('the origin router closed', { ended: false }));
  }

  /** A pipe transport on `router`, connected to the edge's. */
  static async create(o: EdgeFeedOptions): Promise<EdgeFeed> {
    const transport = await o.transports.create(o.router, { streamId: o.streamId, pipeTo: o.edgeNodeId });
    try {
      await transport.connect({ ip: o.edge.ip, port: o.edge.port, srtpParameters: o.edge.srtpParameters });
    } catch (err) {
      transport.close();
      throw err;
    }
    return new EdgeFeed(o, transport);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Where the edge connects to (the origin's pipe transport). */
  get tuple(): PipeTuple {
    return tupleOf(this.#transport);
  }

  /** Runs once when the feed closes (the caller detaches it from the broadcast, forgets the pipe). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.#onClose.push(fn);
  }

  update(media: BroadcastMedia): void {
    this.#step(() => this.#sync(media));
  }

  /** The producers piped so far and the broadcast's state; changes after this are notified. */
  initial(): Promise<{ producers: PipedProducer[]; state: PipeState }> {
    return new Promise((resolve, reject) => {
      this.#step(async () => {
        if (this.closed) return reject(new Error('the pipe closed before it was answered'));
        this.#answered = true;
        resolve({ producers: [...this.#piped.values()].map(({ consumer, producer }) => describe(consumer, producer)), state: this.#state });
      });
    });
  }

  /**
   * Closes the feed. As a BroadcastOutput (no options) it is the broadcast ending: the edge's viewers are told
   * it ended. `ended: false`: the broadcast goes on elsewhere (another router, another origin node, this node
   * shutting down): the edge pipes again. A lost lease always counts as `ended: false` (the end of a stale
   * origin's broadcast is not the stream's). `tellEdge: false` when the edge itself asked (it has closed its
   * end already).
   */
  close(reason: string, { tellEdge = true, ended = true } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const over = ended && !this.#o.fence.lost;
    // Set before anything closes: the transport's own close event comes back here, re-entrantly.
    let finish!: () => void;
    this.#closing = new Promise<void>((resolve) => (finish = resolve));
    this.#transport.close();
    this.#piped.clear();
    for (const fn of this.#onClose.splice(0)) fn();
    if (!this.#answered || !tellEdge) finish();
    else {
      this.#o
        .notify({ token: this.#o.fence.token, add: [], remove: [], pause: [], resume: [], closed: { reason, ended: over } })
        .catch((err: Error) => {
          this.#o.logger.warn({ streamId: this.#o.streamId, edge: this.#o.edgeNodeId, err: err.message }, 'could not tell the edge its pipe closed');
        })
        .finally(finish);
    }
    return this.#closing;
  }

  #step(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((err: Error) => {
      this.#o.logger.warn({ streamId: this.#o.streamId, edge: this.#o.edgeNodeId, err: err.message }, 'edge pipe failed; closing it');
      void this.close(`the pipe failed: ${err.message}`, { ended: false });
    });
  }

  async #sync(media: BroadcastMedia): Promise<void> {
    if (this.closed) return;
    if (media.router !== this.#o.router) return void this.close('the broadcast moved to another router', { ended: false });
    const state: PipeState = media.state === 'reconnecting' ? 'reconnecting' : 'live';
    const stateChanged = state !== this.#state;
    this.#state = state;
    const want = producersOf(media);
    const add: PipedProducer[] = [];
    const remove: string[] = [];
    for (const [id, { consumer }] of this.#piped) {
      if (!want.some((p) => p.id === id)) {
        this.#piped.delete(id);
        consumer.close();
        remove.push(id);
      }
    }
    for (const producer of want) {
      if (this.#piped.has(producer.id)) continue;
      let consumer: types.Consumer;
      try {
        consumer = await this.#transport.consume({ producerId: producer.id });
      } catch (err) {
        // It closed meanwhile (a republish): the broadcast's next update says so. Anything else ends the pipe.
        if (producer.closed) continue;
        throw err;
      }
      if (this.closed) return void consumer.close();
      this.#piped.set(producer.id, { consumer, producer });
      this.#mirror(consumer, producer.id);
      add.push(describe(consumer, producer));
    }
    if (add.length + remove.length > 0 || stateChanged) await this.#tell({ add, remove, ...(stateChanged ? { state } : {}) });
  }

  /** Pause and resume of the origin's producer reach the edge's. */
  #mirror(consumer: types.Consumer, producerId: string): void {
    consumer.observer.on('pause', () => this.#step(() => this.#tell({ pause: [producerId] })));
    consumer.observer.on('resume', () => this.#step(() => this.#tell({ resume: [producerId] })));
    // The producer closed: the next `update` (the broadcast pushes one) tells the edge.
  }

  async #tell(change: Partial<Pick<PipeUpdate, 'add' | 'remove' | 'pause' | 'resume' | 'state'>>): Promise<void> {
    if (!this.#answered || this.closed) return;
    // Lost for good: stop. Unsure (Redis unreachable) is no reason to stop the media or its changes.
    if (this.#o.fence.lost) return void this.close('this node is no longer the stream origin', { ended: false });
    await this.#o.notify({ token: this.#o.fence.token, add: [], remove: [], pause: [], resume: [], ...change });
  }
}

function describe(consumer: types.Consumer, producer: types.Producer): PipedProducer {
  const { source, height } = producer.appData as { source?: unknown; height?: unknown };
  return {
    id: producer.id,
    kind: consumer.kind,
    rtpParameters: consumer.rtpParameters as PipedProducer['rtpParameters'],
    paused: consumer.producerPaused,
    appData: { ...(typeof source === 'string' ? { source } : {}), ...(typeof height === 'number' ? { height } : {}) },
  };
}
