/**
 * The admin console's API (/api/admin, admins only; server/admin/adminRoutes.ts), its types and zod schemas.
 * The console page (client/admin) imports the types only (`import type`): zod stays out of its bundle.
 */
import { z } from 'zod';
import { LIMITS, ROLES, type Role } from './api.js';

export interface AdminUser {
  id: string;
  username: string;
  role: Role;
  /** Disabled accounts cannot sign in, and their tokens are refused. */
  disabled: boolean;
  createdAt: string;
}

/** Who watches a live stream, by delivery. `total` also counts open watch pages that receive nothing yet. */
export interface AdminViewers {
  total: number;
  /** WebRTC viewers of OnAir's player (holding a seat). */
  webrtc: number;
  /** WHEP players. */
  whep: number;
  /** HLS playback sessions (OnAir's player in Standard mode and other players: docs/hls.md). */
  hls: number;
}

/** An encoder broadcast's bitrate as the server last measured it (server/ingest/health, every 2 s). */
export interface AdminBitrate {
  /** How the encoder sends: 'whip', 'rtmp' or 'srt'. */
  source: string;
  /** kbit/s received by the SFU over the last poll. */
  videoKbps: number;
  audioKbps: number;
  /** ISO time of the measurement. */
  measuredAt: string;
}

export interface AdminLiveStream {
  id: string;
  title: string;
  owner: string;
  visibility: string;
  startedAt: string;
  /** 'live', or 'reconnecting' while the publisher is gone (within the grace period). */
  state: 'live' | 'reconnecting';
  viewers: AdminViewers;
  /** Health as far as the server sees it: a publisher sending, HLS ladder running (when HLS is on). */
  health: { publisher: boolean; hls: boolean | null; ok: boolean };
  /** The encoder's bitrate; null for a studio broadcast (its page measures its own sending) or before the first poll. */
  bitrate: AdminBitrate | null;
  watchUrl: string;
}

export interface AdminWorker {
  index: number;
  pid: number;
  routers: number;
  /** Routers, transports and consumers on it, as the pool counts them to place new ones. */
  load: number;
  /** CPU seconds used so far (user + system), from the worker's resource usage. */
  cpuSeconds: number | null;
}

export interface AdminServerStatus {
  version: string;
  node: string;
  uptimeSeconds: number;
  memory: { rssBytes: number; heapUsedBytes: number };
  workers: AdminWorker[];
  /** ffmpeg processes running now: HLS ladders (and thumbnails), restreams. */
  ffmpeg: { hls: number; restream: number };
  hlsBridges: number;
  liveStreams: number;
  viewers: number;
}

export const adminUserIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a user id');
export const adminUserPatchSchema = z
  .object({ role: z.enum(ROLES).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: 'give a role or disabled' });
export const adminPasswordBodySchema = z.object({ password: z.string().min(LIMITS.passwordMin).max(LIMITS.passwordMax) }).strict();
export const adminEndBodySchema = z.object({ reason: z.string().trim().min(1).max(200).optional() }).strict();
