/**
 * The home page's directory: streams live now, then recent ones (public only), optionally filtered by a
 * tag (`/?tag=music`). Each links to its watch page. The live list refreshes itself.
 */
import type { PublicStream, StreamList } from '../../shared/api.js';
import { api } from '../common/api.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatAgo, formatViewers } from '../ui/format.js';
import { showError } from '../ui/toast.js';

const REFRESH_MS = 15_000;

export class StreamDirectory {
  readonly #live = byId('live-streams');
  readonly #recent = byId('recent-streams');
  readonly #filter = byId('tag-filter');
  readonly #tag: string | undefined;

  constructor(tag: string | undefined) {
    this.#tag = tag?.trim().toLowerCase() || undefined;
    if (this.#tag) {
      replaceChildren(this.#filter, 'Tagged ', h('span', { class: 'tag' }, `#${this.#tag}`), ' · ', h('a', { href: '/' }, 'all streams'));
    }
    this.#filter.hidden = !this.#tag;
  }

  async load(): Promise<void> {
    try {
      const [live, recent] = await Promise.all([
        api<StreamList>('GET', '/api/streams', { query: { status: 'live', tag: this.#tag, limit: 50 } }),
        api<StreamList>('GET', '/api/streams', { query: { tag: this.#tag, limit: 24 } }),
      ]);
      this.#render(this.#live, live.streams, 'Nobody is live right now.');
      this.#render(this.#recent, recent.streams.filter((s) => s.status !== 'live'), 'No streams yet.');
    } catch (err) {
      showError(err, 'Cannot load the streams');
    }
  }

  startRefreshing(): void {
    setInterval(() => {
      if (document.visibilityState === 'visible') void this.load();
    }, REFRESH_MS);
  }

  #render(list: HTMLElement, streams: PublicStream[], empty: string): void {
    if (streams.length === 0) return replaceChildren(list, h('p', { class: 'empty' }, empty));
    replaceChildren(list, ...streams.map((s) => this.#card(s)));
  }

  #card(s: PublicStream): HTMLElement {
    const live = s.status === 'live';
    return h(
      'article',
      { class: `card stream-card${live ? ' stream-card--live' : ''}` },
      h(
        'a',
        { class: 'stream-card__link', href: `/watch/${encodeURIComponent(s.id)}` },
        h('span', { class: `badge badge--${live ? 'live' : s.status}` }, live ? 'Live' : s.status === 'ended' ? 'Ended' : 'Upcoming'),
        h('h3', { class: 'stream-card__title' }, s.title),
      ),
      h(
        'p',
        { class: 'stream-card__meta' },
        `${s.owner.username} · `,
        live ? formatViewers(s.viewerCount) : formatAgo(s.endedAt ?? s.updatedAt),
      ),
      s.description ? h('p', { class: 'stream-card__description' }, s.description) : null,
      s.tags.length ? h('p', { class: 'tags' }, ...s.tags.map((t) => h('a', { class: 'tag', href: `/?tag=${encodeURIComponent(t)}` }, `#${t}`))) : null,
    );
  }
}
