/**
 * The edge's end of a pipe from a stream's origin node: a PipeTransport on an edge router, connected to the
 * origin's EdgeFeed, and one producer per producer of the broadcast, with the origin's producer ids (viewers
 * consume by the same ids on every node). Keyframe requests of the edge's consumers travel back over the
 * pipe as RTCP to the origin's producer; every simulcast layer crosses the pipe, and each edge viewer's layer
 * choice is made on the edge.
 *
 * Lifetime: opened by EdgePipes.open (answer applied: connected, producers made), then changed only by the
 * origin's updates (`apply`, in order), until `close(reason)` (idempotent): the origin closed it (broadcast
 * ended or moved), the edge gave it up, or the edge router closed. Closing the transport closes every
 * producer on it, and with them the edge viewers' consumers (`producerclose`).
 *
 * Guards, and why:
 * - Updates are applied one at a time in arrival order (a chain), after the opening finished.
 * - An update is taken only from the origin node the pipe was opened with and with that opening's lease
 *   token: a stale origin (an earlier token) cannot add, remove or close anything (checked in EdgePipes).
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../log/logger.js';
import type { PipedProducer, PipeState, PipeUpdate } from './pipeSchemas.js';

export interface EdgePipeEvents {
  /** The producers changed (added, removed): viewers of this edge hear of it. */
  producers: [types.Producer[]];
  /** The origin broadcast's state changed (its publisher dropped, or came back). */
  state: [PipeState];
  /**
   * `ended`: the origin said the broadcast is over. Otherwise the pipe is gone but the broadcast may go on
   * (moved to another router or node, the origin shutting down, this edge giving it up).
   */
  closed: [{ reason: string; ended: boolean }];
}

export interface EdgePipeInit {
  streamId: string;
  pipeId: string;
  origin: { nodeId: string; url: string };
  /** The edge router the producers are made in. */
  router: types.Router;
  transport: types.PipeTransport;
  logger: Logger;
  /** Tells the origin the edge gave the pipe up (not called when the origin closed it). */
  leave: () => Promise<void>;
}

export class EdgePipe extends EventEmitter<EdgePipeEvents> {
  readonly streamId: string;
  readonly pipeId: string;
  readonly origin: { nodeId: string; url: string };
  #token = 0;
  #state: PipeState = 'live';
  readonly #transport: types.PipeTransport;
  readonly #producers = new Map<string, types.Producer>();
  readonly #i: EdgePipeInit;
  #chain: Promise<void>;
  #opened!: () => void;
  #closing: Promise<void> | undefined;

  constructor(i: EdgePipeInit) {
    super();
    this.#i = i;
    this.streamId = i.streamId;
    this.pipeId = i.pipeId;
    this.origin = i.origin;
    this.#transport = i.transport;
    // Updates wait for the opening.
    this.#chain = new Promise<void>((resolve) => (this.#opened = resolve));
    i.transport.observer.once('close', () => void this.close('the edge router closed'));
  }

  /** The origin's lease token this pipe was opened under (0 until opened). */
  get token(): number {
    return this.#token;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The origin broadcast's state, as last told. */
  get state(): PipeState {
    return this.#state;
  }

  get router(): types.Router {
    return this.#i.router;
  }

  producers(): types.Producer[] {
    return [...this.#producers.values()];
  }

  producer(id: string): types.Producer | undefined {
    return this.#producers.get(id);
  }

  /** Applies the origin's answer: connect crosswise, make its producers. Called once, by EdgePipes. */
  async open(token: number, origin: { ip: string; port: number; srtpParameters: types.SrtpParameters }, producers: PipedProducer[], state: PipeState = 'live'): Promise<void> {
    this.#token = token;
    this.#state = state;
    try {
      await this.#transport.connect(origin);
      for (const p of producers) await this.#add(p);
    } finally {
      this.#opened();
    }
    if (this.closed) throw new Error('the pipe closed while it opened');
    this.emit('producers', this.producers());
  }

  /** An update from the origin (already checked to be from it, with this pipe's token), applied in order. */
  apply(update: PipeUpdate): Promise<void> {
    const step = this.#chain.then(async () => {
      if (this.closed) return;
      if (update.closed) return void (await this.close(update.closed.reason, { tellOrigin: false, ended: update.closed.ended }));
      if (update.state && update.state !== this.#state) {
        this.#state = update.state;
        this.emit('state', update.state);
      }
      let changed = false;
      for (const id of update.remove) changed = this.#remove(id) || changed;
      for (const p of update.add) changed = (await this.#add(p)) || changed;
      for (const id of update.pause) await this.#producers.get(id)?.pause();
      for (const id of update.resume) await this.#producers.get(id)?.resume();
      if (changed && !this.closed) this.emit('producers', this.producers());
    });
    this.#chain = step.catch(() => undefined);
    return step;
  }

  /** Closes the edge's end (and its producers); tells the origin unless it asked. Idempotent. */
  close(reason: string, { tellOrigin = true, ended = false } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    // Set before anything closes: the transport's own close event comes back here, re-entrantly.
    let finish!: () => void;
    this.#closing = new Promise<void>((resolve) => (finish = resolve));
    this.#opened();
    this.#transport.close();
    this.#producers.clear();
    this.emit('closed', { reason, ended });
    if (!tellOrigin) finish();
    else {
      this.#i
        .leave()
        .catch((err: Error) => {
          this.#i.logger.warn({ streamId: this.streamId, pipeId: this.pipeId, err: err.message }, 'could not tell the origin the edge left');
        })
        .finally(finish);
    }
    return this.#closing;
  }

  async #add(p: PipedProducer): Promise<boolean> {
    if (this.#producers.has(p.id) || this.closed) return false;
    const producer = await this.#transport.produce({
      id: p.id,
      kind: p.kind,
      rtpParameters: p.rtpParameters as types.RtpParameters,
      paused: p.paused,
      appData: { ...p.appData, streamId: this.streamId, pipedFrom: this.origin.nodeId },
    });
    if (this.closed) {
      producer.close();
      return false;
    }
    this.#producers.set(p.id, producer);
    producer.observer.once('close', () => {
      if (this.#producers.get(p.id) === producer) this.#producers.delete(p.id);
    });
    return true;
  }

  #remove(id: string): boolean {
    const producer = this.#producers.get(id);
    if (!producer) return false;
    this.#producers.delete(id);
    producer.close();
    return true;
  }
}
