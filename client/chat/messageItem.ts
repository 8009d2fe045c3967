/**
 * One chat message as a list item. Text only: every part is set with textContent (through h()), never as
 * HTML, and links stay text (nothing is fetched or linked). Owner and admin messages carry a badge.
 * Moderators get Delete, Time out and Ban buttons on viewers' messages (Delete on every message).
 */
import type { ChatMessage } from '../../shared/chat.js';
import { h } from '../ui/dom.js';

export interface ModerationActions {
  delete(m: ChatMessage): void;
  timeout(m: ChatMessage): void;
  ban(m: ChatMessage): void;
}

const BADGE = { owner: 'Owner', admin: 'Admin' } as const;

export function messageItem(m: ChatMessage, opts: { moderation?: ModerationActions | undefined; showTime?: boolean } = {}): HTMLLIElement {
  const time = new Date(m.at);
  const li = h(
    'li',
    { class: `chat-msg chat-msg--${m.role}`, 'data-id': m.id, 'data-testid': 'chat-message' },
    opts.showTime ? h('time', { class: 'chat-msg__time', datetime: m.at }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })) : null,
    h('span', { class: 'chat-msg__name', 'data-testid': 'chat-name', title: m.verified ? 'signed in' : null }, m.name),
    m.role !== 'viewer' ? h('span', { class: `chat-msg__badge chat-msg__badge--${m.role}`, 'data-testid': 'chat-badge' }, BADGE[m.role]) : null,
    h('span', { class: 'chat-msg__text', 'data-testid': 'chat-text' }, m.text),
  );
  const mod = opts.moderation;
  if (mod) {
    const tools = h('span', { class: 'chat-msg__tools' }, h('button', { class: 'link', type: 'button', 'aria-label': `Delete message from ${m.name}`, onclick: () => mod.delete(m) }, 'Delete'));
    if (m.role === 'viewer') {
      tools.append(
        h('button', { class: 'link', type: 'button', 'aria-label': `Time out ${m.name} for 10 minutes`, onclick: () => mod.timeout(m) }, 'Time out'),
        h('button', { class: 'link chat-msg__ban', type: 'button', 'aria-label': `Ban ${m.name}`, onclick: () => mod.ban(m) }, 'Ban'),
      );
    }
    li.append(tools);
  }
  return li;
}
