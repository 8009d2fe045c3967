/**
 * One WHIP publisher: its WebRTC transport (on the broadcast's router), and so the producers on it, and the
 * broadcast's publisher lease. `close()` (idempotent) closes the transport, and with it the producers, which
 * leave the broadcast. What happens to the broadcast is the caller's decision (lease released, or ended).
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { PublisherLease } from '../live/Broadcast.js';
import type { LivenessWatch } from './LivenessWatch.js';

export interface WhipSessionEvents {
  closed: [{ reason: string }];
}

export class WhipSession extends EventEmitter<WhipSessionEvents> {
  readonly id: string;
  readonly streamId: string;
  /** The broadcast's publisher id for this session ("whip:<id>"). */
  readonly publisherId: string;
  readonly etag: string;
  readonly transport: types.WebRtcTransport;
  readonly lease: PublisherLease;
  #watch: LivenessWatch | undefined;
  #closed = false;

  constructor(opts: { id: string; streamId: string; transport: types.WebRtcTransport; lease: PublisherLease }) {
    super();
    this.lease = opts.lease;
    this.id = opts.id;
    this.streamId = opts.streamId;
    this.publisherId = `whip:${opts.id}`;
    this.etag = `"${opts.transport.iceParameters.usernameFragment}"`;
    this.transport = opts.transport;
    this.transport.observer.once('close', () => this.close('the transport closed'));
  }

  watch(watch: LivenessWatch): void {
    this.#watch = watch;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    this.transport.close();
    this.emit('closed', { reason });
  }
}
