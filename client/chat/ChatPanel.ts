/**
 * The live chat of a watch page (and of an embed with `?chat=1`), over the page's signaling socket (the one
 * the player uses). It joins on every connect (socket.io reconnects by itself), shows the latest messages,
 * then each new one once (messages are kept by id: the sender's own comes both in the ack and in the room),
 * removes deleted ones, and shows the chat's state (off, slow mode, your timeout or ban).
 *
 * Text only: messages are built with textContent (messageItem.ts). At most MAX_SHOWN messages stay on the
 * page. Anonymous viewers pick a name first (kept in localStorage); signed-in ones chat as their account.
 */
import { CHAT_MAX_CHARS, CHAT_NAME_MAX, type ChatJoinResult, type ChatMessage, type ChatSettings } from '../../shared/chat.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { SignalingRequestError } from '../signaling/SignalingRequestError.js';
import { h } from '../ui/dom.js';
import { accountToken, chatSession, storedName, storeName } from './chatIdentity.js';
import { messageItem, type ModerationActions } from './messageItem.js';
import { ModeratorTools } from './ModeratorTools.js';

const MAX_SHOWN = 200;
const TIMEOUT_SECONDS = 600;

export interface ChatPanelOptions {
  signaling: SignalingClient;
  streamId: string;
  /** Viewer token of a private stream. */
  token?: string | undefined;
}

export class ChatPanel {
  readonly element: HTMLElement;
  readonly #opts: ChatPanelOptions;
  readonly #list: HTMLOListElement;
  readonly #items = new Map<string, HTMLLIElement>();
  readonly #state: HTMLElement;
  readonly #notice: HTMLElement;
  readonly #nameForm: HTMLFormElement;
  readonly #nameInput: HTMLInputElement;
  readonly #sendForm: HTMLFormElement;
  readonly #textInput: HTMLInputElement;
  readonly #mod: ModeratorTools;
  readonly #subscriptions: (() => void)[] = [];
  #joined: ChatJoinResult | undefined;

  constructor(root: HTMLElement, opts: ChatPanelOptions) {
    this.#opts = opts;
    const { signaling } = opts;
    this.#list = h('ol', { class: 'chat__list', 'data-testid': 'chat-messages', 'aria-live': 'polite' });
    this.#state = h('span', { class: 'chat__state muted', 'data-testid': 'chat-state' });
    this.#notice = h('p', { class: 'chat__notice', role: 'status', 'data-testid': 'chat-notice', hidden: true });
    this.#nameInput = h('input', { type: 'text', maxlength: CHAT_NAME_MAX, autocomplete: 'nickname', required: true, 'data-testid': 'chat-name-input' });
    this.#nameForm = h('form', { class: 'chat__name', hidden: true }, h('label', {}, 'Pick a name to chat', this.#nameInput), h('button', { class: 'button', type: 'submit' }, 'Chat'));
    this.#textInput = h('input', { type: 'text', maxlength: CHAT_MAX_CHARS, placeholder: 'Say something…', 'aria-label': 'Message', autocomplete: 'off', 'data-testid': 'chat-input' });
    this.#sendForm = h('form', { class: 'chat__send', hidden: true }, this.#textInput, h('button', { class: 'button button--primary', type: 'submit' }, 'Send'));
    this.#mod = new ModeratorTools(signaling, (err) => this.#tell(err));
    this.#mod.element.hidden = true;
    this.element = h(
      'section',
      { class: 'chat card', 'aria-label': 'Live chat', 'data-testid': 'chat' },
      h('header', { class: 'chat__head' }, h('h2', {}, 'Live chat'), this.#state),
      this.#mod.element,
      this.#list,
      this.#notice,
      this.#nameForm,
      this.#sendForm,
    );
    root.replaceChildren(this.element);
    root.hidden = false;

    this.#nameForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#pickName(this.#nameInput.value);
    });
    this.#sendForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#send();
    });
    const mine = (streamId: string) => streamId === opts.streamId;
    this.#subscriptions.push(
      signaling.on('connect', () => void this.#join()),
      signaling.on('chat:messages', (e) => {
        if (mine(e.streamId)) for (const m of e.messages) this.#add(m);
      }),
      signaling.on('chat:deleted', (e) => {
        if (!mine(e.streamId)) return;
        this.#items.get(e.messageId)?.remove();
        this.#items.delete(e.messageId);
      }),
      signaling.on('chat:settings', (e) => mine(e.streamId) && this.#showSettings(e.settings)),
      signaling.on('chat:sanctioned', (e) => {
        if (!mine(e.streamId)) return;
        this.#say(e.until === null ? 'You are banned from this chat.' : `You are timed out until ${new Date(e.until).toLocaleTimeString()}.`);
      }),
    );
    if (signaling.connected) void this.#join();
    else signaling.connect();
  }

  close(): void {
    for (const off of this.#subscriptions.splice(0)) off();
  }

  async #join(name = storedName()): Promise<void> {
    const { signaling, streamId, token } = this.#opts;
    const accessToken = accountToken();
    try {
      const joined = await signaling.request('chat:join', {
        streamId,
        session: chatSession(),
        ...(token ? { token } : {}),
        ...(accessToken ? { accessToken } : {}),
        ...(name && !accessToken ? { name } : {}),
      });
      this.#joined = joined;
      this.#items.clear();
      this.#list.replaceChildren();
      for (const m of joined.messages) this.#add(m);
      this.#showSettings(joined.settings);
      if (joined.moderator) this.#mod.show(joined.moderator);
      this.#mod.element.hidden = !joined.me.canModerate;
      this.#showIdentity();
    } catch (err) {
      // The name kept from last time is taken (or no longer allowed): ask again.
      if (name && err instanceof SignalingRequestError && (err.code === 'conflict' || err.code === 'validation_failed')) {
        storeName(undefined);
        return this.#join(undefined);
      }
      this.#tell(err);
    }
  }

  async #pickName(raw: string): Promise<void> {
    try {
      const { name } = await this.#opts.signaling.request('chat:name', { name: raw });
      storeName(name);
      if (this.#joined) this.#joined.me.name = name;
      this.#say('');
      this.#showIdentity();
      this.#textInput.focus();
    } catch (err) {
      this.#tell(err);
    }
  }

  async #send(): Promise<void> {
    const text = this.#textInput.value;
    if (!text.trim()) return;
    try {
      const { message } = await this.#opts.signaling.request('chat:send', { text });
      this.#textInput.value = '';
      this.#say('');
      this.#add(message);
    } catch (err) {
      this.#tell(err);
    }
  }

  #add(m: ChatMessage): void {
    if (this.#items.has(m.id)) return;
    const nearBottom = this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight < 40;
    const li = messageItem(m, { moderation: this.#joined?.me.canModerate ? this.#moderation : undefined });
    // In seq order, whichever way it came (ack or room).
    let before: Element | null = null;
    for (let el = this.#list.lastElementChild; el; el = el.previousElementSibling) {
      if (Number((el as HTMLElement).dataset.seq) < m.seq) break;
      before = el;
    }
    li.dataset.seq = String(m.seq);
    this.#list.insertBefore(li, before);
    this.#items.set(m.id, li);
    while (this.#items.size > MAX_SHOWN) {
      const first = this.#list.firstElementChild as HTMLElement | null;
      if (!first) break;
      this.#items.delete(first.dataset.id ?? '');
      first.remove();
    }
    if (nearBottom) this.#list.scrollTop = this.#list.scrollHeight;
  }

  readonly #moderation: ModerationActions = {
    delete: (m) => void this.#moderate(() => this.#opts.signaling.request('chat:delete', { messageId: m.id })),
    timeout: (m) =>
      void this.#moderate(async () => {
        await this.#opts.signaling.request('chat:timeout', { messageId: m.id, seconds: TIMEOUT_SECONDS });
        this.#say(`${m.name} is timed out for ${TIMEOUT_SECONDS / 60} minutes.`);
      }),
    ban: (m) =>
      void this.#moderate(async () => {
        await this.#opts.signaling.request('chat:ban', { messageId: m.id });
        this.#say(`${m.name} is banned from this chat.`);
      }),
  };

  async #moderate(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.#tell(err);
    }
  }

  #showSettings(s: ChatSettings): void {
    this.#state.textContent = !s.enabled ? 'Chat is off' : s.slowModeSeconds > 0 ? `Slow mode: one message per ${s.slowModeSeconds} s` : '';
  }

  #showIdentity(): void {
    const me = this.#joined?.me;
    const named = !!me?.name;
    this.#nameForm.hidden = !me || named;
    this.#sendForm.hidden = !named;
    if (me && !named) this.#nameInput.value = storedName() ?? '';
    this.#textInput.placeholder = named ? `Say something as ${me!.name}…` : 'Say something…';
  }

  #say(text: string): void {
    this.#notice.textContent = text;
    this.#notice.hidden = !text;
  }

  #tell(err: unknown): void {
    this.#say(err instanceof Error ? err.message : 'something went wrong');
  }
}
