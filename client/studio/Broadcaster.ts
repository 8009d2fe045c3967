/**
 * Sends a studio's tracks into one stream: `broadcast:start` → Device → send transport → `produce` per track
 * (video with simulcast). While live, new tracks replace the old ones in their producers (the viewers keep
 * their consumers); a track kind that was missing is produced.
 *
 * When the socket drops, the transport fails or the server says the broadcast lost its media (a mediasoup
 * worker died), it reconnects by itself: `broadcast:start` again with the resume key of the first start, a
 * new transport, and the current tracks produced again. What a refusal means is decided by its reason
 * (recovery.ts): `not_publisher` / `broadcast_ended` start the broadcast again (at most MAX_RESTARTS times
 * in a row: a Go live right after an End meets the end of the previous broadcast), `connection_closed`
 * waits for the next connection, fatal refusals (`stream_busy`: the stream is live from another window or
 * encoder; the stream is gone; the token expired) end the broadcast with an error.
 *
 * `broadcast:ended` for our stream is ignored while a `broadcast:start` is unanswered: it is the end of the
 * previous broadcast (End, then Go live at once), and the start's answer says what is live now. A start
 * answered after stop() gives the stream back (`broadcast:stop`), so no broadcast is left without its studio.
 *
 * "Go live" → first frame at the viewers is short because nothing waits that need not: `prepare()` loads the
 * Device before the click (from GET /api/media/capabilities; a failure there only means the start loads it
 * with the capabilities its answer carries), and `broadcast:start` answers with the send transport too.
 *
 * States: 'idle' → 'connecting' → 'live' ⇄ 'reconnecting' → 'ended'.
 */
import { Device, type types } from 'mediasoup-client';
import type { MediaCapabilities } from '../../shared/api.js';
import type { Source, TransportInfo } from '../../shared/signaling.js';
import { api } from '../common/api.js';
import { errorReason, OnAirClientError, toError } from '../common/errors.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { NO_MEDIA, type OutgoingMedia } from './OutgoingMedia.js';
import { publishFailure, publishRecovery } from './recovery.js';
import { computeSendStats, type SendStats, type StatsSnapshot } from './sendStats.js';
import { simulcastEncodings } from './simulcast.js';
import { pickVideoCodec, type VideoCodecName } from './videoCodec.js';

export type BroadcastState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'ended';

export type BroadcasterEvents = {
  state: [BroadcastState];
  /** Live again after a start or a reconnection. */
  started: [{ streamId: string; resumed: boolean }];
  /** The broadcast of this stream is over: stopped here (the server acknowledged) or ended by the server. */
  ended: [{ streamId: string }];
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
/** Starts over in a row (`not_publisher`, `broadcast_ended`) before the broadcast fails. */
const MAX_RESTARTS = 3;
/** Pause before starting over, times the number of the restart: the previous broadcast's end is finishing. */
const RESTART_DELAY_MS = 300;

type Kind = 'audio' | 'video';

export class Broadcaster extends TypedEmitter<BroadcasterEvents> {
  readonly #signaling: SignalingClient;
  /**
   * Made and loaded by `prepare()` or at the first start (a browser without WebRTC fails there, with a 'media'
   * error). A failed load is forgotten: the next start tries again.
   */
  #deviceLoading: Promise<Device> | undefined;
  #device: Device | undefined;
  #videoCodec: VideoCodecName;
  #state: BroadcastState = 'idle';
  #streamId: string | undefined;
  #resumeKey: string | undefined;
  /** The broadcast our last start was answered with: a `broadcast:ended` of another one is not ours. */
  #broadcastId: string | undefined;
  #media: OutgoingMedia = NO_MEDIA;
  #transport: types.Transport | undefined;
  #producers: Partial<Record<Kind, types.Producer>> = {};
  /** Bumped by every (re)publish and by stop: older work sees it is stale and gives up. */
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Restarts in a row of the reconnection loop; 0 once live. */
  #restarts = 0;
  /** `broadcast:start` requests without an answer yet. */
  #startsPending = 0;
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
        if (e.streamId !== this.#streamId || this.#startsPending > 0) return;
        if (this.#broadcastId !== undefined && e.broadcastId !== this.#broadcastId) return;
        this.#finish();
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

  /**
   * Loads the Device now, before any start, with the routers' capabilities fetched over HTTP: a start then
   * finds it loaded. Its failure is not reported here (the start loads the Device again, and says why not).
   */
  prepare(): void {
    if (this.#deviceLoading) return;
    const capabilities = api<MediaCapabilities>('GET', '/api/media/capabilities').then((c) => c.routerRtpCapabilities);
    this.#loadDevice(capabilities).catch(() => undefined);
  }

  async start(streamId: string, media: OutgoingMedia): Promise<void> {
    if (this.#streamId) throw new OnAirClientError('conflict', 'already broadcasting: end this broadcast first');
    this.#streamId = streamId;
    this.#resumeKey = undefined;
    this.#media = media;
    this.#setState('connecting');
    const attempt = ++this.#attempt;
    const current = () => attempt === this.#attempt && this.#streamId !== undefined;
    for (let restarts = 1; ; restarts++) {
      try {
        await this.#signaling.whenConnected();
        await this.#publish(attempt);
        return;
      } catch (err) {
        if (!current()) return; // a reconnection took over, or stop()
        const recovery = publishRecovery(err);
        if ((recovery === 'restart' || recovery === 'reconnect') && restarts <= MAX_RESTARTS) {
          if (errorReason(err) === 'broadcast_ended') this.#resumeKey = undefined;
          await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS * restarts));
          if (!current()) return;
          continue;
        }
        // Nothing is half-started on the server after a failed first start.
        if (this.#signaling.connected && this.#resumeKey) void this.#signaling.request('broadcast:stop', {}).catch(() => undefined);
        this.#reset('idle');
        throw publishFailure(err);
      }
    }
  }

  /** Sends these tracks from now on: replaced in the producers while live, used at the next start otherwise. */
  async setMedia(media: OutgoingMedia): Promise<void> {
    this.#media = media;
    if (!this.#transport) return;
    try {
      await this.#syncProducers();
    } catch (err) {
      // The server no longer counts this connection as the publisher: start again (the new tracks with it).
      if (publishRecovery(err) === 'restart' && this.#state === 'live') return this.#interrupted();
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.#streamId) return;
    const wasLive = this.#state === 'live';
    try {
      if (this.#signaling.connected) await this.#signaling.request('broadcast:stop', {});
    } catch (err) {
      // While reconnecting the server no longer counts us as the publisher: the broadcast ends after its grace
      // period. `not_publisher` / `broadcast_ended`: there is nothing left to stop.
      if (wasLive && publishRecovery(err) !== 'restart') throw err;
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
    const streamId = this.#streamId!;
    let started;
    this.#startsPending++;
    try {
      started = await this.#signaling.request('broadcast:start', { streamId, sendTransport: true, ...(this.#resumeKey ? { resumeKey: this.#resumeKey } : {}) });
    } finally {
      this.#startsPending--;
    }
    if (!current()) {
      // Stopped while the start was on its way: the server made us the publisher all the same.
      if (this.#streamId === undefined && this.#signaling.connected) void this.#signaling.request('broadcast:stop', {}).catch(() => undefined);
      return;
    }
    this.#resumeKey = started.resumeKey;
    this.#broadcastId = started.broadcastId;
    const device = await this.#loadedDevice(started.routerRtpCapabilities);
    // A server that did not make the transport with the start (an older one) makes it now.
    const info = started.sendTransport ?? (await this.#signaling.request('transport:create', { direction: 'send' }));
    if (!current()) return;
    this.#transport = this.#createTransport(device, info);
    await this.#syncProducers();
    if (!current()) return;
    this.#restarts = 0;
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
      const recovery = publishRecovery(err);
      if (recovery === 'fatal' || (recovery === 'restart' && this.#restarts >= MAX_RESTARTS)) {
        this.emit('error', publishFailure(err));
        return this.#finish();
      }
      this.#closeTransport();
      let delay = RETRY_MS;
      if (recovery === 'restart') {
        this.#restarts++;
        // The broadcast we would resume is over: start a new one.
        if (errorReason(err) === 'broadcast_ended') this.#resumeKey = undefined;
        delay = RESTART_DELAY_MS * this.#restarts;
      } else {
        console.warn('onair: reconnecting the broadcast failed; trying again', err);
      }
      // Without a socket (`connection_closed`, a drop), the next 'connect' retries.
      if (this.#signaling.connected) this.#retryTimer = setTimeout(() => this.#republish(), delay);
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

  /** The Device: the one loading or loaded (by `prepare()` or an earlier start), else loaded with `capabilities`. */
  async #loadedDevice(capabilities: Record<string, unknown>): Promise<Device> {
    const early = this.#deviceLoading;
    if (early) {
      try {
        return await early;
      } catch {
        // prepare() could not fetch or load: the start's own capabilities get one more try, and say why not.
      }
    }
    return this.#loadDevice(capabilities);
  }

  #loadDevice(capabilities: Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Device> {
    const loading = (async () => {
      const routerRtpCapabilities = await capabilities;
      const device = new Device();
      await device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as types.RtpCapabilities });
      return (this.#device = device);
    })().catch((err: unknown) => {
      if (this.#deviceLoading === loading) this.#deviceLoading = undefined;
      throw new OnAirClientError('media', `this browser cannot broadcast: ${toError(err).message}`);
    });
    this.#deviceLoading = loading;
    return loading;
  }

  #createTransport(device: Device, info: TransportInfo): types.Transport {
    const transport = device.createSendTransport({
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
    });
    const signaling = this.#signaling;
    transport.on('connect', ({ dtlsParameters }, callback) => {
      // Not awaited (answered at once): the first `produce` follows it at once. The server takes
      // both in the order sent, and mediasoup produces on a transport before it connects. A refusal means the
      // transport is gone on the server: publish again.
      signaling
        .request('transport:connect', { transportId: transport.id, dtlsParameters: dtlsParameters as unknown as Record<string, unknown> })
        .catch(() => {
          if (transport === this.#transport) this.#interrupted();
        });
      callback();
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
    // A transport exists only once the Device has loaded.
    if (!this.#device) throw new OnAirClientError('media', 'the browser is not ready to send video');
    const height = media.track.getSettings().height ?? 720;
    const encodings = simulcastEncodings(height);
    return {
      ...common,
      // The server's HLS ladder never goes above the capture height.
      appData: { ...common.appData, height: Math.min(4320, Math.max(16, Math.round(height))) },
      encodings,
      codec: pickVideoCodec(this.#device.sendRtpCapabilities, this.#videoCodec),
      // The encoder starts at what all its layers take: from 1,000 kbit/s (720p's three take 2,150) Chromium
      // paused the top layer for the first 1–3 s, and whatever consumed it (the HLS ladder's source, a viewer
      // aimed at it) waited for a keyframe that came only once it resumed (bench/NOTES.md, HLS go-live).
      codecOptions: { videoGoogleStartBitrate: Math.round(encodings.reduce((sum, e) => sum + (e.maxBitrate ?? 0), 0) / 1000) },
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
    const streamId = this.#streamId;
    if (!streamId) return;
    this.#reset('ended');
    this.emit('ended', { streamId });
  }

  #reset(state: BroadcastState): void {
    this.#attempt++;
    this.#restarts = 0;
    this.#streamId = undefined;
    this.#resumeKey = undefined;
    this.#broadcastId = undefined;
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
