/**
 * The live chat on either engine: messages with their stream and time (deleted ones are kept, marked, and
 * never shown), each stream's chat settings, and its sanctions (timeouts and bans). Authors' account, address
 * and chat session are kept with each message for moderation only: they never leave the server (ChatMessage
 * has none of them). Rows go with their stream (ON DELETE CASCADE).
 *
 * The switch: this `ChatStore` interface replaces the synchronous class `ChatStore` of
 * server/store/ChatStore.ts, method for method (`add`, `byId`, `delete`, `window`, `lastAt`, `protectedNames`,
 * `settings`, `saveSettings`, `sanctions`, `addSanction`, `removeSanctions`), each now returning a promise.
 * The caller (server/chat/ChatService.ts, built in app.ts) adds `await` and gets the store from
 * `openCatalogue()` (catalogue.ts).
 *
 * `seq` orders messages across the whole catalogue: SQLite's AUTOINCREMENT, PostgreSQL's identity column
 * (every node of a cluster draws from the one sequence, so a later message has a higher seq wherever it was
 * sent). Unlike the SQLite-only class, a time window without a bound has no bound in the query (no sentinel
 * string compared against times: PostgreSQL's collations need not sort a sentinel last).
 */
import type { Kysely, Selectable } from 'kysely';
import type { ChatMessage, ChatModeratorSettings, ChatSanctionKind } from '../../../shared/chat.js';
import { translated } from './errors.js';
import { toNumber } from './numbers.js';
import type { CatalogueSchema, ChatMessagesTable } from './schema.js';

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

export interface ChatWindow {
  /** ISO time, exclusive. */
  after?: string | undefined;
  /** ISO time, exclusive. */
  before?: string | undefined;
  limit: number;
  /** The earliest of the window (to page forwards) instead of the latest. */
  fromStart: boolean;
}

export const DEFAULT_CHAT_SETTINGS: ChatModeratorSettings = { enabled: true, slowModeSeconds: 0, filter: [] };

export interface ChatStore {
  /** Stores a message; returns it with its seq. Rejects with `missing_reference` for an unknown stream. */
  add(m: Omit<ChatMessage, 'seq' | 'verified'>, author: ChatAuthor): Promise<ChatMessage>;
  byId(id: string): Promise<StoredChatMessage | undefined>;
  /** Marks a message deleted; false when it was already, or does not exist. */
  delete(id: string): Promise<boolean>;
  /**
   * Messages of a stream between two times (both exclusive), oldest first, at most `limit`: the latest of
   * the window, or with `fromStart` the earliest. `hasMore`: the window holds more.
   */
  window(streamId: string, w: ChatWindow): Promise<{ messages: ChatMessage[]; hasMore: boolean }>;
  /** The time of the stream's latest message, deleted ones included (times stay strictly increasing). */
  lastAt(streamId: string): Promise<string | undefined>;
  /** Names nobody else may chat under in a stream: its owner's and the admins'. */
  protectedNames(ownerId: string): Promise<string[]>;
  settings(streamId: string): Promise<ChatModeratorSettings>;
  saveSettings(streamId: string, s: ChatModeratorSettings): Promise<void>;
  /** Sanctions of a stream still in force at `now` (ISO). */
  sanctions(streamId: string, now: string): Promise<ChatSanctionRecord[]>;
  addSanction(streamId: string, s: ChatSanctionRecord): Promise<void>;
  /** Lifts every sanction naming this author (by account, or by their address or session); returns how many. */
  removeSanctions(streamId: string, a: ChatAuthor): Promise<number>;
}

type Db = Kysely<CatalogueSchema>;

const publicMessage = (r: Selectable<ChatMessagesTable>): ChatMessage => ({
  id: r.id,
  seq: toNumber(r.seq),
  streamId: r.stream_id,
  at: r.at,
  name: r.name,
  role: r.role,
  verified: r.user_id !== null,
  text: r.text,
});

export class SqlChatStore implements ChatStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  add(m: Omit<ChatMessage, 'seq' | 'verified'>, author: ChatAuthor): Promise<ChatMessage> {
    return translated(async () => {
      const { seq } = await this.#db
        .insertInto('chat_messages')
        .values({ id: m.id, stream_id: m.streamId, at: m.at, name: m.name, role: m.role, user_id: author.userId, address: author.address, session: author.session, text: m.text })
        .returning('seq')
        .executeTakeFirstOrThrow();
      return { ...m, seq: toNumber(seq), verified: author.userId !== null };
    });
  }

  byId(id: string): Promise<StoredChatMessage | undefined> {
    return translated(async () => {
      const r = await this.#db.selectFrom('chat_messages').selectAll().where('id', '=', id).executeTakeFirst();
      return r && { ...publicMessage(r), author: { userId: r.user_id, address: r.address, session: r.session }, deleted: r.deleted_at !== null };
    });
  }

  delete(id: string): Promise<boolean> {
    return translated(async () => {
      const r = await this.#db
        .updateTable('chat_messages')
        .set({ deleted_at: new Date().toISOString() })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    });
  }

  window(streamId: string, w: ChatWindow): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    return translated(async () => {
      let q = this.#db.selectFrom('chat_messages').selectAll().where('stream_id', '=', streamId).where('deleted_at', 'is', null);
      if (w.after !== undefined) q = q.where('at', '>', w.after);
      if (w.before !== undefined) q = q.where('at', '<', w.before);
      const dir = w.fromStart ? 'asc' : 'desc';
      const rows = await q.orderBy('at', dir).orderBy('seq', dir).limit(w.limit + 1).execute();
      const hasMore = rows.length > w.limit;
      const page = rows.slice(0, w.limit).map(publicMessage);
      return { messages: w.fromStart ? page : page.reverse(), hasMore };
    });
  }

  lastAt(streamId: string): Promise<string | undefined> {
    return translated(async () => {
      const r = await this.#db.selectFrom('chat_messages').select('at').where('stream_id', '=', streamId).orderBy('at', 'desc').limit(1).executeTakeFirst();
      return r?.at;
    });
  }

  protectedNames(ownerId: string): Promise<string[]> {
    return translated(async () => {
      const rows = await this.#db
        .selectFrom('users')
        .select('username')
        .where((eb) => eb.or([eb('role', '=', 'admin'), eb('id', '=', ownerId)]))
        .orderBy('username')
        .execute();
      return rows.map((r) => r.username);
    });
  }

  settings(streamId: string): Promise<ChatModeratorSettings> {
    return translated(async () => {
      const r = await this.#db.selectFrom('chat_settings').selectAll().where('stream_id', '=', streamId).executeTakeFirst();
      if (!r) return { ...DEFAULT_CHAT_SETTINGS, filter: [] };
      return { enabled: r.enabled === 1, slowModeSeconds: r.slow_mode_seconds, filter: JSON.parse(r.filter) as string[] };
    });
  }

  saveSettings(streamId: string, s: ChatModeratorSettings): Promise<void> {
    return translated(async () => {
      await this.#db
        .insertInto('chat_settings')
        .values({ stream_id: streamId, enabled: s.enabled ? 1 : 0, slow_mode_seconds: s.slowModeSeconds, filter: JSON.stringify(s.filter) })
        .onConflict((oc) =>
          oc.column('stream_id').doUpdateSet((eb) => ({
            enabled: eb.ref('excluded.enabled'),
            slow_mode_seconds: eb.ref('excluded.slow_mode_seconds'),
            filter: eb.ref('excluded.filter'),
          })),
        )
        .execute();
    });
  }

  sanctions(streamId: string, now: string): Promise<ChatSanctionRecord[]> {
    return translated(async () => {
      const rows = await this.#db
        .selectFrom('chat_sanctions')
        .select(['kind', 'user_id', 'address', 'session', 'until'])
        .where('stream_id', '=', streamId)
        .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ kind: r.kind, userId: r.user_id, address: r.address, session: r.session, until: r.until }));
    });
  }

  addSanction(streamId: string, s: ChatSanctionRecord): Promise<void> {
    return translated(async () => {
      await this.#db
        .insertInto('chat_sanctions')
        .values({ stream_id: streamId, kind: s.kind, user_id: s.userId, address: s.address, session: s.session, until: s.until, created_at: new Date().toISOString() })
        .execute();
    });
  }

  removeSanctions(streamId: string, a: ChatAuthor): Promise<number> {
    return translated(async () => {
      let q = this.#db.deleteFrom('chat_sanctions').where('stream_id', '=', streamId);
      q = a.userId
        ? q.where('user_id', '=', a.userId)
        : q.where('user_id', 'is', null).where((eb) => eb.or([eb('address', '=', a.address), eb('session', '=', a.session)]));
      const r = await q.executeTakeFirst();
      return toNumber(r.numDeletedRows);
    });
  }
}
