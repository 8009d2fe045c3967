/**
 * The live chat in SQLite: messages with their stream and time (deleted ones are kept, marked, and never
 * shown), each stream's chat settings, and its sanctions (timeouts and bans). Authors' account, address and
 * chat session are kept with each message for moderation only: they never leave the server (ChatMessage has
 * none of them). Rows go with their stream (ON DELETE CASCADE).
 */
import type { ChatMessage, ChatModeratorSettings, ChatRole, ChatSanctionKind } from '../../shared/chat.js';
import type { Db } from './Database.js';

/** Who wrote a message, as moderation needs it. */
export interface ChatAuthor {
  userId: string | null;
  address: string;
  session: string;
}

export interface StoredChatMessage extends ChatMessage {
  author: ChatAuthor;
  deleted: boolean;
}

export interface ChatSanctionRecord {
  kind: ChatSanctionKind;
  userId: string | null;
  address: string | null;
  session: string | null;
  /** ISO time; null: a ban (no end). */
  until: string | null;
}

interface MessageRow {
  seq: number;
  id: string;
  stream_id: string;
  at: string;
  name: string;
  role: ChatRole;
  user_id: string | null;
  address: string;
  session: string;
  text: string;
  deleted_at: string | null;
}

const publicMessage = (r: MessageRow): ChatMessage => ({
  id: r.id,
  seq: r.seq,
  streamId: r.stream_id,
  at: r.at,
  name: r.name,
  role: r.role,
  verified: r.user_id !== null,
  text: r.text,
});

export const DEFAULT_CHAT_SETTINGS: ChatModeratorSettings = { enabled: true, slowModeSeconds: 0, filter: [] };

export class ChatStore {
  readonly #db: Db;
  readonly #insert;
  readonly #latest;
  readonly #after;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO chat_messages (id, stream_id, at, name, role, user_id, address, session, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#latest = db.prepare(
      'SELECT * FROM chat_messages WHERE stream_id = ? AND deleted_at IS NULL AND at < ? AND at > ? ORDER BY at DESC, seq DESC LIMIT ?',
    );
    this.#after = db.prepare(
      'SELECT * FROM chat_messages WHERE stream_id = ? AND deleted_at IS NULL AND at > ? AND at < ? ORDER BY at ASC, seq ASC LIMIT ?',
    );
  }

  /** Stores a message; returns it with its seq. */
  add(m: Omit<ChatMessage, 'seq' | 'verified'>, author: ChatAuthor): ChatMessage {
    const r = this.#insert.run(m.id, m.streamId, m.at, m.name, m.role, author.userId, author.address, author.session, m.text);
    return { ...m, seq: Number(r.lastInsertRowid), verified: author.userId !== null };
  }

  byId(id: string): StoredChatMessage | undefined {
    const r = this.#db.prepare('SELECT * FROM chat_messages WHERE id = ?').get(id) as MessageRow | undefined;
    return r && { ...publicMessage(r), author: { userId: r.user_id, address: r.address, session: r.session }, deleted: r.deleted_at !== null };
  }

  /** Marks a message deleted; false when it was already, or does not exist. */
  delete(id: string): boolean {
    return this.#db.prepare('UPDATE chat_messages SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(new Date().toISOString(), id).changes > 0;
  }

  /**
   * Messages of a stream between two times (ISO, both exclusive), oldest first, at most `limit`: the latest
   * of the window, or with `fromStart` the earliest (to page forwards). `hasMore`: the window holds more.
   */
  window(streamId: string, w: { after?: string; before?: string; limit: number; fromStart: boolean }): { messages: ChatMessage[]; hasMore: boolean } {
    const after = w.after ?? '';
    const before = w.before ?? '\uffff';
    const rows = (w.fromStart ? this.#after.all(streamId, after, before, w.limit + 1) : this.#latest.all(streamId, before, after, w.limit + 1)) as MessageRow[];
    const hasMore = rows.length > w.limit;
    const page = rows.slice(0, w.limit).map(publicMessage);
    return { messages: w.fromStart ? page : page.reverse(), hasMore };
  }

  /** The time of the stream's latest message, deleted ones included (times stay strictly increasing). */
  lastAt(streamId: string): string | undefined {
    const r = this.#db.prepare('SELECT at FROM chat_messages WHERE stream_id = ? ORDER BY at DESC LIMIT 1').get(streamId) as { at: string } | undefined;
    return r?.at;
  }

  /** Names nobody else may chat under in a stream: its owner's and the admins'. */
  protectedNames(ownerId: string): string[] {
    const rows = this.#db.prepare("SELECT username FROM users WHERE role = 'admin' OR id = ?").all(ownerId) as { username: string }[];
    return rows.map((r) => r.username);
  }

  settings(streamId: string): ChatModeratorSettings {
    const r = this.#db.prepare('SELECT * FROM chat_settings WHERE stream_id = ?').get(streamId) as
      | { enabled: number; slow_mode_seconds: number; filter: string }
      | undefined;
    if (!r) return { ...DEFAULT_CHAT_SETTINGS, filter: [] };
    return { enabled: r.enabled === 1, slowModeSeconds: r.slow_mode_seconds, filter: JSON.parse(r.filter) as string[] };
  }

  saveSettings(streamId: string, s: ChatModeratorSettings): void {
    this.#db
      .prepare(
        `INSERT INTO chat_settings (stream_id, enabled, slow_mode_seconds, filter) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET enabled = excluded.enabled, slow_mode_seconds = excluded.slow_mode_seconds, filter = excluded.filter`,
      )
      .run(streamId, s.enabled ? 1 : 0, s.slowModeSeconds, JSON.stringify(s.filter));
  }

  /** Sanctions of a stream still in force at `now` (ISO). */
  sanctions(streamId: string, now: string): ChatSanctionRecord[] {
    const rows = this.#db
      .prepare('SELECT kind, user_id, address, session, until FROM chat_sanctions WHERE stream_id = ? AND (until IS NULL OR until > ?)')
      .all(streamId, now) as { kind: ChatSanctionKind; user_id: string | null; address: string | null; session: string | null; until: string | null }[];
    return rows.map((r) => ({ kind: r.kind, userId: r.user_id, address: r.address, session: r.session, until: r.until }));
  }

  addSanction(streamId: string, s: ChatSanctionRecord): void {
    this.#db
      .prepare('INSERT INTO chat_sanctions (stream_id, kind, user_id, address, session, until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(streamId, s.kind, s.userId, s.address, s.session, s.until, new Date().toISOString());
  }

  /** Lifts every sanction naming this author (by account, or by their address or session). */
  removeSanctions(streamId: string, a: ChatAuthor): number {
    return a.userId
      ? this.#db.prepare('DELETE FROM chat_sanctions WHERE stream_id = ? AND user_id = ?').run(streamId, a.userId).changes
      : this.#db.prepare('DELETE FROM chat_sanctions WHERE stream_id = ? AND user_id IS NULL AND (address = ? OR session = ?)').run(streamId, a.address, a.session).changes;
  }
}
