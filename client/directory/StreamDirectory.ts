/**
 * The home page's directory (public streams only), optionally filtered by a tag (`/?tag=music`):
 * - live now: each with its live thumbnail (`/hls/:id/thumb.jpg`, a placeholder until there is one), linking
 *   to its watch page;
 * - recent recordings (`GET /api/recordings`): poster, duration, linking to `/video/:id`;
 * - upcoming: streams created and not live yet.
 * It refreshes itself while the page is visible.
 */
import type { PublicStream, Recording, RecordingList, StreamList } from '../../shared/api.js';
import { api } from '../common/api.js';
import { byId, h, replaceChildren } from '../ui/dom.js';
import { formatAgo, formatDuration, formatViewers } from '../ui/format.js';
import { showError } from '../ui/toast.js';
import { tagLink } from '../ui/tagLink.js';

const REFRESH_MS = 15_000;
/** The server writes a live thumbnail every 30 s: a new URL as often makes the browser fetch it again. */
const THUMB_PERIOD_MS = 30_000;

export class StreamDirectory {
  readonly #live = byId('live-streams');
  readonly #recordings = byId('recordings');
  readonly #upcoming = byId('upcoming-streams');
  readonly #upcomingSection = byId('upcoming');
  readonly #filter = byId('tag-filter');
  readonly #tag: string | undefined;

  constructor(tag: string | undefined) {
    this.#tag = tag?.trim().toLowerCase() || undefined;
    if (this.#tag) {
      replaceChildren(this.#filter, 'Tagged ', h('span', { class: 'tag' }, `#${this.#tag}`), ' · ', h('a', { href: '/' }, 'everything'));
    }
    this.#filter.hidden = !this.#tag;
  }

  async load(): Promise<void> {
    try {
      const [live, recordings, upcoming] = await Promise.all([
        api<StreamList>('GET', '/api/streams', { query: { status: 'live', tag: this.#tag, limit: 50 } }),
        api<RecordingList>('GET', '/api/recordings', { query: { tag: this.#tag, limit: 24 } }),
        api<StreamList>('GET', '/api/streams', { query: { status: 'idle', tag: this.#tag, limit: 12 } }),
      ]);
      this.#render(this.#live, live.streams.map((s) => liveCard(s)), 'Nobody is live right now.');
      this.#render(this.#recordings, recordings.recordings.map((r) => recordingCard(r)), 'No recordings yet.');
      this.#render(this.#upcoming, upcoming.streams.map((s) => upcomingCard(s)), '');
      this.#upcomingSection.hidden = upcoming.streams.length === 0;
    } catch (err) {
      showError(err, 'Cannot load the streams');
    }
  }

  startRefreshing(): void {
    setInterval(() => {
      if (document.visibilityState === 'visible') void this.load();
    }, REFRESH_MS);
  }

  #render(list: HTMLElement, cards: HTMLElement[], empty: string): void {
    if (cards.length === 0) return replaceChildren(list, empty ? h('p', { class: 'empty' }, empty) : null);
    replaceChildren(list, ...cards);
  }
}

function liveCard(s: PublicStream): HTMLElement {
  const thumb = `/hls/${encodeURIComponent(s.id)}/thumb.jpg?v=${Math.floor(Date.now() / THUMB_PERIOD_MS)}`;
  return h(
    'article',
    { class: 'card stream-card stream-card--live', 'data-testid': 'live-card', 'data-stream-id': s.id },
    h(
      'a',
      { class: 'stream-card__link', href: `/watch/${encodeURIComponent(s.id)}` },
      picture(thumb, h('span', { class: 'badge badge--live' }, 'Live')),
      h('h3', { class: 'stream-card__title' }, s.title),
    ),
    h('p', { class: 'stream-card__meta' }, `${s.owner.username} · ${formatViewers(s.viewerCount)}`),
    s.description ? h('p', { class: 'stream-card__description' }, s.description) : null,
    tagLinks(s.tags),
  );
}

function recordingCard(r: Recording): HTMLElement {
  return h(
    'article',
    { class: 'card stream-card', 'data-testid': 'recording-card', 'data-recording-id': r.id },
    h(
      'a',
      { class: 'stream-card__link', href: `/video/${encodeURIComponent(r.id)}` },
      picture(sameOriginPath(r.urls.poster), h('span', { class: 'thumb__duration' }, formatDuration(r.durationSeconds * 1000))),
      h('h3', { class: 'stream-card__title' }, r.title),
    ),
    h('p', { class: 'stream-card__meta' }, `${r.owner.username} · ${formatAgo(r.endedAt ?? r.startedAt)}${r.status === 'interrupted' ? ' · interrupted' : ''}`),
    tagLinks(r.tags),
  );
}

function upcomingCard(s: PublicStream): HTMLElement {
  return h(
    'article',
    { class: 'card stream-card' },
    h(
      'a',
      { class: 'stream-card__link', href: `/watch/${encodeURIComponent(s.id)}` },
      h('span', { class: 'badge badge--idle' }, 'Upcoming'),
      h('h3', { class: 'stream-card__title' }, s.title),
    ),
    h('p', { class: 'stream-card__meta' }, s.owner.username),
    s.description ? h('p', { class: 'stream-card__description' }, s.description) : null,
    tagLinks(s.tags),
  );
}

/** A 16:9 picture with an overlay; a placeholder when the image does not exist (yet). */
function picture(src: string, overlay: HTMLElement): HTMLElement {
  const box = h('span', { class: 'thumb' });
  const img = h('img', {
    class: 'thumb__img',
    src,
    alt: '',
    loading: 'lazy',
    decoding: 'async',
    onerror: () => {
      img.remove();
      box.classList.add('thumb--empty');
    },
  });
  box.append(img, overlay);
  return box;
}

function tagLinks(tags: string[]): HTMLElement | null {
  if (tags.length === 0) return null;
  return h('p', { class: 'tags' }, ...tags.map(tagLink));
}

/** The path of one of OnAir's URLs: pictures load from this origin (the pages' CSP allows only it). */
function sameOriginPath(url: string): string {
  const u = new URL(url, location.href);
  return `${u.pathname}${u.search}`;
}
