/**
 * One live broadcast of a stream: its router (on a pooled worker), the publisher's producers, the publisher's
 * lease, the WebRTC viewers' seats and the broadcast's outputs (HLS bridge, WHEP viewers, restreams…).
 *
 * Ownership ("whoever creates it closes it, and closing cascades", as in mediasoup):
 * - The publisher holds a lease (PublisherLease) from the moment its start is accepted; releasing it (socket
 *   lost, WHIP client gone, worker died) makes the broadcast wait in state "reconnecting" for `graceMs`. The
 *   same owner may resume it with new producers (a new lease), else it ends.
 * - Outputs are handed to the broadcast (`addOutput`); it pushes every media change to them and, at the end,
 *   awaits their `close()` while media still flows, before its router closes.
 * - Viewers' receive transports are placed by ViewerRouters (this router, or an edge router piped from it) and
 *   each holds a seat (ViewerSeats) until it closes.
 *
 * The end is one ordered sequence: stop admitting (no viewer transport, producer, output or resume is taken
 * any more: each is refused and closed) → outputs finish while media still flows → the router closes (and with
 * it every transport on it and the edges) → `ended`. `end()` is idempotent and returns that sequence's promise.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { BroadcastState, ProducerInfo, Source } from '../../shared/signaling.js';
import type { Logger } from '../log/logger.js';
import type { PooledRouter, WorkerPool } from '../media/WorkerPool.js';
import type { BroadcastMedia, BroadcastOutput } from './BroadcastOutput.js';
import { LiveError } from './LiveError.js';
import { ViewerRouters, type LostReceiver, type ViewerTransportOptions } from './ViewerRouters.js';
import { ViewerSeats } from './ViewerSeats.js';

export interface BroadcastEvents {
  producers: [ProducerInfo[]];
  reconnecting: [{ graceMs: number }];
  ended: [{ reason: string }];
  /** Receive transports closed because the worker of their edge router died: their viewers need new ones. */
  receiverslost: [LostReceiver[]];
}

export interface BroadcastOptions {
  pool: WorkerPool;
  graceMs: number;
  /** ONAIR_MAX_WEBRTC_VIEWERS. */
  maxWebrtcViewers: number;
  logger: Logger;
  /** The longest an output may take to close at the end before the router closes anyway. */
  outputCloseTimeoutMs?: number;
}

/** The publisher's hold on its broadcast. `release()` (idempotent) = the publisher is gone for now. */
export interface PublisherLease {
  readonly broadcast: Broadcast;
  readonly publisherId: string;
  /** Whether this lease still makes its holder the broadcast's publisher. */
  readonly held: boolean;
  release(): void;
}

interface OwnedProducer {
  producer: types.Producer;
  source: Source;
}

const OUTPUT_CLOSE_TIMEOUT_MS = 5000;

export class Broadcast extends EventEmitter<BroadcastEvents> {
  readonly streamId: string;
  /** Names this broadcast (of the stream's successive ones); a resume keeps it. */
  readonly id = crypto.randomBytes(9).toString('base64url');
  readonly startedAt = new Date();
  /** A secret the publisher keeps to take its broadcast back after a drop (before the server notices). */
  readonly resumeKey = crypto.randomBytes(18).toString('base64url');
  readonly #afterEnd: Promise<unknown>[] = [];
  readonly seats: ViewerSeats;
  #media: PooledRouter;
  #viewers: ViewerRouters;
  #state: BroadcastState = 'live';
  #publisher: string | null;
  readonly #producers = new Map<string, OwnedProducer>();
  readonly #outputs = new Set<BroadcastOutput>();
  readonly #opts: BroadcastOptions;
  readonly #log: Logger;
  #graceTimer: NodeJS.Timeout | undefined;
  #ended = false;
  #ending: Promise<void> | undefined;

  private constructor(streamId: string, media: PooledRouter, publisher: string, opts: BroadcastOptions) {
    super();
    this.streamId = streamId;
    this.#media = media;
    this.#publisher = publisher;
    this.#opts = opts;
    this.#log = opts.logger;
    this.seats = new ViewerSeats(opts.maxWebrtcViewers);
    this.#viewers = this.#viewerRoutersOf(media);
    this.#watchRouter();
  }

  /** A broadcast on a new router, with `publisher` holding its lease. */
  static async create(streamId: string, publisher: string, opts: BroadcastOptions): Promise<{ broadcast: Broadcast; lease: PublisherLease }> {
    const broadcast = new Broadcast(streamId, await opts.pool.createRouter({ streamId }), publisher, opts);
    return { broadcast, lease: broadcast.#lease(publisher) };
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
  /** True from the moment the end began: nothing new is admitted any more. */
  get ended(): boolean {
    return this.#ended;
  }

  /** WebRTC viewers holding a seat (socket and WHEP). */
  get receiverCount(): number {
    return this.seats.count;
  }

  /** Throws LiveError('broadcast_ended') once the end began. */
  assertLive(what: string): void {
    if (this.#ended) throw new LiveError('broadcast_ended', `${what}: the broadcast has ended`);
  }

  /** A viewer's receive transport, on the least-loaded worker. The caller holds a seat for it. */
  async createViewerTransport(peerId: string, options: ViewerTransportOptions): Promise<types.WebRtcTransport> {
    this.assertLive('transport:create');
    const transport = await this.#viewers.createTransport(peerId, options);
    if (this.#ended) {
      // The end began meanwhile: its router closing may not have reached this (edge) transport yet.
      transport.close();
      this.assertLive('transport:create');
    }
    return transport;
  }

  /** Whether a viewer's receive transport may consume `producerId` (waits for its pipe to an edge router). */
  canConsume(transport: types.Transport, producerId: string, rtpCapabilities: types.RtpCapabilities): Promise<boolean> {
    return this.#viewers.canConsume(transport, producerId, rtpCapabilities);
  }

  /** The routers viewers receive on: this broadcast's router first, then its edge routers. */
  viewerRouters(): types.Router[] {
    return this.#viewers.routers();
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

  /** The first live producer of a kind. */
  producerOfKind(kind: 'audio' | 'video'): types.Producer | undefined {
    for (const { producer } of this.#producers.values()) if (producer.kind === kind && !producer.closed) return producer;
    return undefined;
  }

  /** The media as outputs see it now. */
  media(): BroadcastMedia {
    const video = this.producerOfKind('video');
    const height = video?.appData.height;
    return {
      streamId: this.streamId,
      router: this.#media.router,
      state: this.#state,
      video,
      audio: this.producerOfKind('audio'),
      videoHeight: typeof height === 'number' ? height : undefined,
    };
  }

  /**
   * Takes a producer of the lease's holder; it leaves the broadcast when it closes. A producer made while the
   * lease was lost or the broadcast ended (its request awaited the worker meanwhile) is closed and refused.
   */
  addProducer(lease: PublisherLease, producer: types.Producer, source: Source): void {
    if (this.#ended || !lease.held || producer.closed) {
      producer.close();
      this.assertLive('produce');
      throw new LiveError('not_publisher', 'produce: this connection no longer broadcasts this stream');
    }
    this.#producers.set(producer.id, { producer, source });
    this.#viewers.pipe(producer);
    producer.observer.once('close', () => {
      if (this.#producers.delete(producer.id) && !this.#ended) this.#changed();
    });
    this.#changed();
  }

  /**
   * Hands an output to the broadcast: it gets the current media now and every change from then on, and is
   * closed (awaited) at the end. An output handed to a broadcast that has ended is closed at once. Returns
   * the detach function for an output that finishes on its own (a WHEP viewer leaving); it does not close it.
   */
  addOutput(output: BroadcastOutput): () => void {
    if (this.#ended) {
      void output.close('the broadcast has ended').catch(() => undefined);
      this.assertLive(`output ${output.name}`);
    }
    this.#outputs.add(output);
    this.#push(output);
    return () => void this.#outputs.delete(output);
  }

  /**
   * The same owner publishes again (its lease was released, or it reconnected before that was noticed: the
   * previous lease is revoked). Refused with LiveError('broadcast_ended') once the end began, also when the
   * end began while a new router was being made (that router is closed).
   */
  async resume(publisher: string): Promise<PublisherLease> {
    this.assertLive('resume');
    clearTimeout(this.#graceTimer);
    if (this.#publisher && this.#publisher !== publisher) this.#closeProducers();
    this.#publisher = publisher;
    if (this.#media.router.closed) {
      const media = await this.#opts.pool.createRouter({ streamId: this.streamId });
      if (this.#ended) {
        media.router.close();
        this.assertLive('resume');
      }
      this.#media = media;
      this.#viewers = this.#viewerRoutersOf(media);
      this.#watchRouter();
    }
    if (this.#publisher !== publisher) throw new LiveError('not_publisher', 'resume: another connection took this broadcast meanwhile');
    this.#state = 'live';
    this.#changed();
    return this.#lease(publisher);
  }

  /**
   * Ends the broadcast (the ordered sequence in the header). Idempotent: every call returns the same promise,
   * which settles when the router has closed, `ended` was emitted and the work its listeners handed to
   * `afterEnd` (the stream's status written `ended`) is over: whoever awaited the end (broadcast:stop, WHIP
   * DELETE) answers a client that then reads the stream, and must find it ended.
   */
  end(reason: string): Promise<void> {
    if (this.#ending) return this.#ending;
    this.#ended = true;
    clearTimeout(this.#graceTimer);
    this.#ending = (async () => {
      const outputs = [...this.#outputs];
      this.#outputs.clear();
      await Promise.all(outputs.map((o) => this.#closeOutput(o, reason)));
      this.#producers.clear();
      this.#media.router.close();
      this.emit('ended', { reason });
      // Listeners' failures are theirs to log: the end is over either way.
      await Promise.allSettled(this.#afterEnd);
    })();
    return this.#ending;
  }

  /** Called by an `ended` listener (synchronously, while `ended` is emitted): `end()` settles after `work`. */
  afterEnd(work: Promise<unknown>): void {
    this.#afterEnd.push(work);
  }

  async #closeOutput(output: BroadcastOutput, reason: string): Promise<void> {
    const timeoutMs = this.#opts.outputCloseTimeoutMs ?? OUTPUT_CLOSE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    try {
      const r = await Promise.race([output.close(reason).then(() => 'closed' as const), timedOut]);
      if (r === 'timeout') this.#log.warn({ streamId: this.streamId, output: output.name, timeoutMs }, 'an output did not close in time; closing the router anyway');
    } catch (err) {
      this.#log.warn({ err, streamId: this.streamId, output: output.name }, 'an output failed to close');
    } finally {
      clearTimeout(timer);
    }
  }

  #lease(publisherId: string): PublisherLease {
    let held = true;
    const broadcast = this;
    return {
      broadcast,
      publisherId,
      get held() {
        return held && broadcast.#publisher === publisherId && !broadcast.#ended;
      },
      release: () => {
        if (!held) return;
        held = false;
        this.#publisherLost(publisherId);
      },
    };
  }

  /** The publisher is gone: wait for it to come back, or end. */
  #publisherLost(publisher: string): void {
    if (this.#ended || this.#publisher !== publisher) return;
    this.#publisher = null;
    this.#state = 'reconnecting';
    this.#closeProducers();
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => void this.end('the broadcaster did not come back'), this.#opts.graceMs);
    this.#graceTimer.unref();
    this.emit('reconnecting', { graceMs: this.#opts.graceMs });
    // Viewers learn of it from 'reconnecting'; outputs from their media (no producers now).
    this.#changed({ tellViewers: false });
  }

  #closeProducers(): void {
    const producers = [...this.#producers.values()];
    this.#producers.clear();
    for (const { producer } of producers) producer.close();
  }

  /** Producers changed: viewers hear of it, outputs get the new media. */
  #changed({ tellViewers = true } = {}): void {
    if (this.#ended) return;
    if (tellViewers) this.emit('producers', this.producerInfos());
    for (const output of this.#outputs) this.#push(output);
  }

  /** A failing output never breaks the broadcast or the other outputs. */
  #push(output: BroadcastOutput): void {
    try {
      output.update(this.media());
    } catch (err) {
      this.#log.error({ err, streamId: this.streamId, output: output.name }, 'an output failed to take a media change');
    }
  }

  /** Viewer placement for one router of this broadcast (its edges close with it). */
  #viewerRoutersOf(media: PooledRouter): ViewerRouters {
    const viewers = new ViewerRouters(media, this.#opts.pool, () => [...this.#producers.values()].map((p) => p.producer));
    viewers.on('lost', (receivers) => this.emit('receiverslost', receivers));
    return viewers;
  }

  #watchRouter(): void {
    const media = this.#media;
    // A dead worker closes the router: the publisher has to republish (on a new router).
    media.router.once('workerclose', () => {
      if (this.#media === media && this.#publisher) this.#publisherLost(this.#publisher);
    });
  }
}

/** Spatial layers a producer sends: its encodings (1 when not simulcast). */
export const simulcastLayers = (producer: types.Producer): number => Math.max(1, producer.rtpParameters.encodings?.length ?? 1);

/**
 * Preferred layers that mean "the best there is": above any layer a producer here sends (browsers send up to
 * 3 spatial layers, 0–2), so mediasoup gives the highest one the receiver's bandwidth allows. What a viewer's
 * "automatic" asks for, and what the ffmpeg outputs (HLS ladder, restreams) consume.
 */
export const TOP_LAYERS: types.ConsumerLayers = { spatialLayer: 3, temporalLayer: 2 };
