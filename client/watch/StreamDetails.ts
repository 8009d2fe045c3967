/**
 * The watch page's text around the player: title, description, tags, live badge and viewer count. The count
 * goes once the broadcast ended ("1 watching" under an ended broadcast read as if someone still were).
 */
import type { StreamInfo } from '../../shared/signaling.js';
import type { Player, PlayerState } from '../player/Player.js';
import { STATE_LABELS } from '../player/stateLabels.js';
import { byId, replaceChildren } from '../ui/dom.js';
import { formatViewers } from '../ui/format.js';
import { tagLink } from '../ui/tagLink.js';

export class StreamDetails {
  readonly #title = byId('stream-title');
  readonly #owner = byId('stream-owner');
  readonly #description = byId('stream-description');
  readonly #tags = byId('stream-tags');
  readonly #badge = byId('stream-badge');
  readonly #viewers = byId('viewer-count');
  readonly #watching = byId('viewers');

  constructor(player: Player) {
    player.on('stream', (s) => this.#renderStream(s));
    player.on('state', (s) => this.#renderState(s));
    player.on('viewerCount', (n) => this.#renderViewers(n));
    this.#renderState(player.state);
    this.#renderViewers(player.viewerCount);
  }

  #renderStream(s: StreamInfo): void {
    document.title = `${s.title} · OnAir`;
    this.#title.textContent = s.title;
    this.#owner.textContent = `by ${s.owner}`;
    this.#description.textContent = s.description;
    this.#description.hidden = !s.description;
    replaceChildren(this.#tags, ...s.tags.map(tagLink));
  }

  #renderState(state: PlayerState): void {
    if (state === 'error' && this.#title.textContent === 'Loading…') this.#title.textContent = 'This stream is unavailable';
    this.#badge.textContent = STATE_LABELS[state].badge;
    this.#badge.className = `badge badge--${state}`;
    this.#watching.hidden = state === 'ended' || state === 'error';
  }

  #renderViewers(n: number): void {
    this.#viewers.textContent = String(n);
    this.#viewers.title = `${formatViewers(n)} now`;
  }
}
