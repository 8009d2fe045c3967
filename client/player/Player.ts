/**
 * The live player of /watch and /embed: joins a stream's audience (`viewer:join`) and shows the broadcast in
 * a <video>, in one of two modes (delivery.ts): 'webrtc' receives the broadcast's producers through a
 * Reception (one receive transport and its consumers); 'hls' plays the stream's live HLS through an
 * HlsReception. It starts with WebRTC and falls back to HLS by itself when the server says the stream has all
 * the WebRTC viewers it takes (`delivery.webrtc: false` at join, or `too_many_requests` from transport:create),
 * when the transport does not connect within WEBRTC_CONNECT_TIMEOUT_MS, or when the browser has no WebRTC.
 * The viewer may switch (setMode); a refused switch to WebRTC leaves HLS playing, with a notice.
 * The socket stays joined in both modes: it gives the states, the viewer count and the stream's details.
 *
 * States: 'connecting' (joining, or receiving the first tracks), 'waiting' (nobody broadcasts yet: it starts
 * by itself on `broadcast:producers`), 'live', 'reconnecting' (the broadcaster or our socket dropped),
 * 'ended' (`broadcast:ended`; a new broadcast of the same stream still starts by itself), 'error' (the
 * stream cannot be watched: missing, private without a valid token, unsupported browser).
 *
 * Every change (join, server events, a failed transport) only records what the broadcast is now; one
 * serialized sync loop then makes the Reception match it, so events arriving mid-way are never lost.
 */
import type { Device } from 'mediasoup-client';
import type { BroadcastInfo, JoinResult, StreamInfo, TransportInfo } from '../../shared/signaling.js';
import { errorCode, OnAirClientError, toError, type ClientErrorCode } from '../common/errors.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import { canPlayHls } from '../hls/attachHls.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { SignalingRequestError } from '../signaling/SignalingRequestError.js';
import { playOrMute } from './autoplay.js';
import {
  fallbackMessage,
  initialMode,
  WEBRTC_CONNECT_TIMEOUT_MS,
  webrtcSupported,
  type FallbackReason,
  type ModePreference,
  type PlaybackMode,
} from './delivery.js';
import { fetchRouterCapabilities, loadDevice } from './device.js';
import { HlsReception } from './HlsReception.js';
import { readPlaybackStats, readVideoStats, type PlaybackStats } from './playbackStats.js';
import { Reception } from './Reception.js';
import { markOnce } from './timeline.js';
import { layerNames } from './stateLabels.js';

export type PlayerState = 'connecting' | 'waiting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface QualityInfo {
  /**
   * The choices, lowest first: simulcast layers (WebRTC) or renditions (HLS, "720p"…); empty when there is
   * nothing to choose (no video yet, a single layer).
   */
  names: string[];
  /** The viewer's choice: an index into `names` (0 = lowest) or null for automatic. */
  preferred: number | null;
  /** The one being received now, when known. */
  current: number | null;
}

export type PlayerEvents = {
  state: [PlayerState];
  stream: [StreamInfo];
  viewerCount: [number];
  quality: [QualityInfo];
  mode: [PlaybackMode];
  /** Something the viewer should be told (e.g. why Low latency is not available). */
  notice: [string];
  playing: [];
  paused: [];
  error: [Error];
};

export interface PlayerOptions {
  streamId: string;
  /** Viewer token of a private stream. */
  token?: string | undefined;
  video: HTMLVideoElement;
  /** 'hls' or 'webrtc' to start in that mode (`?mode=`); 'auto' (the default) starts with WebRTC. */
  mode?: ModePreference;
  signaling?: SignalingClient;
  /** How long WebRTC may take to connect before the player plays HLS instead. */
  webrtcConnectTimeoutMs?: number;
}

const RETRY_MS = 2000;
/** Request errors that mean the broadcast changed under us: the next `broadcast:producers` says how. */
const STALE: ReadonlySet<ClientErrorCode | undefined> = new Set(['not_found', 'conflict']);
/** Join errors that trying again will not fix. */
const FATAL_JOIN: ReadonlySet<ClientErrorCode | undefined> = new Set(['not_found', 'unauthorized', 'forbidden', 'validation_failed', 'bad_request']);

export class Player extends TypedEmitter<PlayerEvents> {
  readonly streamId: string;
  readonly video: HTMLVideoElement;
  readonly #token: string | undefined;
  readonly #signaling: SignalingClient;
  readonly #connectTimeoutMs: number;
  /** Loading from start() in WebRTC mode, else when WebRTC is first needed; undefined inside: no WebRTC. */
  #device: Promise<Device | undefined> | undefined;
  #routerRtpCapabilities: JoinResult['routerRtpCapabilities'] | undefined;
  #hlsPath: string;
  #mode: PlaybackMode;
  /** The viewer asked for WebRTC (menu or `?mode=webrtc`): tell them if they do not get it. */
  #webrtcRequested: boolean;
  #fallback: FallbackReason | null = null;
  #hls: HlsReception | undefined;
  #state: PlayerState = 'connecting';
  #stream: StreamInfo | undefined;
  #viewerCount = 0;
  #joined = false;
  /** The broadcast as the server last described it; null when nobody broadcasts. */
  #broadcast: BroadcastInfo | null = null;
  #ended = false;
  #reception: Reception | undefined;
  /** Bumped when the socket drops: work started before belongs to a dead connection. */
  #generation = 0;
  #preferredLayer: number | null = null;
  #currentLayer: number | null = null;
  #lastQuality = '';
  #syncing = false;
  #dirty = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #subscriptions: (() => void)[] = [];
  #closed = false;

  constructor(opts: PlayerOptions) {
    super();
    this.streamId = opts.streamId;
    this.video = opts.video;
    this.#token = opts.token || undefined;
    this.#signaling = opts.signaling ?? new SignalingClient();
    this.#connectTimeoutMs = opts.webrtcConnectTimeoutMs ?? WEBRTC_CONNECT_TIMEOUT_MS;
    this.#hlsPath = `/hls/${encodeURIComponent(this.streamId)}/master.m3u8`;
    const preference = opts.mode ?? 'auto';
    this.#mode = initialMode(preference, webrtcSupported());
    this.#webrtcRequested = preference === 'webrtc';
    if (this.#mode === 'hls' && preference !== 'hls') this.#fallback = 'unsupported';
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
  }

  get state(): PlayerState {
    return this.#state;
  }
  get stream(): StreamInfo | undefined {
    return this.#stream;
  }
  get viewerCount(): number {
    return this.#viewerCount;
  }
  get mode(): PlaybackMode {
    return this.#mode;
  }
  /** Why the player plays HLS although WebRTC was wanted; null when it plays what was asked for. */
  get fallbackReason(): FallbackReason | null {
    return this.#fallback;
  }
  get quality(): QualityInfo {
    const preferred = this.#preferredLayer;
    if (this.#mode === 'hls') {
      const heights = this.#hls?.heights() ?? [];
      return { names: heights.length > 1 ? heights.map((h) => `${h}p`) : [], preferred, current: this.#hls?.currentLevel() ?? null };
    }
    const layers = this.#reception?.video()?.layers ?? 0;
    return { names: layers > 1 ? layerNames(layers) : [], preferred, current: this.#currentLayer };
  }

  start(): void {
    markOnce('start');
    if (this.#mode === 'webrtc') {
      this.#device = loadDevice(fetchRouterCapabilities());
      this.#device.catch(() => undefined); // a failure is handled where it is awaited (#loadedDevice)
    }
    const s = this.#signaling;
    const mine = (e: { streamId: string }) => e.streamId === this.streamId;
    const onVideo = (event: string, fn: () => void) => {
      this.video.addEventListener(event, fn);
      this.#subscriptions.push(() => this.video.removeEventListener(event, fn));
    };
    onVideo('playing', () => this.emit('playing'));
    onVideo('pause', () => this.emit('paused'));
    this.#subscriptions.push(
      s.on('connect', () => {
        markOnce('socket-connected');
        void this.#join();
      }),
      s.on('disconnect', () => this.#onDisconnect()),
      s.on('broadcast:producers', ({ streamId, ...broadcast }) => {
        if (streamId !== this.streamId) return;
        this.#broadcast = broadcast;
        this.#ended = false;
        this.#updateState();
        this.#scheduleSync();
      }),
      s.on('broadcast:reconnecting', (e) => {
        if (!mine(e) || !this.#broadcast) return;
        this.#broadcast = { ...this.#broadcast, state: 'reconnecting' };
        this.#updateState();
      }),
      s.on('broadcast:ended', (e) => {
        if (!mine(e)) return;
        this.#broadcast = null;
        this.#ended = true;
        this.#scheduleSync();
        this.#updateState();
      }),
      s.on('viewers:count', (e) => mine(e) && this.#setViewerCount(e.count)),
      s.on('stream:updated', ({ stream }) => {
        if (stream.id !== this.streamId) return;
        this.#stream = stream;
        this.emit('stream', stream);
      }),
      // The state follows from the broadcast event that comes with it (producers changed, reconnecting, ended).
      s.on('consumer:closed', ({ consumerId }) => {
        if (!this.#reception?.closeConsumer(consumerId)) return;
        this.#attachTracks();
        this.#emitQuality();
      }),
      // The server lost our receive transport (the media worker carrying it died); the broadcast goes on.
      s.on('transport:closed', ({ transportId }) => {
        if (this.#reception?.transportId !== transportId) return;
        this.#dropReception();
        this.#afterChange();
        this.#scheduleSync();
      }),
      s.on('consumer:layerschange', ({ consumerId, spatialLayer }) => {
        if (this.#reception?.video()?.consumerId !== consumerId) return;
        this.#currentLayer = spatialLayer;
        this.#emitQuality();
      }),
    );
    if (this.#fallback === 'unsupported' && this.#webrtcRequested) this.#notice(fallbackMessage('unsupported'));
    s.connect();
  }

  /**
   * The viewer's choice of mode. Switching to WebRTC keeps HLS playing until the server gives a WebRTC
   * transport: when it refuses (the stream is full), HLS plays on and a notice says why.
   */
  setMode(mode: PlaybackMode): void {
    if (this.#closed) return;
    this.#fallback = null;
    this.#webrtcRequested = mode === 'webrtc';
    if (mode === 'webrtc' && !webrtcSupported()) return this.#fallBack('unsupported', true);
    if (mode === this.#mode) return;
    this.#setMode(mode);
    this.#updateState();
    this.#scheduleSync();
  }

  play(): Promise<void> {
    return this.video.play();
  }
  pause(): void {
    this.video.pause();
  }
  /**
   * Mutes or unmutes. Browsers may refuse sound without a click in the page (and pause the video): then it
   * plays on muted and this rejects with a 'media' error.
   */
  async setMuted(muted: boolean): Promise<void> {
    this.video.muted = muted;
    if (muted || !this.video.paused || !(this.video.srcObject || this.#hls)) return;
    try {
      await this.video.play();
    } catch (err) {
      this.video.muted = true;
      await this.video.play().catch(() => undefined);
      throw new OnAirClientError('media', 'the browser allows sound only after a click in the player', { cause: err });
    }
  }

  /**
   * A fixed quality (an index into `quality.names`, 0 = lowest), or null for automatic: the server chooses
   * the simulcast layer by bandwidth (WebRTC), hls.js the rendition (HLS).
   */
  async setQuality(layer: number | null): Promise<void> {
    this.#preferredLayer = layer;
    if (this.#mode === 'hls') this.#hls?.setLevel(layer);
    this.#emitQuality();
    if (this.#mode === 'webrtc') await this.#applyQuality(true);
  }

  /** What is received: from the WebRTC transport's stats, or (HLS) from the <video> element alone. */
  async stats(): Promise<PlaybackStats> {
    if (this.#reception) return readPlaybackStats(await this.#reception.getStats(), this.video);
    return readVideoStats(this.video);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const unsubscribe of this.#subscriptions.splice(0)) unsubscribe();
    this.#dropReception();
    this.#dropHls();
    this.video.srcObject = null;
    this.#signaling.close();
    this.removeAllListeners();
  }

  async #join(): Promise<void> {
    clearTimeout(this.#retryTimer);
    try {
      const joined = await this.#signaling.request('viewer:join', { streamId: this.streamId, ...(this.#token ? { token: this.#token } : {}) });
      if (this.#closed) return;
      markOnce('joined');
      this.#routerRtpCapabilities = joined.routerRtpCapabilities;
      this.#hlsPath = joined.delivery.hls;
      this.#stream = joined.stream;
      this.emit('stream', joined.stream);
      this.#setViewerCount(joined.viewerCount);
      this.#broadcast = joined.broadcast;
      this.#ended = !joined.broadcast && joined.stream.status === 'ended';
      this.#joined = true;
      if (this.#mode === 'webrtc' && !joined.delivery.webrtc) this.#fallBack('full');
      this.#updateState();
      this.#scheduleSync();
    } catch (err) {
      if (this.#closed) return;
      const code = errorCode(err);
      if (code === 'disconnected') return; // the next 'connect' joins again
      this.emit('error', toError(err));
      if (!(err instanceof SignalingRequestError) || FATAL_JOIN.has(code)) return this.#setState('error');
      this.#retryTimer = setTimeout(() => void this.#join(), RETRY_MS);
    }
  }

  /** WebRTC needs the socket; HLS plays on (the next join says whether the broadcast is still on). */
  #onDisconnect(): void {
    this.#joined = false;
    this.#generation++;
    this.#dropReception();
    this.#afterChange();
  }

  #scheduleSync(): void {
    if (!this.#joined || this.#closed) return;
    this.#dirty = true;
    if (this.#syncing) return;
    this.#syncing = true;
    void (async () => {
      try {
        while (this.#dirty && this.#joined && !this.#closed) {
          this.#dirty = false;
          await this.#sync();
        }
      } catch (err) {
        if (this.#closed) return;
        this.#dropReception();
        this.#afterChange();
        if (errorCode(err) === 'disconnected') return; // rejoined on 'connect'
        this.emit('error', toError(err));
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#scheduleSync(), RETRY_MS);
      } finally {
        this.#syncing = false;
      }
    })();
  }

  /**
   * Makes what is received match the broadcast and the mode. HLS: the stream's live HLS while a broadcast is
   * on. WebRTC: the right session, every producer consumed, no stale consumer.
   */
  async #sync(): Promise<void> {
    const b = this.#broadcast;
    const generation = this.#generation;
    if (!b) {
      this.#dropReception();
      this.#dropHls();
      return this.#afterChange();
    }
    if (this.#mode === 'hls') {
      this.#dropReception();
      this.#ensureHls();
      return this.#afterChange();
    }
    const current = this.#reception;
    if (current && (current.session !== b.session || current.failed || current.closed)) this.#dropReception();
    this.#reception?.retain(new Set(b.producers.map((p) => p.id)));
    const missing = b.producers.filter((p) => !this.#reception?.has(p.id));
    if (missing.length > 0) {
      let reception = this.#reception;
      if (!reception) {
        // The server's transport and the Device's capabilities (a local RTCPeerConnection probe) at once.
        const creating = Reception.createTransport(this.#signaling);
        creating.catch(() => undefined); // awaited below, unless the browser cannot do WebRTC
        const device = await this.#loadedDevice();
        if (!device) return this.#fallBack('unsupported');
        let info: TransportInfo;
        try {
          info = await creating;
        } catch (err) {
          if (errorCode(err) === 'too_many_requests') return this.#fallBack('full');
          throw err;
        }
        markOnce('transport-ready');
        reception = Reception.open(info, this.#signaling, device, b.session, {
          connectTimeoutMs: this.#connectTimeoutMs,
          onFailed: () => this.#scheduleSync(),
          onUnreachable: () => {
            if (this.#reception === reception) this.#fallBack('unreachable');
          },
        });
        if (generation !== this.#generation || this.#closed || this.#mode !== 'webrtc') return reception.close();
        this.#reception = reception;
        // WebRTC is granted: HLS (if the viewer is switching from it) stops now.
        this.#dropHls();
      }
      // Every missing producer at once (one SDP negotiation, requests in parallel): the first frame needs
      // the whole set, and each round trip adds to the viewer's wait.
      const receiving = reception;
      const errors = await receiving.consumeAll(missing, () => {
        markOnce('tracks');
        if (generation === this.#generation && !receiving.closed) this.#afterChange();
      });
      if (generation !== this.#generation || reception.closed) return;
      const failure = errors.find((err) => !STALE.has(errorCode(err)));
      if (failure) throw failure;
      if (missing.some((p) => p.kind === 'video')) await this.#applyQuality(false);
    }
    if (b.producers.length === 0) this.#dropHls();
    this.#afterChange();
  }

  /** The mediasoup-client Device, loaded with the routers' capabilities; undefined without WebRTC support. */
  async #loadedDevice(): Promise<Device | undefined> {
    const early = this.#device;
    if (early) {
      try {
        return await early;
      } catch {
        // The capabilities could not be fetched early: load with the ones the join gave.
        if (this.#device === early) this.#device = undefined;
      }
    }
    return (this.#device ??= loadDevice(this.#routerRtpCapabilities ?? {}));
  }

  /**
   * Plays HLS instead of WebRTC. `requested`: the viewer just asked for WebRTC; otherwise the notice goes
   * only to a viewer who had asked for it before.
   */
  #fallBack(reason: FallbackReason, requested = this.#webrtcRequested): void {
    if (this.#closed) return;
    this.#fallback = reason;
    this.#webrtcRequested = false;
    if (requested) this.#notice(fallbackMessage(reason));
    if (this.#mode === 'hls') return void this.emit('mode', 'hls'); // a menu showing Low latency goes back
    this.#setMode('hls');
    this.#updateState();
    this.#scheduleSync();
  }

  #setMode(mode: PlaybackMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    // Layers and renditions are numbered differently: the choice does not carry over.
    this.#preferredLayer = null;
    this.#currentLayer = null;
    this.#hls?.setLevel(null);
    this.emit('mode', mode);
    this.#emitQuality();
  }

  #notice(message: string): void {
    this.emit('notice', message);
  }

  #ensureHls(): void {
    if (this.#hls && !this.#hls.closed) return;
    if (!canPlayHls(this.video)) {
      this.emit('error', new OnAirClientError('media', 'this browser can play neither low-latency video (WebRTC) nor HLS'));
      return this.#setState('error');
    }
    const url = this.#token ? `${this.#hlsPath}?token=${encodeURIComponent(this.#token)}` : this.#hlsPath;
    this.#hls = new HlsReception(this.video, url, () => this.#afterChange());
    if (this.#preferredLayer !== null) this.#hls.setLevel(this.#preferredLayer);
  }

  #dropHls(): void {
    this.#hls?.close();
    this.#hls = undefined;
  }

  /** Asks the server for the preferred layer; a new consumer already gets the best one by default. */
  async #applyQuality(force: boolean): Promise<void> {
    const video = this.#reception?.video();
    if (!video || video.layers < 2 || (!force && this.#preferredLayer === null)) return;
    const layer = this.#preferredLayer === null ? null : Math.min(this.#preferredLayer, video.layers - 1);
    await this.#signaling.request('consumer:layers', { consumerId: video.consumerId, spatialLayer: layer });
  }

  #dropReception(): void {
    this.#reception?.close();
    this.#reception = undefined;
    this.#currentLayer = null;
  }

  #afterChange(): void {
    this.#attachTracks();
    this.#updateState();
    this.#emitQuality();
  }

  /** Puts the received tracks in the <video>, as a new MediaStream whenever the set of tracks changes. */
  #attachTracks(): void {
    const tracks = this.#reception?.tracks() ?? [];
    const shown = this.video.srcObject instanceof MediaStream ? this.video.srcObject.getTracks() : [];
    if (tracks.length === shown.length && tracks.every((t) => shown.includes(t))) return;
    this.video.srcObject = tracks.length > 0 ? new MediaStream(tracks) : null;
    if (tracks.length > 0) playOrMute(this.video);
  }

  #updateState(): void {
    this.#setState(this.#derivedState());
  }

  #derivedState(): PlayerState {
    if (this.#state === 'error') return 'error';
    const b = this.#broadcast;
    if (!b) {
      if (this.#ended) return 'ended';
      return this.#joined || this.#state === 'waiting' ? 'waiting' : 'connecting';
    }
    if (b.state === 'reconnecting') return 'reconnecting';
    // HLS (also while a switch to WebRTC is being tried) or WebRTC consumers: something plays.
    const receiving = this.#hls?.started === true || (this.#reception?.size ?? 0) > 0;
    if (!this.#joined) return receiving ? 'live' : 'reconnecting';
    return receiving ? 'live' : 'connecting';
  }

  #setState(state: PlayerState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #setViewerCount(count: number): void {
    if (count === this.#viewerCount) return;
    this.#viewerCount = count;
    this.emit('viewerCount', count);
  }

  #emitQuality(): void {
    const q = this.quality;
    const key = `${this.#mode}/${q.names.join(',')}/${q.preferred}/${q.current}`;
    if (key === this.#lastQuality) return;
    this.#lastQuality = key;
    this.emit('quality', q);
  }
}
