/**
 * The public HTTP API's shapes and limits: one definition, used by the server and by the client (and tests)
 * to type what they send and receive. The zod schemas that validate requests are in apiSchemas.ts, apart, so
 * that browser pages can use these without bundling zod.
 */
export type { CreateStreamBody, CreateUserBody, ListStreamsQuery, LoginBody, UpdateStreamBody } from './apiSchemas.js';

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

/** Stream and recording ids: 12 characters of base64url. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{12}$/;

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

/**
 * Viewers by delivery, as the serving node sees them: WebRTC (OnAir's player holding a seat), WHEP players,
 * HLS playback sessions (docs/hls.md). Computed by server/admin/audienceSplit.ts `streamSplit`.
 */
export interface ViewersByDelivery {
  webrtc: number;
  whep: number;
  hls: number;
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
  /** This node's viewers by delivery (viewerCount also counts other nodes and open pages receiving nothing yet). */
  viewers: ViewersByDelivery;
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

/** `GET /api/media/capabilities`: the routers' RTP capabilities (load a mediasoup-client Device with them). */
export interface MediaCapabilities {
  routerRtpCapabilities: Record<string, unknown>;
}

/** `GET /api/recordings`. */
export interface RecordingList {
  recordings: Recording[];
  total: number;
}
