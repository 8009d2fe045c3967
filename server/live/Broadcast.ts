/**
 * One live broadcast of a stream: its router (on a pooled worker), the publisher's producers and the
 * publisher's presence. When the publisher drops (socket lost, worker died) the broadcast waits in state
 * "reconnecting" for `graceMs`; the same publisher (same stream, owner's credentials) may resume it with new
 * producers, else it ends. `end()` closes the router, which closes every transport on it: viewers' too.
 * Viewers receive on the router of the least-loaded worker (ViewerRouters: this router, or an edge router
 * piped from it); the publisher, the HLS bridge and WHEP use this router.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { BroadcastState, ProducerInfo, Source } from '../../shared/signaling.js';
import type { PooledRouter, WorkerPool } from '../media/WorkerPool.js';
import { ViewerRouters, type LostReceiver, type ViewerTransportOptions } from './ViewerRouters.js';

export interface BroadcastEvents {
  producers: [ProducerInfo[]];
  reconnecting: [{ graceMs: number }];
  ended: [{ reason: string }];
  /** Receive transports closed because the worker of their edge router died: their viewers need new ones. */
  receiverslost: [LostReceiver[]];
}

interface OwnedProducer {
  producer: types.Producer;
  source: Source;
}

export class Broadcast extends EventEmitter<BroadcastEvents> {
  readonly streamId: string;
  readonly startedAt = new Date();
  /** A secret the publisher keeps to take its broadcast back after a drop (before the server notices). */
  readonly resumeKey = crypto.randomBytes(18).toString('base64url');
  #media: PooledRouter;
  #viewers: ViewerRouters;
  #state: BroadcastState = 'live';
  #publisher: string | null;
  readonly #producers = new Map<string, OwnedProducer>();
  readonly #pool: WorkerPool;
  readonly #graceMs: number;
  #graceTimer: NodeJS.Timeout | undefined;
  #ended = false;
  #ending: Promise<void> | undefined;
  readonly #finishers = new Set<() => Promise<void>>();
  /** Viewers receiving over WebRTC now (peer ids with a receive transport). */
  readonly #receivers = new Set<string>();

  private constructor(streamId: string, media: PooledRouter, publisher: string, pool: WorkerPool, graceMs: number) {
    super();
    this.streamId = streamId;
    this.#media = media;
    this.#publisher = publisher;
    this.#pool = pool;
    this.#graceMs = graceMs;
    this.#viewers = this.#viewerRoutersOf(media);
    this.#watchRouter();
  }

  static async create(streamId: string, publisher: string, pool: WorkerPool, graceMs: number): Promise<Broadcast> {
    return new Broadcast(streamId, await pool.createRouter({ streamId }), publisher, pool, graceMs);
  }

  get router(): types.Router {
    return this.#media.router;
  }
  get webRtcServer(): types.WebRtcServer {
    return this.#media.webRtcServer;
  }
  /** Changes when the broadcast moves to a new router (after a worker died): viewers need new transports. */
  get session(): string {
    return this.#media.router.id;
  }
  get state(): BroadcastState {
    return this.#state;
  }
  get publisher(): string | null {
    return this.#publisher;
  }
  get ended(): boolean {
    return this.#ended;
  }

  get receiverCount(): number {
    return this.#receivers.size;
  }

  /** A viewer's receive transport, on the least-loaded worker. */
  createViewerTransport(peerId: string, options: ViewerTransportOptions): Promise<types.WebRtcTransport> {
    return this.#viewers.createTransport(peerId, options);
  }

  /** Whether a viewer's receive transport may consume `producerId` (waits for its pipe to an edge router). */
  canConsume(transport: types.Transport, producerId: string, rtpCapabilities: types.RtpCapabilities): Promise<boolean> {
    return this.#viewers.canConsume(transport, producerId, rtpCapabilities);
  }

  /** The routers viewers receive on: this broadcast's router first, then its edge routers. */
  viewerRouters(): types.Router[] {
    return this.#viewers.routers();
  }

  /** Counts a WebRTC receiver until `transport` closes (on whichever router it is). */
  addReceiver(peerId: string, transport: types.Transport): void {
    this.#receivers.add(peerId);
    transport.observer.once('close', () => this.#receivers.delete(peerId));
  }

  producerInfos(): ProducerInfo[] {
    return [...this.#producers.values()].map(({ producer, source }) => ({
      id: producer.id,
      kind: producer.kind,
      source,
      layers: simulcastLayers(producer),
    }));
  }

  producer(id: string): types.Producer | undefined {
    return this.#producers.get(id)?.producer;
  }

  /** The first live producer of a kind (the HLS bridge and WHEP take these). */
  producerOfKind(kind: 'audio' | 'video'): types.Producer | undefined {
    for (const { producer } of this.#producers.values()) if (producer.kind === kind && !producer.closed) return producer;
    return undefined;
  }

  /** Registers a producer of the current publisher; it leaves the broadcast when it closes. */
  addProducer(producer: types.Producer, source: Source): void {
    this.#producers.set(producer.id, { producer, source });
    this.#viewers.pipe(producer);
    producer.observer.once('close', () => {
      if (this.#producers.delete(producer.id) && !this.#ended) this.emit('producers', this.producerInfos());
    });
    this.emit('producers', this.producerInfos());
  }

  /** The publisher is gone: wait for it to come back, or end. */
  publisherLost(publisher: string): void {
    if (this.#ended || this.#publisher !== publisher) return;
    this.#publisher = null;
    this.#state = 'reconnecting';
    for (const { producer } of this.#producers.values()) producer.close();
    this.#producers.clear();
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => void this.end('the broadcaster did not come back'), this.#graceMs);
    this.#graceTimer.unref();
    this.emit('reconnecting', { graceMs: this.#graceMs });
  }

  /** The same owner publishes again; the previous publisher (if any) loses the broadcast. */
  async resume(publisher: string): Promise<void> {
    if (this.#ended) throw new Error('broadcast has ended');
    clearTimeout(this.#graceTimer);
    if (this.#publisher && this.#publisher !== publisher) {
      for (const { producer } of this.#producers.values()) producer.close();
      this.#producers.clear();
    }
    this.#publisher = publisher;
    if (this.#media.router.closed) {
      this.#media = await this.#pool.createRouter({ streamId: this.streamId });
      this.#viewers = this.#viewerRoutersOf(this.#media);
      this.#watchRouter();
    }
    this.#state = 'live';
    this.emit('producers', this.producerInfos());
  }

  /**
   * Ends the broadcast: first runs the finishers (the HLS bridge stops ffmpeg while media still flows, which
   * is the only time ffmpeg honours SIGINT), then closes the router (and with it the viewers' edge routers)
   * and tells everyone. Idempotent.
   */
  end(reason: string): Promise<void> {
    if (this.#ending) return this.#ending;
    this.#ended = true;
    clearTimeout(this.#graceTimer);
    this.#ending = (async () => {
      await Promise.allSettled([...this.#finishers].map((f) => f()));
      this.#producers.clear();
      this.#media.router.close();
      this.emit('ended', { reason });
    })();
    return this.#ending;
  }

  /** Work to finish before the router closes at the end (returns its unsubscribe). */
  addFinisher(finish: () => Promise<void>): () => void {
    this.#finishers.add(finish);
    return () => this.#finishers.delete(finish);
  }

  /** Viewer placement for one router of this broadcast (its edges close with it). */
  #viewerRoutersOf(media: PooledRouter): ViewerRouters {
    const viewers = new ViewerRouters(media, this.#pool, () => [...this.#producers.values()].map((p) => p.producer));
    viewers.on('lost', (receivers) => this.emit('receiverslost', receivers));
    return viewers;
  }

  #watchRouter(): void {
    const media = this.#media;
    // A dead worker closes the router: the publisher has to republish (on a new router).
    media.router.once('workerclose', () => {
      if (this.#media === media && this.#publisher) this.publisherLost(this.#publisher);
    });
  }
}

/** Spatial layers a producer sends: its encodings (1 when not simulcast). */
export const simulcastLayers = (producer: types.Producer): number => Math.max(1, producer.rtpParameters.encodings?.length ?? 1);
