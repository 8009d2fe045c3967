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
import type { RateLimit } from '../limits/RateLimit.js';
import { KeyedSerial } from '../limits/KeyedSerial.js';
import { StoreError } from '../store/sql/errors.js';
import { TokenBucket } from '../limits/TokenBucket.js';
import type { ChatStore } from '../store/sql/ChatStore.js';
import type { StreamRecord, StreamStore } from '../store/sql/StreamStore.js';
import type { UserStore } from '../store/sql/UserStore.js';
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
  /** Messages per client address counted by every node (cluster mode: RedisShared); default: this node's. */
  perAddress?: RateLimit;
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
  readonly #perAddress: RateLimit;
  /** Rooms being read from the store (a join's), shared by concurrent joins of one stream. */
  readonly #loading = new Map<string, Promise<ChatRoom>>();
  /** A stream's message inserts, one at a time (see send). */
  readonly #inserts = new KeyedSerial();

  constructor(deps: ChatServiceDeps) {
    this.#deps = deps;
    this.#perAddress = deps.perAddress ?? new KeyedRateLimiter(deps.limits.perAddress);
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
  async join(
    socketId: string,
    address: string,
    user: AccessClaims | undefined,
    req: JoinRequest,
    /** False once the socket closed: checked after the catalogue reads, before the membership is taken. */
    isOpen: () => boolean,
  ): Promise<{ result: ChatJoinResult; left: string | undefined }> {
    const { streams, tokens, users, store, limits } = this.#deps;
    const stream = await streams.byId(req.streamId);
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
    if (account && !(await users.byId(account.sub))) throw new ChatError('unauthorized', 'the account of this token no longer exists');
    const canModerate = canManage(account, stream);
    if (!canModerate && !canWatch(tokens, stream, req.token)) {
      throw new ChatError(req.token ? 'forbidden' : 'unauthorized', 'this stream is private: a valid viewer token is needed');
    }
    const name = account ? account.username : req.name !== undefined ? await this.#checkName(req.name, stream) : null;
    const room = await this.#loadRoom(stream.id);
    const { messages } = await store.window(stream.id, { limit: CHAT_HISTORY, fromStart: false });
    // From here on nothing awaits: the socket closed meanwhile would never leave again (its disconnect has
    // been and gone), so its membership is not taken.
    if (!isOpen()) throw new ChatError('conflict', 'the connection closed');
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
    const entry = this.#install(stream.id, room);
    entry.members.add(socketId);
    this.#members.set(socketId, member);
    const result: ChatJoinResult = {
      messages,
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
  async setName(socketId: string, raw: string): Promise<string> {
    const m = this.#joined(socketId);
    if (m.identity.userId !== null) throw new ChatError('forbidden', 'signed-in viewers chat under their account name');
    const stream = await this.#stream(m.streamId);
    const name = await this.#checkName(raw, stream);
    this.#still(socketId, m);
    m.name = name;
    return name;
  }

  /**
   * A message, checked against every limit and rule, stored, and handed to `publish` in the order of the
   * store: a stream's inserts run one at a time, each publishing before the next starts (with a pool of
   * connections two inserts could otherwise finish out of order).
   */
  async send(socketId: string, raw: string, publish: (message: ChatMessage) => void, now = Date.now()): Promise<ChatMessage> {
    const m = this.#joined(socketId);
    if (m.name === null) throw new ChatError('bad_request', 'pick a display name first (chat:name)');
    const text = cleanMessageText(raw);
    if (text === undefined) throw new ChatError('validation_failed', 'the message is empty');
    if (!m.bucket.take(now)) throw new ChatError('too_many_requests', 'you are sending messages too fast: slow down');
    const taken = this.#perAddress.take(m.identity.address, now);
    // Cluster mode (a Redis call; unreachable: RedisUnavailable, 503): the member may have left meanwhile.
    const decision = taken instanceof Promise ? await taken : taken;
    if (taken instanceof Promise && this.#members.get(socketId) !== m) throw new ChatError('conflict', 'the connection closed');
    if (!decision.ok) throw new ChatError('too_many_requests', 'too many messages from your address: slow down');
    const { room } = this.#entry(m.streamId);
    room.admit({ identity: m.identity, moderator: m.canModerate }, text, now);
    const draft = { id: newMessageId(), streamId: m.streamId, at: room.stamp(now), name: m.name, role: m.role, text };
    return this.#inserts.run(m.streamId, async () => {
      const message = await this.#deps.store.add(draft, m.identity).catch((err: unknown) => {
        // The stream was deleted while its chat had members.
        if (err instanceof StoreError && err.reason === 'missing_reference') throw new ChatError('not_found', 'this stream no longer exists');
        throw err;
      });
      publish(message);
      return message;
    });
  }

  /** A moderator removes a message; returns the stream to tell. */
  async delete(socketId: string, messageId: string): Promise<string> {
    const m = this.#moderator(socketId);
    const msg = await this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId || msg.deleted) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    await this.#deps.store.delete(messageId);
    return m.streamId;
  }

  /** A moderator times out (`seconds`) or bans (no end) the author of a message. */
  async sanction(socketId: string, messageId: string, kind: 'timeout' | 'ban', seconds: number | null, now = Date.now()): Promise<SanctionOutcome> {
    const m = this.#moderator(socketId);
    const msg = await this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    const stream = await this.#stream(m.streamId);
    if (msg.role !== 'viewer' || (msg.author.userId !== null && msg.author.userId === stream.ownerId)) {
      throw new ChatError('forbidden', 'the owner and admins cannot be timed out or banned');
    }
    const until = kind === 'ban' || seconds === null ? null : new Date(now + seconds * 1000).toISOString();
    const record = sanctionFor(kind, msg.author, until);
    await this.#deps.store.addSanction(m.streamId, record);
    // Stored: it holds from the room's next load on. The room in memory, if members are left, holds it now.
    const entry = this.#rooms.get(m.streamId);
    if (!entry) return { streamId: m.streamId, until, sockets: [] };
    entry.room.sanction(record);
    const sockets = [...entry.members].filter((id) => {
      const who = this.#members.get(id);
      return who !== undefined && !who.canModerate && entry.room.sanctionOf(who.identity, now) !== undefined;
    });
    return { streamId: m.streamId, until, sockets };
  }

  /** A moderator lifts the timeouts and bans of a message's author. */
  async pardon(socketId: string, messageId: string): Promise<void> {
    const m = this.#moderator(socketId);
    const msg = await this.#deps.store.byId(messageId);
    if (!msg || msg.streamId !== m.streamId) throw new ChatError('not_found', `no message ${messageId} in this chat`);
    await this.#deps.store.removeSanctions(m.streamId, msg.author);
    this.#rooms.get(m.streamId)?.room.pardon(msg.author);
  }

  /** A moderator changes the chat's settings; returns the stream and its new settings. */
  async updateSettings(socketId: string, patch: Partial<ChatModeratorSettings>): Promise<{ streamId: string; settings: ChatModeratorSettings }> {
    const m = this.#moderator(socketId);
    const { room } = this.#entry(m.streamId);
    // In force at once in the room (in memory), then stored for the room's next load.
    const settings = room.update(patch.filter ? { ...patch, filter: normalizeFilter(patch.filter) } : patch);
    await this.#deps.store.saveSettings(m.streamId, settings);
    return { streamId: m.streamId, settings };
  }

  /** A stream's stored messages in a window of time (GET /api/streams/:id/chat). */
  history(streamId: string, q: { before?: string | undefined; after?: string | undefined; limit: number }): Promise<ChatHistory> {
    return this.#deps.store.window(streamId, { before: q.before, after: q.after, limit: q.limit, fromStart: q.after !== undefined });
  }

  async #checkName(raw: string, stream: StreamRecord): Promise<string> {
    // The name's own rules first: no catalogue reads for a name refused anyway.
    const alone = checkDisplayName(raw, [], () => false);
    if (!alone.ok) throw new ChatError(alone.taken ? 'conflict' : 'validation_failed', alone.problem);
    const [protectedNames, account] = await Promise.all([this.#deps.store.protectedNames(stream.ownerId), this.#deps.users.byUsername(alone.name)]);
    const check = checkDisplayName(raw, protectedNames, () => account !== undefined);
    if (!check.ok) throw new ChatError(check.taken ? 'conflict' : 'validation_failed', check.problem);
    return check.name;
  }

  /**
   * A stream's room, as the store has it: its settings, sanctions in force and last message time. The room in
   * memory, when there is one, wins (it holds changes made since); concurrent loads share one read.
   */
  async #loadRoom(streamId: string): Promise<ChatRoom> {
    const have = this.#rooms.get(streamId);
    if (have) return have.room;
    let loading = this.#loading.get(streamId);
    if (!loading) {
      const { store } = this.#deps;
      loading = Promise.all([store.settings(streamId), store.sanctions(streamId, new Date().toISOString()), store.lastAt(streamId)]).then(
        ([settings, sanctions, lastAt]) => new ChatRoom(streamId, { settings, sanctions, lastAt }),
      );
      const mine = loading;
      this.#loading.set(streamId, mine);
      void mine.then(
        () => this.#loading.get(streamId) === mine && this.#loading.delete(streamId),
        () => this.#loading.get(streamId) === mine && this.#loading.delete(streamId),
      );
    }
    return loading;
  }

  /** Puts a loaded room in memory unless one is there already (synchronous: called after the last await). */
  #install(streamId: string, room: ChatRoom): { room: ChatRoom; members: Set<string> } {
    let entry = this.#rooms.get(streamId);
    if (!entry) {
      entry = { room, members: new Set() };
      this.#rooms.set(streamId, entry);
    }
    return entry;
  }

  /** The room of a stream that has members (a member's own stream always has one). */
  #entry(streamId: string): { room: ChatRoom; members: Set<string> } {
    const entry = this.#rooms.get(streamId);
    if (!entry) throw new ChatError('bad_request', "join a stream's chat first (chat:join)");
    return entry;
  }

  async #stream(streamId: string): Promise<StreamRecord> {
    const stream = await this.#deps.streams.byId(streamId);
    if (!stream) throw new ChatError('not_found', 'this stream no longer exists');
    return stream;
  }

  /** After an await: the member is still this socket's (it did not leave or join another chat meanwhile). */
  #still(socketId: string, m: ChatMember): void {
    if (this.#members.get(socketId) !== m) throw new ChatError('conflict', 'you left this chat while the request ran');
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
