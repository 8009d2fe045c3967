/**
 * The live player of /watch and /embed: joins a stream's audience (`viewer:join`) and shows the broadcast in
 * a <video>, in one of two modes (delivery.ts), each a Delivery of its own: 'webrtc' (WebRtcDelivery: the
 * Device, a receive transport and its consumers, simulcast layers) and 'hls' (HlsDelivery: the stream's
 * live HLS through hls.js, its renditions). The Player joins, keeps the state and chooses the mode; the
 * deliveries receive. It starts with WebRTC and falls back to HLS by itself when the server says the stream
 * has all the WebRTC viewers it takes (`delivery.webrtc: false` at join, or `viewers_full` from
 * transport:create), when the transport does not connect within WEBRTC_CONNECT_TIMEOUT_MS, or when the
 * browser has no WebRTC. The viewer may switch (setMode); a refused switch to WebRTC leaves HLS playing,
 * with a notice. The socket stays joined in both modes: it gives the states, the viewer count and the
 * stream's details.
 *
 * States: 'connecting' (joining, or receiving the first tracks), 'waiting' (nobody broadcasts yet: it starts
 * by itself on `broadcast:producers`), 'live', 'reconnecting' (the broadcaster or our socket dropped),
 * 'ended' (`broadcast:ended`; a new broadcast of the same stream still starts by itself), 'error' (the
 * stream cannot be watched: missing, private without a valid token, unsupported browser).
 *
 * Every change (join, server events, a failed transport) only records what the broadcast is now; one
 * serialized sync loop then makes the deliveries match it, so events arriving mid-way are never lost.
 * Failed requests are acted on by their reason (recovery.ts): `stale_session` → a new transport,
 * `not_live` → wait for the broadcast, `viewers_full` → HLS.
 */
import type { BroadcastInfo, JoinResult, StreamInfo } from '../../shared/signaling.js';
import { errorCode, OnAirClientError, toError, type ClientErrorCode } from '../common/errors.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { SignalingRequestError } from '../signaling/SignalingRequestError.js';
import {
  fallbackMessage,
  initialMode,
  WEBRTC_CONNECT_TIMEOUT_MS,
  webrtcSupported,
  type Delivery,
  type FallbackReason,
  type ModePreference,
  type PlaybackMode,
} from './delivery.js';
import { HlsDelivery } from './HlsDelivery.js';
import type { PlaybackStats } from './playbackStats.js';
import type { QualityInfo } from './quality.js';
import { viewerRecovery } from './recovery.js';
import { markOnce } from './timeline.js';
import { WebRtcDelivery } from './WebRtcDelivery.js';

export type { QualityInfo } from './quality.js';

export type PlayerState = 'connecting' | 'waiting' | 'live' | 'reconnecting' | 'ended' | 'error';

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
/** Join errors that trying again will not fix. */
const FATAL_JOIN: ReadonlySet<ClientErrorCode | undefined> = new Set(['not_found', 'unauthorized', 'forbidden', 'validation_failed', 'bad_request']);

export class Player extends TypedEmitter<PlayerEvents> {
  readonly streamId: string;
  readonly video: HTMLVideoElement;
  readonly #token: string | undefined;
  readonly #signaling: SignalingClient;
  readonly #webrtc: WebRtcDelivery;
  readonly #hls: HlsDelivery;
  #routerRtpCapabilities: JoinResult['routerRtpCapabilities'] | undefined;
  #hlsPath: string;
  #mode: PlaybackMode;
  /** The viewer asked for WebRTC (menu or `?mode=webrtc`): tell them if they do not get it. */
  #webrtcRequested: boolean;
  #fallback: FallbackReason | null = null;
  #state: PlayerState = 'connecting';
  #stream: StreamInfo | undefined;
  #viewerCount = 0;
  #joined = false;
  /** The broadcast as the server last described it; null when nobody broadcasts. */
  #broadcast: BroadcastInfo | null = null;
  #ended = false;
  /** The viewer's quality: an index into `quality.names` of the current mode, or null for automatic. */
  #preferredLayer: number | null = null;
  #lastQuality = '';
  #syncing = false;
  #dirty = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #subscriptions: (() => void)[] = [];
  #closed = false;
  /** The HLS viewer session when the socket has no id (16 random bytes, hex). */
  readonly #ownSession = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

  constructor(opts: PlayerOptions) {
    super();
    this.streamId = opts.streamId;
    this.video = opts.video;
    this.#token = opts.token || undefined;
    this.#signaling = opts.signaling ?? new SignalingClient();
    this.#hlsPath = `/hls/${encodeURIComponent(this.streamId)}/master.m3u8`;
    const preference = opts.mode ?? 'auto';
    this.#mode = initialMode(preference, webrtcSupported());
    this.#webrtcRequested = preference === 'webrtc';
    if (this.#mode === 'hls' && preference !== 'hls') this.#fallback = 'unsupported';
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
    const preferred = () => this.#preferredLayer;
    this.#webrtc = new WebRtcDelivery({
      signaling: this.#signaling,
      video: this.video,
      connectTimeoutMs: opts.webrtcConnectTimeoutMs ?? WEBRTC_CONNECT_TIMEOUT_MS,
      routerCapabilities: () => this.#routerRtpCapabilities,
      preferred,
      hooks: {
        onChange: () => this.#afterChange(),
        // WebRTC is granted: HLS (if the viewer is switching from it) stops now.
        onTransport: () => this.#hls.stop(),
        onLost: () => {
          this.#afterChange();
          this.#scheduleSync();
        },
        onUnreachable: () => this.#fallBack('unreachable'),
      },
    });
    this.#hls = new HlsDelivery({
      video: this.video,
      url: () => this.#hlsUrl(),
      preferred,
      hooks: { onChange: () => this.#afterChange() },
    });
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
    return { ...this.#delivery().quality(), preferred: this.#preferredLayer };
  }

  start(): void {
    markOnce('start');
    const s = this.#signaling;
    // The socket first (the first frame waits on its round trips), then the Device (its module and a local
    // RTCPeerConnection probe: main-thread work that the socket's replies would otherwise queue behind).
    // Handlers are subscribed below in this same task: the 'connect' cannot come before them.
    s.connect();
    if (this.#mode === 'webrtc') this.#webrtc.preload();
    else this.#hls.preload();
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
    );
    if (this.#fallback === 'unsupported' && this.#webrtcRequested) this.#notice(fallbackMessage('unsupported'));
    // A socket handed over already connected has had its 'connect'.
    if (s.connected) void this.#join();
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
    if (muted || !this.video.paused || !(this.video.srcObject || this.#hls.active)) return;
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
    const delivery = this.#delivery();
    if (delivery === this.#hls) await delivery.applyQuality();
    this.#emitQuality();
    if (delivery === this.#webrtc) await delivery.applyQuality();
  }

  /** What is received: from the WebRTC transport's stats, or (HLS) from the <video> element alone. */
  stats(): Promise<PlaybackStats> {
    return this.#delivery().stats();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const unsubscribe of this.#subscriptions.splice(0)) unsubscribe();
    this.#webrtc.close();
    this.#hls.close();
    this.video.srcObject = null;
    this.#signaling.close();
    this.removeAllListeners();
  }

  /**
   * The live master playlist's URL, with the viewer token of a private stream and the HLS viewer session
   * (server/hls/HlsViewerSessions.ts): this player's socket id, so that the server counts it once (the
   * joined socket already is), as an HLS viewer. Without a socket now, an id of its own.
   */
  #hlsUrl(): string {
    const q = new URLSearchParams();
    if (this.#token) q.set('token', this.#token);
    q.set('session', this.#signaling.id ?? this.#ownSession);
    return `${this.#hlsPath}?${q.toString()}`;
  }

  #delivery(): Delivery {
    return this.#mode === 'webrtc' ? this.#webrtc : this.#hls;
  }

  async #join(): Promise<void> {
    clearTimeout(this.#retryTimer);
    try {
      // In WebRTC mode the join also brings the receive transport when the stream is live (one round trip less).
      const joined = await this.#signaling.request('viewer:join', {
        streamId: this.streamId,
        ...(this.#token ? { token: this.#token } : {}),
        ...(this.#mode === 'webrtc' ? { recvTransport: true } : {}),
      });
      if (this.#closed) return;
      markOnce('joined');
      if (joined.recvTransport && joined.broadcast) this.#webrtc.offerTransport(joined.recvTransport, joined.broadcast.session);
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
      if (viewerRecovery(err) === 'reconnect') return; // the next 'connect' joins again
      this.emit('error', toError(err));
      if (!(err instanceof SignalingRequestError) || FATAL_JOIN.has(errorCode(err))) return this.#setState('error');
      this.#retryTimer = setTimeout(() => void this.#join(), RETRY_MS);
    }
  }

  /** WebRTC needs the socket; HLS plays on (the next join says whether the broadcast is still on). */
  #onDisconnect(): void {
    this.#joined = false;
    this.#webrtc.stop();
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
        this.#webrtc.stop();
        this.#afterChange();
        if (viewerRecovery(err) === 'reconnect') return; // rejoined on 'connect'
        this.emit('error', toError(err));
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#scheduleSync(), RETRY_MS);
      } finally {
        this.#syncing = false;
      }
    })();
  }

  /**
   * Makes what is received match the broadcast and the mode: nothing without a broadcast; HLS in 'hls'
   * mode; in 'webrtc' mode what WebRtcDelivery.sync receives (HLS plays on until WebRTC is granted).
   */
  async #sync(): Promise<void> {
    const b = this.#broadcast;
    if (!b) {
      this.#webrtc.stop();
      this.#hls.stop();
      return this.#afterChange();
    }
    if (this.#mode === 'hls') {
      this.#webrtc.stop();
      if (!this.#hls.play()) {
        this.emit('error', new OnAirClientError('media', 'this browser can play neither low-latency video (WebRTC) nor HLS'));
        return this.#setState('error');
      }
      return this.#afterChange();
    }
    const result = await this.#webrtc.sync(b, () => this.#mode === 'webrtc' && !this.#closed);
    switch (result) {
      case 'full':
      case 'unsupported':
        return this.#fallBack(result);
      case 'again':
        this.#dirty = true;
        break;
      case 'not_live':
        // Nobody broadcasts after all: wait for the next broadcast:producers (unless one came meanwhile).
        if (this.#broadcast === b) this.#broadcast = null;
        this.#dirty = true;
        break;
      case 'ok':
        if (b.producers.length === 0) this.#hls.stop();
        break;
    }
    this.#afterChange();
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
    void this.#hls.applyQuality();
    this.emit('mode', mode);
    this.#emitQuality();
  }

  #notice(message: string): void {
    this.emit('notice', message);
  }

  #afterChange(): void {
    this.#updateState();
    this.#emitQuality();
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
    const receiving = this.#hls.receiving || this.#webrtc.receiving;
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
