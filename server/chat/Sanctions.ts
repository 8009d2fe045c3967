/**
 * A stream's chat sanctions in force (timeouts and bans), in memory, loaded from and mirrored to the store
 * by ChatRoom. Pure.
 *
 * Who a sanction holds: a signed-in author by account only (another account, or the same person signed out,
 * is not covered: the account is what the moderator saw). An anonymous author by chat session or by client
 * address: clearing the browser's storage gives a new session but keeps the address, and a new network keeps
 * the session. An address may be shared (a NAT): its other anonymous viewers are held too, signed-in ones
 * are not; a moderator can lift it (pardon).
 */
import type { ChatAuthor, ChatSanctionRecord } from '../store/sql/ChatStore.js';

/** Who is chatting: an account (signed in), else a client address and a chat session. */
export type ChatIdentity = ChatAuthor;

export class Sanctions {
  #list: ChatSanctionRecord[];

  constructor(list: ChatSanctionRecord[] = []) {
    this.#list = [...list];
  }

  add(s: ChatSanctionRecord): void {
    this.#list.push(s);
  }

  /** Drops every sanction that names this author (as `holds` would match them). */
  removeFor(author: ChatIdentity): void {
    this.#list = this.#list.filter((s) => !(author.userId ? s.userId === author.userId : s.userId === null && (s.address === author.address || s.session === author.session)));
  }

  /** The sanction that holds `who` at `now` (a ban before a timeout; the longest timeout), or undefined. */
  holding(who: ChatIdentity, now = Date.now()): ChatSanctionRecord | undefined {
    const iso = new Date(now).toISOString();
    this.#list = this.#list.filter((s) => s.until === null || s.until > iso);
    let found: ChatSanctionRecord | undefined;
    for (const s of this.#list) {
      const holds = who.userId !== null ? s.userId === who.userId : s.userId === null && (s.address === who.address || s.session === who.session);
      if (!holds) continue;
      if (s.until === null) return s;
      if (!found || found.until! < s.until) found = s;
    }
    return found;
  }

  get size(): number {
    return this.#list.length;
  }
}

/** The sanction record for an author: by account when signed in, else by address and session. */
export function sanctionFor(kind: ChatSanctionRecord['kind'], author: ChatIdentity, until: string | null): ChatSanctionRecord {
  return author.userId !== null
    ? { kind, userId: author.userId, address: null, session: null, until }
    : { kind, userId: null, address: author.address, session: author.session, until };
}
