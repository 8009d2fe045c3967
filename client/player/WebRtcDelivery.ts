/**
 * The player's WebRTC mode ("Low latency"): the mediasoup-client Device, one Reception per broadcast
 * session (a receive transport and its consumers), the received tracks in the <video>, and the video's
 * simulcast layers as the quality choices.
 *
 * Lifetimes: the Device loads once (from GET /api/media/capabilities while the socket connects when
 * `preload()` is called, else from the capabilities `viewer:join` gave) and lives as long as the player. A
 * Reception lives until the session changes, its transport fails or is lost on the server
 * (`transport:closed`), the socket drops or the player leaves WebRTC (`stop()`). `stop()` bumps a generation:
 * a `sync` that was waiting on the server when it ran closes what it is handed and gives up.
 *
 * The first frame comes fast because everything that can wait on something else runs at once: the server's
 * transport while the Device loads, every missing producer consumed in one negotiation (Reception). A viewer
 * waiting for a broadcast makes its Reception as soon as the broadcast is live without producers yet (the
 * server says so when a broadcast starts, before the publisher's `produce`): its producers then need only
 * `consume`, ICE/DTLS and a keyframe.
 */
import type { Device } from 'mediasoup-client';
import type { BroadcastInfo, TransportInfo } from '../../shared/signaling.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { playOrMute } from './autoplay.js';
import type { Delivery, DeliveryHooks } from './delivery.js';
import { fetchRouterCapabilities, loadDevice, type RouterCapabilities } from './device.js';
import { readPlaybackStats, readVideoStats, type PlaybackStats } from './playbackStats.js';
import { layerNames } from './quality.js';
import { Reception } from './Reception.js';
import { mostUrgent, viewerRecovery } from './recovery.js';
import { markOnce } from './timeline.js';

/** Consecutive `stale_session` answers acted on before waiting for the next `broadcast:producers`. */
const MAX_RENEWALS = 3;

export interface WebRtcDeliveryHooks extends DeliveryHooks {
  /** The server gave a receive transport: WebRTC plays from now on (HLS, if it played, may stop). */
  onTransport(): void;
  /** The Reception was lost (its transport failed, or the server lost it): sync again. */
  onLost(): void;
  /** The transport did not connect in time (UDP blocked on the viewer's network): play HLS. */
  onUnreachable(): void;
}

export interface WebRtcDeliveryOptions {
  signaling: SignalingClient;
  video: HTMLVideoElement;
  connectTimeoutMs: number;
  /** The routers' capabilities from `viewer:join`, for a Device that could not load early. */
  routerCapabilities: () => RouterCapabilities | undefined;
  /** The viewer's choice: a simulcast layer (0 = lowest) or null for automatic. */
  preferred: () => number | null;
  hooks: WebRtcDeliveryHooks;
}

/**
 * How a sync ended. 'ok': receiving what the broadcast sends (or waiting for the next `broadcast:producers`
 * that will say what changed); 'again': sync again now (a stale session was dropped); 'not_live': the server
 * says nobody broadcasts; 'full' / 'unsupported': play HLS.
 */
export type WebRtcSyncResult = 'ok' | 'again' | 'not_live' | 'full' | 'unsupported';

export class WebRtcDelivery implements Delivery {
  readonly mode = 'webrtc';
  readonly #opts: WebRtcDeliveryOptions;
  readonly #signaling: SignalingClient;
  readonly #video: HTMLVideoElement;
  readonly #hooks: WebRtcDeliveryHooks;
  /** Loading (early, or when first needed); resolves to undefined when this browser has no usable WebRTC. */
  #device: Promise<Device | undefined> | undefined;
  #reception: Reception | undefined;
  /** A receive transport the server made with `viewer:join` (one round trip sooner), for the next Reception. */
  #offered: { info: TransportInfo; session: string } | undefined;
  #currentLayer: number | null = null;
  #generation = 0;
  #renewals = 0;
  #closed = false;
  readonly #subscriptions: (() => void)[];

  constructor(opts: WebRtcDeliveryOptions) {
    this.#opts = opts;
    this.#signaling = opts.signaling;
    this.#video = opts.video;
    this.#hooks = opts.hooks;
    const s = opts.signaling;
    this.#subscriptions = [
      // The state follows from the broadcast event that comes with it (producers changed, reconnecting, ended).
      s.on('consumer:closed', ({ consumerId }) => {
        if (this.#reception?.closeConsumer(consumerId)) this.#changed();
      }),
      // The server lost our receive transport (the media worker carrying it died); the broadcast goes on.
      s.on('transport:closed', ({ transportId }) => {
        if (this.#reception?.transportId !== transportId) return;
        this.stop();
        this.#hooks.onLost();
      }),
      s.on('consumer:layerschange', ({ consumerId, spatialLayer }) => {
        if (this.#reception?.video()?.consumerId !== consumerId) return;
        this.#currentLayer = spatialLayer;
        this.#hooks.onChange();
      }),
    ];
  }

  /** Starts loading the Device now, with capabilities fetched over HTTP, while the socket connects. */
  preload(): void {
    if (this.#device) return;
    this.#device = loadDevice(fetchRouterCapabilities());
    this.#device.catch(() => undefined); // a failure is handled where it is awaited (#loadedDevice)
  }

  /**
   * The receive transport `viewer:join` made for the broadcast session `session`: the next Reception of that
   * session uses it instead of asking `transport:create`. Dropped by `stop()` (the socket it belongs to may
   * be gone).
   */
  offerTransport(info: TransportInfo, session: string): void {
    this.#offered = { info, session };
  }

  get receiving(): boolean {
    return (this.#reception?.size ?? 0) > 0;
  }

  quality(): { names: string[]; current: number | null } {
    const layers = this.#reception?.video()?.layers ?? 0;
    return { names: layers > 1 ? layerNames(layers) : [], current: this.#currentLayer };
  }

  /** Asks the server for the viewer's layer now ("automatic" included). */
  applyQuality(): Promise<void> {
    return this.#requestLayer(true);
  }

  async stats(): Promise<PlaybackStats> {
    if (this.#reception) return readPlaybackStats(await this.#reception.getStats(), this.#video);
    return readVideoStats(this.#video);
  }

  /**
   * Makes what is received match the broadcast: the right session, every producer consumed, no stale
   * consumer. `wanted()` says whether the player still wants WebRTC after each wait on the server.
   * Throws what the player should retry later (and 'disconnected' / `connection_closed`: it rejoins).
   */
  async sync(b: BroadcastInfo, wanted: () => boolean): Promise<WebRtcSyncResult> {
    const generation = this.#generation;
    const current = this.#reception;
    if (current && (current.session !== b.session || current.failed || current.closed)) this.stop();
    this.#reception?.retain(new Set(b.producers.map((p) => p.id)));
    const missing = b.producers.filter((p) => !this.#reception?.has(p.id));
    // Nothing to receive; a live broadcast with no producers yet gets its Reception ready for them.
    const prepare = missing.length === 0 && !this.#reception && b.state === 'live' && b.producers.length === 0;
    if (missing.length === 0 && !prepare) {
      this.#attachTracks();
      return 'ok';
    }
    let reception = this.#reception;
    if (!reception) {
      // The server's transport and the Device's capabilities (a local RTCPeerConnection probe) at once.
      const offered = this.#offered?.session === b.session ? this.#offered.info : undefined;
      this.#offered = undefined;
      const creating = offered ? Promise.resolve(offered) : Reception.createTransport(this.#signaling);
      creating.catch(() => undefined); // awaited below, unless the browser cannot do WebRTC
      const device = await this.#loadedDevice();
      if (!device) return 'unsupported';
      let info: TransportInfo;
      try {
        info = await creating;
      } catch (err) {
        switch (viewerRecovery(err)) {
          case 'hls':
            return 'full';
          case 'wait':
            return 'not_live';
          default:
            throw err; // the Player tries again in a moment (or rejoins, when the socket is gone)
        }
      }
      markOnce('transport-ready');
      const opened: Reception = Reception.open(info, this.#signaling, device, b.session, {
        connectTimeoutMs: this.#opts.connectTimeoutMs,
        onFailed: () => {
          if (this.#reception === opened) this.#hooks.onLost();
        },
        onUnreachable: () => {
          if (this.#reception === opened) this.#hooks.onUnreachable();
        },
      });
      if (generation !== this.#generation || this.#closed || !wanted()) {
        opened.close();
        return 'ok';
      }
      this.#reception = reception = opened;
    }
    if (missing.length === 0) return 'ok';
    this.#hooks.onTransport();
    // Every missing producer at once (one SDP negotiation, requests in parallel): the first frame needs
    // the whole set, and each round trip adds to the viewer's wait.
    const receiving = reception;
    const errors = await receiving.consumeAll(missing, () => {
      markOnce('tracks');
      if (generation === this.#generation && !receiving.closed) this.#changed();
    });
    if (generation !== this.#generation || receiving.closed) return 'ok';
    const failure = mostUrgent(errors);
    if (failure) {
      switch (failure.recovery) {
        case 'renew':
          // The broadcast moved to a new session under us: a new transport for it, at once (a few times).
          this.stop();
          return this.#renewals++ < MAX_RENEWALS ? 'again' : 'ok';
        case 'wait':
          return 'not_live';
        case 'hls':
          return 'full';
        case 'stale':
          break; // the next broadcast:producers says what changed
        default:
          throw failure.error; // the Player tries again in a moment (or rejoins, when the socket is gone)
      }
    } else {
      this.#renewals = 0;
    }
    if (missing.some((p) => p.kind === 'video')) await this.#requestLayer(false);
    this.#attachTracks();
    return 'ok';
  }

  stop(): void {
    this.#generation++;
    this.#offered = undefined;
    this.#reception?.close();
    this.#reception = undefined;
    this.#currentLayer = null;
    this.#attachTracks();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#subscriptions.splice(0)) unsubscribe();
    this.stop();
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
    return (this.#device ??= loadDevice(this.#opts.routerCapabilities() ?? {}));
  }

  /** Asks the server for the preferred layer; a new consumer already gets the best one by default. */
  async #requestLayer(force: boolean): Promise<void> {
    const video = this.#reception?.video();
    const preferred = this.#opts.preferred();
    if (!video || video.layers < 2 || (!force && preferred === null)) return;
    const layer = preferred === null ? null : Math.min(preferred, video.layers - 1);
    await this.#signaling.request('consumer:layers', { consumerId: video.consumerId, spatialLayer: layer });
  }

  #changed(): void {
    this.#attachTracks();
    this.#hooks.onChange();
  }

  /** Puts the received tracks in the <video>, as a new MediaStream whenever the set of tracks changes. */
  #attachTracks(): void {
    const tracks = this.#reception?.tracks() ?? [];
    const shown = this.#video.srcObject instanceof MediaStream ? this.#video.srcObject.getTracks() : [];
    if (tracks.length === shown.length && tracks.every((t) => shown.includes(t))) return;
    this.#video.srcObject = tracks.length > 0 ? new MediaStream(tracks) : null;
    if (tracks.length > 0) playOrMute(this.#video);
  }
}
