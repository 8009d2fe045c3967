/**
 * The live chat's contract (zod-free: browser pages import it): its requests' results, the events the
 * server pushes, and the limits both sides show. The payload schemas are in chatSchemas.ts; shared/signaling.ts
 * merges these maps into the signaling contract, so chat travels over the viewer's existing socket.
 *
 * Identity: a signed-in viewer chats under their account's name; anyone else picks a display name, which may
 * not be an account's (so the owner's and admins' names cannot be taken). Messages of the stream's owner and
 * of admins carry their role, for pages to mark them.
 */
import type { z } from 'zod';
import type { chatRequestSchemas } from './chatSchemas.js';

/** Longest message, in characters (UTF-16 code units, as the browser's maxlength counts). */
export const CHAT_MAX_CHARS = 500;
/** Messages a joining viewer gets (the latest). */
export const CHAT_HISTORY = 50;
/** Display names: this many characters at least and at most. */
export const CHAT_NAME_MIN = 2;
export const CHAT_NAME_MAX = 24;
/** Most messages one history request returns. */
export const CHAT_PAGE_MAX = 200;

/** `owner`: the stream's owner; `admin`: an OnAir admin; `viewer`: anyone else (signed in or not). */
export type ChatRole = 'owner' | 'admin' | 'viewer';

export interface ChatMessage {
  id: string;
  /** Order of messages on this server: a later message has a higher seq. */
  seq: number;
  streamId: string;
  /** When the server took it (ISO 8601); strictly increasing within a stream. */
  at: string;
  name: string;
  role: ChatRole;
  /** The author is signed in (the name is their account's). */
  verified: boolean;
  /** Plain text: show it as text, never as HTML. */
  text: string;
}

/** What every member of a chat sees of its settings. */
export interface ChatSettings {
  enabled: boolean;
  /** 0: off; else each viewer may send one message per this many seconds (moderators are exempt). */
  slowModeSeconds: number;
}

/** What moderators see and set: the settings, and the words messages may not contain. */
export interface ChatModeratorSettings extends ChatSettings {
  filter: string[];
}

export interface ChatMe {
  name: string | null;
  role: ChatRole;
  verified: boolean;
  canModerate: boolean;
}

export interface ChatJoinResult {
  /** The latest CHAT_HISTORY messages, oldest first. */
  messages: ChatMessage[];
  settings: ChatSettings;
  /** Moderators only: the full settings, word filter included. */
  moderator: ChatModeratorSettings | null;
  me: ChatMe;
}

export type ChatSanctionKind = 'timeout' | 'ban';

export interface ChatRequestResults {
  'chat:join': ChatJoinResult;
  'chat:leave': Record<string, never>;
  'chat:name': { name: string };
  'chat:send': { message: ChatMessage };
  'chat:delete': Record<string, never>;
  'chat:timeout': { until: string };
  'chat:ban': Record<string, never>;
  'chat:pardon': Record<string, never>;
  'chat:settings': ChatModeratorSettings;
}

export type ChatRequestName = keyof typeof chatRequestSchemas;
export type ChatRequestPayload<E extends ChatRequestName> = z.input<(typeof chatRequestSchemas)[E]>;

export interface ChatServerEvents {
  /** New messages, oldest first (the server batches those of one moment: a burst is one event). */
  'chat:messages': (e: { streamId: string; messages: ChatMessage[] }) => void;
  /** A moderator removed a message: take it off the page. */
  'chat:deleted': (e: { streamId: string; messageId: string }) => void;
  'chat:settings': (e: { streamId: string; settings: ChatSettings }) => void;
  /** To the sanctioned viewer's sockets only: they may not send until `until` (null: banned). */
  'chat:sanctioned': (e: { streamId: string; kind: ChatSanctionKind; until: string | null }) => void;
}

/** GET /api/streams/:id/chat → this; messages oldest first. */
export interface ChatHistory {
  messages: ChatMessage[];
  /** More messages lie in the asked window beyond `limit`. */
  hasMore: boolean;
}
