/**
 * The public HTTP API's request schemas and response shapes: one definition, used by the server to
 * validate and by the client (and tests) to type what they send and receive.
 */
import { z } from 'zod';

export const ROLES = ['admin', 'broadcaster'] as const;
export type Role = (typeof ROLES)[number];

export const VISIBILITIES = ['public', 'unlisted', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const STREAM_STATUSES = ['idle', 'live', 'ended'] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];

/** Limits shared by validation on both sides. */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 256,
  titleMax: 140,
  descriptionMax: 5000,
  tagMax: 32,
  tagsMax: 10,
  queryMax: 200,
} as const;

/** Stream ids are 12 characters of base64url. */
export const streamIdSchema = z.string().regex(/^[A-Za-z0-9_-]{12}$/, 'not a stream id');

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

export interface PublicUser {
  id: string;
  username: string;
  role: Role;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: PublicUser;
}

export interface StreamUrls {
  watch: string;
  embed: string;
  hls: string;
  whip: string;
  whep: string;
}

/** A stream as anyone may see it. */
export interface PublicStream {
  id: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: StreamStatus;
  viewerCount: number;
  owner: { id: string; username: string };
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  urls: StreamUrls;
}

/** A stream as its owner (or an admin) sees it: with the secret stream key. */
export interface OwnedStream extends PublicStream {
  streamKey: string;
}

export interface StreamList {
  streams: PublicStream[];
  total: number;
}

export interface ViewerTokenResponse {
  token: string;
  expiresAt: string;
}

export const recordingIdSchema = z.string().regex(/^[A-Za-z0-9_-]{12}$/, 'not a recording id');

export const listRecordingsQuerySchema = z
  .object({
    streamId: streamIdSchema.optional(),
    tag: tag.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(24),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

/** A recording: one live session, kept as video on demand, with its stream's metadata. */
export interface Recording {
  id: string;
  streamId: string;
  title: string;
  description: string;
  tags: string[];
  owner: { id: string; username: string };
  status: 'recording' | 'ready' | 'interrupted';
  startedAt: string;
  endedAt: string | null;
  durationSeconds: number;
  /** Heights of the renditions, e.g. [720, 480, 360]. */
  renditions: number[];
  sizeBytes: number;
  urls: { video: string; hls: string; poster: string };
}

/** `GET /api/recordings`. */
export interface RecordingList {
  recordings: Recording[];
  total: number;
}
