/**
 * zod schemas of the public HTTP API's requests (shapes and limits are in api.ts). The server validates every
 * body and query with these; browser pages do not import this file (it would bundle zod).
 */
import { z } from 'zod';
import { ID_PATTERN, LIMITS, ROLES, STREAM_STATUSES, VISIBILITIES } from './api.js';

export const streamIdSchema = z.string().regex(ID_PATTERN, 'not a stream id');

const username = z
  .string()
  .min(LIMITS.usernameMin)
  .max(LIMITS.usernameMax)
  .regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');
const password = z.string().min(LIMITS.passwordMin).max(LIMITS.passwordMax);

export const loginBodySchema = z
  .object({ username: z.string().min(1).max(LIMITS.usernameMax), password: z.string().min(1).max(LIMITS.passwordMax) })
  .strict();
export type LoginBody = z.infer<typeof loginBodySchema>;

export const createUserBodySchema = z
  .object({ username, password, role: z.enum(ROLES).default('broadcaster') })
  .strict();
export type CreateUserBody = z.input<typeof createUserBodySchema>;

const tag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(LIMITS.tagMax)
  .regex(/^[\p{L}\p{N}_-]+$/u, 'letters, digits, "_" and "-" only');
const tags = z
  .array(tag)
  .max(LIMITS.tagsMax)
  .transform((t) => [...new Set(t)]);
const title = z.string().trim().min(1).max(LIMITS.titleMax);
const description = z.string().max(LIMITS.descriptionMax);

export const createStreamBodySchema = z
  .object({
    title,
    description: description.default(''),
    tags: tags.default([]),
    visibility: z.enum(VISIBILITIES).default('public'),
  })
  .strict();
export type CreateStreamBody = z.input<typeof createStreamBodySchema>;

export const updateStreamBodySchema = z
  .object({ title, description, tags, visibility: z.enum(VISIBILITIES) })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');
export type UpdateStreamBody = z.input<typeof updateStreamBodySchema>;

export const listStreamsQuerySchema = z
  .object({
    status: z.enum(STREAM_STATUSES).optional(),
    tag: tag.optional(),
    q: z.string().trim().min(1).max(LIMITS.queryMax).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();
export type ListStreamsQuery = z.input<typeof listStreamsQuerySchema>;

export const recordingIdSchema = z.string().regex(ID_PATTERN, 'not a recording id');

export const listRecordingsQuerySchema = z
  .object({
    streamId: streamIdSchema.optional(),
    tag: tag.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(24),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();
