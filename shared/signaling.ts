/**
 * The signaling contract between browsers and the server (socket.io): every event, its payload schema and
 * its acknowledgement, defined once. The server validates every payload with these schemas; the client uses
 * the same types. A request's ack is `{ ok: true, data }` or `{ ok: false, error, message }`.
 *
 * Roles: a socket that connects with an access token (`auth: { token }`) may broadcast into its owner's
 * streams; any socket may watch (private streams need a viewer token in `viewer:join`).
 */
import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { streamIdSchema, type StreamStatus, type Visibility } from './api.js';

const id = z.string().min(1).max(64);
/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether `value` nests at most `maxDepth` levels, would serialize to about `maxChars` at most, and holds
 * only well-formed strings. Walks without recursion: a hostile payload may nest ~50,000 levels in one
 * socket.io packet, which overflows the stack of anything recursive (JSON.stringify included). A lone
 * surrogate, in a key or a value, makes mediasoup's worker drop the whole request unanswered, and
 * mediasoup 3.12 waits for that answer forever.
 */
export function isBoundedJson(value: unknown, maxDepth: number, maxChars: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let chars = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return false;
    if (Array.isArray(v)) {
      chars += 2 + v.length;
      for (const x of v) stack.push([x, depth + 1]);
    } else if (v !== null && typeof v === 'object') {
      chars += 2;
      for (const [k, x] of Object.entries(v)) {
        if (LONE_SURROGATE.test(k)) return false;
        chars += k.length + 4;
        stack.push([x, depth + 1]);
      }
    } else if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return false;
      chars += v.length + 2;
    } else {
      chars += 8;
    }
    if (chars > maxChars) return false;
  }
  return true;
}

/** mediasoup's opaque parameter objects: validated as bounded JSON objects, then checked by mediasoup itself. */
const jsonObject = z
  .record(z.unknown())
  .refine((o) => isBoundedJson(o, 16, 64 * 1024), 'too large, too deeply nested, or holds a malformed string');

export const SOURCES = ['camera', 'microphone', 'screen', 'screen-audio', 'composite', 'whip'] as const;
export type Source = (typeof SOURCES)[number];

export const requestSchemas = {
  /** Viewer: join a stream's audience; returns its state and, when live, its producers. */
  'viewer:join': z.object({ streamId: streamIdSchema, token: z.string().max(4096).optional() }).strict(),
  /** Viewer: leave the audience (also done by disconnecting). */
  'viewer:leave': z.object({}).strict(),
  /** Broadcaster: start (or resume, after a drop) broadcasting into one of their streams. */
  'broadcast:start': z.object({ streamId: streamIdSchema, resumeKey: z.string().max(64).optional() }).strict(),
  /** Broadcaster: end the broadcast. */
  'broadcast:stop': z.object({}).strict(),
  /** Either role: a WebRTC transport for sending (broadcaster) or receiving (viewer). */
  'transport:create': z.object({ direction: z.enum(['send', 'recv']) }).strict(),
  'transport:connect': z.object({ transportId: id, dtlsParameters: jsonObject }).strict(),
  /** Broadcaster: a new track. */
  produce: z
    .object({
      transportId: id,
      kind: z.enum(['audio', 'video']),
      rtpParameters: jsonObject,
      source: z.enum(SOURCES),
      /** Capture height of a video track: the HLS ladder never goes above it. */
      height: z.number().int().min(16).max(4320).optional(),
    })
    .strict(),
  'producer:close': z.object({ producerId: id }).strict(),
  /** Viewer: receive one of the broadcast's producers. Starts paused; resume when ready. */
  consume: z.object({ producerId: id, rtpCapabilities: jsonObject }).strict(),
  'consumer:resume': z.object({ consumerId: id }).strict(),
  /** Viewer: a fixed simulcast layer (0 = lowest), or null for automatic choice by bandwidth. */
  'consumer:layers': z.object({ consumerId: id, spatialLayer: z.number().int().min(0).max(3).nullable() }).strict(),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<E extends RequestName> = z.input<(typeof requestSchemas)[E]>;

export interface ProducerInfo {
  id: string;
  kind: 'audio' | 'video';
  source: Source;
  /** Simulcast layers sent (1 when not simulcast). */
  layers: number;
}

export interface StreamInfo {
  id: string;
  title: string;
  description: string;
  tags: string[];
  visibility: Visibility;
  status: StreamStatus;
  owner: string;
}

export type BroadcastState = 'live' | 'reconnecting';

export interface BroadcastInfo {
  /** Changes when the broadcast moved to another router (a worker died): make a new transport then. */
  session: string;
  state: BroadcastState;
  producers: ProducerInfo[];
}

export interface JoinResult {
  stream: StreamInfo;
  /** null when nobody broadcasts now. */
  broadcast: BroadcastInfo | null;
  viewerCount: number;
  /** The routers' RTP capabilities: load the mediasoup-client Device with them. */
  routerRtpCapabilities: Record<string, unknown>;
  /**
   * How this viewer may watch. `webrtc: false` when the stream already has ONAIR_MAX_WEBRTC_VIEWERS WebRTC
   * viewers: play `hls` instead (a path on this server; private streams need `?token=`).
   */
  delivery: { webrtc: boolean; hls: string };
}

export interface TransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface ConsumerInfo {
  id: string;
  producerId: string;
  kind: 'audio' | 'video';
  rtpParameters: Record<string, unknown>;
  /** Spatial layers available (1 when not simulcast). */
  layers: number;
}

export interface RequestResults {
  'viewer:join': JoinResult;
  'viewer:leave': Record<string, never>;
  'broadcast:start': { stream: StreamInfo; routerRtpCapabilities: Record<string, unknown>; resumed: boolean; resumeKey: string };
  'broadcast:stop': Record<string, never>;
  'transport:create': TransportInfo;
  'transport:connect': Record<string, never>;
  produce: { id: string };
  'producer:close': Record<string, never>;
  consume: ConsumerInfo;
  'consumer:resume': Record<string, never>;
  'consumer:layers': Record<string, never>;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorCode; message: string };

/** Events the server pushes. */
export interface ServerEvents {
  /** The broadcast started, resumed, or its set of producers changed: consume what is new. */
  'broadcast:producers': (e: { streamId: string } & BroadcastInfo) => void;
  /** The broadcaster dropped; the broadcast may resume within the grace period. */
  'broadcast:reconnecting': (e: { streamId: string; graceMs: number }) => void;
  'broadcast:ended': (e: { streamId: string; reason: string }) => void;
  'viewers:count': (e: { streamId: string; count: number }) => void;
  'stream:updated': (e: { stream: StreamInfo }) => void;
  /** A consumer was closed by the server (its producer went away). */
  'consumer:closed': (e: { consumerId: string }) => void;
  'consumer:layerschange': (e: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null }) => void;
}

export type ClientEvents = {
  [E in RequestName]: (payload: RequestPayload<E>, ack: (res: Ack<RequestResults[E]>) => void) => void;
};

/** socket.io handshake `auth`: an access token makes the socket a broadcaster's. */
export const handshakeAuthSchema = z.object({ token: z.string().max(4096).optional() }).passthrough();

/** How long clients wait for an ack before giving up. */
export const ACK_TIMEOUT_MS = 10_000;

