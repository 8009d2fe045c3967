/**
 * One stream's chat state: settings, word filter, slow mode and sanctions, all in memory, and the clock that
 * stamps its messages. ChatService keeps one per stream that has members (loaded from the store on first use,
 * dropped when the last member leaves) and writes every change through to the store, so a room can be rebuilt
 * anywhere from the store: this is the seam where a cluster would move the state (e.g. into Redis).
 *
 * `admit` decides whether a message may go out, in the order a sender should hear about it: sanctions first
 * (a banned viewer is told they are banned, not that chat is slow), then chat off, the word filter, and slow
 * mode last, because it counts the message. Moderators are exempt from all but their own account's state.
 */
import type { ChatModeratorSettings, ChatSettings } from '../../shared/chat.js';
import type { ChatSanctionRecord } from '../store/sql/ChatStore.js';
import { ChatError } from './ChatError.js';
import { Sanctions, type ChatIdentity } from './Sanctions.js';
import { SlowMode } from './SlowMode.js';
import { WordFilter } from './WordFilter.js';

export interface ChatSender {
  identity: ChatIdentity;
  moderator: boolean;
}

/** The key slow mode counts an author by: the account, else the chat session. */
export const identityKey = (who: ChatIdentity): string => (who.userId !== null ? `u:${who.userId}` : `s:${who.session}`);

export class ChatRoom {
  readonly streamId: string;
  #enabled: boolean;
  #filter: WordFilter;
  readonly #slow: SlowMode;
  readonly #sanctions: Sanctions;
  #lastAtMs: number;

  constructor(streamId: string, state: { settings: ChatModeratorSettings; sanctions: ChatSanctionRecord[]; lastAt: string | undefined }) {
    this.streamId = streamId;
    this.#enabled = state.settings.enabled;
    this.#filter = new WordFilter(state.settings.filter);
    this.#slow = new SlowMode(state.settings.slowModeSeconds);
    this.#sanctions = new Sanctions(state.sanctions);
    this.#lastAtMs = state.lastAt ? Date.parse(state.lastAt) : 0;
  }

  get settings(): ChatSettings {
    return { enabled: this.#enabled, slowModeSeconds: this.#slow.seconds };
  }

  get moderatorSettings(): ChatModeratorSettings {
    return { ...this.settings, filter: [...this.#filter.words] };
  }

  /** Applies a moderator's change; returns the settings to store and announce. */
  update(patch: Partial<ChatModeratorSettings>): ChatModeratorSettings {
    if (patch.enabled !== undefined) this.#enabled = patch.enabled;
    if (patch.slowModeSeconds !== undefined) this.#slow.seconds = patch.slowModeSeconds;
    if (patch.filter !== undefined) this.#filter = new WordFilter(patch.filter);
    return this.moderatorSettings;
  }

  /** Throws a ChatError when this sender may not send this text now; else counts it (slow mode). */
  admit(sender: ChatSender, text: string, now = Date.now()): void {
    const held = this.#sanctions.holding(sender.identity, now);
    if (held && !sender.moderator) {
      throw new ChatError('forbidden', held.until === null ? 'you are banned from this chat' : `you are timed out of this chat until ${held.until}`);
    }
    if (sender.moderator) return;
    if (!this.#enabled) throw new ChatError('forbidden', 'chat is off');
    if (this.#filter.match(text) !== undefined) throw new ChatError('forbidden', 'your message holds a word this chat does not allow');
    const slow = this.#slow.take(identityKey(sender.identity), now);
    if (!slow.ok) throw new ChatError('too_many_requests', `slow mode: you may send again in ${slow.waitSeconds} s`);
  }

  /** The sanction holding this identity now, if any (to tell a joining viewer). */
  sanctionOf(who: ChatIdentity, now = Date.now()): ChatSanctionRecord | undefined {
    return this.#sanctions.holding(who, now);
  }

  sanction(s: ChatSanctionRecord): void {
    this.#sanctions.add(s);
  }

  pardon(who: ChatIdentity): void {
    this.#sanctions.removeFor(who);
  }

  /**
   * The time of a new message: now, or 1 ms after the previous message when the clock has not moved on (or
   * went back), so a stream's message times are unique and increasing and a time is an exact page cursor.
   */
  stamp(now = Date.now()): string {
    this.#lastAtMs = Math.max(now, this.#lastAtMs + 1);
    return new Date(this.#lastAtMs).toISOString();
  }
}
