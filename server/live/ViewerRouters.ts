/**
 * Where one broadcast's viewers receive. A mediasoup worker is one process on one core, so a stream whose
 * viewers all sat on its broadcast's router would be capped at one core's consumers. Each new receive
 * transport goes to the least-loaded worker instead: on the broadcast's own ("primary") router when that is
 * the one, else on this broadcast's "edge" router on that worker, created on first need and fed every
 * producer of the broadcast through `pipeToRouter`. A piped producer keeps the original's id, so viewers
 * consume by the same producer ids on every router. With one worker nothing is ever piped.
 *
 * Lifetime: everything here belongs to one primary router. When it closes (the broadcast ended, or its
 * worker died and the broadcast will get a new router and session), every edge closes with it. An edge whose
 * own worker dies is dropped: the broadcast goes on, and the receive transports it carried are reported
 * through `lost` so that their viewers can be told to open new ones.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { PooledRouter, WorkerPool } from '../media/WorkerPool.js';

/** A receive transport that closed because its edge's worker died. */
export interface LostReceiver {
  peerId: string;
  transportId: string;
}

export type ViewerTransportOptions = types.WebRtcTransportOptionsBase<types.AppData>;

interface Edge extends PooledRouter {
  /** Each producer's pipe into this edge, by producer id: settled once the piped producer exists (or failed). */
  readonly pipes: Map<string, Promise<void>>;
  /** Receive transports open on this edge: transport id → peer id. */
  readonly receivers: Map<string, string>;
}

export class ViewerRouters extends EventEmitter<{ lost: [LostReceiver[]] }> {
  readonly #primary: PooledRouter;
  readonly #pool: WorkerPool;
  readonly #producers: () => Iterable<types.Producer>;
  /** Edges by worker index, from the moment one is being created (concurrent viewers share the creation). */
  readonly #edges = new Map<number, Promise<Edge>>();
  /** Edges whose router exists: new producers are piped into these (the others pipe all when they open). */
  readonly #open = new Set<Edge>();
  /** The edge of each receive transport placed on one. */
  readonly #edgeOfTransport = new Map<string, Edge>();
  #closed = false;

  /** `producers` lists the broadcast's producers on the primary router at the time of the call. */
  constructor(primary: PooledRouter, pool: WorkerPool, producers: () => Iterable<types.Producer>) {
    super();
    this.#primary = primary;
    this.#pool = pool;
    this.#producers = producers;
    primary.router.observer.once('close', () => this.#close());
  }

  /** The routers viewers receive on now: the primary first, then the open edges (stats and tests). */
  routers(): types.Router[] {
    return [this.#primary.router, ...[...this.#open].map((e) => e.router)];
  }

  /** A receive transport for `peerId` on the least-loaded worker. */
  createTransport(peerId: string, options: ViewerTransportOptions): Promise<types.WebRtcTransport> {
    const index = this.#pool.leastLoadedWorker();
    if (this.#closed || index === undefined || index === this.#primary.workerIndex) {
      return this.#pool.placing(this.#primary.workerIndex, () =>
        this.#primary.router.createWebRtcTransport({ ...options, webRtcServer: this.#primary.webRtcServer }),
      );
    }
    return this.#pool.placing(index, () => this.#createOnEdge(index, peerId, options));
  }

  async #createOnEdge(index: number, peerId: string, options: ViewerTransportOptions): Promise<types.WebRtcTransport> {
    const edge = await this.#edge(index);
    const transport = await edge.router.createWebRtcTransport({ ...options, webRtcServer: edge.webRtcServer });
    edge.receivers.set(transport.id, peerId);
    this.#edgeOfTransport.set(transport.id, edge);
    transport.observer.once('close', () => {
      this.#edgeOfTransport.delete(transport.id);
      // Kept when the router closed under it: `#dropEdge` reports these transports' viewers.
      if (!edge.router.closed) edge.receivers.delete(transport.id);
    });
    return transport;
  }

  /**
   * Whether `transport` (a receive transport from createTransport) may consume `producerId` with these
   * capabilities. On an edge this first waits for the producer's pipe: a viewer may hear of a new producer
   * before its pipe into the viewer's edge is done.
   */
  async canConsume(transport: types.Transport, producerId: string, rtpCapabilities: types.RtpCapabilities): Promise<boolean> {
    const edge = this.#edgeOfTransport.get(transport.id);
    if (!edge) return this.#primary.router.canConsume({ producerId, rtpCapabilities });
    await edge.pipes.get(producerId);
    return edge.router.canConsume({ producerId, rtpCapabilities });
  }

  /** A new producer of the broadcast (on the primary router): every open edge receives it. */
  pipe(producer: types.Producer): void {
    for (const edge of this.#open) this.#pipe(edge, producer);
  }

  #edge(index: number): Promise<Edge> {
    let edge = this.#edges.get(index);
    if (!edge) {
      edge = this.#openEdge(index);
      this.#edges.set(index, edge);
      // A failed creation is forgotten, so that the next viewer placed there tries again.
      edge.catch(() => this.#edges.get(index) === edge && this.#edges.delete(index));
    }
    return edge;
  }

  async #openEdge(index: number): Promise<Edge> {
    const media = await this.#pool.createRouterOn(index, { ...this.#primary.router.appData, edgeOf: this.#primary.router.id });
    if (this.#closed) {
      media.router.close();
      throw new Error('the broadcast has moved or ended');
    }
    const edge: Edge = { ...media, pipes: new Map(), receivers: new Map() };
    // From here on, `pipe()` feeds this edge; the producers already there are piped now, in the same tick.
    this.#open.add(edge);
    for (const producer of this.#producers()) this.#pipe(edge, producer);
    media.router.once('workerclose', () => this.#dropEdge(index, edge));
    return edge;
  }

  #pipe(edge: Edge, producer: types.Producer): void {
    if (producer.closed) return;
    // The pipe transport pair is made once per edge (mediasoup keeps it per router pair); no SCTP: no data channels.
    const piped = this.#primary.router.pipeToRouter({ producerId: producer.id, router: edge.router, enableSctp: false }).then(
      () => undefined,
      // The producer closed or the edge died meanwhile: consuming it there fails with "not found".
      () => undefined,
    );
    edge.pipes.set(producer.id, piped);
    // The piped producer closes by itself with the original (mediasoup links them); only the entry stays.
    producer.observer.once('close', () => edge.pipes.delete(producer.id));
  }

  /** The edge's worker died: its router and transports are already closed. */
  #dropEdge(index: number, edge: Edge): void {
    this.#open.delete(edge);
    // The entry is this edge's: a new one for the worker (replaced in the same slot) is made on first need.
    this.#edges.delete(index);
    const lost = [...edge.receivers].map(([transportId, peerId]) => ({ transportId, peerId }));
    edge.receivers.clear();
    if (!this.#closed && lost.length > 0) this.emit('lost', lost);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const edge of this.#open) edge.router.close();
    this.#open.clear();
    this.#edges.clear();
  }
}
