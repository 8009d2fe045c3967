/**
 * The player's controls around its <video>: play/pause, unmute, the mode menu ("Low latency" = WebRTC,
 * "Standard" = HLS, showing the mode playing now), the quality menu, fullscreen, a status line over the
 * video, and (for the chromeless embed) the live badge and viewer count. It only reads the Player's events
 * and calls its methods.
 */
import { h, replaceChildren } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';
import { formatViewers } from '../ui/format.js';
import { MODE_LABELS, webrtcSupported, type PlaybackMode } from './delivery.js';
import type { Player, PlayerState, QualityInfo } from './Player.js';
import { STATE_LABELS } from './stateLabels.js';

const MODE_HINTS: Record<PlaybackMode, string> = {
  webrtc: 'Low latency (WebRTC): under a second behind the broadcaster',
  hls: 'Standard (HLS): a few seconds behind, for any network',
};

export interface PlayerViewOptions {
  /** Show the live badge and viewer count over the video (the embed has no page around it). */
  overlayInfo?: boolean;
}

export class PlayerView {
  readonly root: HTMLElement;
  readonly #player: Player;
  readonly #status = h('div', { class: 'player__status', 'aria-live': 'polite' });
  readonly #playButton = h('button', { class: 'player__button', type: 'button', 'data-testid': 'play-toggle' }, 'Pause');
  readonly #muteButton = h('button', { class: 'player__button player__button--accent', type: 'button', 'data-testid': 'mute-toggle' }, 'Unmute');
  readonly #mode = h(
    'select',
    { class: 'player__quality player__mode', 'aria-label': 'Playback mode', 'data-testid': 'playback-mode' },
    h('option', { value: 'webrtc', disabled: !webrtcSupported() }, MODE_LABELS.webrtc),
    h('option', { value: 'hls' }, MODE_LABELS.hls),
  );
  readonly #quality = h('select', { class: 'player__quality', 'aria-label': 'Quality', 'data-testid': 'quality', hidden: true });
  readonly #fullscreenButton = h('button', { class: 'player__button', type: 'button' }, 'Fullscreen');
  readonly #badge = h('span', { class: 'badge', 'data-testid': 'player-badge' });
  readonly #viewers = h('span', { class: 'player__viewers' });
  #errorMessage = '';

  constructor(container: HTMLElement, player: Player, opts: PlayerViewOptions = {}) {
    this.#player = player;
    const video = player.video;
    video.classList.add('player__video');
    this.root = h(
      'div',
      { class: 'player', 'data-state': player.state, 'data-testid': 'player' },
      video,
      this.#status,
      opts.overlayInfo ? h('div', { class: 'player__info' }, this.#badge, this.#viewers) : null,
      h(
        'div',
        { class: 'player__controls' },
        this.#playButton,
        this.#muteButton,
        h('span', { class: 'player__spacer' }),
        this.#mode,
        this.#quality,
        this.#fullscreenButton,
      ),
    );
    replaceChildren(container, this.root);

    this.#playButton.addEventListener('click', () => (video.paused ? player.play().catch((err: unknown) => showError(err, 'Cannot play')) : player.pause()));
    this.#muteButton.addEventListener('click', () => player.setMuted(!video.muted).catch((err: unknown) => showError(err, 'No sound')));
    this.#fullscreenButton.addEventListener('click', () => this.#toggleFullscreen());
    this.#mode.addEventListener('change', () => player.setMode(this.#mode.value === 'hls' ? 'hls' : 'webrtc'));
    this.#quality.addEventListener('change', () => {
      const v = this.#quality.value;
      player.setQuality(v === 'auto' ? null : Number(v)).catch((err: unknown) => showError(err, 'Cannot change the quality'));
    });
    video.addEventListener('volumechange', () => this.#renderMute());
    video.addEventListener('play', () => this.#renderPlay());
    video.addEventListener('pause', () => this.#renderPlay());
    video.addEventListener('dblclick', () => this.#toggleFullscreen());
    document.addEventListener('fullscreenchange', () => {
      this.#fullscreenButton.textContent = document.fullscreenElement === this.root ? 'Exit fullscreen' : 'Fullscreen';
    });

    player.on('state', (s) => this.#renderState(s));
    player.on('viewerCount', (n) => (this.#viewers.textContent = formatViewers(n)));
    player.on('quality', (q) => this.#renderQuality(q));
    player.on('mode', (m) => this.#renderMode(m));
    player.on('notice', (message) => showToast(message));
    player.on('error', (err) => {
      this.#errorMessage = err.message;
      this.#renderState(player.state);
    });
    this.#renderState(player.state);
    this.#renderMode(player.mode);
    this.#renderMute();
    this.#renderPlay();
    this.#viewers.textContent = formatViewers(player.viewerCount);
  }

  #renderState(state: PlayerState): void {
    this.root.dataset.state = state;
    const label = STATE_LABELS[state];
    this.#badge.textContent = label.badge;
    this.#badge.className = `badge badge--${state}`;
    this.#status.textContent = state === 'error' && this.#errorMessage ? sentence(this.#errorMessage) : label.message;
    this.#status.hidden = !label.message;
    // Nothing to play or pause before the broadcast is received.
    this.#playButton.hidden = state !== 'live';
  }

  #renderMute(): void {
    const muted = this.#player.video.muted;
    this.#muteButton.textContent = muted ? 'Unmute' : 'Mute';
    this.#muteButton.classList.toggle('player__button--accent', muted);
  }

  #renderPlay(): void {
    this.#playButton.textContent = this.#player.video.paused ? 'Play' : 'Pause';
  }

  #renderMode(mode: PlaybackMode): void {
    this.root.dataset.mode = mode;
    this.#mode.value = mode;
    const reason = this.#player.fallbackReason;
    this.#mode.title = `${MODE_HINTS[mode]}${reason ? ` (Low latency: ${reason === 'full' ? 'full right now' : reason === 'unreachable' ? 'cannot connect from this network' : 'not supported by this browser'})` : ''}`;
  }

  #renderQuality(q: QualityInfo): void {
    const { names } = q;
    this.#quality.hidden = names.length < 2;
    if (names.length < 2) return;
    // Rebuilt only when the choices change, so that an open menu is not closed under the viewer's pointer.
    const key = names.join(',');
    if (this.#quality.dataset.names !== key) {
      this.#quality.dataset.names = key;
      const options = names.map((name, i) => h('option', { value: String(i) }, name)).reverse();
      replaceChildren(this.#quality, h('option', { value: 'auto' }, 'Auto'), ...options);
    }
    const current = q.current === null ? undefined : names[q.current];
    this.#quality.options[0]!.textContent = q.preferred === null && current ? `Auto (${current})` : 'Auto';
    this.#quality.value = q.preferred === null ? 'auto' : String(Math.min(q.preferred, names.length - 1));
  }

  #toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen();
    else this.root.requestFullscreen().catch((err: unknown) => showError(err, 'Fullscreen is not available'));
  }
}

/** "this stream is private" → "This stream is private." */
function sentence(text: string): string {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}
