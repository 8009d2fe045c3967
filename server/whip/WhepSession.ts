/**
 * One WHEP viewer: its own router (with the viewer's payload types, fed from the broadcast's router
 * through a pipe), its transport and consumers. It owns them all through the router: `close()`
 * (idempotent) closes the router, which closes the transport, the consumers and the pipe.
 * It is an output of its broadcast, which closes it when the broadcast ends; a change of the broadcast's
 * producers it cannot follow (WHEP has no renegotiation) closes it too: the player reconnects.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { BroadcastMedia, BroadcastOutput } from '../live/BroadcastOutput.js';
import type { LivenessWatch } from './LivenessWatch.js';

export interface WhepSessionEvents {
  closed: [{ reason: string }];
}

export class WhepSession extends EventEmitter<WhepSessionEvents> implements BroadcastOutput {
  readonly id: string;
  readonly streamId: string;
  /** The audience entry of this viewer ("whep:<id>"). */
  readonly viewerId: string;
  readonly etag: string;
  readonly router: types.Router;
  readonly transport: types.WebRtcTransport;
  readonly consumers: types.Consumer[];
  #watch: LivenessWatch | undefined;
  #closed = false;

  readonly #sourceIds: string[];

  /** `sourceIds`: the broadcast's producers this viewer receives (through the pipe). */
  constructor(opts: { id: string; streamId: string; router: types.Router; transport: types.WebRtcTransport; consumers: types.Consumer[]; sourceIds: string[] }) {
    super();
    this.#sourceIds = opts.sourceIds;
    this.id = opts.id;
    this.streamId = opts.streamId;
    this.viewerId = `whep:${opts.id}`;
    this.etag = `"${opts.transport.iceParameters.usernameFragment}"`;
    this.router = opts.router;
    this.transport = opts.transport;
    this.consumers = opts.consumers;
    this.transport.observer.once('close', () => this.#close('the transport closed'));
    for (const c of this.consumers) c.once('producerclose', () => this.#close('the broadcaster stopped sending this track'));
  }

  watch(watch: LivenessWatch): void {
    this.#watch = watch;
  }

  /** A keyframe for every video consumer now (a viewer that just connected has nothing to decode from). */
  requestKeyFrames(): void {
    for (const c of this.consumers) if (c.kind === 'video' && !c.closed) void c.requestKeyFrame().catch(() => undefined);
  }

  get name(): string {
    return this.viewerId;
  }

  /** The broadcast's producers changed: one this viewer receives is gone (consumers follow their pipe). */
  update(media: BroadcastMedia): void {
    const live = new Set([media.video?.id, media.audio?.id]);
    if (media.state === 'reconnecting' || this.#sourceIds.some((id) => !live.has(id))) this.close('the broadcaster stopped sending this track');
  }

  close(reason: string): Promise<void> {
    this.#close(reason);
    return Promise.resolve();
  }

  #close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    this.router.close();
    this.emit('closed', { reason });
  }
}
