/**
 * The live chat: who is in which stream's chat (members, one per socket), the rooms' state (ChatRoom), the
 * store, and the rate limits. Transport-free: the signaling handlers (chatHandlers.ts) call it and publish
 * what it returns to socket.io rooms, so a cluster can swap the fan-out (a Redis adapter) and the room state
 * without touching the rules here.
 *
 * Lifetimes: a member exists from `join` until `leave` (the socket left the chat, joined another stream's, or
 * disconnected: the handlers call `leave` on disconnect). A room exists while it has members; it is loaded
 * from the store when the first one joins and forgotten after the last leaves (slow-mode times go with it;
 * settings and sanctions are in the store). Every change is written to the store before it is announced.
 */
import crypto from 'node:crypto';
import { CHAT_HISTORY, type ChatHistory, type ChatJoinResult, type ChatMessage, type ChatModeratorSettings, type ChatRole } from '../../shared/chat.js';
import { canManage, canWatch } from '../auth/access.js';
import { TokenError, type AccessClaims, type Tokens } from '../auth/tokens.js';
import { KeyedRateLimiter } from '../limits/KeyedRateLimiter.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import type { ChatStore } from '../store/ChatStore.js';
import type { StreamRecord, StreamStore } from '../store/StreamStore.js';
import type { UserStore } from '../store/UserStore.js';
import { ChatError } from './ChatError.js';
import type { ChatLimits } from './chatLimits.js';
import { ChatRoom } from './ChatRoom.js';
import { checkDisplayName } from './displayName.js';
import { cleanMessageText } from './messageText.js';
import { sanctionFor, type ChatIdentity } from './Sanctions.js';
import { normalizeFilter } from './WordFilter.js';

export interface ChatMember {
  socketId: string;
  streamId: string;
  identity: ChatIdentity;
  name: string | null;
  role: ChatRole;
  canModerate: boolean;
  bucket: TokenBucket;
}

export interface ChatServiceDeps {
  store: ChatStore;
  streams: StreamStore;
  users: UserStore;
  tokens: Tokens;
  limits: ChatLimits;
}

export interface JoinRequest {
  streamId: string;
  token?: string | undefined;
  accessToken?: string | undefined;
  name?: string | undefined;
  session?: string | undefined;
}

/** A sanction given: whom to tell (their sockets in the stream's chat). */
export interface SanctionOutcome {
  streamId: string;
  until: string | null;
  sockets: string[];
}

const newMessageId = () => crypto.randomBytes(9).toString('base64url');

export class ChatService {
  readonly #deps: ChatServiceDeps;
  readonly #members = new Map<string, ChatMember>();
  readonly #rooms = new Map<string, { room: ChatRoom; members: Set<string> }>();
  readonly #perAddress: KeyedRateLimiter;

  constructor(deps: ChatServiceDeps) {
    this.#deps = deps;
    this.#perAddress = new KeyedRateLimiter(deps.limits.perAddress);
  }

  /** Rooms in memory (streams with members): for leak checks. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  get memberCount(): number {
    return this.#members.size;
  }

  member(socketId: string): ChatMember | undefined {
    return this.#members.get(socketId);
  }

  /**
   * Joins a socket to a stream's chat (leaving the one it was in). `user`: the socket's signed-in account,
   * if it connected with one. Returns what the viewer needs and the stream it left, if another.
   */
  join(socketId: string, address: string, user: AccessClaims | undefined, req: JoinRequest): { result: ChatJoinResult; left: string | undefined } {
    const { streams, tokens, users, store, limits } = this.#deps;
    const stream = streams.byId(req.streamId);
    if (!stream) throw new ChatError('not_found', `no stream ${req.streamId}`);
    let account = user;
    if (!account && req.accessToken) {
      try {
        account = tokens.verifyAccess(req.accessToken);
      } catch (err) {
        if (err instanceof TokenError) throw new ChatError('unauthorized', `sign in again: ${err.message}`);
        throw err;
      }
    }
    // The account may have been removed since its token was made.
    if (account && !users.byId(account.sub)) throw new ChatError('unauthorized', 'the account of this token no longer exists');
    const canModerate = canManage(account, stream);
    if (!canModerate && !canWatch(tokens, stream, req.token)) {
      throw new ChatError(req.token ? 'forbidden' : 'unauthorized', 'this stream is private: a valid viewer token is needed');
    }
    const name = account ? account.username : req.name !== undefined ? this.#checkName(req.name, stream) : null;
    const left = this.leave(socketId);
    const member: ChatMember = {
      socketId,
      streamId: stream.id,
      identity: { userId: account?.sub ?? null, address, session: req.session ?? socketId },
      name,
      role: account ? (account.sub === stream.ownerId ? 'owner' : account.role === 'admin' ? 'admin' : 'viewer') : 'viewer',
      canModerate,
      bucket: new TokenBucket(limits.perSocket.rate, limits.perSocket.burst),
    };
    const entry = this.#room(stream.id);
    entry.members.add(socketId);
    this.#members.set(socketId, member);
    const result: ChatJoinResult = {
      messages: store.window(stream.id, { limit: CHAT_HISTORY, fromStart: false }).messages,
      settings: entry.room.settings,
      moderator: canModerate ? entry.room.moderatorSettings : null,
      me: { name, role: member.role, verified: !!account, canModerate },
    };
    return { result, left: left === stream.id ? undefined : left };
  }

  /** Takes a socket out of its chat; returns the stream it was in. Idempotent. */
  leave(socketId: string): string | undefined {
    const m = this.#members.get(socketId);
    if (!m) return undefined;
    this.#members.delete(socketId);
    const entry = this.#rooms.get(m.streamId);
    entry?.members.delete(socketId);
    if (entry && entry.members.size === 0) this.#rooms.delete(m.streamId);
    return m.streamId;
  }

  /** An anonymous viewer picks (or changes) their display name. */
  setName(socketId: string, raw: string): string {
    const m = this.#joined(socketId);
    if (m.identity.userId !== null) throw new ChatError('forbidden', 'signed-in viewers chat under their account name');
    const stream = this.#stream(m.streamId);
    m.name = this.#checkName(raw, stream);
    return m.name;
  }

  /** A message, checked against every limit and rule, stored, ready to publish. */
  send(socketId: string, raw: string, now = Date.now()): ChatMessage {
    const m = this.#joined(socketId);
    if (m.name === null) throw new ChatError('bad_request', 'pick a display name first (chat:name)');
    const text = cleanMessageText(raw);
    if (text === undefined) throw new ChatError('validation_failed', 'the message is empty');
    if (!m.bucket.take(now)) throw new ChatError('too_many_requests', 'you are sending messages too fast: slow down');
    if (!this.#perAddress.take(m.identity.address, now).ok) throw new ChatError('too_many_requests', 'too many messages from your address: slow down');
    const { room } = this.#room(m.streamId);
    room.admit({ identity: m.identity, moderator: m.canModerate }, text, now);
    try {
      return this.#deps.store.add({ id: newMessageId(), streamId: m.streamId, at: room.stamp(now), name: m.name, role: m.role, text }, m.identity);
    } catch (err) {
      // The stream was deleted while its chat had members.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new ChatError('not_found', 'this stream no longer exists');
      throw err;
    }
  }

  /** A moderator removes a message; returns the stream to tell. */
  delete(socketId: string, messageId: string): string {
    const m = this.#moderator(socketId);
    const msg = this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId || msg.deleted) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    this.#deps.store.delete(messageId);
    return m.streamId;
  }

  /** A moderator times out (`seconds`) or bans (no end) the author of a message. */
  sanction(socketId: string, messageId: string, kind: 'timeout' | 'ban', seconds: number | null, now = Date.now()): SanctionOutcome {
    const m = this.#moderator(socketId);
    const msg = this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    const stream = this.#stream(m.streamId);
    if (msg.role !== 'viewer' || (msg.author.userId !== null && msg.author.userId === stream.ownerId)) {
      throw new ChatError('forbidden', 'the owner and admins cannot be timed out or banned');
    }
    const until = kind === 'ban' || seconds === null ? null : new Date(now + seconds * 1000).toISOString();
    const record = sanctionFor(kind, msg.author, until);
    this.#deps.store.addSanction(m.streamId, record);
    const entry = this.#room(m.streamId);
    entry.room.sanction(record);
    const sockets = [...entry.members].filter((id) => {
      const who = this.#members.get(id);
      return who !== undefined && !who.canModerate && entry.room.sanctionOf(who.identity, now) !== undefined;
    });
    return { streamId: m.streamId, until, sockets };
  }

  /** A moderator lifts the timeouts and bans of a message's author. */
  pardon(socketId: string, messageId: string): void {
    const m = this.#moderator(socketId);
    const msg = this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    this.#deps.store.removeSanctions(m.streamId, msg.author);
    this.#room(m.streamId).room.pardon(msg.author);
  }

  /** A moderator changes the chat's settings; returns the stream and its new settings. */
  updateSettings(socketId: string, patch: Partial<ChatModeratorSettings>): { streamId: string; settings: ChatModeratorSettings } {
    const m = this.#moderator(socketId);
    const { room } = this.#room(m.streamId);
    const settings = room.update(patch.filter ? { ...patch, filter: normalizeFilter(patch.filter) } : patch);
    this.#deps.store.saveSettings(m.streamId, settings);
    return { streamId: m.streamId, settings };
  }

  /** A stream's stored messages in a window of time (GET /api/streams/:id/chat). */
  history(streamId: string, q: { before?: string | undefined; after?: string | undefined; limit: number }): ChatHistory {
    return this.#deps.store.window(streamId, { before: q.before, after: q.after, limit: q.limit, fromStart: q.after !== undefined });
  }

  #checkName(raw: string, stream: StreamRecord): string {
    const check = checkDisplayName(raw, this.#deps.store.protectedNames(stream.ownerId), (n) => this.#deps.users.byUsername(n) !== undefined);
    if (!check.ok) throw new ChatError(check.taken ? 'conflict' : 'validation_failed', check.problem);
    return check.name;
  }

  #room(streamId: string): { room: ChatRoom; members: Set<string> } {
    let entry = this.#rooms.get(streamId);
    if (!entry) {
      const { store } = this.#deps;
      const room = new ChatRoom(streamId, { settings: store.settings(streamId), sanctions: store.sanctions(streamId, new Date().toISOString()), lastAt: store.lastAt(streamId) });
      entry = { room, members: new Set() };
      this.#rooms.set(streamId, entry);
    }
    return entry;
  }

  #stream(streamId: string): StreamRecord {
    const stream = this.#deps.streams.byId(streamId);
    if (!stream) throw new ChatError('not_found', 'this stream no longer exists');
    return stream;
  }

  #joined(socketId: string): ChatMember {
    const m = this.#members.get(socketId);
    if (!m) throw new ChatError('bad_request', "join a stream's chat first (chat:join)");
    return m;
  }

  #moderator(socketId: string): ChatMember {
    const m = this.#joined(socketId);
    if (!m.canModerate) throw new ChatError('forbidden', "only the stream's owner and admins may moderate its chat");
    return m;
  }
}
