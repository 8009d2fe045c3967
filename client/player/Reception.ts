/**
 * What a viewer receives from one broadcast session: one mediasoup-client receive transport and its
 * consumers, keyed by producer id. The Player replaces the whole Reception when the session changes
 * (the broadcast moved to another router), when its transport fails, or when the socket reconnects, and
 * gives WebRTC up for HLS when the transport does not connect in time (UDP blocked on the viewer's network).
 * `close()` is idempotent and closes the consumers with the transport.
 */
import type { Device, types } from 'mediasoup-client';
import type { ConsumerInfo, ProducerInfo } from '../../shared/signaling.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';

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
   * Creates the receive transport on the server and in the browser. Fails with 'too_many_requests' when the
   * stream has all the WebRTC viewers it takes.
   */
  static async open(signaling: SignalingClient, device: Device, session: string, callbacks: ReceptionCallbacks): Promise<Reception> {
    const info = await signaling.request('transport:create', { direction: 'recv' });
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

  /** Receives a producer: `consume` (paused on the server), the local consumer, then `consumer:resume`. */
  async consume(producer: ProducerInfo): Promise<void> {
    const info = await this.#signaling.request('consume', {
      producerId: producer.id,
      rtpCapabilities: this.#device.recvRtpCapabilities as unknown as Record<string, unknown>,
    });
    if (this.#closed) return;
    const consumer = await this.#transport.consume({
      id: info.id,
      producerId: info.producerId,
      kind: info.kind,
      rtpParameters: info.rtpParameters as unknown as types.RtpParameters,
    });
    if (this.#closed) return consumer.close();
    this.#received.set(producer.id, { consumer, info });
    await this.#signaling.request('consumer:resume', { consumerId: consumer.id });
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
