/**
 * Sends a studio's tracks into one stream: `broadcast:start` → Device → send transport → `produce` per track
 * (video with simulcast). While live, new tracks replace the old ones in their producers (the viewers keep
 * their consumers); a track kind that was missing is produced.
 *
 * When the socket drops, the transport fails or the server says the broadcast lost its media (a mediasoup
 * worker died), it reconnects by itself: `broadcast:start` again with the resume key of the first start, a
 * new transport, and the current tracks produced again. Fatal refusals (the stream is gone, the token
 * expired, someone else took the stream) end the broadcast with an error.
 *
 * States: 'idle' → 'connecting' → 'live' ⇄ 'reconnecting' → 'ended'.
 */
import { Device, type types } from 'mediasoup-client';
import type { Source, TransportInfo } from '../../shared/signaling.js';
import { errorCode, OnAirClientError, toError, type ClientErrorCode } from '../common/errors.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { NO_MEDIA, type OutgoingMedia } from './OutgoingMedia.js';
import { computeSendStats, type SendStats, type StatsSnapshot } from './sendStats.js';
import { simulcastEncodings } from './simulcast.js';
import { pickVideoCodec, type VideoCodecName } from './videoCodec.js';

export type BroadcastState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'ended';

export type BroadcasterEvents = {
  state: [BroadcastState];
  /** Live again after a start or a reconnection. */
  started: [{ streamId: string; resumed: boolean }];
  viewerCount: [number];
  /** Once a second while live. */
  stats: [SendStats];
  error: [Error];
};

export interface BroadcasterOptions {
  signaling: SignalingClient;
  videoCodec?: VideoCodecName;
}

const RETRY_MS = 2000;
/** How long an ICE "disconnected" may last before the transport is rebuilt. */
const ICE_GRACE_MS = 4000;
const STATS_INTERVAL_MS = 1000;
/** Refusals that trying again will not fix. */
const FATAL: ReadonlySet<ClientErrorCode | undefined> = new Set(['unauthorized', 'forbidden', 'not_found', 'conflict', 'validation_failed', 'bad_request', 'media']);

type Kind = 'audio' | 'video';

export class Broadcaster extends TypedEmitter<BroadcasterEvents> {
  readonly #signaling: SignalingClient;
  readonly #device = new Device();
  #deviceLoading: Promise<void> | undefined;
  #videoCodec: VideoCodecName;
  #state: BroadcastState = 'idle';
  #streamId: string | undefined;
  #resumeKey: string | undefined;
  #media: OutgoingMedia = NO_MEDIA;
  #transport: types.Transport | undefined;
  #producers: Partial<Record<Kind, types.Producer>> = {};
  /** Bumped by every (re)publish and by stop: older work sees it is stale and gives up. */
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #iceTimer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #statsSnapshot: StatsSnapshot | undefined;
  /** Producer changes run one at a time. */
  #serial: Promise<void> = Promise.resolve();
  readonly #subscriptions: (() => void)[];

  constructor(opts: BroadcasterOptions) {
    super();
    this.#signaling = opts.signaling;
    this.#videoCodec = opts.videoCodec ?? 'VP8';
    const s = opts.signaling;
    this.#subscriptions = [
      s.on('disconnect', () => this.#interrupted()),
      s.on('connect', () => {
        if (this.#streamId && this.#state === 'reconnecting') this.#republish();
      }),
      s.on('broadcast:ended', (e) => {
        if (e.streamId === this.#streamId) this.#finish();
      }),
      // The server lost our media while our socket stayed up (its mediasoup worker died): publish again at
      // once, on the new router, instead of waiting seconds for ICE to notice the dead transport.
      s.on('broadcast:reconnecting', (e) => {
        if (e.streamId === this.#streamId && this.#state === 'live') this.#interrupted();
      }),
      s.on('viewers:count', (e) => {
        if (e.streamId === this.#streamId) this.emit('viewerCount', e.count);
      }),
    ];
  }

  get state(): BroadcastState {
    return this.#state;
  }
  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** Applies to the next broadcast (a live one keeps its codec). */
  set videoCodec(codec: VideoCodecName) {
    this.#videoCodec = codec;
  }

  async start(streamId: string, media: OutgoingMedia): Promise<void> {
    if (this.#streamId) throw new OnAirClientError('conflict', 'already broadcasting: end this broadcast first');
    this.#streamId = streamId;
    this.#resumeKey = undefined;
    this.#media = media;
    this.#setState('connecting');
    const attempt = ++this.#attempt;
    try {
      await this.#signaling.whenConnected();
      await this.#publish(attempt);
    } catch (err) {
      if (attempt !== this.#attempt || !this.#streamId) return; // a reconnection took over, or stop()
      // Nothing is half-started on the server after a failed first start.
      if (this.#signaling.connected && this.#resumeKey) void this.#signaling.request('broadcast:stop', {}).catch(() => undefined);
      this.#reset('idle');
      throw err;
    }
  }

  /** Sends these tracks from now on: replaced in the producers while live, used at the next start otherwise. */
  async setMedia(media: OutgoingMedia): Promise<void> {
    this.#media = media;
    if (this.#transport) await this.#syncProducers();
  }

  async stop(): Promise<void> {
    if (!this.#streamId) return;
    const wasLive = this.#state === 'live';
    try {
      if (this.#signaling.connected) await this.#signaling.request('broadcast:stop', {});
    } catch (err) {
      // While reconnecting the server no longer counts us as the publisher: the broadcast ends after its grace period.
      if (wasLive) throw err;
    } finally {
      this.#finish();
    }
  }

  close(): void {
    this.#reset(this.#state);
    for (const unsubscribe of this.#subscriptions.splice(0)) unsubscribe();
    this.removeAllListeners();
  }

  async #publish(attempt: number): Promise<void> {
    const current = () => attempt === this.#attempt && this.#streamId !== undefined;
    this.#closeTransport();
    const started = await this.#signaling.request('broadcast:start', {
      streamId: this.#streamId!,
      ...(this.#resumeKey ? { resumeKey: this.#resumeKey } : {}),
    });
    if (!current()) return;
    this.#resumeKey = started.resumeKey;
    await this.#loadDevice(started.routerRtpCapabilities);
    const info = await this.#signaling.request('transport:create', { direction: 'send' });
    if (!current()) return;
    this.#transport = this.#createTransport(info);
    await this.#syncProducers();
    if (!current()) return;
    this.#setState('live');
    this.emit('started', { streamId: this.#streamId!, resumed: started.resumed });
    this.#startStats();
  }

  /** Reconnects after a drop; retries until it works or a refusal says it never will. */
  #republish(): void {
    clearTimeout(this.#retryTimer);
    const attempt = ++this.#attempt;
    this.#publish(attempt).catch((err: unknown) => {
      if (attempt !== this.#attempt || !this.#streamId) return;
      if (FATAL.has(errorCode(err))) {
        this.emit('error', toError(err));
        return this.#finish();
      }
      console.warn('onair: reconnecting the broadcast failed; trying again', err);
      this.#closeTransport();
      // Without a socket, the next 'connect' retries.
      if (this.#signaling.connected) this.#retryTimer = setTimeout(() => this.#republish(), RETRY_MS);
    });
  }

  /** The socket or the transport dropped: wait for the socket, then publish again. */
  #interrupted(): void {
    if (!this.#streamId || this.#state === 'ended') return;
    this.#attempt++;
    this.#closeTransport();
    this.#stopStats();
    this.#setState('reconnecting');
    if (this.#signaling.connected) this.#republish();
  }

  #loadDevice(routerRtpCapabilities: Record<string, unknown>): Promise<void> {
    this.#deviceLoading ??= this.#device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as types.RtpCapabilities }).catch((err: unknown) => {
      this.#deviceLoading = undefined;
      throw new OnAirClientError('media', `this browser cannot broadcast: ${toError(err).message}`);
    });
    return this.#deviceLoading;
  }

  #createTransport(info: TransportInfo): types.Transport {
    const transport = this.#device.createSendTransport({
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
    });
    const signaling = this.#signaling;
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling
        .request('transport:connect', { transportId: transport.id, dtlsParameters: dtlsParameters as unknown as Record<string, unknown> })
        .then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      signaling
        .request('produce', {
          transportId: transport.id,
          kind,
          rtpParameters: rtpParameters as unknown as Record<string, unknown>,
          source: appData.source as Source,
          ...(typeof appData.height === 'number' ? { height: appData.height } : {}),
        })
        .then(({ id }) => callback({ id }), errback);
    });
    transport.on('connectionstatechange', (state) => {
      if (transport !== this.#transport) return;
      clearTimeout(this.#iceTimer);
      if (state === 'failed') this.#interrupted();
      else if (state === 'disconnected') {
        this.#iceTimer = setTimeout(() => {
          if (transport === this.#transport && transport.connectionState !== 'connected') this.#interrupted();
        }, ICE_GRACE_MS);
      }
    });
    return transport;
  }

  /** Makes the producers send the current tracks: replaceTrack where a producer exists, produce where not. */
  #syncProducers(): Promise<void> {
    const run = this.#serial.then(() => this.#syncProducersNow());
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async #syncProducersNow(): Promise<void> {
    for (const kind of ['video', 'audio'] as const) {
      const transport = this.#transport;
      if (!transport || transport.closed) return;
      const wanted = this.#media[kind];
      const producer = this.#producers[kind];
      if (producer && !producer.closed) {
        const track = wanted?.track ?? null;
        if (producer.track !== track) await producer.replaceTrack({ track });
      } else if (wanted) {
        const produced = await transport.produce(this.#produceOptions(kind, wanted));
        if (transport === this.#transport) this.#producers[kind] = produced;
        else produced.close();
      }
    }
  }

  #produceOptions(kind: Kind, media: NonNullable<OutgoingMedia[Kind]>): types.ProducerOptions {
    const common = { track: media.track, stopTracks: false, appData: { source: media.source } };
    if (kind === 'audio') return { ...common, codecOptions: { opusFec: true, opusDtx: false } };
    const height = media.track.getSettings().height ?? 720;
    return {
      ...common,
      // The server's HLS ladder never goes above the capture height.
      appData: { ...common.appData, height: Math.min(4320, Math.max(16, Math.round(height))) },
      encodings: simulcastEncodings(height),
      codec: pickVideoCodec(this.#device.sendRtpCapabilities, this.#videoCodec),
      codecOptions: { videoGoogleStartBitrate: 1000 },
    };
  }

  #startStats(): void {
    this.#stopStats();
    this.#statsTimer = setInterval(() => void this.#sampleStats(), STATS_INTERVAL_MS);
  }

  async #sampleStats(): Promise<void> {
    const transport = this.#transport;
    if (!transport || transport.closed) return;
    try {
      const report = await transport.getStats();
      const { stats, snapshot } = computeSendStats(report.values(), this.#statsSnapshot);
      this.#statsSnapshot = snapshot;
      if (transport === this.#transport) this.emit('stats', stats);
    } catch {
      /* the transport closed while reading: the next sample is for the new one */
    }
  }

  #stopStats(): void {
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#statsSnapshot = undefined;
  }

  #closeTransport(): void {
    clearTimeout(this.#iceTimer);
    this.#transport?.close();
    this.#transport = undefined;
    this.#producers = {};
  }

  /** The broadcast is over (stopped here, or ended by the server). */
  #finish(): void {
    if (!this.#streamId) return;
    this.#reset('ended');
  }

  #reset(state: BroadcastState): void {
    this.#attempt++;
    this.#streamId = undefined;
    this.#resumeKey = undefined;
    clearTimeout(this.#retryTimer);
    this.#closeTransport();
    this.#stopStats();
    this.#setState(state);
  }

  #setState(state: BroadcastState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
