/**
 * What a viewer receives from one broadcast session: one mediasoup-client receive transport and its
 * consumers, keyed by producer id. The Player replaces the whole Reception when the session changes
 * (the broadcast moved to another router), when its transport fails, or when the socket reconnects, and
 * gives WebRTC up for HLS when the transport does not connect in time (UDP blocked on the viewer's network).
 * `close()` is idempotent and closes the consumers with the transport.
 */
import type { Device, types } from 'mediasoup-client';
import type { ConsumerInfo, ProducerInfo, TransportInfo } from '../../shared/signaling.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { markOnce } from './timeline.js';

export interface ReceptionCallbacks {
  /** ICE or DTLS failed after connecting: replace this Reception. */
  onFailed: () => void;
  /** The transport did not connect within `connectTimeoutMs` of starting to. */
  onUnreachable: () => void;
  connectTimeoutMs: number;
}

interface Received {
  consumer: types.Consumer;
  info: ConsumerInfo;
}

export class Reception {
  readonly session: string;
  readonly #transport: types.Transport;
  readonly #signaling: SignalingClient;
  readonly #device: Device;
  readonly #received = new Map<string, Received>();
  #closed = false;
  #failed = false;
  #connected = false;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(session: string, transport: types.Transport, signaling: SignalingClient, device: Device) {
    this.session = session;
    this.#transport = transport;
    this.#signaling = signaling;
    this.#device = device;
  }

  /**
   * Asks the server for a receive transport (`transport:create`). Fails with 'too_many_requests' when the
   * stream has all the WebRTC viewers it takes. Separate from open() so that the Player can ask while its
   * Device loads.
   */
  static createTransport(signaling: SignalingClient): Promise<TransportInfo> {
    return signaling.request('transport:create', { direction: 'recv' });
  }

  /** The browser's side of the server's receive transport `info`. */
  static open(info: TransportInfo, signaling: SignalingClient, device: Device, session: string, callbacks: ReceptionCallbacks): Reception {
    const transport = device.createRecvTransport({
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
    });
    const reception = new Reception(session, transport, signaling, device);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      // The first consume starts ICE and DTLS: from now on it has connectTimeoutMs to get through.
      reception.#connectTimer = setTimeout(() => {
        if (!reception.#closed && transport.connectionState !== 'connected') callbacks.onUnreachable();
      }, callbacks.connectTimeoutMs);
      signaling
        .request('transport:connect', { transportId: transport.id, dtlsParameters: dtlsParameters as unknown as Record<string, unknown> })
        .then(() => callback(), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'connected') {
        markOnce('transport-connected');
        reception.#connected = true;
        clearTimeout(reception.#connectTimer);
      }
      if (state === 'failed' && !reception.#closed) {
        reception.#failed = true;
        clearTimeout(reception.#connectTimer);
        // Never connected: this network does not let WebRTC through; trying again would fail the same way.
        if (reception.#connected) callbacks.onFailed();
        else callbacks.onUnreachable();
      }
    });
    return reception;
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** The id of the receive transport (the server names it in `transport:closed`). */
  get transportId(): string {
    return this.#transport.id;
  }
  /** The transport failed: replace this Reception. */
  get failed(): boolean {
    return this.#failed;
  }
  get size(): number {
    return this.#received.size;
  }

  has(producerId: string): boolean {
    return this.#received.has(producerId);
  }

  /** The video consumer's id and simulcast layer count, if any. */
  video(): { consumerId: string; layers: number } | undefined {
    for (const { consumer, info } of this.#received.values()) if (info.kind === 'video') return { consumerId: consumer.id, layers: info.layers };
    return undefined;
  }

  /**
   * Receives producers: `consume` for each (in parallel; paused on the server), then the local consumers all
   * in the same tick, which mediasoup-client negotiates in one SDP exchange, then `consumer:resume` for each.
   * `onTrack` runs as soon as the tracks exist (before the resumes), so that the <video> has them when the
   * first frame arrives. Resolves with the errors of the producers that could not be received.
   */
  async consumeAll(producers: readonly ProducerInfo[], onTrack: () => void): Promise<unknown[]> {
    const errors: unknown[] = [];
    const rtpCapabilities = this.#device.recvRtpCapabilities as unknown as Record<string, unknown>;
    const asked = await Promise.allSettled(producers.map((p) => this.#signaling.request('consume', { producerId: p.id, rtpCapabilities })));
    const infos: ConsumerInfo[] = [];
    for (const r of asked) r.status === 'fulfilled' ? infos.push(r.value) : errors.push(r.reason);
    if (this.#closed) return errors;
    const made = await Promise.allSettled(
      infos.map((info) =>
        this.#transport.consume({
          id: info.id,
          producerId: info.producerId,
          kind: info.kind,
          rtpParameters: info.rtpParameters as unknown as types.RtpParameters,
        }),
      ),
    );
    const resumes: Promise<unknown>[] = [];
    made.forEach((r, i) => {
      if (r.status === 'rejected') return void errors.push(r.reason);
      const consumer = r.value;
      if (this.#closed) return consumer.close();
      this.#received.set(infos[i]!.producerId, { consumer, info: infos[i]! });
      resumes.push(this.#signaling.request('consumer:resume', { consumerId: consumer.id }));
    });
    if (resumes.length > 0) onTrack();
    for (const r of await Promise.allSettled(resumes)) if (r.status === 'rejected') errors.push(r.reason);
    return errors;
  }

  /** The server closed a consumer (its producer went away). */
  closeConsumer(consumerId: string): boolean {
    for (const [producerId, { consumer }] of this.#received) {
      if (consumer.id !== consumerId) continue;
      consumer.close();
      this.#received.delete(producerId);
      return true;
    }
    return false;
  }

  /** Closes the consumers of producers that are no longer in the broadcast. */
  retain(producerIds: ReadonlySet<string>): void {
    for (const [producerId, { consumer }] of this.#received) {
      if (producerIds.has(producerId)) continue;
      consumer.close();
      this.#received.delete(producerId);
    }
  }

  tracks(): MediaStreamTrack[] {
    return [...this.#received.values()].map(({ consumer }) => consumer.track);
  }

  getStats(): Promise<RTCStatsReport | undefined> {
    return this.#closed ? Promise.resolve(undefined) : this.#transport.getStats();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.#received.clear();
    this.#transport.close();
  }
}
