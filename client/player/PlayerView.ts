/**
 * The player's controls around its <video>: play/pause, unmute, the mode menu ("Low latency" = WebRTC,
 * "Standard" = HLS, showing the mode playing now), the quality menu, fullscreen, a status line over the
 * video, and (for the chromeless embed) the live badge and viewer count. It only reads the Player's events
 * and calls its methods.
 *
 * The player starts muted (browsers refuse sound before a gesture) and its controls show on hover only: a
 * first-time viewer did not know there was sound. So a "Tap to unmute" button sits over the video, always
 * visible, until the viewer's first interaction with the page (tapping it unmutes; any other click or key
 * means they have seen it). Once the broadcast ended, the live controls (play, unmute, mode, quality) go: there
 * is nothing live left to control; `showEndedLink` offers a way on (the recording) in the status line.
 */
import { h, replaceChildren } from '../ui/dom.js';
import { showError, showToast } from '../ui/toast.js';
import { formatViewers } from '../ui/format.js';
import { MODE_LABELS, webrtcSupported, type PlaybackMode } from './delivery.js';
import { DvrControls } from './DvrControls.js';
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
  readonly #tapToUnmute = h('button', { class: 'player__unmute', type: 'button', 'data-testid': 'tap-to-unmute', hidden: true }, 'Tap to unmute');
  readonly #statusText = h('span');
  readonly #endedLink = h('a', { class: 'player__ended-link button button--primary', 'data-testid': 'ended-link', hidden: true });
  /** The viewer has clicked, tapped or typed in the page: the unmute prompt has done its job. */
  #interacted = false;
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
      this.#tapToUnmute,
      opts.overlayInfo ? h('div', { class: 'player__info' }, this.#badge, this.#viewers) : null,
      h(
        'div',
        { class: 'player__controls' },
        this.#playButton,
        this.#muteButton,
        // Rewind (DVR): back, a seek bar, "Live" (client/player/DvrControls.ts).
        new DvrControls(player).root,
        h('span', { class: 'player__spacer' }),
        this.#mode,
        this.#quality,
        this.#fullscreenButton,
      ),
    );
    this.#status.append(this.#statusText, this.#endedLink);
    replaceChildren(container, this.root);

    this.#tapToUnmute.addEventListener('click', () => {
      this.#interacted = true;
      this.#renderMute();
      player.setMuted(false).catch((err: unknown) => showError(err, 'No sound'));
    });
    // Capture phase: seen before any control's own handler, whatever it is.
    const firstInteraction = (e: Event) => {
      if (e.target === this.#tapToUnmute) return;
      this.#interacted = true;
      this.#renderMute();
      document.removeEventListener('pointerdown', firstInteraction, true);
      document.removeEventListener('keydown', firstInteraction, true);
    };
    document.addEventListener('pointerdown', firstInteraction, true);
    document.addEventListener('keydown', firstInteraction, true);

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
    this.#statusText.textContent = state === 'error' && this.#errorMessage ? sentence(this.#errorMessage) : label.message;
    this.#status.hidden = !label.message;
    // Nothing to play or pause before the broadcast is received.
    this.#playButton.hidden = state !== 'live';
    // An ended broadcast has no sound, mode or quality to choose (the stylesheet hides the whole bar).
    const ended = state === 'ended';
    this.#muteButton.hidden = ended;
    this.#viewers.hidden = ended;
    this.#mode.hidden = ended;
    this.#quality.hidden = ended || this.#player.quality.names.length < 2;
    if (!ended) this.#endedLink.hidden = true;
    this.#renderMute();
  }

  /** A way on from an ended broadcast (the recording), shown under "This broadcast has ended." until it goes live again. */
  showEndedLink(href: string, text: string, target?: string): void {
    this.#endedLink.href = href;
    this.#endedLink.textContent = text;
    if (target) (this.#endedLink.target = target), (this.#endedLink.rel = 'noopener');
    this.#endedLink.hidden = this.#player.state !== 'ended';
  }

  #renderMute(): void {
    const muted = this.#player.video.muted;
    this.#muteButton.textContent = muted ? 'Unmute' : 'Mute';
    this.#muteButton.classList.toggle('player__button--accent', muted);
    // Over live video only: over "Waiting for the broadcast…" it would promise sound that is not there yet.
    this.#tapToUnmute.hidden = !muted || this.#interacted || this.#player.state !== 'live';
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
    this.#quality.hidden = names.length < 2 || this.#player.state === 'ended';
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
