/**
 * The chat of a recording on /video/:id, replayed in step with the video: the messages of the recorded
 * session (between its start and end) are loaded once, page by page over GET /api/streams/:id/chat (times
 * are unique within a stream, so the last message's time is an exact cursor), and each is shown once the
 * video's position reaches the moment it was sent (replayClock.ts). Seeking back hides the later ones.
 */
import type { Recording } from '../../shared/api.js';
import { CHAT_PAGE_MAX, type ChatHistory, type ChatMessage } from '../../shared/chat.js';
import { api } from '../common/api.js';
import { h } from '../ui/dom.js';
import { messageItem } from './messageItem.js';
import { replayMoment, type ReplayTimes } from './replayClock.js';

/** Most messages a replay loads (a few hours of a busy chat). */
const MAX_MESSAGES = 20_000;

export async function loadRecordingChat(rec: Pick<Recording, 'streamId' | 'startedAt' | 'endedAt' | 'durationSeconds'>, token: string | undefined): Promise<ChatMessage[]> {
  const start = Date.parse(rec.startedAt);
  const end = rec.endedAt ? Date.parse(rec.endedAt) : start + rec.durationSeconds * 1000;
  const out: ChatMessage[] = [];
  let after = new Date(start - 1).toISOString();
  const before = new Date(end + 1).toISOString();
  while (out.length < MAX_MESSAGES) {
    const page = await api<ChatHistory>('GET', `/api/streams/${encodeURIComponent(rec.streamId)}/chat`, { query: { after, before, limit: CHAT_PAGE_MAX, token } });
    out.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) break;
    after = page.messages.at(-1)!.at;
  }
  return out;
}

export class ChatReplay {
  readonly element: HTMLElement;
  readonly #list: HTMLOListElement;
  readonly #messages: ChatMessage[];
  /** Messages shown: the first `#shown` of `#messages`. */
  #shown = 0;

  constructor(root: HTMLElement, video: HTMLVideoElement, messages: ChatMessage[], times: ReplayTimes) {
    this.#messages = messages;
    this.#list = h('ol', { class: 'chat__list', 'data-testid': 'chat-messages', 'aria-live': 'off' });
    const empty = h('p', { class: 'muted' }, 'Nobody chatted during this broadcast.');
    this.element = h('section', { class: 'chat card', 'aria-label': 'Chat replay', 'data-testid': 'chat-replay' }, h('header', { class: 'chat__head' }, h('h2', {}, 'Chat replay')), messages.length ? this.#list : empty);
    root.replaceChildren(this.element);
    root.hidden = false;
    const sync = () => this.showUntil(replayMoment(times, video.currentTime));
    for (const e of ['timeupdate', 'seeking', 'seeked', 'loadedmetadata']) video.addEventListener(e, sync);
    sync();
  }

  /** Shows exactly the messages sent up to `ms` (epoch ms). */
  showUntil(ms: number): void {
    let n = 0;
    while (n < this.#messages.length && Date.parse(this.#messages[n]!.at) <= ms) n++;
    if (n < this.#shown) {
      for (let i = this.#shown; i > n; i--) this.#list.lastElementChild?.remove();
    } else {
      for (let i = this.#shown; i < n; i++) this.#list.append(messageItem(this.#messages[i]!, { showTime: true }));
    }
    if (n !== this.#shown) this.#list.scrollTop = this.#list.scrollHeight;
    this.#shown = n;
  }
}
