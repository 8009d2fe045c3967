/**
 * The live player of /watch and /embed: joins a stream's audience (`viewer:join`), receives the broadcast's
 * producers through a Reception (one receive transport and its consumers) and shows them in a <video>.
 *
 * States: 'connecting' (joining, or receiving the first tracks), 'waiting' (nobody broadcasts yet: it starts
 * by itself on `broadcast:producers`), 'live', 'reconnecting' (the broadcaster or our socket dropped),
 * 'ended' (`broadcast:ended`; a new broadcast of the same stream still starts by itself), 'error' (the
 * stream cannot be watched: missing, private without a valid token, unsupported browser).
 *
 * Every change (join, server events, a failed transport) only records what the broadcast is now; one
 * serialized sync loop then makes the Reception match it, so events arriving mid-way are never lost.
 */
import { Device, type types } from 'mediasoup-client';
import type { BroadcastInfo, StreamInfo } from '../../shared/signaling.js';
import { errorCode, OnAirClientError, toError, type ClientErrorCode } from '../common/errors.js';
import { TypedEmitter } from '../common/TypedEmitter.js';
import { SignalingClient } from '../signaling/SignalingClient.js';
import { SignalingRequestError } from '../signaling/SignalingRequestError.js';
import { readPlaybackStats, type PlaybackStats } from './playbackStats.js';
import { Reception } from './Reception.js';

export type PlayerState = 'connecting' | 'waiting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface QualityInfo {
  /** Simulcast layers of the video (0: no video yet, 1: no choice). */
  layers: number;
  /** The viewer's choice: a layer index (0 = lowest) or null for automatic. */
  preferred: number | null;
  /** The layer being received now, when the server said. */
  current: number | null;
}

export type PlayerEvents = {
  state: [PlayerState];
  stream: [StreamInfo];
  viewerCount: [number];
  quality: [QualityInfo];
  playing: [];
  paused: [];
  error: [Error];
};

export interface PlayerOptions {
  streamId: string;
  /** Viewer token of a private stream. */
  token?: string | undefined;
  video: HTMLVideoElement;
  signaling?: SignalingClient;
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
  readonly #device = new Device();
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
  get quality(): QualityInfo {
    return { layers: this.#reception?.video()?.layers ?? 0, preferred: this.#preferredLayer, current: this.#currentLayer };
  }

  start(): void {
    const s = this.#signaling;
    const mine = (e: { streamId: string }) => e.streamId === this.streamId;
    const onVideo = (event: string, fn: () => void) => {
      this.video.addEventListener(event, fn);
      this.#subscriptions.push(() => this.video.removeEventListener(event, fn));
    };
    onVideo('playing', () => this.emit('playing'));
    onVideo('pause', () => this.emit('paused'));
    this.#subscriptions.push(
      s.on('connect', () => void this.#join()),
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
      s.on('consumer:layerschange', ({ consumerId, spatialLayer }) => {
        if (this.#reception?.video()?.consumerId !== consumerId) return;
        this.#currentLayer = spatialLayer;
        this.#emitQuality();
      }),
    );
    s.connect();
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
    if (muted || !this.video.paused || !this.video.srcObject) return;
    try {
      await this.video.play();
    } catch (err) {
      this.video.muted = true;
      await this.video.play().catch(() => undefined);
      throw new OnAirClientError('media', 'the browser allows sound only after a click in the player', { cause: err });
    }
  }

  /** A fixed simulcast layer (0 = lowest), or null to let the server choose by bandwidth. */
  async setQuality(layer: number | null): Promise<void> {
    this.#preferredLayer = layer;
    this.#emitQuality();
    await this.#applyQuality(true);
  }

  async stats(): Promise<PlaybackStats> {
    return readPlaybackStats(await this.#reception?.getStats(), this.video);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const unsubscribe of this.#subscriptions.splice(0)) unsubscribe();
    this.#dropReception();
    this.video.srcObject = null;
    this.#signaling.close();
    this.removeAllListeners();
  }

  async #join(): Promise<void> {
    clearTimeout(this.#retryTimer);
    try {
      const joined = await this.#signaling.request('viewer:join', { streamId: this.streamId, ...(this.#token ? { token: this.#token } : {}) });
      if (this.#closed) return;
      if (!this.#device.loaded) await this.#device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as unknown as types.RtpCapabilities });
      this.#stream = joined.stream;
      this.emit('stream', joined.stream);
      this.#setViewerCount(joined.viewerCount);
      this.#broadcast = joined.broadcast;
      this.#ended = !joined.broadcast && joined.stream.status === 'ended';
      this.#joined = true;
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

  /** Makes the Reception match the broadcast: right session, every producer consumed, no stale consumer. */
  async #sync(): Promise<void> {
    const b = this.#broadcast;
    const generation = this.#generation;
    if (!b) {
      this.#dropReception();
      return this.#afterChange();
    }
    const current = this.#reception;
    if (current && (current.session !== b.session || current.failed || current.closed)) this.#dropReception();
    this.#reception?.retain(new Set(b.producers.map((p) => p.id)));
    const missing = b.producers.filter((p) => !this.#reception?.has(p.id));
    if (missing.length > 0) {
      let reception = this.#reception;
      if (!reception) {
        reception = await Reception.open(this.#signaling, this.#device, b.session, () => this.#scheduleSync());
        if (generation !== this.#generation || this.#closed) return reception.close();
        this.#reception = reception;
      }
      for (const producer of missing) {
        if (generation !== this.#generation || reception.closed) return;
        try {
          await reception.consume(producer);
        } catch (err) {
          if (STALE.has(errorCode(err))) continue;
          throw err;
        }
        this.#afterChange();
        if (producer.kind === 'video') await this.#applyQuality(false);
      }
    }
    this.#afterChange();
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
    if (tracks.length === 0) return;
    this.video.play().catch((err: unknown) => {
      // Sound without a user gesture is refused: play muted; the unmute button is there for the viewer.
      if (err instanceof DOMException && err.name === 'NotAllowedError' && !this.video.muted) {
        this.video.muted = true;
        return this.video.play().catch(() => undefined);
      }
      return undefined; // AbortError: a newer srcObject took over
    });
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
    if (!this.#joined || b.state === 'reconnecting') return 'reconnecting';
    return this.#reception && this.#reception.size > 0 ? 'live' : 'connecting';
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
    const key = `${q.layers}/${q.preferred}/${q.current}`;
    if (key === this.#lastQuality) return;
    this.#lastQuality = key;
    this.emit('quality', q);
  }
}
