/**
 * The moderator's controls of a chat (the stream's owner, admins): chat on/off, slow mode, blocked words.
 * Each change is one `chat:settings` request; the server answers with the settings now in force, shown here.
 */
import type { ChatModeratorSettings } from '../../shared/chat.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import { h } from '../ui/dom.js';

const SLOW_MODES = [0, 5, 10, 30, 60, 120];

export class ModeratorTools {
  readonly element: HTMLElement;
  readonly #enabled: HTMLInputElement;
  readonly #slow: HTMLSelectElement;
  readonly #words: HTMLInputElement;

  constructor(signaling: SignalingClient, onError: (err: unknown) => void) {
    this.#enabled = h('input', { type: 'checkbox', 'data-testid': 'chat-enabled' });
    this.#slow = h('select', { 'data-testid': 'chat-slow-mode' }, ...SLOW_MODES.map((s) => h('option', { value: s }, s === 0 ? 'Off' : `One message per ${s} s`)));
    this.#words = h('input', { type: 'text', placeholder: 'word, another phrase', maxlength: 2000, 'data-testid': 'chat-filter' });
    const apply = async (patch: Partial<ChatModeratorSettings>) => {
      try {
        this.show(await signaling.request('chat:settings', patch));
      } catch (err) {
        onError(err);
      }
    };
    this.#enabled.addEventListener('change', () => void apply({ enabled: this.#enabled.checked }));
    this.#slow.addEventListener('change', () => void apply({ slowModeSeconds: Number(this.#slow.value) }));
    const saveWords = h('button', { class: 'button', type: 'submit' }, 'Save words');
    const wordsForm = h('form', { class: 'chat-mod__words' }, h('label', {}, 'Blocked words', this.#words), saveWords);
    wordsForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void apply({ filter: this.#words.value.split(',').map((w) => w.trim()).filter(Boolean) });
    });
    this.element = h(
      'details',
      { class: 'chat-mod', 'data-testid': 'chat-moderation' },
      h('summary', {}, 'Moderation'),
      h('label', { class: 'check' }, this.#enabled, 'Chat on'),
      h('label', {}, 'Slow mode ', this.#slow),
      wordsForm,
    );
  }

  show(s: ChatModeratorSettings): void {
    this.#enabled.checked = s.enabled;
    if (!SLOW_MODES.includes(s.slowModeSeconds)) this.#slow.append(h('option', { value: s.slowModeSeconds }, `One message per ${s.slowModeSeconds} s`));
    this.#slow.value = String(s.slowModeSeconds);
    this.#words.value = s.filter.join(', ');
  }
}
