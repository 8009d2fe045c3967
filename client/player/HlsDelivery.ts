/**
 * The player's HLS mode ("Standard"): the stream's live HLS ladder in the <video> through an HlsReception
 * (hls.js, or the browser's own HLS), and its renditions as the quality choices. `play()` starts a
 * reception when none runs (it waits for the first segments by itself); `stop()` drops it; the renditions
 * are offered once hls.js has read the master playlist.
 */
import { canPlayHls, preloadHls } from '../hls/attachHls.js';
import type { Delivery, DeliveryHooks } from './delivery.js';
import { HlsReception } from './HlsReception.js';
import { readVideoStats, type PlaybackStats } from './playbackStats.js';

export interface HlsDeliveryOptions {
  video: HTMLVideoElement;
  /** The master playlist's URL (with the viewer token of a private stream), read at each start. */
  url: () => string;
  /** The viewer's choice: a rendition (0 = lowest) or null for automatic. */
  preferred: () => number | null;
  hooks: DeliveryHooks;
}

export class HlsDelivery implements Delivery {
  readonly mode = 'hls';
  readonly #opts: HlsDeliveryOptions;
  #reception: HlsReception | undefined;
  #closed = false;

  constructor(opts: HlsDeliveryOptions) {
    this.#opts = opts;
  }

  get receiving(): boolean {
    return this.#reception?.started === true;
  }
  /** A reception runs (it may still wait for the first segments). */
  get active(): boolean {
    return this.#reception !== undefined && !this.#reception.closed;
  }

  /** Loads hls.js ahead of play() (a player that starts in this mode). */
  preload(): void {
    preloadHls();
  }

  /** Plays the live HLS (from when its first segments exist); false when this browser cannot play HLS. */
  play(): boolean {
    if (this.#closed) return true;
    if (this.#reception && !this.#reception.closed) return true;
    if (!canPlayHls(this.#opts.video)) return false;
    this.#reception = new HlsReception(this.#opts.video, this.#opts.url(), () => this.#opts.hooks.onChange());
    const preferred = this.#opts.preferred();
    if (preferred !== null) this.#reception.setLevel(preferred);
    return true;
  }

  quality(): { names: string[]; current: number | null } {
    const heights = this.#reception?.heights() ?? [];
    return { names: heights.length > 1 ? heights.map((h) => `${h}p`) : [], current: this.#reception?.currentLevel() ?? null };
  }

  applyQuality(): Promise<void> {
    this.#reception?.setLevel(this.#opts.preferred());
    return Promise.resolve();
  }

  stats(): Promise<PlaybackStats> {
    const latency = this.#reception?.latency();
    return Promise.resolve({ ...readVideoStats(this.#opts.video), ...(latency ? { liveLatency: latency.seconds, liveLatencyTarget: latency.target } : {}) });
  }

  stop(): void {
    this.#reception?.close();
    this.#reception = undefined;
  }

  close(): void {
    this.#closed = true;
    this.stop();
  }
}
