/**
 * zod schemas of the live chat's payloads (shared/chat.ts has the types). signalingSchemas.ts spreads
 * `chatRequestSchemas` into the signaling contract, so the server validates every chat request like any other.
 * Browser pages never import this file (zod stays out of their bundle).
 *
 * Guards: text is bounded here (CHAT_MAX_CHARS) and may not hold a lone surrogate (it would not survive a
 * round trip through SQLite's UTF-8 and would break JSON readers); the display-name rules that need the
 * user store (names of accounts are taken) are checked by the server (server/chat/displayName.ts).
 */
import { z } from 'zod';
import { streamIdSchema } from './apiSchemas.js';
import { CHAT_MAX_CHARS, CHAT_NAME_MAX, CHAT_PAGE_MAX } from './chat.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), 'holds a malformed character');

export const chatMessageIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,32}$/, 'not a message id');
/** A browser's chat session (kept in its localStorage), for moderating anonymous viewers. */
export const chatSessionSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a chat session id');
export const chatNameSchema = wellFormed(CHAT_NAME_MAX * 2);
export const chatTextSchema = wellFormed(CHAT_MAX_CHARS).refine((s) => s.trim().length > 0, 'empty message');
export const chatFilterWordSchema = wellFormed(64).refine((s) => s.trim().length > 0, 'empty word');

export const chatRequestSchemas = {
  /** Join a stream's chat: its latest messages and settings. `accessToken`: chat as that account. */
  'chat:join': z
    .object({
      streamId: streamIdSchema,
      token: z.string().max(4096).optional(),
      accessToken: z.string().max(4096).optional(),
      name: chatNameSchema.optional(),
      session: chatSessionSchema.optional(),
    })
    .strict(),
  'chat:leave': z.object({}).strict(),
  /** Anonymous viewers: pick (or change) the display name. */
  'chat:name': z.object({ name: chatNameSchema }).strict(),
  'chat:send': z.object({ text: chatTextSchema }).strict(),
  /** Moderators (the stream's owner, admins): remove a message for everyone. */
  'chat:delete': z.object({ messageId: chatMessageIdSchema }).strict(),
  /** Moderators: the author of this message may not send for `seconds`. */
  'chat:timeout': z.object({ messageId: chatMessageIdSchema, seconds: z.number().int().min(1).max(7 * 24 * 3600) }).strict(),
  /** Moderators: the author of this message may not send in this stream's chat any more. */
  'chat:ban': z.object({ messageId: chatMessageIdSchema }).strict(),
  /** Moderators: lift the timeouts and bans of this message's author. */
  'chat:pardon': z.object({ messageId: chatMessageIdSchema }).strict(),
  /** Moderators: chat on/off, slow mode, word filter (each optional). */
  'chat:settings': z
    .object({
      enabled: z.boolean().optional(),
      slowModeSeconds: z.number().int().min(0).max(3600).optional(),
      filter: z.array(chatFilterWordSchema).max(200).optional(),
    })
    .strict(),
} as const;

/** GET /api/streams/:id/chat: a window of time (ISO 8601, both exclusive); the latest `limit` unless `after` is given. */
export const chatHistoryQuerySchema = z
  .object({
    before: z.string().datetime({ offset: true }).optional(),
    after: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(CHAT_PAGE_MAX).default(50),
    token: z.string().max(4096).optional(),
  })
  .strict();
