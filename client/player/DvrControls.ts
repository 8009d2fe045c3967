/**
 * Rewind (DVR) controls of the live player: "Back 10 s", a seek bar over what the live playlist lists (the
 * server lists ONAIR_DVR_MINUTES back: server/llhls/DvrWindow.ts), the time behind live, and "Live".
 *
 * - Standard (HLS) mode: seeking moves hls.js within the <video>'s seekable range (hls.js sets it from the
 *   live playlist); "Live" jumps back to the live edge.
 * - Low latency (WebRTC) mode has no past: "Back" switches to HLS and, once HLS plays, seeks back from its
 *   live edge; "Live" then switches back to WebRTC (the viewer came from there).
 * A mode the viewer picks from the menu ends that round trip: "Live" then stays in HLS.
 *
 * Lifetime: made by PlayerView with the player; its listeners live as long as the <video> and the player.
 */
import { h } from '../ui/dom.js';
import type { Player } from './Player.js';

/** One press of "Back". */
export const BACK_SECONDS = 10;
/** Further than this behind the newest media counts as rewound ("Live" shown); hls.js plays ~1-3 s behind. */
const BEHIND_SECONDS = 6;
/** Where "Live" lands in HLS: this far before the newest media, as hls.js would start. */
const LIVE_OFFSET_SECONDS = 2;

export class DvrControls {
  readonly root: HTMLElement;
  readonly #player: Player;
  readonly #back = h('button', { class: 'player__button', type: 'button', 'data-testid': 'dvr-back', title: `Back ${BACK_SECONDS} seconds` }, `Back ${BACK_SECONDS} s`);
  readonly #seek = h('input', { class: 'player__dvr-seek', type: 'range', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Rewind', 'data-testid': 'dvr-seek' });
  readonly #behind = h('span', { class: 'player__dvr-behind', 'data-testid': 'dvr-behind' });
  readonly #live = h('button', { class: 'player__button player__button--accent', type: 'button', 'data-testid': 'dvr-live', hidden: true }, 'Live');
  /** Seconds to seek back once HLS plays (asked from WebRTC mode). */
  #pendingBack = 0;
  /** The viewer left WebRTC to rewind: "Live" goes back to it. */
  #fromWebrtc = false;
  /** The mode switch this class asked for (its 'mode' event must not end the round trip). */
  #switching = false;

  constructor(player: Player) {
    this.#player = player;
    this.root = h('span', { class: 'player__dvr', 'data-testid': 'dvr' }, this.#back, this.#seek, this.#behind, this.#live);
    const video = player.video;
    this.#back.addEventListener('click', () => this.#goBack(BACK_SECONDS));
    this.#live.addEventListener('click', () => this.#goLive());
    this.#seek.addEventListener('input', () => {
      const r = this.#range();
      if (r) this.#seekTo(r.start + Number(this.#seek.value));
    });
    for (const e of ['timeupdate', 'seeked', 'playing', 'progress', 'durationchange']) video.addEventListener(e, () => this.#update());
    player.on('mode', (mode) => {
      if (!this.#switching) this.#fromWebrtc = false;
      if (mode === 'webrtc') this.#pendingBack = 0;
      this.#update();
    });
    player.on('state', () => this.#update());
    this.#update();
  }

  #range(): { start: number; end: number } | undefined {
    const s = this.#player.video.seekable;
    if (this.#player.mode !== 'hls' || s.length === 0) return undefined;
    const start = s.start(0);
    const end = s.end(s.length - 1);
    return Number.isFinite(end) && end > start ? { start, end } : undefined;
  }

  #seekTo(t: number): void {
    const r = this.#range();
    if (!r) return;
    this.#player.video.currentTime = Math.min(Math.max(t, r.start + 0.1), r.end - 0.1);
  }

  #goBack(seconds: number): void {
    if (this.#player.mode === 'webrtc') {
      this.#pendingBack += seconds;
      this.#fromWebrtc = true;
      this.#setMode('hls');
      return this.#update();
    }
    if (this.#pendingBack > 0) this.#pendingBack += seconds;
    else this.#seekTo(this.#player.video.currentTime - seconds);
  }

  #goLive(): void {
    this.#pendingBack = 0;
    if (this.#fromWebrtc) {
      this.#fromWebrtc = false;
      this.#setMode('webrtc');
      return this.#update();
    }
    const r = this.#range();
    if (r) this.#seekTo(r.end - LIVE_OFFSET_SECONDS);
  }

  #setMode(mode: 'hls' | 'webrtc'): void {
    this.#switching = true;
    try {
      this.#player.setMode(mode);
    } finally {
      this.#switching = false;
    }
  }

  #update(): void {
    const live = this.#player.state === 'live';
    this.root.hidden = !live;
    if (!live) return;
    const video = this.#player.video;
    const r = this.#range();
    // A seek asked from WebRTC mode: applied once HLS plays and knows its range.
    if (this.#pendingBack > 0 && r && video.readyState >= 3 && !video.seeking) {
      const back = this.#pendingBack;
      this.#pendingBack = 0;
      this.#seekTo(video.currentTime - back);
    }
    this.#seek.hidden = !r;
    const behind = r ? Math.max(0, r.end - video.currentTime) : 0;
    if (r) {
      this.#seek.max = String(Math.floor(r.end - r.start));
      this.#seek.value = String(Math.floor(video.currentTime - r.start));
    }
    const rewound = behind > BEHIND_SECONDS || this.#pendingBack > 0;
    this.#behind.textContent = rewound ? `−${clock(behind)}` : '';
    this.#live.hidden = !rewound && !this.#fromWebrtc;
    this.root.dataset.rewound = String(rewound);
  }
}

/** 75 → "1:15". */
const clock = (seconds: number): string => {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
